/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fileio.h"
#include "iomem.h"
#include "macro.h"
#include "strutil.h"

/* A machine has a few hundred ranges; a file this large is not /proc/iomem. */
#define IOMEM_MAX (16U << 20)

/* Parses "start-end : name" after the indentation; the name runs to the end of the line. */
static int parse_line(const char *line, size_t len, IomemRange *ret)
{
        char buf[256];
        char *dash, *sep;
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
        if (parse_uint(buf, (size_t)(dash - buf), PARSE_UINT_HEX, UINT64_MAX, &ret->start) < 0 ||
            parse_uint(dash + 1, (size_t)(sep - dash - 1), PARSE_UINT_HEX, UINT64_MAX, &ret->end) <
                    0 ||
            ret->end < ret->start)
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
                if (GREEDY_REALLOC(io->ranges, allocated, io->n + 1) < 0) {
                        free(range.name);
                        r = -ENOMEM;
                        break;
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
        int r;

        /* From offset 0 each time: the fd keeps the credentials it was opened with. */
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        r = read_full_fd(fd, IOMEM_MAX, &buf, NULL);
        if (r < 0)
                return r;
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
