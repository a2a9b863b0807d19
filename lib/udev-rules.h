/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Distribution udev rules that online hot-added memory (ATTR{state}="online", or a RUN that
 * echoes into memoryN/state) race memhpd's policy: whoever writes first picks the zone. This is
 * a heuristic over the rule text, for a warning at start; it never decides anything.
 */
#pragma once

#include <stdbool.h>

/* Whether one line of a rules file writes a memory block's state. */
bool udev_rules_line_onlines_memory(const char *line);

typedef void (*UdevRulesFound)(const char *dir, const char *name, void *userdata);

/**
 * udev_rules_scan() - every rule file udev would read that onlines memory blocks.
 * @root_fd: the root the rule directories are under (the sysroot)
 * @found: called with the directory (relative to @root_fd, no leading '/') and the file name
 *
 * Directories are searched as udev does: etc, run, usr/lib, lib, where a file overrides files of
 * the same name in later directories. Unreadable directories and files are skipped.
 * Return: the number of files found.
 */
int udev_rules_scan(int root_fd, UdevRulesFound found, void *userdata);
