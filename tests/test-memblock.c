/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memblock.h: block names, attribute parsing and state writes, on mkdtemp fixture trees. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "memblock.h"
#include "test-util.h"

static Fixture *fixture;
static Sysfs *sysfs;

static void setup(void)
{
        ASSERT_OK(fixture_new(&fixture));
        ASSERT_OK(sysfs_open(fixture->root, &sysfs));
        ASSERT_TRUE(sysfs->plain_files);
}

static void teardown(void)
{
        sysfs = sysfs_free(sysfs);
        fixture_free(fixture);
        fixture = NULL;
}

static void write_attr(uint32_t id, const char *attr, const char *value)
{
        char rel[128];

        snprintf(rel, sizeof(rel), "sys/devices/system/memory/memory%u/%s", id, attr);
        ASSERT_OK(fixture_write(fixture, rel, value));
}

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
}

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

TEST(read_phys_index)
{
        uint64_t v;

        setup();
        /* The fixture writes "%08x" of the id, as the kernel does. */
        ASSERT_OK(fixture_add_block(fixture, 4096, -1, "offline", "Movable"));
        ASSERT_OK(fixture_add_block(fixture, 0x12abc, -1, "offline", "Movable"));
        ASSERT_OK(fixture_add_block(fixture, 0, -1, "online", "DMA"));
        ASSERT_OK(memblock_read_phys_index(sysfs, 4096, &v));
        ASSERT_EQ(v, 4096);
        ASSERT_OK(memblock_read_phys_index(sysfs, 0x12abc, &v));
        ASSERT_EQ(v, 0x12abc);
        ASSERT_OK(memblock_read_phys_index(sysfs, 0, &v));
        ASSERT_EQ(v, 0);

        /* Hex, not decimal: "00000010" is block 16. */
        write_attr(0, "phys_index", "00000010\n");
        ASSERT_OK(memblock_read_phys_index(sysfs, 0, &v));
        ASSERT_EQ(v, 16);
        write_attr(0, "phys_index", "ABCDEF12\n");
        ASSERT_OK(memblock_read_phys_index(sysfs, 0, &v));
        ASSERT_EQ(v, 0xabcdef12);
        write_attr(0, "phys_index", "0x10\n");
        ASSERT_ERROR(memblock_read_phys_index(sysfs, 0, &v), EINVAL);
        write_attr(0, "phys_index", "\n");
        ASSERT_ERROR(memblock_read_phys_index(sysfs, 0, &v), EINVAL);
        write_attr(0, "phys_index", "12 34\n");
        ASSERT_ERROR(memblock_read_phys_index(sysfs, 0, &v), EINVAL);
        ASSERT_ERROR(memblock_read_phys_index(sysfs, 1, &v), ENOENT);
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

static void assert_state_file(uint32_t id, const char *want)
{
        char buf[64];

        ASSERT_EQ(fixture_read_state(fixture, id, buf, sizeof(buf)), strlen(want));
        ASSERT_STREQ(buf, want);
}

TEST(apply)
{
        MemZone z;

        setup();
        ASSERT_OK(fixture_add_block(fixture, 3, 0, "offline", "Movable"));

        /* Writes exactly the kernel's spelling: no newline, the old "offline\n" is gone. */
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_MOVABLE, &z), 0);
        assert_state_file(3, "online_movable");
        /* The zone is read back from valid_zones. */
        ASSERT_EQ(z, MEM_ZONE_MOVABLE);

        write_attr(3, "valid_zones", "Normal\n");
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_KERNEL, &z), 0);
        assert_state_file(3, "online_kernel");
        ASSERT_EQ(z, MEM_ZONE_NORMAL);

        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE, NULL), 0);
        assert_state_file(3, "online");

        /* Offline: no zone. */
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_OFFLINE, &z), 0);
        assert_state_file(3, "offline");
        ASSERT_EQ(z, MEM_ZONE_UNKNOWN);

        /* online_movable always lands in Movable: the zone is known without a read. */
        ASSERT_EQ(unlink(fixture_memory_path(fixture, "memory3/valid_zones")), 0);
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_MOVABLE, &z), 0);
        assert_state_file(3, "online_movable");
        ASSERT_EQ(z, MEM_ZONE_MOVABLE);

        /* Onlined to a kernel zone, but valid_zones unreadable: still done, zone unknown. */
        write_attr(3, "state", "offline\n");
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_KERNEL, &z), 0);
        assert_state_file(3, "online_kernel");
        ASSERT_EQ(z, MEM_ZONE_UNKNOWN);

        /* Nothing to write: -EINVAL and the file is untouched. */
        write_attr(3, "state", "offline\n");
        ASSERT_ERROR(memblock_apply(sysfs, 3, MEM_ACTION_NONE, &z), EINVAL);
        ASSERT_ERROR(memblock_apply(sysfs, 3, _MEM_ACTION_MAX, &z), EINVAL);
        ASSERT_ERROR(memblock_apply(sysfs, 3, _MEM_ACTION_INVALID, &z), EINVAL);
        assert_state_file(3, "offline\n");

        /* The block is gone. */
        ASSERT_ERROR(memblock_apply(sysfs, 4, MEM_ACTION_ONLINE_MOVABLE, &z), ENOENT);
        teardown();
}

