/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parser for /proc/zoneinfo: only the "Node N, zone X" headers and their "present" counts. */
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "macro.h"
#include "nodemask.h"
#include "strutil.h"
#include "zoneinfo.h"

enum { ZONE_OTHER, ZONE_KERNEL, ZONE_MOVABLE };

static int zone_kind(const char *name)
{
        if (streq(name, "DMA") || streq(name, "DMA32") || streq(name, "Normal") ||
            streq(name, "HighMem"))
                return ZONE_KERNEL;
        if (streq(name, "Movable"))
                return ZONE_MOVABLE;
        return ZONE_OTHER; /* Device memory is not RAM the ratio is about */
}

/* Copies the next whitespace-separated word of *p into buf and advances *p. */
static int next_word(const char **p, char *buf, size_t size)
{
        const char *s = *p;
        size_t l;

        s += strspn(s, " \t");
        l = strcspn(s, " \t\n,");
        if (l == 0 || l >= size)
                return -EINVAL;
        memcpy(buf, s, l);
        buf[l] = 0;
        *p = s + l;
        return 0;
}

int zoneinfo_parse(const char *text, NodeZones **ret, size_t *ret_n)
{
        _cleanup_free_ NodeZones *nodes = NULL;
        size_t n = 0, allocated = 0;
        int node = -1, kind = ZONE_OTHER, seen = 0;

        for (const char *line = text, *next; line && *line; line = next) {
                const char *p = line, *rest;
                char word[32];

                next = strchr(line, '\n');
                if (next)
                        next++;
                if ((rest = startswith(line, "Node "))) {
                        unsigned v;

                        p = rest;
                        if (next_word(&p, word, sizeof(word)) < 0 || safe_atou(word, &v) < 0 ||
                            v >= MEMHP_MAX_NODES)
                                return -EINVAL;
                        if (*p != ',')
                                return -EINVAL;
                        p++;
                        if (next_word(&p, word, sizeof(word)) < 0 || !streq(word, "zone") ||
                            next_word(&p, word, sizeof(word)) < 0)
                                return -EINVAL;
                        if (GREEDY_REALLOC0(nodes, allocated, v + 1) < 0)
                                return -ENOMEM;
                        n = MAX(n, (size_t)v + 1);
                        node = (int)v;
                        kind = zone_kind(word);
                        seen = 1;
                        continue;
                }
                if (node < 0 || next_word(&p, word, sizeof(word)) < 0 || !streq(word, "present"))
                        continue;
                if (next_word(&p, word, sizeof(word)) < 0)
                        return -EINVAL;
                uint64_t pages;
                if (safe_atou64(word, &pages) < 0)
                        return -EINVAL;
                if (kind == ZONE_KERNEL)
                        nodes[node].kernel_pages += pages;
                else if (kind == ZONE_MOVABLE)
                        nodes[node].movable_pages += pages;
                /* One "present" per zone: ignore any later line until the next header. */
                node = -1;
        }
        if (!seen)
                return -EINVAL;
        *ret = TAKE_PTR(nodes);
        *ret_n = n;
        return 0;
}

int zoneinfo_read(const Sysfs *s, NodeZones **ret, size_t *ret_n)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = sysfs_read_file_at(s->root_fd, "proc/zoneinfo", &text, NULL);
        if (r < 0)
                return r;
        return zoneinfo_parse(text, ret, ret_n);
}
