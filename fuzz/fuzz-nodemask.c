/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel node lists ("0-2,4\n"): nodemask_parse() on the input. Invariants on success: every node
 * the mask holds is below MEMHP_MAX_NODES, nodemask_test() agrees with the bits, and the mask
 * written back as a canonical list parses to the same mask.
 */
#include <errno.h>

#include "fuzz.h"
#include "nodemask.h"

FUZZ_NO_COVERAGE static void format_list(const NodeMask *m, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = 0;
        for (unsigned a = 0; a < MEMHP_MAX_NODES; a++) {
                unsigned b = a;

                if (!nodemask_test(m, a))
                        continue;
                while (b + 1 < MEMHP_MAX_NODES && nodemask_test(m, b + 1))
                        b++;
                len += (size_t)snprintf(buf + len, size - len, "%s%u", len ? "," : "", a);
                if (b > a)
                        len += (size_t)snprintf(buf + len, size - len, "-%u", b);
                a = b;
        }
        snprintf(buf + len, size - len, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        NodeMask m, m2;
        char *text, list[8192];
        int r;

        if (size > 16384)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        r = nodemask_parse(text, &m);
        if (r < 0) {
                FUZZ_CHECK_MSG(r == -EINVAL || r == -ERANGE, "r=%d", r);
                goto out;
        }
        FUZZ_CHECK(r == 0);
        for (unsigned i = 0; i < MEMHP_MAX_NODES; i++)
                FUZZ_CHECK(nodemask_test(&m, i) == !!(m.bits[i / 64] >> (i % 64) & 1));
        FUZZ_CHECK(!nodemask_test(&m, MEMHP_MAX_NODES) && !nodemask_test(&m, UINT32_MAX));

        /* The longest canonical list is "0,2,4,...,1022\n": about 2.5 KiB, below the 4 KiB limit.
         */
        format_list(&m, list, sizeof(list));
        r = nodemask_parse(list, &m2);
        FUZZ_CHECK_MSG(r == 0, "r=%d on '%s'", r, list);
        FUZZ_CHECK(memcmp(&m, &m2, sizeof(m)) == 0);
out:
        free(text);
        return 0;
}
