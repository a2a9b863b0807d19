/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfs.h: opening a sysroot, rooted reads and writes. Every write goes into a mkdtemp fixture;
 * the only access to the host's /sys is sysfs_open("/"), which opens and fstatfs()es a directory.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "sysfs.h"
#include "test-util.h"

TEST(open_fixture)
{
        Fixture *f;
        Sysfs *s = NULL;
        struct stat a, b;
        char path[4096];

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->root_fd >= 0);
        ASSERT_TRUE(s->memory_fd >= 0);

        /* The fds are the root and its memory directory. */
        ASSERT_EQ(fstat(s->root_fd, &a), 0);
        ASSERT_EQ(stat(f->root, &b), 0);
        ASSERT_TRUE(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
        ASSERT_EQ(fstat(s->memory_fd, &a), 0);
        snprintf(path, sizeof(path), "%s/sys/devices/system/memory", f->root);
        ASSERT_EQ(stat(path, &b), 0);
        ASSERT_TRUE(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
        /* close-on-exec: the daemon's helpers must not inherit them. */
        ASSERT_TRUE(fcntl(s->root_fd, F_GETFD) & FD_CLOEXEC);
        ASSERT_TRUE(fcntl(s->memory_fd, F_GETFD) & FD_CLOEXEC);

        ASSERT_TRUE(sysfs_free(s) == NULL);
        ASSERT_TRUE(sysfs_free(NULL) == NULL);
        fixture_free(f);
}

TEST(open_errors)
{
        Fixture *f;
        Sysfs *s = NULL;
        char path[4096];

        ASSERT_OK(fixture_new(&f));

        /* A root without sys/devices/system/memory has no memory hotplug. */
        snprintf(path, sizeof(path), "%s/proc", f->root);
        ASSERT_ERROR(sysfs_open(path, &s), ENOENT);
        snprintf(path, sizeof(path), "%s/sys/devices/system/memory", f->root);
        ASSERT_ERROR(sysfs_open(path, &s), ENOENT);
        /* The root itself missing. */
        snprintf(path, sizeof(path), "%s/nonexistent", f->root);
        ASSERT_ERROR(sysfs_open(path, &s), ENOENT);
        /* A regular file is not a root. */
        ASSERT_OK(fixture_write(f, "proc/zoneinfo", "x"));
        snprintf(path, sizeof(path), "%s/proc/zoneinfo", f->root);
        ASSERT_ERROR(sysfs_open(path, &s), ENOTDIR);
        ASSERT_TRUE(s == NULL);

        fixture_free(f);
}

TEST(testing_guard)
{
        struct statfs sfs;
        Sysfs *s = NULL;

        /* Read-only: opens /sys/devices/system/memory and statfs()es it, nothing else. */
        if (statfs("/sys/devices/system/memory", &sfs) < 0 || sfs.f_type != SYSFS_MAGIC) {
                fprintf(stderr, "   no sysfs memory directory on this host, guard not testable\n");
                return;
        }
        ASSERT_EQ(setenv("MEMHP_TESTING", "1", 1), 0);
        ASSERT_ERROR(sysfs_open("/", &s), EPERM);
        ASSERT_TRUE(s == NULL);
        /* Any spelling of the host root is the host root. */
        ASSERT_ERROR(sysfs_open("//", &s), EPERM);
        ASSERT_ERROR(sysfs_open("/sys/..", &s), EPERM);
        ASSERT_TRUE(s == NULL);
}

/*
 * RESOLVE_BENEATH needs openat2() (Linux 5.6); valgrind 3.19 does not know the syscall either.
 * Without it sysfs falls back to openat() and only the real-sysfs guard protects test runs.
 */
static bool have_openat2(void)
{
        struct open_how how = {.flags = O_RDONLY | O_DIRECTORY, .resolve = RESOLVE_BENEATH};
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

TEST(read_at)
{
        Fixture *f;
        Sysfs *s;
        char buf[64];

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));

        /* One trailing newline is stripped, the length is returned. */
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "block_size_bytes", buf, sizeof(buf)), 7);
        ASSERT_STREQ(buf, "8000000");
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/a", "online\n\n"));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, sizeof(buf)), 7);
        ASSERT_STREQ(buf, "online\n");
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/a", "no newline"));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, sizeof(buf)), 10);
        ASSERT_STREQ(buf, "no newline");
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/a", "Normal Movable\n"));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, sizeof(buf)), 14);
        ASSERT_STREQ(buf, "Normal Movable");
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/a", "\n"));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "");
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/a", ""));
        memset(buf, 'x', sizeof(buf));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, sizeof(buf)), 0);
        ASSERT_STREQ(buf, "");

        /* Relative to the given dirfd: the root or the memory directory. */
        ASSERT_EQ(sysfs_read_at(s->root_fd, "sys/devices/system/memory/block_size_bytes", buf,
                                sizeof(buf)),
                  7);
        ASSERT_STREQ(buf, "8000000");
        ASSERT_OK(fixture_add_block(f, 12, 0, "offline", "Normal Movable"));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "memory12/state", buf, sizeof(buf)), 7);
        ASSERT_STREQ(buf, "offline");
        /* A symlink that leaves the dirfd is refused, even one that stays in the sysroot. */
        if (have_openat2())
                ASSERT_ERROR(sysfs_read_at(s->memory_fd, "memory12/node0/memory12/valid_zones", buf,
                                           sizeof(buf)),
                             EXDEV);
        ASSERT_EQ(sysfs_read_at(s->root_fd, "sys/devices/system/memory/memory12/valid_zones", buf,
                                sizeof(buf)),
                  14);
        ASSERT_STREQ(buf, "Normal Movable");

        /* Errors are -errno. */
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, "memory13/state", buf, sizeof(buf)), ENOENT);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, "block_size_bytes/x", buf, sizeof(buf)), ENOTDIR);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, "memory12", buf, sizeof(buf)), EISDIR);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, "block_size_bytes", buf, 0), EINVAL);
        ASSERT_ERROR(sysfs_read_at(-1, "block_size_bytes", buf, sizeof(buf)), EBADF);

        sysfs_free(s);
        fixture_free(f);
}

