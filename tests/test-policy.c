/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy.h: the policy -> action table, the auto-movable ratio guard and the string tables. */
#include <stdio.h>

#include "macro.h"
#include "memhp-api.h"
#include "policy.h"
#include "test-util.h"

static MemAction decide(unsigned ratio, uint64_t kernel, uint64_t movable, uint64_t block)
{
        NodeZones z = {.kernel_pages = kernel, .movable_pages = movable};

        return policy_decide(POLICY_AUTO_MOVABLE, ratio, &z, block);
}

TEST(fixed_policies)
{
        static const struct {
                Policy policy;
                MemAction action;
        } table[] = {
                {POLICY_ONLINE_MOVABLE, MEM_ACTION_ONLINE_MOVABLE},
                {POLICY_ONLINE_KERNEL, MEM_ACTION_ONLINE_KERNEL},
                {POLICY_ONLINE, MEM_ACTION_ONLINE},
                {POLICY_IGNORE, MEM_ACTION_NONE},
        };
        /* Zone sizes and the ratio must not matter for the fixed policies. */
        NodeZones empty = {}, kernel_only = {.kernel_pages = 1 << 20},
                  movable_heavy = {.kernel_pages = 1, .movable_pages = UINT64_MAX};
        const NodeZones *zones[] = {NULL, &empty, &kernel_only, &movable_heavy};
        unsigned ratios[] = {0, 1, 100, 301, UINT32_MAX};

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                for (size_t z = 0; z < ELEMENTSOF(zones); z++)
                        for (size_t r = 0; r < ELEMENTSOF(ratios); r++) {
                                ASSERT_EQ(
                                        policy_decide(table[i].policy, ratios[r], zones[z], 32768),
                                        table[i].action);
                                ASSERT_EQ(policy_decide(table[i].policy, ratios[r], zones[z], 0),
                                          table[i].action);
                        }
}

TEST(invalid_policy)
{
        NodeZones z = {.kernel_pages = 1000};

        ASSERT_EQ(policy_decide(_POLICY_MAX, 301, &z, 1), _MEM_ACTION_INVALID);
        ASSERT_EQ(policy_decide(_POLICY_INVALID, 301, &z, 1), _MEM_ACTION_INVALID);
        ASSERT_EQ(policy_decide((Policy)-1, 301, &z, 1), _MEM_ACTION_INVALID);
        ASSERT_EQ(policy_decide((Policy)1000, 301, &z, 1), _MEM_ACTION_INVALID);
}

