/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"

int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size)
{
        size_t a;
        void *q;

        if (need <= *allocated)
                return 0;
        if (size == 0 || need > SIZE_MAX / 2 / size)
                return -ENOMEM;
        a = need < 16 ? 16 : need;
        if (a < *allocated * 2)
                a = *allocated * 2; /* cannot overflow: *allocated < need <= SIZE_MAX / 2 / size */
        q = realloc(*p, a * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = a;
        return 0;
}

int greedy_realloc0(void **p, size_t *allocated, size_t need, size_t size)
{
        size_t before = *allocated;
        int r;

        r = greedy_realloc(p, allocated, need, size);
        if (r < 0)
                return r;
        if (*allocated > before)
                memset((char *)*p + before * size, 0, (*allocated - before) * size);
        return 0;
}
