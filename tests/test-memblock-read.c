/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memblock.h: reading block attributes and enumerating blocks, on mkdtemp fixture trees. */
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

TEST(read_block_size)
{
        static const struct {
                const char *text;
                uint64_t value;
        } good[] = {
                {"8000000\n", UINT64_C(128) << 20},
                {"8000000", UINT64_C(128) << 20},
                {"80000000\n", UINT64_C(2) << 30},
                {"1000000\n", UINT64_C(16) << 20},
                {"1000\n", 4096},
                {"8000000000000000\n", UINT64_C(1) << 63},
        };
        static const struct {
                const char *text;
                int err;
        } bad[] = {
                {"0x8000000\n", EINVAL}, /* sysfs prints no 0x */
                {"134217728\n", EINVAL}, /* decimal 128 MiB: 0x134217728 is not a power of 2 */
                {"7ffffff\n", EINVAL},   /* not a power of two */
                {"8000001\n", EINVAL},
                {"c000000\n", EINVAL},
                {"0\n", EINVAL},
                {"800\n", EINVAL}, /* smaller than a page */
                {"1\n", EINVAL},
                {"\n", EINVAL},
                {"", EINVAL},
                {"garbage\n", EINVAL},
                {"-8000000\n", EINVAL},
                {"+8000000\n", EINVAL},
                {" 8000000\n", EINVAL},
                {"8000000 \n", EINVAL},
                {"8000000k\n", EINVAL},
                {"10000000000000000\n", ERANGE},
        };
        uint64_t v;

        setup();
        /* The fixture's default. */
        ASSERT_OK(memblock_read_block_size(sysfs, &v));
        ASSERT_EQ(v, FIXTURE_BLOCK_SIZE);
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                ASSERT_OK(fixture_write(fixture, "sys/devices/system/memory/block_size_bytes",
                                        good[i].text));
                v = 0;
                ASSERT_OK(memblock_read_block_size(sysfs, &v));
                ASSERT_EQ(v, good[i].value);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_OK(fixture_write(fixture, "sys/devices/system/memory/block_size_bytes",
                                        bad[i].text));
                fprintf(stderr, "   bad block_size_bytes #%zu\n", i);
                v = 42;
                ASSERT_ERROR(memblock_read_block_size(sysfs, &v), bad[i].err);
                ASSERT_EQ(v, 42);
        }
        ASSERT_EQ(unlink(fixture_memory_path(fixture, "block_size_bytes")), 0);
        ASSERT_ERROR(memblock_read_block_size(sysfs, &v), ENOENT);
        teardown();
}

TEST(read_state)
{
        MemState st;

        setup();
        ASSERT_OK(fixture_add_block(fixture, 0, 0, "online", "Normal"));
        ASSERT_OK(fixture_add_block(fixture, 1, 0, "offline", "Normal Movable"));
        ASSERT_OK(fixture_add_block(fixture, 2, 0, "going-offline", "Movable"));

        ASSERT_OK(memblock_read_state(sysfs, 0, &st));
        ASSERT_EQ(st, MEM_STATE_ONLINE);
        ASSERT_OK(memblock_read_state(sysfs, 1, &st));
        ASSERT_EQ(st, MEM_STATE_OFFLINE);
        ASSERT_OK(memblock_read_state(sysfs, 2, &st));
        ASSERT_EQ(st, MEM_STATE_GOING_OFFLINE);

        /* Without the newline too. */
        write_attr(0, "state", "offline");
        ASSERT_OK(memblock_read_state(sysfs, 0, &st));
        ASSERT_EQ(st, MEM_STATE_OFFLINE);

        /* The write-only spellings and garbage are not states. */
        static const char *const bad[] = {
                "online_movable\n", "online_kernel\n", "Online\n", "1\n", "\n", "",
                "online \n",        "going_offline\n", "onlineX"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_attr(0, "state", bad[i]);
                st = (MemState)42;
                ASSERT_ERROR(memblock_read_state(sysfs, 0, &st), EINVAL);
                ASSERT_EQ(st, 42);
        }
        ASSERT_ERROR(memblock_read_state(sysfs, 3, &st), ENOENT);
        teardown();
}

TEST(read_zone)
{
        static const struct {
                const char *valid_zones;
                MemZone zone;
        } good[] = {
                /* Online blocks: the zone they are in. */
                {"Normal\n", MEM_ZONE_NORMAL},
                {"Movable\n", MEM_ZONE_MOVABLE},
                {"DMA\n", MEM_ZONE_DMA},
                {"DMA32\n", MEM_ZONE_DMA32},
                {"Device\n", MEM_ZONE_DEVICE},
                {"none\n", MEM_ZONE_NONE},
                /* Offline blocks: the first zone is the one plain "online" would choose. */
                {"Normal Movable\n", MEM_ZONE_NORMAL},
                {"Movable Normal\n", MEM_ZONE_MOVABLE},
                {"DMA32 Normal Movable\n", MEM_ZONE_DMA32},
                {"Normal", MEM_ZONE_NORMAL},
        };
        static const char *const bad[] = {
                "\n",        "",           "normal\n", "HighMem\n", "Normal,Movable\n",
                " Normal\n", "Moveable\n", "NONE\n"};
        MemZone z;

        setup();
        ASSERT_OK(fixture_add_block(fixture, 9, 0, "offline", "Normal Movable"));
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                write_attr(9, "valid_zones", good[i].valid_zones);
                z = MEM_ZONE_UNKNOWN;
                ASSERT_OK(memblock_read_zone(sysfs, 9, &z));
                ASSERT_EQ(z, good[i].zone);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_attr(9, "valid_zones", bad[i]);
                fprintf(stderr, "   bad valid_zones #%zu\n", i);
                z = (MemZone)42;
                ASSERT_ERROR(memblock_read_zone(sysfs, 9, &z), EINVAL);
                ASSERT_EQ(z, 42);
        }
        ASSERT_ERROR(memblock_read_zone(sysfs, 10, &z), ENOENT);
        /* A kernel without CONFIG_MEMORY_HOTREMOVE has no valid_zones. */
        ASSERT_EQ(unlink(fixture_memory_path(fixture, "memory9/valid_zones")), 0);
        ASSERT_ERROR(memblock_read_zone(sysfs, 9, &z), ENOENT);
        teardown();
}

