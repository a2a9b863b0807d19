/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpd.conf on disk: a missing main file, drop-ins in name order, symlinks, load failures. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf-test.h"
#include "conf.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"

static void write_file(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *path = NULL;
        FILE *f;

        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_EQ(fclose(f), 0);
}

static char *path_join(const char *dir, const char *name)
{
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static char *make_tmpdir(void)
{
        const char *tmp = getenv("TMPDIR") ?: "/tmp";
        char *t = NULL;

        ASSERT_TRUE(asprintf(&t, "%s/test-conf-XXXXXX", tmp) > 0);
        ASSERT_TRUE(mkdtemp(t));
        return t;
}

/* Removes what the drop-in tests create: one level of files below @dir and one .d level. */
static void rm_tree(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                p = path_join(dir, de->d_name);
                ASSERT_EQ(lstat(p, &st), 0);
                if (S_ISDIR(st.st_mode))
                        rm_tree(p);
                else
                        ASSERT_EQ(unlink(p), 0);
        }
        ASSERT_EQ(rmdir(dir), 0);
}

TEST(missing_main_file)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *dropins = NULL, *err = NULL, *expected = NULL;
        _cleanup_free_ MemhpConfig *c = NULL;

        ASSERT_ERROR(conf_load(main_path, false, &c, &err), ENOENT);
        ASSERT_TRUE(!c);
        ASSERT_CONTAINS(err, main_path);
        ASSERT_CONTAINS(err, "No such file or directory");
        free(err);
        err = NULL;

        ASSERT_OK(conf_load(main_path, true, &c, &err));
        ASSERT_TRUE(!err);
        assert_defaults(c);
        free(c);
        c = NULL;

        /* Drop-ins still apply without a main file... */
        dropins = path_join(dir, "memhpd.conf.d");
        ASSERT_EQ(mkdir(dropins, 0755), 0);
        write_file(dropins, "50-x.conf", "[Policy]\nDefault=online\n");
        ASSERT_OK(conf_load(main_path, true, &c, &err));
        ASSERT_TRUE(!c->default_auto);
        ASSERT_EQ(c->default_policy, POLICY_ONLINE);
        free(c);
        c = NULL;

        /* ...but are not read at all when the missing main file is an error. */
        write_file(dropins, "60-bad.conf", "[Bad]\n");
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), ENOENT);
        free(err);
        err = NULL;
        ASSERT_ERROR(conf_load(main_path, true, &c, &err), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_TRUE(asprintf(&expected, "%s/60-bad.conf:1: unknown section [Bad]", dropins) > 0);
        ASSERT_STREQ(err, expected);

        rm_tree(dir);
}

TEST(dropins)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *dropins = path_join(dir, "memhpd.conf.d"), *sub = NULL;
        _cleanup_free_ char *err = NULL, *fifo = NULL, *expected = NULL;
        _cleanup_free_ MemhpConfig *c = NULL;

        write_file(dir, "memhpd.conf",
                   "[Daemon]\nColdplug=no\nLogLevel=notice\n"
                   "[Policy]\nDefault=online_kernel\nMovableRatio=10\n"
                   "[Node 1]\nPolicy=online\n");
        ASSERT_EQ(mkdir(dropins, 0755), 0);
        /* Written out of order: name order decides, byte-wise ('C' < 'a'), later wins. */
        write_file(dropins, "20-b.conf", "[Policy]\nMovableRatio=20\n[Node 2]\nPolicy=ignore\n");
        write_file(dropins, "10-a.conf", "[Policy]\nMovableRatio=99\nDefault=ignore\n");
        write_file(dropins, "30-C.conf", "[Policy]\nMovableRatio=30\n");
        write_file(dropins, "30-a.conf", "[Policy]\nMovableRatio=31\n");
        write_file(dropins, "15-reset.conf", "[Daemon]\nColdplug=\n[Node 1]\nPolicy=\n");
        /* None of these are drop-ins. */
        write_file(dropins, "99-z.conf.bak", "[Bad\n");
        write_file(dropins, "99-z.conf~", "[Bad\n");
        write_file(dropins, "README", "[Bad\n");
        write_file(dropins, ".hidden.conf", "[Bad\n");
        write_file(dropins, "conf", "[Bad\n");
        write_file(dropins, "99.CONF", "[Bad\n");
        sub = path_join(dropins, "98-dir.conf");
        ASSERT_EQ(mkdir(sub, 0755), 0);
        write_file(sub, "inner.conf", "[Bad\n");
        fifo = path_join(dropins, "97-fifo.conf");
        ASSERT_EQ(mkfifo(fifo, 0644), 0);

        ASSERT_OK(conf_load(main_path, false, &c, &err));
        ASSERT_TRUE(!err);
        ASSERT_EQ(c->coldplug, true);        /* reset by 15-reset.conf */
        ASSERT_EQ(c->log_level, LOG_NOTICE); /* main file only */
        ASSERT_TRUE(!c->default_auto);
        ASSERT_EQ(c->default_policy, POLICY_IGNORE);
        ASSERT_EQ(c->movable_ratio, 31);
        ASSERT_EQ(c->node_policy[1], _POLICY_INVALID);
        ASSERT_EQ(c->node_policy[2], POLICY_IGNORE);
        ASSERT_EQ(node_policy(c, 1), POLICY_IGNORE);
        free(c);
        c = NULL;

        /* Errors from the main file and from drop-ins are all reported, each with its path. */
        write_file(dir, "memhpd.conf", "[Daemon]\nColdplug=perhaps\n");
        write_file(dropins, "40-bad.conf", "\n[Offline]\nRetries=100\n");
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_TRUE(asprintf(&expected,
                             "%s:2: invalid value 'perhaps' for Coldplug=, expected a boolean\n"
                             "%s/40-bad.conf:3: invalid value '100' for Retries=, expected an "
                             "integer 0 to 10",
                             main_path, dropins) > 0);
        ASSERT_STREQ(err, expected);

        rm_tree(dir);
}

