/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Intent records on disk: atomic save and removal (atomic-file.c), and loading every
 * "txn-<id>.intent" of a directory fd. The format is in intent.c.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "intent-internal.h"
#include "intent.h"
#include "alloc-util.h"
#include "fileio.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"

#define IN_SET3(x, a, b, c) ((x) == (a) || (x) == (b) || (x) == (c))

int intent_save(int dirfd, const Txn *t)
{
        _cleanup_free_ char *text = NULL;
        char name[64];
        int r;

        if (dirfd < 0 || !t)
                return -EINVAL;
        r = intent_format(t, &text);
        if (r < 0)
                return r;
        /* The temp file's leading dot keeps it out of intent_load_all()'s "txn-*.intent". */
        snprintf(name, sizeof(name), "txn-%" PRIu64 ".intent", t->id);
        return write_file_atomic_at(dirfd, name, text, 0600);
}

int intent_remove(int dirfd, uint64_t id)
{
        char name[64];

        if (dirfd < 0)
                return -EINVAL;
        snprintf(name, sizeof(name), "txn-%" PRIu64 ".intent", id);
        return unlink_file_durable_at(dirfd, name);
}

/* "txn-<id>.intent" with a canonical decimal id. */
static int intent_name_id(const char *name, uint64_t *ret_id)
{
        const char *s = startswith(name, "txn-"), *e;

        if (!s)
                return -EINVAL;
        e = strchr(s, '.');
        if (!e || !streq(e, ".intent"))
                return -EINVAL;
        if (parse_uint(s, (size_t)(e - s), PARSE_UINT_NO_LEADING_ZERO, UINT64_MAX, ret_id) < 0)
                return -EINVAL;
        return 0;
}

/* Reads a whole regular file of bounded size. -EBADMSG for anything that is not a record. */
static int read_record(int dirfd, const char *name, char **ret)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len;
        int r;

        /* O_NONBLOCK: a FIFO named like a record must not hang the daemon's startup. */
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > INTENT_FILE_MAX)
                return -EBADMSG;
        /* A file that grew past its size while we read is being written: not a record. */
        r = read_full_fd(fd, (size_t)st.st_size, &buf, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        if (memchr(buf, 0, len))
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int cmp_txn_id(const void *a, const void *b)
{
        const Txn *x = *(Txn *const *)a, *y = *(Txn *const *)b;
        return (x->id > y->id) - (x->id < y->id);
}

static void txn_array_free(Txn **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                txn_free(l[i]);
        free(l);
}

int intent_load_all(int dir_fd, Txn ***ret, size_t *ret_n, char ***ret_bad)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **bad = NULL;
        Txn **list = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int r = 0;

        if (dir_fd < 0 || !ret || !ret_n)
                return -EINVAL;

        /* Our own open file description: the caller's fd offset stays untouched. */
        r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return r;

        for (;;) {
                _cleanup_(txn_freep) Txn *t = NULL;
                _cleanup_free_ char *text = NULL;
                uint64_t id;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = errno > 0 ? -errno : 0;
                        break;
                }
                if (intent_name_id(de->d_name, &id) < 0)
                        continue;

                r = read_record(dirfd(d), de->d_name, &text);
                if (r >= 0) {
                        r = intent_parse(text, &t);
                        if (r >= 0 && t->id != id)
                                r = -EBADMSG;
                }
                /* Resource shortage says nothing about the file: give up rather than call it
                 * damaged. */
                if (IN_SET3(r, -ENOMEM, -EMFILE, -ENFILE))
                        break;
                if (r < 0) {
                        /* One bad file must not hide the others. */
                        r = 0;
                        if (ret_bad) {
                                r = strv_extend(&bad, de->d_name);
                                if (r < 0)
                                        break;
                        }
                        continue;
                }

                r = GREEDY_REALLOC(list, allocated, n + 1);
                if (r < 0)
                        break;
                list[n++] = TAKE_PTR(t);
        }
        if (r < 0) {
                txn_array_free(list, n);
                return r;
        }

        if (n > 1)
                qsort(list, n, sizeof(Txn *), cmp_txn_id);
        *ret = list;
        *ret_n = n;
        if (ret_bad)
                *ret_bad = TAKE_PTR(bad);
        return 0;
}
