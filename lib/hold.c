/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hold records: format, storage (one atomic file per block) and the start-up verdict. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "hold.h"
#include "macro.h"
#include "strutil.h"

#define HOLD_MAGIC "memhpd-hold 1"
#define HOLD_TEXT_MAX 128

static const char *const verdict_table[_HOLD_VERDICT_MAX] = {
        [HOLD_KEEP] = "keep",
        [HOLD_ONLINE] = "online",
        [HOLD_REPLACED] = "replaced",
        [HOLD_GONE] = "gone",
};

const char *hold_verdict_to_string(HoldVerdict v)
{
        return (unsigned)v < _HOLD_VERDICT_MAX ? verdict_table[v] : NULL;
}

int hold_block_inode(const Sysfs *s, uint32_t block, uint64_t *ret)
{
        char path[32];
        struct stat st;

        snprintf(path, sizeof(path), "memory%u", block);
        if (fstatat(s->memory_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        *ret = (uint64_t)st.st_ino;
        return 0;
}

int hold_format(const HoldRecord *h, char *buf, size_t size)
{
        int n = snprintf(buf, size, HOLD_MAGIC "\nblock %" PRIu32 "\ninode %" PRIu64 "\n", h->block,
                         h->inode);

        return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

/* "<key> <decimal>\n" at *p; advances *p past the newline. */
static int parse_line(const char **p, const char *key, uint64_t *ret)
{
        const char *s = startswith(*p, key), *nl;
        char digits[32];
        size_t len;

        if (!s || *s != ' ')
                return -EBADMSG;
        s++;
        nl = strchr(s, '\n');
        if (!nl)
                return -EBADMSG;
        len = (size_t)(nl - s);
        if (len == 0 || len >= sizeof(digits))
                return -EBADMSG;
        memcpy(digits, s, len);
        digits[len] = 0;
        /* safe_atou64 takes "007"; a record we wrote never has leading zeros. */
        if ((len > 1 && digits[0] == '0') || safe_atou64(digits, ret) < 0)
                return -EBADMSG;
        *p = nl + 1;
        return 0;
}

int hold_parse(const char *text, HoldRecord *ret)
{
        const char *p = startswith(text, HOLD_MAGIC "\n");
        uint64_t block, inode;

        if (!p || parse_line(&p, "block", &block) < 0 || parse_line(&p, "inode", &inode) < 0 ||
            *p != 0 || block > UINT32_MAX)
                return -EBADMSG;
        *ret = (HoldRecord){.block = (uint32_t)block, .inode = inode};
        return 0;
}

static void hold_name(uint32_t block, char *buf, size_t size)
{
        snprintf(buf, size, "hold-%" PRIu32, block);
}

int hold_save(int dirfd, const HoldRecord *h)
{
        char text[HOLD_TEXT_MAX], name[32];
        int r;

        r = hold_format(h, text, sizeof(text));
        if (r < 0)
                return r;
        hold_name(h->block, name, sizeof(name));
        return write_file_atomic_at(dirfd, name, text, 0600);
}

int hold_remove(int dirfd, uint32_t block)
{
        char name[32];
        int r;

        hold_name(block, name, sizeof(name));
        r = unlink_file_durable_at(dirfd, name);
        return r == -ENOENT ? 0 : r;
}

/* "hold-<N>" with a canonical decimal N. */
static int hold_name_block(const char *name, uint32_t *ret)
{
        const char *s = startswith(name, "hold-");
        unsigned v;

        if (!s || !*s || (s[0] == '0' && s[1]) || strchr(s, '\n') || safe_atou(s, &v) < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int read_small(int dirfd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        ssize_t n;

        /* O_NONBLOCK: a FIFO named like a record must not hang the daemon's start-up. */
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        if ((size_t)n >= size - 1 || memchr(buf, 0, (size_t)n))
                return -EBADMSG;
        buf[n] = 0;
        return 0;
}

static int cmp_hold(const void *a, const void *b)
{
        const HoldRecord *x = a, *y = b;
        return (x->block > y->block) - (x->block < y->block);
}

int hold_load_all(int dirfd, HoldRecord **ret, size_t *ret_n, size_t *ret_n_bad)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ HoldRecord *list = NULL;
        size_t n = 0, allocated = 0, n_bad = 0;
        int r;

        if (dirfd < 0 || !ret || !ret_n)
                return -EINVAL;
        r = opendir_at(dirfd, ".", &d);
        if (r < 0)
                return r;
        for (;;) {
                char text[HOLD_TEXT_MAX];
                struct dirent *de;
                HoldRecord h;
                uint32_t block;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno > 0)
                                return -errno;
                        break;
                }
                if (hold_name_block(de->d_name, &block) < 0)
                        continue;
                r = read_small(dirfd, de->d_name, text, sizeof(text));
                if (r == -ENOMEM || r == -EMFILE || r == -ENFILE)
                        return r;
                if (r >= 0)
                        r = hold_parse(text, &h);
                if (r >= 0 && h.block != block)
                        r = -EBADMSG;
                if (r < 0) {
                        (void)unlinkat(dirfd, de->d_name, 0);
                        n_bad++;
                        continue;
                }
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 64;
                        HoldRecord *p = realloc(list, a * sizeof(*p));

                        if (!p)
                                return -ENOMEM;
                        list = p;
                        allocated = a;
                }
                list[n++] = h;
        }
        if (n > 1)
                qsort(list, n, sizeof(*list), cmp_hold);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        if (ret_n_bad)
                *ret_n_bad = n_bad;
        return 0;
}

const HoldRecord *hold_find(const HoldRecord *l, size_t n, uint32_t block)
{
        HoldRecord key = {.block = block};

        if (!l || n == 0)
                return NULL;
        return bsearch(&key, l, n, sizeof(*l), cmp_hold);
}

HoldVerdict hold_check(const HoldRecord *h, bool present, MemState state, uint64_t inode)
{
        if (!present)
                return HOLD_GONE;
        if (inode != h->inode)
                return HOLD_REPLACED;
        /* going-offline is still the admin's offline in progress. */
        if (state == MEM_STATE_ONLINE)
                return HOLD_ONLINE;
        return HOLD_KEEP;
}