TEST(dropin_symlinks)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *dropins = path_join(dir, "memhpd.conf.d"), *target = NULL;
        _cleanup_free_ char *link = NULL, *dangling = NULL;
        _cleanup_free_ MemhpConfig *c = NULL;

        ASSERT_EQ(mkdir(dropins, 0755), 0);
        write_file(dir, "shared.txt", "[Offline]\nRetries=7\n");
        target = path_join(dir, "shared.txt");
        link = path_join(dropins, "50-link.conf");
        ASSERT_EQ(symlink(target, link), 0);
        /* A dangling link is skipped, as if the file had gone between readdir() and open(). */
        dangling = path_join(dropins, "60-dangling.conf");
        ASSERT_EQ(symlink("/nonexistent/memhpd-test", dangling), 0);

        ASSERT_OK(conf_load(main_path, true, &c, NULL));
        ASSERT_EQ(c->offline_retries, 7);

        rm_tree(dir);
}

TEST(load_failures)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *err = NULL, *big = NULL, *dropins = path_join(dir, "memhpd.conf.d");
        _cleanup_free_ MemhpConfig *c = NULL;
        FILE *f;

        /* A directory as main file. */
        ASSERT_EQ(mkdir(main_path, 0755), 0);
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EISDIR);
        ASSERT_CONTAINS(err, main_path);
        ASSERT_TRUE(!c);
        free(err);
        err = NULL;
        ASSERT_EQ(rmdir(main_path), 0);

        /* A file as drop-in directory. */
        write_file(dir, "memhpd.conf", "[Daemon]\n");
        write_file(dir, "memhpd.conf.d", "[Daemon]\n");
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), ENOTDIR);
        ASSERT_CONTAINS(err, dropins);
        free(err);
        err = NULL;
        ASSERT_EQ(unlink(dropins), 0);

        /* Far too large to be a config file. */
        big = malloc(1024 * 1024 + 1);
        ASSERT_TRUE(big);
        memset(big, '\n', 1024 * 1024 + 1);
        f = fopen(main_path, "we");
        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite(big, 1, 1024 * 1024 + 1, f), 1024 * 1024 + 1);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EFBIG);
        ASSERT_CONTAINS(err, "file too large");
        free(err);
        err = NULL;

        /* Exactly 1 MiB of blank lines is still a (silly) config. */
        ASSERT_EQ(truncate(main_path, 1024 * 1024), 0);
        ASSERT_OK(conf_load(main_path, false, &c, &err));
        assert_defaults(c);
        free(c);
        c = NULL;

        /* NUL bytes cannot come through conf_load_string(), but a file can have them. */
        f = fopen(main_path, "we");
        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite("[Daemon]\nColdplug=no\0yes\n", 1, 25, f), 25);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EINVAL);
        free(big);
        ASSERT_TRUE(asprintf(&big, "%s:2: line contains a NUL byte", main_path) > 0);
        ASSERT_STREQ(err, big);

        rm_tree(dir);
}
