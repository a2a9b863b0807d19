/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for memhpctl's TARGET parser, size and node parsers, and --size selection. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "target.h"
#include "test-util.h"

#define BS (UINT64_C(128) << 20) /* 0x8000000, x86-64's usual block size */

/* Parses @spec, which must be valid, and checks the result equals @expect. */
static void check_blocks(const char *spec, uint64_t block_size, const uint32_t *expect,
                         size_t n_expect)
{
        _cleanup_free_ uint32_t *blocks = NULL;
        TargetError err = {};
        size_t n = 0;
        int r = target_parse_blocks(spec, block_size, &blocks, &n, &err);

        if (r < 0)
                fprintf(stderr, "'%s' failed: %s\n", spec, err.message);
        ASSERT_OK(r);
        ASSERT_OK(target_check_syntax(spec, NULL));
        ASSERT_EQ(n, n_expect);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(blocks[i], expect[i]);
}

#define CHECK_BLOCKS(spec, bs, ...)                             \
        do {                                                    \
                static const uint32_t _e[] = {__VA_ARGS__};     \
                check_blocks((spec), (bs), _e, ELEMENTSOF(_e)); \
        } while (0)

/* @spec must fail with @error and a message containing every non-NULL needle. */
static void check_fail(const char *spec, uint64_t block_size, int error, const char *needle1,
                       const char *needle2)
{
        uint32_t *blocks = (uint32_t *)(uintptr_t)0x1;
        TargetError err = {};
        size_t n = 12345;
        int r = target_parse_blocks(spec, block_size, &blocks, &n, &err);

        fprintf(stderr, "  '%s' -> %s\n", spec ? spec : "(null)", err.message);
        ASSERT_ERROR(r, error);
        /* Outputs are left alone on failure. */
        ASSERT_TRUE(blocks == (uint32_t *)(uintptr_t)0x1);
        ASSERT_EQ(n, 12345);
        ASSERT_TRUE(err.message[0] != 0);
        if (needle1)
                ASSERT_CONTAINS(err.message, needle1);
        if (needle2)
                ASSERT_CONTAINS(err.message, needle2);
}

TEST(single_ids)
{
        CHECK_BLOCKS("32", 0, 32);
        CHECK_BLOCKS("memory32", 0, 32);
        CHECK_BLOCKS("0", 0, 0);
        CHECK_BLOCKS("4294967294", 0, MEMHP_BLOCK_ID_MAX);
        CHECK_BLOCKS("memory4294967294", BS, MEMHP_BLOCK_ID_MAX);
        /* Leading zeros are decimal, never octal. */
        CHECK_BLOCKS("032", 0, 32);
}

TEST(ranges)
{
        CHECK_BLOCKS("32-35", 0, 32, 33, 34, 35);
        CHECK_BLOCKS("memory32-memory34", 0, 32, 33, 34);
        CHECK_BLOCKS("memory32-34", 0, 32, 33, 34);
        CHECK_BLOCKS("32-memory34", 0, 32, 33, 34);
        CHECK_BLOCKS("7-7", 0, 7);
        CHECK_BLOCKS("4294967293-4294967294", 0, UINT32_MAX - 2, UINT32_MAX - 1);
}

TEST(lists_are_sorted)
{
        CHECK_BLOCKS("32,40-42", 0, 32, 40, 41, 42);
        CHECK_BLOCKS("40-42,32", 0, 32, 40, 41, 42);
        CHECK_BLOCKS("9,memory3,5-6,1", 0, 1, 3, 5, 6, 9);
        /* Adjacent but not overlapping ranges are fine. */
        CHECK_BLOCKS("3-4,5-6,1-2", 0, 1, 2, 3, 4, 5, 6);
}