/*
 * The kernel answers EINVAL to a state write when the block already is in that state. Plain
 * files never do, so memoryN/state is made a FIFO with a child process as the "kernel":
 * sysfs_write_at()'s write() goes through, its ftruncate() for plain files fails with EINVAL on
 * the FIFO, which stands in for the kernel's EINVAL. The child then answers the state read-back
 * with @state_after. What is tested is memblock_apply()'s handling of -EINVAL.
 */
static int apply_einval(uint32_t id, MemAction a, const char *state_after, MemZone *ret_zone,
                        char *written, size_t size)
{
        char state[4096], received[128] = "";
        const char *statep = fixture_memory_path(fixture, "");
        int r, status;
        pid_t pid;

        snprintf(state, sizeof(state), "%smemory%u/state", statep, id);
        ASSERT_EQ(unlink(state), 0);
        ASSERT_EQ(mkfifo(state, 0600), 0);

        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                size_t len = 0;
                ssize_t n;
                int fd;

                alarm(20);
                fd = open(state, O_RDONLY);
                if (fd < 0)
                        _exit(2);
                while ((n = read(fd, received + len, sizeof(received) - 1 - len)) > 0)
                        len += (size_t)n;
                close(fd);
                received[len] = 0;
                if (fixture_write(fixture, "received", received) < 0)
                        _exit(3);
                fd = open(state, O_WRONLY);
                if (fd < 0)
                        _exit(4);
                if (write(fd, state_after, strlen(state_after)) != (ssize_t)strlen(state_after))
                        _exit(5);
                close(fd);
                _exit(0);
        }

        alarm(20); /* a FIFO open that never pairs up must fail the test, not hang it */
        r = memblock_apply(sysfs, id, a, ret_zone);
        alarm(0);
        /*
         * If memblock_apply() skipped the read-back, the child is or will be waiting for a
         * reader: hold one open until it is done, so the test fails fast instead of hanging.
         */
        int fd = open(state, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        close(fd);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        ASSERT_TRUE(fixture_read(fixture, "received", written, size) >= 0);
        /* Back to a plain file for the next case. */
        ASSERT_EQ(unlink(state), 0);
        ASSERT_OK(fixture_write(fixture, state + strlen(fixture->root) + 1, state_after));
        return r;
}

TEST(apply_already_in_state)
{
        char written[64];
        MemZone z;

        setup();
        ASSERT_OK(fixture_add_block(fixture, 3, 0, "offline", "Movable"));

        /* Another onliner was first: the block is online, that counts as done (1). */
        z = (MemZone)42;
        ASSERT_EQ(apply_einval(3, MEM_ACTION_ONLINE_MOVABLE, "online\n", &z, written,
                               sizeof(written)),
                  1);
        ASSERT_STREQ(written, "online_movable");
        ASSERT_EQ(z, MEM_ZONE_MOVABLE);

        /*
         * online_movable on a block already online in Normal is EINVAL in the kernel, not a zone
         * change: "already online" (1), and the zone read back tells the caller it is Normal.
         */
        write_attr(3, "valid_zones", "Normal\n");
        z = (MemZone)42;
        ASSERT_EQ(apply_einval(3, MEM_ACTION_ONLINE_MOVABLE, "online\n", &z, written,
                               sizeof(written)),
                  1);
        ASSERT_EQ(z, MEM_ZONE_NORMAL);
        ASSERT_EQ(apply_einval(3, MEM_ACTION_ONLINE_KERNEL, "online\n", NULL, written,
                               sizeof(written)),
                  1);
        ASSERT_STREQ(written, "online_kernel");

        /* Offline of an offline block. */
        z = (MemZone)42;
        ASSERT_EQ(apply_einval(3, MEM_ACTION_OFFLINE, "offline\n", &z, written, sizeof(written)),
                  1);
        ASSERT_STREQ(written, "offline");
        ASSERT_EQ(z, MEM_ZONE_UNKNOWN);

        /* EINVAL and the block is not in the target state: a real failure. */
        ASSERT_ERROR(apply_einval(3, MEM_ACTION_ONLINE, "offline\n", &z, written, sizeof(written)),
                     EINVAL);
        ASSERT_STREQ(written, "online");
        /* Offlining a block that spans zones (valid_zones "none") stays online: failure. */
        write_attr(3, "valid_zones", "none\n");
        ASSERT_ERROR(apply_einval(3, MEM_ACTION_OFFLINE, "online\n", &z, written, sizeof(written)),
                     EINVAL);
        /* going-offline is neither online nor offline. */
        ASSERT_ERROR(apply_einval(3, MEM_ACTION_OFFLINE, "going-offline\n", &z, written,
                                  sizeof(written)),
                     EINVAL);
        ASSERT_ERROR(
                apply_einval(3, MEM_ACTION_ONLINE, "going-offline\n", &z, written, sizeof(written)),
                EINVAL);
        /* An unreadable state after EINVAL is a failure too. */
        ASSERT_ERROR(apply_einval(3, MEM_ACTION_ONLINE, "garbage\n", &z, written, sizeof(written)),
                     EINVAL);
        teardown();
}
