/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memblock.h: block names, uevent device paths and the state/zone/action strings. Reading
 * attributes is tested in test-memblock-read.c, state writes in test-memblock-apply.c (the same
 * binary), both on mkdtemp fixture trees.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "memblock-test.h"
#include "memblock.h"
#include "test-util.h"

TEST(parse_name)
{
        static const struct {
                const char *name;
                uint32_t id;
        } good[] = {
                {"memory0", 0},
                {"memory1", 1},
                {"memory32", 32},
                {"memory8192", 8192},
                {"memory4000000", 4000000},
                {"memory4294967294", UINT32_MAX - 1},
        };
        static const char *const bad[] = {
                "memory_tiers",
                "memory",
                "memory01",
                "memory00",
                "memory007",
                "memory4294967296",
                "memory18446744073709551615",
                "memory18446744073709551616",
                "memory99999999999999999999999999",
                "memory-1",
                "memory+1",
                "memory 1",
                " memory1",
                "memory1 ",
                "memory1\n",
                "memory1a",
                "memory0x10",
                "memory1.0",
                "Memory1",
                "MEMORY1",
                "memoryN",
                "node0",
                "block_size_bytes",
                "auto_online_blocks",
                "",
                "1",
                "memorymemory1",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint32_t id = 0xdeadbeef;

                ASSERT_OK(memblock_parse_name(good[i].name, &id));
                ASSERT_EQ(id, good[i].id);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint32_t id;

                fprintf(stderr, "   bad name #%zu\n", i);
                ASSERT_ERROR(memblock_parse_name(bad[i], &id), EINVAL);
        }
}

TEST(parse_devpath)
{
        uint32_t id = 0;

        ASSERT_OK(memblock_parse_devpath("/devices/system/memory/memory123", &id));
        ASSERT_EQ(id, 123);
        ASSERT_OK(memblock_parse_devpath("/devices/system/memory/memory0", &id));
        ASSERT_EQ(id, 0);
        ASSERT_OK(memblock_parse_devpath("/devices/system/memory/memory4294967294", &id));
        ASSERT_EQ(id, UINT32_MAX - 1);
        /* UINT32_MAX is reserved so loops over the block map cannot wrap. */
        ASSERT_ERROR(memblock_parse_devpath("/devices/system/memory/memory4294967295", &id),
                     EINVAL);

        static const char *const bad[] = {
                "/devices/system/memory/memory_tiers",
                "/devices/system/memory/memory4294967296",
                "/devices/system/memory/memory0123",
                "/devices/system/memory/memory-5",
                "/devices/system/memory/memory5x",
                "/devices/system/memory/memory5/",
                "/devices/system/memory/memory5/node0",
                "/devices/system/memory/",
                "/devices/system/memory",
                "/devices/system/node/node0",
                "/sys/devices/system/memory/memory5",
                "devices/system/memory/memory5",
                "memory5",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                fprintf(stderr, "   bad devpath #%zu\n", i);
                ASSERT_ERROR(memblock_parse_devpath(bad[i], &id), EINVAL);
        }
}