TEST(address_ranges)
{
        /* 0x100000000 / 0x8000000 = 32, and 0x13fffffff is the last byte of block 39. */
        CHECK_BLOCKS("0x100000000-0x13fffffff", BS, 32, 33, 34, 35, 36, 37, 38, 39);
        CHECK_BLOCKS("0X100000000-0X107FFFFFF", BS, 32);
        CHECK_BLOCKS("0x0-0x7ffffff", BS, 0);
        CHECK_BLOCKS("0x100000000-0x107ffffff,33", BS, 32, 33);
        CHECK_BLOCKS("0x100000000-0x107ffffff,memory34-35", BS, 32, 34, 35);
        /* Other block sizes: 2 GiB, and a non-power-of-two for the arithmetic. */
        CHECK_BLOCKS("0x80000000-0x17fffffff", UINT64_C(1) << 31, 1, 2);
        CHECK_BLOCKS("0x3000-0x5fff", 0x1000 * 3, 1);
        /*
         * Near the top of the address space: with 4 GiB blocks the last usable block is id
         * 2^32 - 2 (2^32 - 1 is reserved).
         */
        CHECK_BLOCKS("0xfffffffe00000000-0xfffffffeffffffff", UINT64_C(1) << 32,
                     MEMHP_BLOCK_ID_MAX);
}

TEST(address_errors)
{
        check_fail("0x100000001-0x13fffffff", BS, EINVAL, "start address 0x100000001",
                   "not aligned");
        check_fail("0x100000000-0x13ffffffe", BS, EINVAL, "end address 0x13ffffffe", "last byte");
        /* An exclusive end is the classic mistake. */
        check_fail("0x100000000-0x140000000", BS, EINVAL, "end address 0x140000000", NULL);
        check_fail("0x100000000", BS, EINVAL, "'0x100000000'", "inclusive end");
        check_fail("0x100000000-", BS, EINVAL, "'0x100000000-'", "hexadecimal");
        check_fail("0x100000000-5", BS, EINVAL, "'0x100000000-5'", "hexadecimal");
        check_fail("0x-0x7ffffff", BS, EINVAL, "'0x-0x7ffffff'", NULL);
        check_fail("0x10g-0x7ffffff", BS, EINVAL, "'0x10g-0x7ffffff'", NULL);
        check_fail("0x13fffffff-0x100000000", BS, EINVAL, "reversed", "'0x13fffffff-0x100000000'");
        check_fail("0x10000000000000000-0x10000000000000001", BS, ERANGE, "64 bits", NULL);
        check_fail("0xfffffff000000000-0xffffffffffffffff", BS, ERANGE, "highest block id",
                   "0xffffffffffffffff");
        /* Block id 2^32 - 1 is reserved, also when named by address. */
        check_fail("0xffffffff00000000-0xffffffffffffffff", UINT64_C(1) << 32, ERANGE,
                   "highest block id 4294967294", NULL);
        check_fail("0x0-0x7ffffff-0x8000000", BS, EINVAL, "hexadecimal", NULL);
        /* Without a block size an address cannot be resolved (a caller bug, but no crash). */
        check_fail("0x0-0x7ffffff", 0, EINVAL, "block size", NULL);
        /* ... yet its syntax can be checked. */
        ASSERT_OK(target_check_syntax("0x0-0x7ffffff,3", NULL));
        ASSERT_OK(target_check_syntax("0x1-0x7fffffe", NULL));
}

