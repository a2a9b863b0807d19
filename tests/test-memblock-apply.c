/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memblock_apply() on a fixture tree: the bytes it writes and the zone it reports. A plain file
 * cannot answer a write the way the kernel does (EINVAL for "already in that state"); that part
 * runs against the simulator: tests/sim/test-memblock-apply.py.
 */
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "memblock-test.h"
#include "memblock.h"
#include "test-util.h"

static void assert_state_file(uint32_t id, const char *want)
{
        char buf[64];

        ASSERT_EQ(fixture_read_state(fixture, id, buf, sizeof(buf)), strlen(want));
        ASSERT_STREQ(buf, want);
}

/* Empties memory3/state: a plain file keeps what a shorter write does not cover. */
static void clear_state(void)
{
        write_attr(3, "state", "");
}

TEST(apply)
{
        MemZone z;

        setup();
        ASSERT_OK(fixture_add_block(fixture, 3, 0, "offline", "Movable"));

        /* Writes exactly the kernel's spelling, no newline. */
        clear_state();
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_MOVABLE, &z), 0);
        assert_state_file(3, "online_movable");
        /* The zone is read back from valid_zones. */
        ASSERT_EQ(z, MEM_ZONE_MOVABLE);

        write_attr(3, "valid_zones", "Normal\n");
        clear_state();
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_KERNEL, &z), 0);
        assert_state_file(3, "online_kernel");
        ASSERT_EQ(z, MEM_ZONE_NORMAL);

        clear_state();
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE, NULL), 0);
        assert_state_file(3, "online");

        /* Offline: no zone. */
        clear_state();
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_OFFLINE, &z), 0);
        assert_state_file(3, "offline");
        ASSERT_EQ(z, MEM_ZONE_UNKNOWN);

        /* online_movable always lands in Movable: the zone is known without a read. */
        ASSERT_EQ(unlink(fixture_memory_path(fixture, "memory3/valid_zones")), 0);
        clear_state();
        z = (MemZone)42;
        ASSERT_EQ(memblock_apply(sysfs, 3, MEM_ACTION_ONLINE_MOVABLE, &z), 0);
        assert_state_file(3, "online_movable");
        ASSERT_EQ(z, MEM_ZONE_MOVABLE);

        /* Onlined to a kernel zone, but valid_zones unreadable: still done, zone unknown. */
        clear_state();
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
