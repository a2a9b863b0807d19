/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "block-ids.h"

static int block_id_compare(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return (x > y) - (x < y);
}

void block_ids_sort(uint32_t *ids, size_t n)
{
        /* qsort() wants a valid pointer even for nothing to sort, and an empty list may be NULL. */
        if (n > 1)
                qsort(ids, n, sizeof(uint32_t), block_id_compare);
}

int block_ids_sort_check_unique(uint32_t *ids, size_t n, uint32_t *ret_dup)
{
        block_ids_sort(ids, n);
        for (size_t i = 1; i < n; i++)
                if (ids[i] == ids[i - 1]) {
                        if (ret_dup)
                                *ret_dup = ids[i];
                        return -EEXIST;
                }
        return 0;
}

size_t block_ids_sort_unique(uint32_t *ids, size_t n)
{
        size_t k;

        if (n == 0)
                return 0;
        block_ids_sort(ids, n);
        k = 1;
        for (size_t i = 1; i < n; i++)
                if (ids[i] != ids[k - 1])
                        ids[k++] = ids[i];
        return k;
}
