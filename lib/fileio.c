/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fileio.h"
#include "macro.h"

/* A sysfs attribute is at most one page: one read fills it, the next sees end of file. */
#define READ_FULL_START 4096

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        /* Room for one byte beyond @max tells a file of exactly @max from a longer one. */
        size_t size = 0, allocated = 0, cap = max < SIZE_MAX - 2 ? max + 2 : SIZE_MAX;

        for (;;) {
                ssize_t k;
                int r;

                r = GREEDY_REALLOC(buf, allocated, MIN(size + READ_FULL_START, cap));
                if (r < 0)
                        return r;
                k = read(fd, buf + size, allocated - 1 - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t)k;
                if (size > max)
                        return -EFBIG;
        }

        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}