TEST(read_at_buffer_limits)
{
        Fixture *f;
        Sysfs *s;
        char buf[16];

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));

        /* A value that exactly fills the buffer with its newline: newline dropped, all kept. */
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/a", "going-offline\n"));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, 15), 13);
        ASSERT_STREQ(buf, "going-offline");
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, 14), 13);
        ASSERT_STREQ(buf, "going-offline");
        /* Never writes past @size, always NUL-terminates. */
        memset(buf, 'x', sizeof(buf));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, 5), 4);
        ASSERT_STREQ(buf, "goin");
        ASSERT_EQ(buf[5], 'x');
        memset(buf, 'x', sizeof(buf));
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "a", buf, 1), 0);
        ASSERT_EQ(buf[0], 0);
        ASSERT_EQ(buf[1], 'x');

        sysfs_free(s);
        fixture_free(f);
}

TEST(read_file_at)
{
        Fixture *f;
        Sysfs *s;
        char *text = NULL, *big;
        size_t len = 0, big_len;

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));

        /* Small file, kept verbatim (no newline stripping), NUL-terminated. */
        ASSERT_OK(fixture_write_zoneinfo(f, "Node 0, zone      DMA\n"));
        ASSERT_OK(sysfs_read_file_at(s->root_fd, "proc/zoneinfo", &text, &len));
        ASSERT_EQ(len, 22);
        ASSERT_STREQ(text, "Node 0, zone      DMA\n");
        free(text);

        /* Empty file. */
        ASSERT_OK(fixture_write_zoneinfo(f, ""));
        ASSERT_OK(sysfs_read_file_at(s->root_fd, "proc/zoneinfo", &text, &len));
        ASSERT_EQ(len, 0);
        ASSERT_STREQ(text, "");
        free(text);

        /* Sizes around the 16 KiB initial buffer and well beyond it; ret_len is optional. */
        static const size_t sizes[] = {16382, 16383, 16384, 16385, 32767, 32768, 100000, 1 << 20};
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                big_len = sizes[i];
                big = malloc(big_len + 1);
                ASSERT_TRUE(big);
                for (size_t j = 0; j < big_len; j++)
                        big[j] = (j % 61 == 60) ? '\n' : (char)('a' + (j * 7 + j / 61) % 26);
                big[big_len] = 0;
                ASSERT_OK(fixture_write_zoneinfo(f, big));
                ASSERT_OK(sysfs_read_file_at(s->root_fd, "proc/zoneinfo", &text, &len));
                ASSERT_EQ(len, big_len);
                ASSERT_TRUE(memcmp(text, big, big_len) == 0);
                ASSERT_EQ(text[len], 0);
                free(text);
                text = NULL;
                ASSERT_OK(sysfs_read_file_at(s->root_fd, "proc/zoneinfo", &text, NULL));
                ASSERT_EQ(strlen(text), big_len);
                free(text);
                free(big);
        }

        text = NULL;
        ASSERT_ERROR(sysfs_read_file_at(s->root_fd, "proc/cmdline", &text, &len), ENOENT);
        ASSERT_TRUE(text == NULL);
        ASSERT_ERROR(sysfs_read_file_at(s->root_fd, "proc", &text, &len), EISDIR);
        ASSERT_TRUE(text == NULL);

        sysfs_free(s);
        fixture_free(f);
}

