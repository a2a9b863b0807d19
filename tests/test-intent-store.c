/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Intent records on disk, in a temporary directory: save, atomic replace, load_all with garbage
 * around, remove, and a failed save that leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intent-test.h"
#include "intent.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"
#include "test-util.h"
#include "txn.h"

static size_t count_entries(int dirfd, bool *ret_only_records)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;
        int fd;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        d = fdopendir(fd);
        ASSERT_TRUE(d);
        *ret_only_records = true;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (strncmp(de->d_name, "txn-", 4) != 0)
                        *ret_only_records = false;
                n++;
        }
        return n;
}

static void free_all(Txn **l, size_t n, char **bad)
{
        for (size_t i = 0; i < n; i++)
                txn_free(l[i]);
        free(l);
        strv_free(bad);
}

static bool strv_contains(char **l, const char *s)
{
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static void write_file_at(int dirfd, const char *name, const char *content)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t)strlen(content));
}

static void rm_rf(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        ASSERT_EQ(unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR), 0);
        }
        ASSERT_EQ(rmdir(dir), 0);
}

TEST(save_load_remove)
{
        static const uint64_t ids[] = {30, 5, 12, 1000000};
        char dir[] = "/tmp/test-intent-XXXXXX";
        _cleanup_close_ int dfd = -EBADF, pfd = -EBADF;
        _cleanup_free_ char *wrong_id = NULL;
        Txn **l = NULL;
        char **bad = NULL;
        size_t n = 0;
        bool only;

        ASSERT_TRUE(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);
        pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(pfd >= 0);

        /* Empty directory. */
        ASSERT_OK(intent_load_all(dfd, &l, &n, &bad));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(bad == NULL);
        free_all(l, n, bad);

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                _cleanup_(txn_freep) Txn *t = sample();

                t->id = ids[i];
                t->cursor = i;
                /* Works with an O_PATH directory fd as well. */
                ASSERT_OK(intent_save(i % 2 ? pfd : dfd, t));
        }
        ASSERT_EQ(count_entries(dfd, &only), ELEMENTSOF(ids));
        ASSERT_TRUE(only);

        /* Garbage around the records. */
        write_file_at(dfd, "txn-7.intent", "memhpd-intent 1\nid 7\ngarbage\n");
        write_file_at(dfd, "txn-8.intent", "");
        {
                _cleanup_(txn_freep) Txn *t = sample();
                _cleanup_free_ char *text = NULL;

                t->id = 9; /* content says 9, name says 10 */
                ASSERT_OK(intent_format(t, &text));
                write_file_at(dfd, "txn-10.intent", text);
                wrong_id = TAKE_PTR(text);
        }
        write_file_at(dfd, "txn-005.intent", wrong_id); /* not a record name: ignored */
        write_file_at(dfd, "txn-11.intent.bak", wrong_id);
        write_file_at(dfd, "notes.txt", "hello");
        ASSERT_EQ(mkdirat(dfd, "txn-13.intent", 0700), 0);
        ASSERT_EQ(mkfifoat(dfd, "txn-14.intent", 0600), 0);
        {
                /* A symlink to a record that would be valid under that name is refused. */
                _cleanup_(txn_freep) Txn *t = sample();
                _cleanup_free_ char *text = NULL;

                t->id = 15;
                ASSERT_OK(intent_format(t, &text));
                write_file_at(dfd, "record-15", text);
                ASSERT_EQ(symlinkat("record-15", dfd, "txn-15.intent"), 0);
        }

        ASSERT_OK(intent_load_all(dfd, &l, &n, &bad));
        ASSERT_EQ(n, 4);
        ASSERT_TRUE(l[0]->id == 5 && l[1]->id == 12 && l[2]->id == 30 && l[3]->id == 1000000);
        ASSERT_EQ(l[0]->cursor, 1);
        ASSERT_EQ(l[1]->cursor, 2);
        ASSERT_EQ(l[2]->cursor, 0);
        ASSERT_EQ(l[3]->cursor, 3);
        {
                _cleanup_(txn_freep) Txn *want = sample();

                want->id = 12;
                want->cursor = 2;
                assert_txn_eq(want, l[1]);
        }
        ASSERT_EQ(strv_length(bad), 6);
        ASSERT_TRUE(strv_contains(bad, "txn-7.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-8.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-10.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-13.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-14.intent"));
        ASSERT_TRUE(strv_contains(bad, "txn-15.intent"));
        free_all(l, n, bad);

        /* Without the list of bad names; through an O_PATH fd. */
        ASSERT_OK(intent_load_all(pfd, &l, &n, NULL));
        ASSERT_EQ(n, 4);
        free_all(l, n, NULL);

        ASSERT_OK(intent_remove(dfd, 12));
        ASSERT_ERROR(intent_remove(dfd, 12), ENOENT);
        ASSERT_OK(intent_load_all(dfd, &l, &n, NULL));
        ASSERT_EQ(n, 3);
        ASSERT_TRUE(l[0]->id == 5 && l[1]->id == 30 && l[2]->id == 1000000);
        free_all(l, n, NULL);

        ASSERT_ERROR(intent_save(-1, NULL), EINVAL);
        ASSERT_ERROR(intent_load_all(-1, &l, &n, NULL), EINVAL);
        rm_rf(dir);
}

