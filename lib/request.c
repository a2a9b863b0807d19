/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks on caller input that need no sysfs access. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block-ids.h"
#include "macro.h"
#include "request.h"
#include "strutil.h"

static const char *const zone_table[_REQUEST_ZONE_MAX] = {
        [REQUEST_ZONE_MOVABLE] = MEMHP_ZONE_MOVABLE,
        [REQUEST_ZONE_KERNEL] = MEMHP_ZONE_KERNEL,
        [REQUEST_ZONE_AUTO] = MEMHP_ZONE_AUTO,
};

RequestZone request_zone_from_string(const char *s)
{
        return (RequestZone)string_table_lookup(zone_table, ELEMENTSOF(zone_table), s);
}

int request_check_blocks(const uint32_t *ids, size_t n, char *err, size_t err_size)
{
        _cleanup_free_ uint32_t *sorted = NULL;
        uint32_t dup;
        char dummy[1];

        if (!err) {
                err = dummy;
                err_size = sizeof(dummy);
        }
        if (n == 0) {
                snprintf(err, err_size, "Empty block list.");
                return -EINVAL;
        }
        if (n > MEMHP_MAX_BLOCKS_PER_CALL) {
                snprintf(err, err_size, "Too many blocks: %zu (at most %u per call).", n,
                         MEMHP_MAX_BLOCKS_PER_CALL);
                return -EINVAL;
        }
        sorted = malloc(n * sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, ids, n * sizeof(*sorted));
        if (block_ids_sort_check_unique(sorted, n, &dup) < 0) {
                snprintf(err, err_size, "Duplicate block memory%u.", dup);
                return -EINVAL;
        }
        return 0;
}