TEST(write_at)
{
        Fixture *f;
        Sysfs *s;
        char buf[64];

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(fixture_add_block(f, 3, 0, "offline", "Normal Movable"));

        /*
         * Exactly the value arrives, no newline added. A plain file is no sysfs attribute: the
         * bytes land at offset 0 over what it held, so each case starts from an empty file.
         * What the kernel makes of a write is tested against the simulator (tests/sim).
         */
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/memory3/state", ""));
        ASSERT_OK(sysfs_write_at(s->memory_fd, "memory3/state", "online_movable"));
        ASSERT_EQ(fixture_read_state(f, 3, buf, sizeof(buf)), 14);
        ASSERT_STREQ(buf, "online_movable");
        ASSERT_EQ(sysfs_read_at(s->memory_fd, "memory3/state", buf, sizeof(buf)), 14);
        ASSERT_STREQ(buf, "online_movable");
        /* Relative to the root fd as well. */
        ASSERT_OK(fixture_write(f, "sys/devices/system/memory/auto_online_blocks", ""));
        ASSERT_OK(sysfs_write_at(s->root_fd, "sys/devices/system/memory/auto_online_blocks",
                                 "offline"));
        ASSERT_EQ(fixture_read(f, "sys/devices/system/memory/auto_online_blocks", buf, sizeof(buf)),
                  7);
        ASSERT_STREQ(buf, "offline");

        /* Like sysfs, a write never creates an attribute. */
        ASSERT_ERROR(sysfs_write_at(s->memory_fd, "memory3/nonexistent", "1"), ENOENT);
        ASSERT_ERROR(
                fixture_read(f, "sys/devices/system/memory/memory3/nonexistent", buf, sizeof(buf)),
                ENOENT);
        ASSERT_ERROR(sysfs_write_at(s->memory_fd, "memory4/state", "online"), ENOENT);
        ASSERT_ERROR(sysfs_write_at(s->memory_fd, "memory3", "online"), EISDIR);

        sysfs_free(s);
        fixture_free(f);
}

TEST(write_stays_in_root)
{
        Fixture *f, *g;
        Sysfs *s;
        char buf[64];

        /* Two trees: writes through one Sysfs land in its own tree only. */
        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(fixture_new(&g));
        ASSERT_OK(fixture_add_block(f, 0, 0, "offline", "Normal"));
        ASSERT_OK(fixture_add_block(g, 0, 0, "offline", "Normal"));
        ASSERT_OK(sysfs_open(f->root, &s));

        ASSERT_OK(sysfs_write_at(s->memory_fd, "memory0/state", "online_kernel"));
        ASSERT_EQ(fixture_read_state(f, 0, buf, sizeof(buf)), 13);
        ASSERT_STREQ(buf, "online_kernel");
        ASSERT_EQ(fixture_read_state(g, 0, buf, sizeof(buf)), 8);
        ASSERT_STREQ(buf, "offline\n");

        /*
         * The fds stay on the tree that was opened even when its path now names another tree:
         * move f away and put g's tree in its place.
         */
        char moved[4096];
        snprintf(moved, sizeof(moved), "%s.moved", f->root);
        ASSERT_EQ(rename(f->root, moved), 0);
        ASSERT_EQ(rename(g->root, f->root), 0);
        ASSERT_OK(sysfs_write_at(s->memory_fd, "memory0/state", "online_movable"));
        /* f->root now is g's tree: untouched. */
        ASSERT_EQ(fixture_read_state(f, 0, buf, sizeof(buf)), 8);
        ASSERT_STREQ(buf, "offline\n");
        ASSERT_EQ(rename(f->root, g->root), 0);
        ASSERT_EQ(rename(moved, f->root), 0);
        /* The write landed in the tree that was opened (longer than what it held: no tail). */
        ASSERT_EQ(fixture_read_state(f, 0, buf, sizeof(buf)), 14);
        ASSERT_STREQ(buf, "online_movable");

        sysfs_free(s);
        fixture_free(g);
        fixture_free(f);
}