TEST(auto_movable_no_kernel_memory)
{
        /* A node without kernel memory gets kernel memory first, whatever the ratio. */
        ASSERT_EQ(decide(301, 0, 0, 32768), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(UINT32_MAX, 0, 0, 1), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(UINT32_MAX, 0, 0, 0), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(301, 0, 1 << 20, 32768), MEM_ACTION_ONLINE_KERNEL);
        /* NULL zones count as an empty node. */
        ASSERT_EQ(policy_decide(POLICY_AUTO_MOVABLE, 301, NULL, 32768), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(policy_decide(POLICY_AUTO_MOVABLE, UINT32_MAX, NULL, 1),
                  MEM_ACTION_ONLINE_KERNEL);
}

TEST(auto_movable_boundary)
{
        /* 301% of 1000 pages is 3010 pages: the block counts, equality is still Movable. */
        ASSERT_EQ(decide(301, 1000, 0, 3010), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(301, 1000, 0, 3011), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(301, 1000, 2000, 1010), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(301, 1000, 2001, 1010), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(301, 1000, 3010, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(301, 1000, 3011, 0), MEM_ACTION_ONLINE_KERNEL);

        /* The exact limit is not a whole number: 301% of 333 = 1002.33 pages. */
        ASSERT_EQ(decide(301, 333, 1000, 2), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(301, 333, 1000, 3), MEM_ACTION_ONLINE_KERNEL);

        /* 100%: Movable may equal kernel memory, not exceed it. */
        ASSERT_EQ(decide(100, 1 << 20, (1 << 20) - 32768, 32768), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(100, 1 << 20, (1 << 20) - 32767, 32768), MEM_ACTION_ONLINE_KERNEL);

        /* 1 kernel page at 301% allows 3 movable pages. */
        ASSERT_EQ(decide(301, 1, 0, 3), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(301, 1, 0, 4), MEM_ACTION_ONLINE_KERNEL);

        /* Realistic: 4 GiB kernel (1 Mi pages), 128 MiB blocks (32 Ki pages), ratio 301%. */
        uint64_t kernel = 1 << 20, block = 32768, movable = 0;
        unsigned n = 0;
        while (decide(301, kernel, movable, block) == MEM_ACTION_ONLINE_MOVABLE) {
                movable += block;
                n++;
                ASSERT_TRUE(n < 1000);
        }
        /* 3.01 * 1 Mi pages = 3156213.76 pages = 96.3 blocks of 32 Ki pages: 96 fit. */
        ASSERT_EQ(n, 96);
        ASSERT_TRUE(movable * 100 <= kernel * 301);
        ASSERT_TRUE((movable + block) * 100 > kernel * 301);
}

TEST(auto_movable_ratio_zero)
{
        ASSERT_EQ(decide(0, 1 << 20, 0, 1), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(0, 1 << 20, 1, 0), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(0, UINT64_MAX, 0, 32768), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(0, UINT64_MAX, UINT64_MAX, UINT64_MAX), MEM_ACTION_ONLINE_KERNEL);
}

TEST(auto_movable_huge_numbers)
{
        /*
         * Every product here overflows 64 bits; a 64-bit implementation wraps and picks the
         * wrong zone.
         */
        /* movable + block == UINT64_MAX == 100% of kernel: Movable. */
        ASSERT_EQ(decide(100, UINT64_MAX, UINT64_MAX - 1, 1), MEM_ACTION_ONLINE_MOVABLE);
        /* movable + block == 2^64 (wraps to 0 in 64 bits): one page over 100%. */
        ASSERT_EQ(decide(100, UINT64_MAX, UINT64_MAX, 1), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(100, UINT64_MAX, UINT64_MAX, UINT64_MAX), MEM_ACTION_ONLINE_KERNEL);
        /* 200% of UINT64_MAX kernel pages holds 2 * UINT64_MAX movable pages. */
        ASSERT_EQ(decide(200, UINT64_MAX, UINT64_MAX, UINT64_MAX), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(199, UINT64_MAX, UINT64_MAX, UINT64_MAX), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(decide(UINT32_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX),
                  MEM_ACTION_ONLINE_MOVABLE);
        /* kernel * ratio == 2^64 (wraps to 0 in 64 bits), movable * 100 does not overflow. */
        ASSERT_EQ(decide(1U << 31, UINT64_C(1) << 33, 1, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(1U << 31, UINT64_C(1) << 33, UINT64_C(1) << 57, 0),
                  MEM_ACTION_ONLINE_MOVABLE);
        /* ratio UINT32_MAX% of 1 page is 42949672.95 pages. */
        ASSERT_EQ(decide(UINT32_MAX, 1, 42949672, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(UINT32_MAX, 1, 42949672, 1), MEM_ACTION_ONLINE_KERNEL);
        /* movable * 100 overflows 64 bits: 2^58 * 100 > 2^64, yet 2^58 <= 301% of 2^57. */
        ASSERT_EQ(decide(301, UINT64_C(1) << 57, UINT64_C(1) << 58, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(decide(150, UINT64_C(1) << 57, UINT64_C(1) << 58, 0), MEM_ACTION_ONLINE_KERNEL);
}

TEST(policy_strings)
{
        static const char *const names[_POLICY_MAX] = {
                [POLICY_ONLINE_MOVABLE] = "online_movable",
                [POLICY_ONLINE_KERNEL] = "online_kernel",
                [POLICY_ONLINE] = "online",
                [POLICY_AUTO_MOVABLE] = "auto-movable",
                [POLICY_IGNORE] = "ignore",
        };

        for (int p = 0; p < _POLICY_MAX; p++) {
                ASSERT_STREQ(policy_to_string((Policy)p), names[p]);
                ASSERT_EQ(policy_from_string(names[p]), p);
                ASSERT_EQ(policy_from_string(policy_to_string((Policy)p)), p);
        }
        ASSERT_TRUE(policy_to_string(_POLICY_MAX) == NULL);
        ASSERT_TRUE(policy_to_string(_POLICY_INVALID) == NULL);
        ASSERT_TRUE(policy_to_string((Policy)-1) == NULL);

        const char *bad[] = {"",         "Online",          "ONLINE_MOVABLE", "online ", " online",
                             "online\n", "auto_movable",    "automovable",    "offline", "none",
                             "movable",  "online_movable2", "ignor"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ(policy_from_string(bad[i]), _POLICY_INVALID);
        ASSERT_EQ(policy_from_string(NULL), _POLICY_INVALID);
}

/* The message that lists the choices (config errors, SetNodePolicy, memhpctl) names them all. */
TEST(policy_choices)
{
        char expected[256] = "";

        for (int p = 0; p < _POLICY_MAX; p++)
                snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
                         p == 0                 ? ""
                         : p == _POLICY_MAX - 1 ? " or "
                                                : ", ",
                         policy_to_string((Policy)p));
        ASSERT_STREQ(MEMHP_POLICY_CHOICES, expected);
}

TEST(action_strings)
{
        static const char *const names[_MEM_ACTION_MAX] = {
                [MEM_ACTION_NONE] = NULL,
                [MEM_ACTION_ONLINE_MOVABLE] = "online_movable",
                [MEM_ACTION_ONLINE_KERNEL] = "online_kernel",
                [MEM_ACTION_ONLINE] = "online",
                [MEM_ACTION_OFFLINE] = "offline",
        };

        /* NONE has no kernel spelling: nothing is written. */
        ASSERT_TRUE(mem_action_to_string(MEM_ACTION_NONE) == NULL);
        for (int a = 1; a < _MEM_ACTION_MAX; a++) {
                ASSERT_STREQ(mem_action_to_string((MemAction)a), names[a]);
                ASSERT_EQ(mem_action_from_string(names[a]), a);
        }
        ASSERT_TRUE(mem_action_to_string(_MEM_ACTION_MAX) == NULL);
        ASSERT_TRUE(mem_action_to_string(_MEM_ACTION_INVALID) == NULL);
        ASSERT_TRUE(mem_action_to_string((MemAction)-1) == NULL);

        const char *bad[] = {"",
                             "none",
                             "NONE",
                             "Online",
                             "online\n",
                             "online_movable ",
                             "auto-movable",
                             "ignore",
                             "going-offline",
                             "1",
                             "0"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ(mem_action_from_string(bad[i]), _MEM_ACTION_INVALID);
        ASSERT_EQ(mem_action_from_string(NULL), _MEM_ACTION_INVALID);
}
