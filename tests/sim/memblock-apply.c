/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memblock-apply ROOT ID ACTION: memblock_apply() once against the sysroot ROOT (the simulator's
 * mount), printing "<result> <zone>": result 0 (changed), 1 (already there) or the errno name,
 * zone as memblock_apply() reported it ("-" when unknown). test-memblock-apply.py asserts it
 * against the simulator's own truth; a plain fixture file cannot answer a write with EINVAL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memblock.h"
#include "policy.h"
#include "strutil.h"
#include "sysfs.h"

int main(int argc, char *argv[])
{
        Sysfs *s = NULL;
        MemZone zone = MEM_ZONE_UNKNOWN;
        MemAction a;
        unsigned id;
        int r;

        if (argc != 4 || safe_atou(argv[2], &id) < 0 || (a = mem_action_from_string(argv[3])) < 0) {
                fprintf(stderr, "usage: memblock-apply ROOT ID ACTION\n");
                return 2;
        }
        r = sysfs_open(argv[1], &s);
        if (r < 0) {
                fprintf(stderr, "memblock-apply: cannot open sysroot %s: %s\n", argv[1],
                        strerror(-r));
                return 1;
        }
        r = memblock_apply(s, id, a, &zone);
        if (r >= 0)
                printf("%d", r);
        else
                printf("%s", strerrorname_np(-r) ?: "?");
        printf(" %s\n", zone == MEM_ZONE_UNKNOWN ? "-" : mem_zone_to_string(zone));
        sysfs_free(s);
        return 0;
}