TEST(symlinks_stay_in_root)
{
        if (!have_openat2()) {
                fprintf(stderr, "no openat2(): symlink containment not testable here\n");
                return;
        }
        char link[4096], target[4096], buf[64];
        Fixture *f, *g;
        Sysfs *s;

        /* f's memory0/state is an absolute symlink to g's: writes must not follow it out. */
        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(fixture_new(&g));
        ASSERT_OK(fixture_add_block(f, 0, 0, "offline", "Normal"));
        ASSERT_OK(fixture_add_block(g, 0, 0, "offline", "Normal"));
        snprintf(link, sizeof(link), "%s/sys/devices/system/memory/memory0/state", f->root);
        snprintf(target, sizeof(target), "%s/sys/devices/system/memory/memory0/state", g->root);
        ASSERT_EQ(unlink(link), 0);
        ASSERT_EQ(symlink(target, link), 0);
        ASSERT_OK(sysfs_open(f->root, &s));

        ASSERT_ERROR(sysfs_write_at(s->memory_fd, "memory0/state", "online_movable"), EXDEV);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, "memory0/state", buf, sizeof(buf)), EXDEV);
        ASSERT_EQ(fixture_read_state(g, 0, buf, sizeof(buf)), 8);
        ASSERT_STREQ(buf, "offline\n");

        sysfs_free(s);
        fixture_free(g);
        fixture_free(f);
}

TEST(paths_are_rooted)
{
        Fixture *f, *g;
        Sysfs *s;
        char buf[64], path[4096], *text = NULL;

        /* g stands in for "outside the root": nothing may reach it through f's Sysfs. */
        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(fixture_new(&g));
        ASSERT_OK(fixture_add_block(f, 0, 0, "offline", "Normal"));
        ASSERT_OK(fixture_add_block(g, 0, 0, "offline", "Normal"));
        ASSERT_OK(fixture_write_zoneinfo(g, "Node 0, zone   Normal\n"));
        ASSERT_OK(sysfs_open(f->root, &s));

        /* An absolute path would make openat() ignore the dirfd. */
        snprintf(path, sizeof(path), "%s/sys/devices/system/memory/memory0/state", g->root);
        ASSERT_ERROR(sysfs_write_at(s->memory_fd, path, "online"), EINVAL);
        ASSERT_ERROR(sysfs_write_at(s->root_fd, path, "online"), EINVAL);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, path, buf, sizeof(buf)), EINVAL);
        snprintf(path, sizeof(path), "%s/proc/zoneinfo", g->root);
        ASSERT_ERROR(sysfs_read_file_at(s->root_fd, path, &text, NULL), EINVAL);
        ASSERT_TRUE(text == NULL);

        /* ".." climbs out of the root. */
        snprintf(path, sizeof(path), "../../../../..%s/sys/devices/system/memory/memory0/state",
                 g->root);
        ASSERT_ERROR(sysfs_write_at(s->memory_fd, path, "online"), EINVAL);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, path, buf, sizeof(buf)), EINVAL);
        snprintf(path, sizeof(path), "..%s/proc/zoneinfo", g->root);
        ASSERT_ERROR(sysfs_read_file_at(s->root_fd, path, &text, NULL), EINVAL);
        ASSERT_TRUE(text == NULL);
        /* Even one that would come back inside. */
        ASSERT_ERROR(sysfs_write_at(s->memory_fd, "memory0/../memory0/state", "online"), EINVAL);
        ASSERT_ERROR(sysfs_read_at(s->memory_fd, "../memory/block_size_bytes", buf, sizeof(buf)),
                     EINVAL);

        /* Nothing changed anywhere. */
        ASSERT_EQ(fixture_read_state(g, 0, buf, sizeof(buf)), 8);
        ASSERT_STREQ(buf, "offline\n");
        ASSERT_EQ(fixture_read_state(f, 0, buf, sizeof(buf)), 8);
        ASSERT_STREQ(buf, "offline\n");

        sysfs_free(s);
        fixture_free(g);
        fixture_free(f);
}
