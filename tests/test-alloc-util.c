/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/alloc-util.c: growth, amortisation, overflow, and no loss on failure. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc-util.h"
#include "macro.h"
#include "test-util.h"

TEST(grows_and_keeps_contents)
{
        _cleanup_free_ uint32_t *a = NULL;
        size_t allocated = 0, reallocs = 0;

        for (uint32_t i = 0; i < 100000; i++) {
                size_t before = allocated;

                ASSERT_OK(GREEDY_REALLOC(a, allocated, i + 1));
                ASSERT_TRUE(allocated >= i + 1);
                reallocs += allocated != before;
                a[i] = i * 7;
        }
        for (uint32_t i = 0; i < 100000; i++)
                ASSERT_EQ(a[i], i * 7);
        /* Doubling from 16: about log2(100000 / 16) = 13 reallocations, not one per element. */
        ASSERT_TRUE(reallocs <= 14);
}

TEST(enough_room_is_a_no_op)
{
        _cleanup_free_ char *a = NULL;
        size_t allocated = 0;
        char *before;

        ASSERT_OK(GREEDY_REALLOC(a, allocated, 1));
        ASSERT_EQ(allocated, 16);
        before = a;
        ASSERT_OK(GREEDY_REALLOC(a, allocated, 16));
        ASSERT_OK(GREEDY_REALLOC(a, allocated, 0));
        ASSERT_TRUE(a == before);
        ASSERT_EQ(allocated, 16);

        /* A large request is met at once, not in doublings. */
        ASSERT_OK(GREEDY_REALLOC(a, allocated, 1000));
        ASSERT_EQ(allocated, 1000);
        ASSERT_OK(GREEDY_REALLOC(a, allocated, 1001));
        ASSERT_EQ(allocated, 2000);
}

TEST(overflow_fails_and_keeps_the_array)
{
        _cleanup_free_ uint64_t *a = NULL;
        size_t allocated = 0;
        uint64_t *before;

        ASSERT_OK(GREEDY_REALLOC(a, allocated, 4));
        a[3] = 42;
        before = a;
        ASSERT_ERROR(GREEDY_REALLOC(a, allocated, SIZE_MAX / 8), ENOMEM);
        ASSERT_ERROR(GREEDY_REALLOC(a, allocated, SIZE_MAX), ENOMEM);
        ASSERT_TRUE(a == before);
        ASSERT_EQ(allocated, 16);
        ASSERT_EQ(a[3], 42);
}

TEST(realloc0_zeroes_the_new_room)
{
        _cleanup_free_ uint32_t *a = NULL;
        size_t allocated = 0;

        ASSERT_OK(GREEDY_REALLOC0(a, allocated, 3));
        ASSERT_EQ(allocated, 16);
        for (size_t i = 0; i < allocated; i++) {
                ASSERT_EQ(a[i], 0);
                a[i] = 0xdeadbeef;
        }
        /* Growing zeroes only what is new; the old contents stay. */
        ASSERT_OK(GREEDY_REALLOC0(a, allocated, 17));
        ASSERT_EQ(allocated, 32);
        for (size_t i = 0; i < allocated; i++)
                ASSERT_EQ(a[i], i < 16 ? 0xdeadbeef : 0);
        ASSERT_OK(GREEDY_REALLOC0(a, allocated, 5));
        ASSERT_EQ(a[4], 0xdeadbeef);
        ASSERT_ERROR(GREEDY_REALLOC0(a, allocated, SIZE_MAX), ENOMEM);
        ASSERT_EQ(allocated, 32);
}
