/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memblock_apply(): state writes and the kernel's answers to them. */
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
