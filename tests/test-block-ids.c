/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/block-ids.c: the order of ids across the whole uint32_t range, duplicates. */
#include <errno.h>
#include <stdint.h>

#include "block-ids.h"
#include "test-util.h"

TEST(sort_covers_the_whole_range)
{
        /* A comparator written as "x - y" would get these wrong. */
        uint32_t ids[] = {UINT32_MAX, 0, 0x80000000u, 1, 0x7fffffffu, UINT32_MAX - 1};
        static const uint32_t want[] = {0, 1, 0x7fffffffu, 0x80000000u, UINT32_MAX - 1, UINT32_MAX};

        block_ids_sort(ids, 6);
        for (size_t i = 0; i < 6; i++)
                ASSERT_EQ(ids[i], want[i]);
        block_ids_sort(NULL, 0);
        block_ids_sort(ids, 1);
}

TEST(check_unique)
{
        uint32_t ok[] = {40, 1, 7, 0, UINT32_MAX};
        uint32_t dup[] = {9, 5, 3, 9, 3};
        uint32_t dup_max[] = {UINT32_MAX, 2, UINT32_MAX};
        uint32_t d = 77;

        ASSERT_OK(block_ids_sort_check_unique(ok, 5, &d));
        ASSERT_EQ(d, 77);
        ASSERT_EQ(ok[0], 0);
        ASSERT_EQ(ok[4], UINT32_MAX);
        ASSERT_OK(block_ids_sort_check_unique(NULL, 0, NULL));

        /* The lowest id named twice is the one reported. */
        ASSERT_ERROR(block_ids_sort_check_unique(dup, 5, &d), EEXIST);
        ASSERT_EQ(d, 3);
        ASSERT_ERROR(block_ids_sort_check_unique(dup_max, 3, &d), EEXIST);
        ASSERT_EQ(d, UINT32_MAX);
        ASSERT_ERROR(block_ids_sort_check_unique(dup, 5, NULL), EEXIST);
}

TEST(sort_unique)
{
        uint32_t ids[] = {5, 5, 1, UINT32_MAX, 5, 1, 0};
        uint32_t one[] = {8, 8, 8};

        ASSERT_EQ(block_ids_sort_unique(ids, 7), 4);
        ASSERT_EQ(ids[0], 0);
        ASSERT_EQ(ids[1], 1);
        ASSERT_EQ(ids[2], 5);
        ASSERT_EQ(ids[3], UINT32_MAX);
        ASSERT_EQ(block_ids_sort_unique(one, 3), 1);
        ASSERT_EQ(one[0], 8);
        ASSERT_EQ(block_ids_sort_unique(NULL, 0), 0);
}