TEST(read_node)
{
        int node;

        setup();
        ASSERT_OK(fixture_add_node(fixture, 0));
        ASSERT_OK(fixture_add_block(fixture, 5, 1, "offline", "Movable"));
        ASSERT_OK(fixture_add_block(fixture, 6, 1023, "offline", "Movable"));
        ASSERT_OK(fixture_add_block(fixture, 7, -1, "offline", "Movable"));

        /* Hint right. */
        node = -5;
        ASSERT_OK(memblock_read_node(sysfs, 5, 1, &node));
        ASSERT_EQ(node, 1);
        /* Hint wrong: node0 exists in the tree, but block 5 is not on it. */
        node = -5;
        ASSERT_OK(memblock_read_node(sysfs, 5, 0, &node));
        ASSERT_EQ(node, 1);
        /* Hint names a node that does not exist at all. */
        node = -5;
        ASSERT_OK(memblock_read_node(sysfs, 5, 7, &node));
        ASSERT_EQ(node, 1);
        /* No hint. */
        node = -5;
        ASSERT_OK(memblock_read_node(sysfs, 5, MEMBLOCK_NODE_NONE, &node));
        ASSERT_EQ(node, 1);
        /* Large node ids. */
        ASSERT_OK(memblock_read_node(sysfs, 6, MEMBLOCK_NODE_NONE, &node));
        ASSERT_EQ(node, 1023);
        ASSERT_OK(memblock_read_node(sysfs, 6, 1, &node));
        ASSERT_EQ(node, 1023);
        ASSERT_OK(memblock_read_node(sysfs, 6, 1023, &node));
        ASSERT_EQ(node, 1023);

        /* No link yet (between the add uevent and the node registration): -ENODATA. */
        node = -5;
        ASSERT_ERROR(memblock_read_node(sysfs, 7, MEMBLOCK_NODE_NONE, &node), ENODATA);
        ASSERT_ERROR(memblock_read_node(sysfs, 7, 0, &node), ENODATA);
        ASSERT_ERROR(memblock_read_node(sysfs, 7, 1, &node), ENODATA);
        ASSERT_EQ(node, -5);
        /* ...until the kernel creates it. */
        ASSERT_OK(fixture_link_block(fixture, 7, 2));
        ASSERT_OK(memblock_read_node(sysfs, 7, 1, &node));
        ASSERT_EQ(node, 2);

        /* The block is gone: -ENOENT, hint or not. */
        ASSERT_ERROR(memblock_read_node(sysfs, 8, MEMBLOCK_NODE_NONE, &node), ENOENT);
        ASSERT_ERROR(memblock_read_node(sysfs, 8, 0, &node), ENOENT);
        ASSERT_ERROR(memblock_read_node(sysfs, 8, 1, &node), ENOENT);
        teardown();
}

static void assert_ids(const uint32_t *want, size_t n_want)
{
        uint32_t *ids = NULL;
        size_t n = 12345;

        ASSERT_OK(memblock_enumerate(sysfs, &ids, &n));
        ASSERT_EQ(n, n_want);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(ids[i], want[i]);
        free(ids);
}

TEST(enumerate)
{
        static const uint32_t add[] = {8192, 0, 4000000, 10, 2, 100, 1, 4294967294U, 32};
        static const uint32_t want[] = {0, 1, 2, 10, 32, 100, 8192, 4000000, 4294967294U};
        setup();
        /* No blocks at all. */
        assert_ids(NULL, 0);

        for (size_t i = 0; i < ELEMENTSOF(add); i++)
                ASSERT_OK(fixture_add_block(fixture, add[i], i % 3 == 0 ? -1 : 0, "offline",
                                            "Movable"));
        /* Entries that are not blocks: the tiers directory, attributes, odd names. */
        static const char *const dirs[] = {"memory_tiers",     "memory", "memory01", "memory-1",
                                           "memory4294967296", "power",  "memoryX"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                ASSERT_EQ(mkdir(fixture_memory_path(fixture, dirs[i]), 0755), 0);
        ASSERT_OK(fixture_write(fixture, "sys/devices/system/memory/uevent", ""));
        ASSERT_OK(fixture_write(fixture, "sys/devices/system/memory/probe", ""));
        assert_ids(want, ELEMENTSOF(want));
        teardown();
}

TEST(enumerate_many)
{
        /* More than one allocation step of the id array, created in scrambled order. */
        enum { N = 1000 };
        uint32_t want[N];

        setup();
        for (uint32_t i = 0; i < N; i++) {
                uint32_t k = (i * 7919) % N; /* 7919 is prime: a permutation of 0..N-1 */
                char rel[64];

                snprintf(rel, sizeof(rel), "memory%u", k * 3 + 5);
                ASSERT_EQ(mkdir(fixture_memory_path(fixture, rel), 0755), 0);
                want[i] = i * 3 + 5;
        }
        assert_ids(want, N);
        teardown();
}