TEST(atomic_replace)
{
        char dir[] = "/tmp/test-intent-XXXXXX";
        _cleanup_(txn_freep) Txn *t = sample();
        _cleanup_close_ int dfd = -EBADF;
        Txn **l = NULL;
        size_t n = 0;
        bool only;

        ASSERT_TRUE(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);

        t->id = 77;
        for (size_t c = 0; c <= t->n_blocks; c++) {
                t->cursor = c;
                ASSERT_OK(intent_save(dfd, t));
                ASSERT_EQ(count_entries(dfd, &only), 1);
                ASSERT_TRUE(only);
                ASSERT_OK(intent_load_all(dfd, &l, &n, NULL));
                ASSERT_EQ(n, 1);
                assert_txn_eq(t, l[0]);
                free_all(l, n, NULL);
        }
        rm_rf(dir);
}

/* A failed write leaves neither a temp file nor a changed record behind. */
TEST(save_failure_cleans_up)
{
        char dir[] = "/tmp/test-intent-XXXXXX";
        _cleanup_(txn_freep) Txn *t = sample(), *big = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct rlimit old, lim;
        Txn **l = NULL;
        size_t n = 0;
        bool only;

        ASSERT_TRUE(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);

        /* A record that cannot be formatted creates nothing. */
        ASSERT_OK(txn_new(2, TXN_ONLINE, 65537, &big));
        ASSERT_ERROR(intent_save(dfd, big), E2BIG);
        ASSERT_EQ(count_entries(dfd, &only), 0);

        t->id = 2;
        ASSERT_OK(intent_save(dfd, t));

        /* RLIMIT_FSIZE makes the write of a bigger record fail with EFBIG. */
        big = txn_free(big);
        ASSERT_OK(txn_new(2, TXN_ONLINE, 200, &big));
        for (size_t i = 0; i < big->n_blocks; i++)
                big->blocks[i].id = (uint32_t)i;
        ASSERT_TRUE(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
        ASSERT_OK(getrlimit(RLIMIT_FSIZE, &old));
        lim = old;
        lim.rlim_cur = 4096;
        ASSERT_OK(setrlimit(RLIMIT_FSIZE, &lim));
        ASSERT_ERROR(intent_save(dfd, big), EFBIG);
        ASSERT_OK(setrlimit(RLIMIT_FSIZE, &old));

        ASSERT_EQ(count_entries(dfd, &only), 1);
        ASSERT_TRUE(only);
        ASSERT_OK(intent_load_all(dfd, &l, &n, NULL));
        ASSERT_EQ(n, 1);
        assert_txn_eq(t, l[0]);
        free_all(l, n, NULL);
        rm_rf(dir);
}
