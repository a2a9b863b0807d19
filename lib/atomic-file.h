/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash-safe small files: a reader sees the old content or the new, never a torn write. */
#pragma once

#include <sys/types.h>

/*
 * Writes @text to @name (created with @mode) in @dirfd through a hidden temp file
 * (".<name>.<random>", O_EXCL): write, fsync, renameat over @name, fsync of the directory. Returns
 * 0 or -errno; on failure
 * @name is unchanged and no temp file is left.
 */
int write_file_atomic_at(int dirfd, const char *name, const char *text, mode_t mode);
/* unlinkat() then fsync of the directory; -errno (-ENOENT when there was no such file). */
int unlink_file_durable_at(int dirfd, const char *name);
