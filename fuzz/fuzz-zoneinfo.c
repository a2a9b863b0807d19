/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/zoneinfo: zoneinfo_parse() on the input. Invariants on success: at least one node, below
 * MEMHP_MAX_NODES; and a minimal zoneinfo text written from the result (one Normal and one
 * Movable zone per node that has pages, and for the last node) parses to the same per-node sums.
 */
#include <errno.h>
#include <inttypes.h>

#include "conf.h"
#include "fuzz.h"
#include "zoneinfo.h"

/* The real file is 20-200 KiB on big machines; the parser is line by line. */
#define ZONEINFO_INPUT_MAX (256U * 1024U)

FUZZ_NO_COVERAGE static char *format_minimal(const NodeZones *z, size_t n)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        /* Nodes without pages need no zone, except the last one, which sets the count. */
        for (size_t i = 0; i < n; i++)
                if (z[i].kernel_pages || z[i].movable_pages || i == n - 1)
                        fprintf(f,
                                "Node %zu, zone   Normal\n  pages free     1\n        present  "
                                "%" PRIu64 "\n        managed  1\n"
                                "Node %zu, zone  Movable\n  pages free     1\n        present  "
                                "%" PRIu64 "\n        managed  1\n",
                                i, z[i].kernel_pages, i, z[i].movable_pages);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        NodeZones *z = NULL, *z2 = NULL;
        size_t n = 0, n2 = 0;
        char *text, *again;
        int r;

        if (size > ZONEINFO_INPUT_MAX)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        r = zoneinfo_parse(text, &z, &n);
        if (r < 0) {
                FUZZ_CHECK_MSG(r == -EINVAL || r == -ENOMEM, "r=%d", r);
                goto out;
        }
        FUZZ_CHECK(r == 0 && z && n >= 1 && n <= MEMHP_MAX_NODES);

        again = format_minimal(z, n);
        if (again) {
                r = zoneinfo_parse(again, &z2, &n2);
                FUZZ_CHECK_MSG(r == 0, "r=%d on\n%s", r, again);
                FUZZ_CHECK(n2 == n);
                for (size_t i = 0; i < n; i++) {
                        FUZZ_CHECK(z2[i].kernel_pages == z[i].kernel_pages);
                        FUZZ_CHECK(z2[i].movable_pages == z[i].movable_pages);
                }
                free(again);
                free(z2);
        }
        free(z);
out:
        free(text);
        return 0;
}
