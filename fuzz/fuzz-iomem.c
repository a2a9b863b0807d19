/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/iomem text: iomem_parse() on the input. Invariants on success: every range has
 * start <= end and a name, a range's parent comes before it and is exactly one level up,
 * top-level ranges have none, and "hidden" holds exactly when every address is zero.
 */
#include <errno.h>

#include "fuzz.h"
#include "iomem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Iomem *io = NULL;
        bool all_zero = true;
        char *text;
        int r;

        if (size > 65536)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        r = iomem_parse(text, &io);
        if (r < 0) {
                FUZZ_CHECK_MSG(r == -EINVAL || r == -ENOMEM, "r=%d", r);
                FUZZ_CHECK(io == NULL);
                goto out;
        }
        for (size_t i = 0; i < io->n; i++) {
                const IomemRange *ir = &io->ranges[i];

                FUZZ_CHECK(ir->start <= ir->end);
                FUZZ_CHECK(ir->name && ir->name[0]);
                if (ir->depth == 0)
                        FUZZ_CHECK(ir->parent == -1);
                else {
                        FUZZ_CHECK(ir->parent >= 0 && (size_t)ir->parent < i);
                        FUZZ_CHECK(io->ranges[ir->parent].depth + 1 == ir->depth);
                }
                all_zero = all_zero && ir->start == 0 && ir->end == 0;
        }
        FUZZ_CHECK(io->hidden == all_zero);
        iomem_free(io);
out:
        free(text);
        return 0;
}
