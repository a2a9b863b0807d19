/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hold records: format round trip, a parser that accepts nothing else, storage, verdicts. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "hold.h"
#include "sysfs.h"
#include "test-util.h"

TEST(format_parse)
{
        HoldRecord h = {.block = 4294967295U, .inode = 18446744073709551615ULL}, back;
        char buf[128];

        ASSERT_TRUE(hold_format(&h, buf, sizeof(buf)) > 0);
        ASSERT_TRUE(strcmp(buf, "memhpd-hold 1\nblock 4294967295\ninode 18446744073709551615\n") ==
                    0);
        ASSERT_OK(hold_parse(buf, &back));
        ASSERT_EQ(back.block, h.block);
        ASSERT_TRUE(back.inode == h.inode);
        ASSERT_EQ(hold_format(&h, buf, 10), -ENOBUFS);

        static const char *const bad[] = {
                "",
                "memhpd-hold 2\nblock 1\ninode 2\n",
                "memhpd-hold 1\nblock 1\ninode 2",          /* no final newline */
                "memhpd-hold 1\nblock 1\ninode 2\nextra\n", /* trailing data */
                "memhpd-hold 1\ninode 2\nblock 1\n",        /* order */
                "memhpd-hold 1\nblock 01\ninode 2\n",       /* leading zero */
                "memhpd-hold 1\nblock -1\ninode 2\n",
                "memhpd-hold 1\nblock 4294967296\ninode 2\n", /* > u32 */
                "memhpd-hold 1\nblock  1\ninode 2\n",
                "memhpd-hold 1\nblock\ninode 2\n",
                "memhpd-hold 1\nblock 1\ninode 99999999999999999999\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (hold_parse(bad[i], &back) != -EBADMSG) {
                        fprintf(stderr, "accepted bad record %zu: %s\n", i, bad[i]);
                        abort();
                }
        }
}

static int count_files(int dirfd)
{
        DIR *d = fdopendir(dup(dirfd));
        struct dirent *de;
        int n = 0;

        ASSERT_TRUE(d);
        rewinddir(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' || (de->d_name[1] && strcmp(de->d_name, "..")))
                        n++;
        closedir(d);
        return n;
}

TEST(store)
{
        char dir[] = "/tmp/test-hold-XXXXXX";
        HoldRecord *l = NULL;
        size_t n = 99, bad = 99;
        int fd;

        ASSERT_TRUE(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);

        ASSERT_OK(hold_load_all(fd, &l, &n, &bad));
        ASSERT_EQ(n, 0);
        ASSERT_EQ(bad, 0);
        free(l);

        ASSERT_OK(hold_save(fd, &(HoldRecord){.block = 70, .inode = 7}));
        ASSERT_OK(hold_save(fd, &(HoldRecord){.block = 3, .inode = 30}));
        ASSERT_OK(hold_save(fd, &(HoldRecord){.block = 1000, .inode = 5}));
        /* Saving again replaces: one file, the new inode. */
        ASSERT_OK(hold_save(fd, &(HoldRecord){.block = 70, .inode = 8}));
        ASSERT_EQ(count_files(fd), 3); /* no temp files left */

        /* Not records: ignored and left alone. Damaged records: removed and counted. */
        ASSERT_TRUE(symlinkat("hold-70", fd, "other") == 0);
        ASSERT_TRUE(mkfifoat(fd, "hold-5", 0600) == 0);
        int w = openat(fd, "hold-6", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(w >= 0);
        ASSERT_TRUE(write(w, "memhpd-hold 1\nblock 7\ninode 1\n", 30) == 30); /* wrong block */
        close(w);
        w = openat(fd, "hold-007", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(w >= 0);
        close(w);

        ASSERT_OK(hold_load_all(fd, &l, &n, &bad));
        ASSERT_EQ(n, 3);
        ASSERT_EQ(bad, 2);
        ASSERT_EQ(l[0].block, 3);
        ASSERT_EQ(l[1].block, 70);
        ASSERT_EQ(l[1].inode, 8);
        ASSERT_EQ(l[2].block, 1000);
        ASSERT_TRUE(hold_find(l, n, 70) == &l[1]);
        ASSERT_TRUE(hold_find(l, n, 71) == NULL);
        ASSERT_TRUE(hold_find(NULL, 0, 1) == NULL);
        free(l);
        ASSERT_TRUE(faccessat(fd, "hold-5", F_OK, AT_SYMLINK_NOFOLLOW) < 0);
        ASSERT_TRUE(faccessat(fd, "hold-6", F_OK, AT_SYMLINK_NOFOLLOW) < 0);
        ASSERT_TRUE(faccessat(fd, "hold-007", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
        ASSERT_TRUE(faccessat(fd, "other", F_OK, AT_SYMLINK_NOFOLLOW) == 0);

        ASSERT_OK(hold_remove(fd, 70));
        ASSERT_OK(hold_remove(fd, 70)); /* already gone is fine */
        ASSERT_OK(hold_load_all(fd, &l, &n, NULL));
        ASSERT_EQ(n, 2);
        free(l);

        ASSERT_EQ(hold_load_all(-1, &l, &n, NULL), -EINVAL);
        unlinkat(fd, "hold-3", 0);
        unlinkat(fd, "hold-1000", 0);
        unlinkat(fd, "hold-007", 0);
        unlinkat(fd, "other", 0);
        close(fd);
        ASSERT_TRUE(rmdir(dir) == 0);
}

TEST(verdicts)
{
        HoldRecord h = {.block = 9, .inode = 42};

        ASSERT_EQ(hold_check(&h, true, MEM_STATE_OFFLINE, 42), HOLD_KEEP);
        ASSERT_EQ(hold_check(&h, true, MEM_STATE_GOING_OFFLINE, 42), HOLD_KEEP);
        ASSERT_EQ(hold_check(&h, true, MEM_STATE_ONLINE, 42), HOLD_ONLINE);
        ASSERT_EQ(hold_check(&h, true, MEM_STATE_OFFLINE, 43), HOLD_REPLACED);
        ASSERT_EQ(hold_check(&h, true, MEM_STATE_ONLINE, 43), HOLD_REPLACED);
        ASSERT_EQ(hold_check(&h, false, MEM_STATE_OFFLINE, 0), HOLD_GONE);
        for (int v = 0; v < _HOLD_VERDICT_MAX; v++)
                ASSERT_TRUE(hold_verdict_to_string((HoldVerdict)v));
        ASSERT_TRUE(hold_verdict_to_string(_HOLD_VERDICT_MAX) == NULL);
}

TEST(inode)
{
        Fixture *f = NULL;
        Sysfs *s = NULL;
        uint64_t a, b;
        char path[256];

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(fixture_add_block(f, 5, 0, "offline", "Movable"));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(hold_block_inode(s, 5, &a));
        ASSERT_OK(hold_block_inode(s, 5, &b));
        ASSERT_TRUE(a == b);
        ASSERT_EQ(hold_block_inode(s, 6, &b), -ENOENT);
        /* A block removed and created again is another directory. Keep the old one alive
         * under another name so the file system cannot hand out the same inode again. */
        snprintf(path, sizeof(path), "%s/sys/devices/system/memory/memory5", f->root);
        char moved[300];
        snprintf(moved, sizeof(moved), "%s.old", path);
        ASSERT_TRUE(rename(path, moved) == 0);
        ASSERT_TRUE(mkdir(path, 0755) == 0);
        ASSERT_OK(hold_block_inode(s, 5, &b));
        ASSERT_TRUE(a != b);
        sysfs_free(s);
        fixture_free(f);
}
