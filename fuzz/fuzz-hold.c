/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hold records: hold_parse() on the input. The parser accepts only what hold_format() writes,
 * so on success formatting the record again must give back exactly the input.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "hold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text, again[128];
        HoldRecord h;
        int r;

        if (size > 4096)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;
        r = hold_parse(text, &h);
        if (r < 0) {
                FUZZ_CHECK_MSG(r == -EBADMSG, "r=%d", r);
                goto out;
        }
        FUZZ_CHECK(hold_format(&h, again, sizeof(again)) > 0);
        FUZZ_CHECK_MSG(strcmp(again, text) == 0, "'%s' reformatted as '%s'", text, again);
out:
        free(text);
        return 0;
}