TEST(strings)
{
        static const char *const states[_MEM_STATE_MAX] = {
                [MEM_STATE_OFFLINE] = "offline",
                [MEM_STATE_ONLINE] = "online",
                [MEM_STATE_GOING_OFFLINE] = "going-offline",
        };
        static const char *const zones[_MEM_ZONE_MAX] = {
                [MEM_ZONE_UNKNOWN] = "",        [MEM_ZONE_DMA] = "DMA",
                [MEM_ZONE_DMA32] = "DMA32",     [MEM_ZONE_NORMAL] = "Normal",
                [MEM_ZONE_MOVABLE] = "Movable", [MEM_ZONE_DEVICE] = "Device",
                [MEM_ZONE_NONE] = "none",
        };

        for (int i = 0; i < _MEM_STATE_MAX; i++) {
                ASSERT_STREQ(mem_state_to_string((MemState)i), states[i]);
                ASSERT_EQ(mem_state_from_string(states[i]), i);
        }
        ASSERT_TRUE(mem_state_to_string(_MEM_STATE_MAX) == NULL);
        ASSERT_TRUE(mem_state_to_string(_MEM_STATE_INVALID) == NULL);
        ASSERT_EQ(mem_state_from_string("Online"), _MEM_STATE_INVALID);
        ASSERT_EQ(mem_state_from_string("online_movable"), _MEM_STATE_INVALID);
        ASSERT_EQ(mem_state_from_string(""), _MEM_STATE_INVALID);

        for (int i = 0; i < _MEM_ZONE_MAX; i++) {
                ASSERT_STREQ(mem_zone_to_string((MemZone)i), zones[i]);
                ASSERT_EQ(mem_zone_from_string(zones[i]), i);
        }
        ASSERT_TRUE(mem_zone_to_string(_MEM_ZONE_MAX) == NULL);
        ASSERT_TRUE(mem_zone_to_string(_MEM_ZONE_INVALID) == NULL);
        ASSERT_EQ(mem_zone_from_string("normal"), _MEM_ZONE_INVALID);
        ASSERT_EQ(mem_zone_from_string("HighMem"), _MEM_ZONE_INVALID);

        ASSERT_TRUE(mem_zone_is_kernel(MEM_ZONE_DMA));
        ASSERT_TRUE(mem_zone_is_kernel(MEM_ZONE_DMA32));
        ASSERT_TRUE(mem_zone_is_kernel(MEM_ZONE_NORMAL));
        ASSERT_TRUE(!mem_zone_is_kernel(MEM_ZONE_MOVABLE));
        ASSERT_TRUE(!mem_zone_is_kernel(MEM_ZONE_DEVICE));
        ASSERT_TRUE(!mem_zone_is_kernel(MEM_ZONE_NONE));
        ASSERT_TRUE(!mem_zone_is_kernel(MEM_ZONE_UNKNOWN));

        ASSERT_EQ(mem_action_target_state(MEM_ACTION_ONLINE), MEM_STATE_ONLINE);
        ASSERT_EQ(mem_action_target_state(MEM_ACTION_ONLINE_KERNEL), MEM_STATE_ONLINE);
        ASSERT_EQ(mem_action_target_state(MEM_ACTION_ONLINE_MOVABLE), MEM_STATE_ONLINE);
        ASSERT_EQ(mem_action_target_state(MEM_ACTION_OFFLINE), MEM_STATE_OFFLINE);
        ASSERT_EQ(mem_action_target_state(MEM_ACTION_NONE), _MEM_STATE_INVALID);
        ASSERT_EQ(mem_action_target_state(_MEM_ACTION_MAX), _MEM_STATE_INVALID);

        /* Where each action puts a block; "already online" elsewhere means another onliner. */
        ASSERT_TRUE(mem_action_zone_matches(MEM_ACTION_ONLINE_MOVABLE, MEM_ZONE_MOVABLE));
        ASSERT_TRUE(!mem_action_zone_matches(MEM_ACTION_ONLINE_MOVABLE, MEM_ZONE_NORMAL));
        ASSERT_TRUE(!mem_action_zone_matches(MEM_ACTION_ONLINE_MOVABLE, MEM_ZONE_NONE));
        ASSERT_TRUE(mem_action_zone_matches(MEM_ACTION_ONLINE_KERNEL, MEM_ZONE_NORMAL));
        ASSERT_TRUE(mem_action_zone_matches(MEM_ACTION_ONLINE_KERNEL, MEM_ZONE_DMA32));
        ASSERT_TRUE(mem_action_zone_matches(MEM_ACTION_ONLINE_KERNEL, MEM_ZONE_DMA));
        ASSERT_TRUE(!mem_action_zone_matches(MEM_ACTION_ONLINE_KERNEL, MEM_ZONE_MOVABLE));
        ASSERT_TRUE(!mem_action_zone_matches(MEM_ACTION_ONLINE_KERNEL, MEM_ZONE_DEVICE));
        ASSERT_TRUE(mem_action_zone_matches(MEM_ACTION_ONLINE, MEM_ZONE_MOVABLE));
        ASSERT_TRUE(mem_action_zone_matches(MEM_ACTION_ONLINE, MEM_ZONE_NORMAL));
}
