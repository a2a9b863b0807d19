/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/request.c: caller input checks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "request.h"
#include "test-util.h"

TEST(zones)
{
        ASSERT_EQ(request_zone_from_string("movable"), REQUEST_ZONE_MOVABLE);
        ASSERT_EQ(request_zone_from_string("kernel"), REQUEST_ZONE_KERNEL);
        ASSERT_EQ(request_zone_from_string("auto"), REQUEST_ZONE_AUTO);
        ASSERT_EQ(request_zone_from_string("Movable"), _REQUEST_ZONE_INVALID);
        ASSERT_EQ(request_zone_from_string("online_movable"), _REQUEST_ZONE_INVALID);
        ASSERT_EQ(request_zone_from_string(""), _REQUEST_ZONE_INVALID);
        ASSERT_EQ(request_zone_from_string(NULL), _REQUEST_ZONE_INVALID);
        /* The names the API documents, and the list the error messages give. */
        ASSERT_EQ(request_zone_from_string(MEMHP_ZONE_MOVABLE), REQUEST_ZONE_MOVABLE);
        ASSERT_EQ(request_zone_from_string(MEMHP_ZONE_KERNEL), REQUEST_ZONE_KERNEL);
        ASSERT_EQ(request_zone_from_string(MEMHP_ZONE_AUTO), REQUEST_ZONE_AUTO);
        ASSERT_STREQ(MEMHP_ZONE_CHOICES, "movable, kernel or auto");
}

TEST(blocks)
{
        uint32_t ok[] = {40, 1, 7, 0, UINT32_MAX};
        uint32_t dup[] = {5, 9, 3, 9};
        char err[128];

        ASSERT_OK(request_check_blocks(ok, 5, err, sizeof(err)));
        ASSERT_OK(request_check_blocks(ok, 1, NULL, 0));
        /* The caller's order is kept: the check must not sort in place. */
        ASSERT_EQ(ok[0], 40);

        ASSERT_ERROR(request_check_blocks(ok, 0, err, sizeof(err)), EINVAL);
        ASSERT_STREQ(err, "Empty block list.");
        ASSERT_ERROR(request_check_blocks(dup, 4, err, sizeof(err)), EINVAL);
        ASSERT_STREQ(err, "Duplicate block memory9.");
        ASSERT_ERROR(request_check_blocks(dup, 4, NULL, 0), EINVAL);
}

TEST(limit)
{
        size_t n = MEMHP_MAX_BLOCKS_PER_CALL + 1;
        uint32_t *ids = malloc(n * sizeof(*ids));
        char err[128];

        ASSERT_TRUE(ids);
        for (size_t i = 0; i < n; i++)
                ids[i] = (uint32_t)i;
        ASSERT_OK(request_check_blocks(ids, n - 1, err, sizeof(err)));
        ASSERT_ERROR(request_check_blocks(ids, n, err, sizeof(err)), EINVAL);
        ASSERT_STREQ(err, "Too many blocks: 65537 (at most 65536 per call).");
        free(ids);
}