TEST(id_errors)
{
        check_fail("", BS, EINVAL, "empty", NULL);
        check_fail(NULL, BS, EINVAL, "empty", NULL);
        check_fail("abc", BS, EINVAL, "'abc'", "expected a block id");
        check_fail("memory", BS, EINVAL, "'memory'", NULL);
        check_fail("memory_tiers", BS, EINVAL, "'memory_tiers'", NULL);
        check_fail("-5", BS, EINVAL, "'-5'", NULL);
        check_fail("+5", BS, EINVAL, "'+5'", NULL);
        check_fail("5-", BS, EINVAL, "'5-'", NULL);
        check_fail("5--6", BS, EINVAL, "'5--6'", NULL);
        check_fail("1-2-3", BS, EINVAL, "'1-2-3'", NULL);
        check_fail(" 32", BS, EINVAL, "' 32'", NULL);
        check_fail("32 ", BS, EINVAL, "'32 '", NULL);
        check_fail("32\n", BS, EINVAL, "'32\\x0a'", NULL);
        check_fail("3.5", BS, EINVAL, "'3.5'", NULL);
        check_fail("node1", BS, EINVAL, "'node1'", NULL);
        check_fail("47-32", BS, EINVAL, "reversed", "47 is above 32");
        check_fail("memory47-memory32", BS, EINVAL, "'memory47-memory32'", "reversed");
        check_fail("4294967296", BS, ERANGE, "'4294967296'", "out of range");
        check_fail("4294967295", BS, ERANGE, "'4294967295'", "the highest is 4294967294");
        check_fail("memory4294967295", BS, ERANGE, "'memory4294967295'", NULL);
        check_fail("1-4294967296", BS, ERANGE, "'1-4294967296'", NULL);
        check_fail("99999999999999999999999", BS, ERANGE, "out of range", NULL);
        /* Garbage after an overflowing number is reported as garbage. */
        check_fail("99999999999999999999999x", BS, EINVAL, "expected a block id", NULL);
}

TEST(empty_items)
{
        check_fail(",", BS, EINVAL, "empty item", NULL);
        check_fail("32,", BS, EINVAL, "'32,'", "empty item");
        check_fail(",32", BS, EINVAL, "',32'", NULL);
        check_fail("32,,40", BS, EINVAL, "'32,,40'", NULL);
        /* The first bad item is the one named. */
        check_fail("32,x,y", BS, EINVAL, "'x'", NULL);
}

TEST(duplicates)
{
        check_fail("32,32", BS, EINVAL, "memory32 is named twice", "'32' and '32'");
        check_fail("32-40,35", BS, EINVAL, "memory35 is named twice", "'32-40' and '35'");
        check_fail("35,32-40", BS, EINVAL, "memory35", "'35' and '32-40'");
        check_fail("32-40,40-45", BS, EINVAL, "memory40", NULL);
        check_fail("1,32-40,38-50", BS, EINVAL, "memory38", "'32-40' and '38-50'");
        /* The overlap with a wide earlier range is found even past a narrower one. */
        check_fail("10-100,20,50", BS, EINVAL, "memory20", NULL);
        check_fail("10-100,20-21,50", BS, EINVAL, "memory20", NULL);
        check_fail("memory32,32", BS, EINVAL, "memory32 is named twice", NULL);
        /* An address range and a block id naming the same block. */
        check_fail("0x100000000-0x107ffffff,32", BS, EINVAL, "memory32",
                   "'0x100000000-0x107ffffff'");
}

TEST(limits)
{
        _cleanup_free_ uint32_t *blocks = NULL;
        size_t n;

        CHECK_BLOCKS("0-0", 0, 0);
        ASSERT_OK(target_parse_blocks("0-65535", 0, &blocks, &n, NULL));
        ASSERT_EQ(n, MEMHP_MAX_BLOCKS_PER_CALL);
        ASSERT_EQ(blocks[0], 0);
        ASSERT_EQ(blocks[65535], 65535);
        free(TAKE_PTR(blocks));

        ASSERT_OK(target_parse_blocks("32768-65535,0-32767", 0, &blocks, &n, NULL));
        ASSERT_EQ(n, MEMHP_MAX_BLOCKS_PER_CALL);
        free(TAKE_PTR(blocks));

        check_fail("0-65536", BS, E2BIG, "65537 blocks", "at most 65536");
        check_fail("0-4294967294", BS, E2BIG, "4294967295 blocks", NULL);
        check_fail("0-32768,40000-72767", BS, E2BIG, "in total", NULL);
        /* A huge address range is counted, not expanded. */
        check_fail("0x0-0xfffffffeffffffff", UINT64_C(1) << 32, E2BIG, "4294967295 blocks", NULL);
}

