/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rooted sysfs access. Every read and write goes through openat() relative to directory fds
 * opened once from the sysroot, so with --sysroot no code path can reach the host's /sys.
 */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Sysfs {
        int root_fd;   /* the sysroot, "/" in production */
        int memory_fd; /* sys/devices/system/memory */
} Sysfs;

/**
 * sysfs_open() - open a sysroot.
 * @root: directory that contains sys/devices/system/memory
 *
 * With MEMHP_TESTING=1 in the environment a root whose memory directory is the real sysfs is
 * refused, so no test can write the host's memory blocks.
 *
 * Return: 0, -ENOENT when the root has no memory hotplug directory, -EPERM (test guard).
 */
int sysfs_open(const char *root, Sysfs **ret);
Sysfs *sysfs_free(Sysfs *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sysfs *, sysfs_free);

/* @path must be relative and free of "..": anything else is -EINVAL. */

/* Reads an attribute relative to @dirfd into @buf, strips one trailing newline. Returns length. */
int sysfs_read_at(int dirfd, const char *path, char *buf, size_t size);

/* Opens the directory @path relative to @dirfd as a DIR stream; -errno on failure. */
int opendir_at(int dirfd, const char *path, DIR **ret);

/* Reads a whole file of any size relative to @dirfd (e.g. proc/zoneinfo). */
int sysfs_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len);

/*
 * Writes @value with one write() on a fd opened O_WRONLY without O_TRUNC, as sysfs expects.
 * Returns 0 or the -errno the kernel answered (EINVAL, EBUSY, EINTR, ...).
 */
int sysfs_write_at(int dirfd, const char *path, const char *value);
