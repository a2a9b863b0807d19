/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a whole file: the one read loop (EINTR, growth, a size cap, the terminating NUL). */
#pragma once

#include <stddef.h>

/**
 * read_full_fd() - reads @fd from its current offset to end of file.
 * @max: the most bytes accepted; a longer file is refused rather than cut
 * @ret: a malloc'ed buffer, NUL-terminated; it may hold NUL bytes of its own
 * @ret_size: the number of bytes read, without the terminating NUL (may be NULL)
 *
 * Return: 0; -EFBIG when the file holds more than @max bytes; -ENOMEM; or the -errno of read().
 * Nothing is returned in @ret on failure.
 */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size);
