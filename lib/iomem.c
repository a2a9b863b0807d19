/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iomem.h"
#include "macro.h"
#include "strutil.h"

/* Parses "start-end : name" after the indentation; the name runs to the end of the line. */
static int parse_line(const char *line, size_t len, IomemRange *ret)
{
        char buf[256];
        char *dash, *sep, *end;
        unsigned spaces = 0;

        while (spaces < len && line[spaces] == ' ')
                spaces++;
        if (spaces % 2 || len - spaces >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, line + spaces, len - spaces);
        buf[len - spaces] = 0;

        dash = strchr(buf, '-');
        sep = strstr(buf, " : ");
        if (!dash || !sep || dash > sep || sep[3] == 0)
                return -EINVAL;
        *dash = *sep = 0;
        errno = 0;
        ret->start = strtoull(buf, &end, 16);
        if (errno || end == buf || *end)
                return -EINVAL;
        ret->end = strtoull(dash + 1, &end, 16);
        if (errno || end == dash + 1 || *end || ret->end < ret->start)
                return -EINVAL;
        ret->name = strdup(sep + 3);
        if (!ret->name)
                return -ENOMEM;
        ret->depth = spaces / 2;
        return 0;
}

int iomem_parse(const char *text, Iomem **ret)
{
        Iomem *io = calloc(1, sizeof(*io));
        size_t allocated = 0;
        int stack[16]; /* the enclosing range at each depth */
        int r = 0;

        if (!io)
                return -ENOMEM;
        io->hidden = true;
        for (const char *p = text; *p;) {
                const char *nl = strchrnul(p, '\n');
                IomemRange range = {.parent = -1};

                if (nl == p) {
                        p++;
                        continue;
                }
                r = parse_line(p, (size_t)(nl - p), &range);
                if (r < 0)
                        break;
                if (range.depth >= ELEMENTSOF(stack) ||
                    (range.depth > 0 &&
                     (io->n == 0 || io->ranges[io->n - 1].depth + 1 < range.depth))) {
                        free(range.name);
                        r = -EINVAL;
                        break;
                }
                if (range.depth > 0)
                        range.parent = stack[range.depth - 1];
                if (io->n == allocated) {
                        size_t a = allocated ? allocated * 2 : 64;
                        IomemRange *n = reallocarray(io->ranges, a, sizeof(*n));
                        if (!n) {
                                free(range.name);
                                r = -ENOMEM;
                                break;
                        }
                        io->ranges = n;
                        allocated = a;
                }
                if (range.start || range.end)
                        io->hidden = false;
                stack[range.depth] = (int)io->n;
                io->ranges[io->n++] = range;
                p = *nl ? nl + 1 : nl;
        }
        if (r < 0) {
                iomem_free(io);
                return r;
        }
        *ret = io;
        return 0;
}

int iomem_read_fd(int fd, Iomem **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 16384, len = 0;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len + 1 >= size) {
                        char *b = realloc(buf, size * 2);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        size *= 2;
                }
                n = pread(fd, buf + len, size - len - 1, (off_t)len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        return iomem_parse(buf, ret);
}

Iomem *iomem_free(Iomem *io)
{
        if (!io)
                return NULL;
        for (size_t i = 0; i < io->n; i++)
                free(io->ranges[i].name);
        free(io->ranges);
        free(io);
        return NULL;
}