TEST(item_count_is_bounded)
{
        /* 65537 one-block items: refused before anything is allocated per item. */
        size_t n = MEMHP_MAX_BLOCKS_PER_CALL + 1, len = 2 * n;
        _cleanup_free_ char *spec = malloc(len);
        TargetError err = {};
        uint32_t *blocks = NULL;
        size_t n_blocks;

        ASSERT_TRUE(spec);
        for (size_t i = 0; i < n; i++) {
                spec[2 * i] = '1';
                spec[2 * i + 1] = ',';
        }
        spec[len - 1] = 0;
        ASSERT_ERROR(target_parse_blocks(spec, BS, &blocks, &n_blocks, &err), E2BIG);
        ASSERT_CONTAINS(err.message, "more than 65536 items");
        /* The quoted input is cut short. */
        ASSERT_CONTAINS(err.message, "...");
        ASSERT_TRUE(strlen(err.message) < 200);
        ASSERT_ERROR(target_check_syntax(spec, NULL), E2BIG);
}

TEST(long_and_binary_input_is_quoted_safely)
{
        char spec[300];
        TargetError err = {};

        memset(spec, 'x', sizeof(spec) - 1);
        spec[sizeof(spec) - 1] = 0;
        ASSERT_ERROR(target_check_syntax(spec, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "xxx...'");

        ASSERT_ERROR(target_check_syntax("1\033[2J", &err), EINVAL);
        ASSERT_CONTAINS(err.message, "'1\\x1b[2J'");
}

TEST(check_syntax)
{
        TargetError err = {};

        ASSERT_OK(target_check_syntax("32,memory40-47,0x0-0x7ffffff", &err));
        ASSERT_ERROR(target_check_syntax("32,x", &err), EINVAL);
        ASSERT_CONTAINS(err.message, "'x'");
        ASSERT_ERROR(target_check_syntax("47-32", &err), EINVAL);
        ASSERT_ERROR(target_check_syntax("", &err), EINVAL);
        ASSERT_ERROR(target_check_syntax("4294967296", &err), ERANGE);
        /* Duplicates and counts need the whole list: not a syntax error. */
        ASSERT_OK(target_check_syntax("32,32", &err));
        ASSERT_OK(target_check_syntax("0-4294967294", &err));
}

TEST(sizes)
{
        TargetError err = {};
        uint32_t n = 0;

        ASSERT_OK(target_parse_size("2G", BS, &n, &err));
        ASSERT_EQ(n, 16);
        ASSERT_OK(target_parse_size("128M", BS, &n, &err));
        ASSERT_EQ(n, 1);
        ASSERT_OK(target_parse_size("128MiB", BS, &n, &err));
        ASSERT_EQ(n, 1);
        ASSERT_OK(target_parse_size("2g", BS, &n, &err));
        ASSERT_EQ(n, 16);
        ASSERT_OK(target_parse_size("134217728", BS, &n, &err));
        ASSERT_EQ(n, 1);
        ASSERT_OK(target_parse_size("8T", BS, &n, &err));
        ASSERT_EQ(n, 65536);

        ASSERT_ERROR(target_parse_size("8T", UINT64_C(1) << 20, &n, &err), E2BIG);
        ASSERT_CONTAINS(err.message, "'8T'");
        ASSERT_ERROR(target_parse_size("100M", BS, &n, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "'100M' is not a multiple of the block size 128M");
        ASSERT_ERROR(target_parse_size("0", BS, &n, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "'0' is zero");
        ASSERT_ERROR(target_parse_size("0G", BS, &n, &err), EINVAL);
        ASSERT_ERROR(target_parse_size("", BS, &n, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "invalid size ''");
        ASSERT_ERROR(target_parse_size(NULL, BS, &n, &err), EINVAL);
        ASSERT_ERROR(target_parse_size("2X", BS, &n, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "invalid size '2X'");
        ASSERT_ERROR(target_parse_size("-2G", BS, &n, &err), EINVAL);
        ASSERT_ERROR(target_parse_size("1.5G", BS, &n, &err), EINVAL);
        ASSERT_ERROR(target_parse_size("G", BS, &n, &err), EINVAL);
        ASSERT_ERROR(target_parse_size("99999999999T", BS, &n, &err), ERANGE);
        ASSERT_CONTAINS(err.message, "'99999999999T'");
        ASSERT_ERROR(target_parse_size("2G", 0, &n, &err), EINVAL);
        ASSERT_EQ(n, 65536); /* untouched by failures */
}

TEST(nodes)
{
        TargetError err = {};
        uint32_t node = 7;

        ASSERT_OK(target_parse_node("0", &node, &err));
        ASSERT_EQ(node, 0);
        ASSERT_OK(target_parse_node("node3", &node, &err));
        ASSERT_EQ(node, 3);
        ASSERT_OK(target_parse_node("4294967294", &node, &err));
        ASSERT_EQ(node, UINT32_MAX - 1);

        ASSERT_ERROR(target_parse_node("4294967295", &node, &err), ERANGE);
        ASSERT_CONTAINS(err.message, "'4294967295'");
        ASSERT_ERROR(target_parse_node("node", &node, &err), EINVAL);
        ASSERT_ERROR(target_parse_node("", &node, &err), EINVAL);
        ASSERT_ERROR(target_parse_node(NULL, &node, &err), EINVAL);
        ASSERT_ERROR(target_parse_node("-1", &node, &err), EINVAL);
        ASSERT_ERROR(target_parse_node("1x", &node, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "invalid node '1x'");
        ASSERT_EQ(node, UINT32_MAX - 1);
}

/* Two nodes, ids deliberately out of order and with one duplicate, as a daemon might list. */
static const TargetBlock sample[] = {
        {40, 1, MEM_STATE_OFFLINE},       {0, 0, MEM_STATE_ONLINE},
        {1, 0, MEM_STATE_ONLINE},         {33, 1, MEM_STATE_ONLINE},
        {32, 1, MEM_STATE_ONLINE},        {41, 1, MEM_STATE_OFFLINE},
        {34, 1, MEM_STATE_GOING_OFFLINE}, {39, 1, MEM_STATE_OFFLINE},
        {2, 0, MEM_STATE_OFFLINE},        {50, MEMHP_NODE_UNKNOWN, MEM_STATE_OFFLINE},
        {41, 1, MEM_STATE_OFFLINE},
};

static void check_select(uint32_t node, MemState state, uint32_t n_wanted, const uint32_t *expect,
                         size_t n_expect)
{
        _cleanup_free_ uint32_t *ids = NULL;
        TargetError err = {};
        size_t n = 0;

        ASSERT_OK(target_select(sample, ELEMENTSOF(sample), node, state, n_wanted, BS, &ids, &n,
                                &err));
        ASSERT_EQ(n, n_expect);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(ids[i], expect[i]);
}

#define CHECK_SELECT(node, state, n, ...)                               \
        do {                                                            \
                static const uint32_t _e[] = {__VA_ARGS__};             \
                check_select((node), (state), (n), _e, ELEMENTSOF(_e)); \
        } while (0)

TEST(select)
{
        /* Highest first, returned ascending; the duplicate 41 counts once. */
        CHECK_SELECT(1, MEM_STATE_OFFLINE, 1, 41);
        CHECK_SELECT(1, MEM_STATE_OFFLINE, 2, 40, 41);
        CHECK_SELECT(1, MEM_STATE_OFFLINE, 3, 39, 40, 41);
        CHECK_SELECT(1, MEM_STATE_OFFLINE, TARGET_SELECT_ALL, 39, 40, 41);
        /* Going-offline blocks are neither online nor offline. */
        CHECK_SELECT(1, MEM_STATE_ONLINE, TARGET_SELECT_ALL, 32, 33);
        CHECK_SELECT(1, MEM_STATE_ONLINE, 1, 33);
        CHECK_SELECT(0, MEM_STATE_ONLINE, 2, 0, 1);
        CHECK_SELECT(0, MEM_STATE_OFFLINE, TARGET_SELECT_ALL, 2);
}

TEST(select_errors)
{
        uint32_t *ids = (uint32_t *)(uintptr_t)0x1;
        TargetError err = {};
        size_t n = 99;

        ASSERT_ERROR(target_select(sample, ELEMENTSOF(sample), 1, MEM_STATE_OFFLINE, 4, BS, &ids,
                                   &n, &err),
                     ENOSPC);
        ASSERT_STREQ(err.message, "node 1 has only 384M offline (3 blocks), 512M requested");
        ASSERT_ERROR(target_select(sample, ELEMENTSOF(sample), 5, MEM_STATE_OFFLINE,
                                   TARGET_SELECT_ALL, BS, &ids, &n, &err),
                     ENOENT);
        ASSERT_STREQ(err.message, "node 5 has no offline memory blocks");
        ASSERT_ERROR(target_select(sample, ELEMENTSOF(sample), 0, MEM_STATE_GOING_OFFLINE, 1, BS,
                                   &ids, &n, &err),
                     ENOENT);
        ASSERT_ERROR(target_select(NULL, 0, 0, MEM_STATE_ONLINE, 1, BS, &ids, &n, &err), ENOENT);
        ASSERT_ERROR(target_select(sample, ELEMENTSOF(sample), 1, MEM_STATE_OFFLINE, 0, BS, &ids,
                                   &n, &err),
                     EINVAL);
        ASSERT_TRUE(ids == (uint32_t *)(uintptr_t)0x1);
        ASSERT_EQ(n, 99);
}

TEST(select_all_is_bounded)
{
        size_t n = MEMHP_MAX_BLOCKS_PER_CALL + 1, n_ids;
        _cleanup_free_ TargetBlock *blocks = calloc(n, sizeof(TargetBlock));
        _cleanup_free_ uint32_t *ids = NULL;
        TargetError err = {};

        ASSERT_TRUE(blocks);
        for (size_t i = 0; i < n; i++)
                blocks[i] = (TargetBlock){(uint32_t)i, 2, MEM_STATE_ONLINE};
        ASSERT_ERROR(target_select(blocks, n, 2, MEM_STATE_ONLINE, TARGET_SELECT_ALL, BS, &ids,
                                   &n_ids, &err),
                     E2BIG);
        ASSERT_CONTAINS(err.message, "65537 online blocks");
        /* A count still works, from the top. */
        ASSERT_OK(target_select(blocks, n, 2, MEM_STATE_ONLINE, 2, BS, &ids, &n_ids, &err));
        ASSERT_EQ(n_ids, 2);
        ASSERT_EQ(ids[0], MEMHP_MAX_BLOCKS_PER_CALL - 1);
        ASSERT_EQ(ids[1], MEMHP_MAX_BLOCKS_PER_CALL);
}

TEST(format_size)
{
        char buf[TARGET_SIZE_STRING_MAX];

        ASSERT_STREQ(target_format_size(0, buf), "0B");
        ASSERT_STREQ(target_format_size(512, buf), "512B");
        ASSERT_STREQ(target_format_size(1023, buf), "1023B");
        ASSERT_STREQ(target_format_size(1024, buf), "1K");
        ASSERT_STREQ(target_format_size(1536, buf), "1.5K");
        ASSERT_STREQ(target_format_size(UINT64_C(128) << 20, buf), "128M");
        ASSERT_STREQ(target_format_size(UINT64_C(3) << 29, buf), "1.5G");
        ASSERT_STREQ(target_format_size(UINT64_C(2) << 30, buf), "2G");
        ASSERT_STREQ(target_format_size(UINT64_C(1) << 40, buf), "1T");
        ASSERT_STREQ(target_format_size(UINT64_C(1) << 60, buf), "1E");
        ASSERT_STREQ(target_format_size(UINT64_MAX, buf), "16E");
        /* Rounding: 1023.96K carries into the next unit. */
        ASSERT_STREQ(target_format_size(1024 * 1024 - 40, buf), "1M");
        ASSERT_STREQ(target_format_size((UINT64_C(1) << 30) + (UINT64_C(1) << 20), buf), "1G");
        ASSERT_STREQ(target_format_size((UINT64_C(1) << 30) + (UINT64_C(100) << 20), buf), "1.1G");
}
