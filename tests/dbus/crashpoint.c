/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LD_PRELOAD shim for the crash-point loop (test-bus-crash.py): with MEMHP_CRASH_AT=N in its
 * environment, memhpd is SIGKILLed right after the N-th of its durable steps, seen from outside
 * the product binary:
 *
 *   renameat(..., "txn-<id>.intent")   an intent record saved (operation start, progress)
 *   unlinkat(..., "txn-<id>.intent")   an intent record removed (operation done)
 *   write() to memory<N>/state         a block written, whatever the kernel answered
 *
 * Each counts once the call has returned: the step is on disk or in the kernel, and nothing the
 * daemon does next has run. The counter is shared by the main thread (records) and the writer
 * thread (state writes); one atomic increment orders them. Before dying, the shim names the
 * step on stderr (memhpd's log) so a failing test says where memhpd died.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long crash_at;
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlinkat)(int, const char *, int);

static void *real(const char *name)
{
        void *f = dlsym(RTLD_NEXT, name);

        if (!f)
                abort();
        return f;
}

/* Before main(), so the writer thread never races the lookups. */
__attribute__((constructor)) static void init(void)
{
        const char *e = getenv("MEMHP_CRASH_AT");

        crash_at = e ? strtoul(e, NULL, 10) : 0;
        real_write = real("write");
        real_renameat = real("renameat");
        real_unlinkat = real("unlinkat");
}

static void step(const char *what, const char *name)
{
        static atomic_ulong passed;
        char msg[256];
        int n;

        if (crash_at == 0 || atomic_fetch_add(&passed, 1) + 1 != crash_at)
                return;
        n = snprintf(msg, sizeof(msg), "crashpoint: SIGKILL at step %lu, %s %s\n", crash_at, what,
                     name);
        if (n > 0)
                (void)!real_write(STDERR_FILENO, msg,
                                  (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg));
        raise(SIGKILL);
}

/* "txn-<digits>.intent": the record itself, not its ".txn-..." temp file. */
static bool is_record(const char *name)
{
        const char *s = name && strncmp(name, "txn-", 4) == 0 ? name + 4 : NULL;
        size_t digits = s ? strspn(s, "0123456789") : 0;

        return digits > 0 && strcmp(s + digits, ".intent") == 0;
}

/* ".../memory<digits>/state" */
static bool is_state_file(int fd, char path[static PATH_MAX])
{
        char link[64];
        const char *dir;
        ssize_t n;
        bool ok;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, path, PATH_MAX - 1);
        if (n <= 6)
                return false;
        path[n] = 0;
        if (strcmp(path + (n - 6), "/state") != 0)
                return false;
        path[n - 6] = 0;
        dir = strrchr(path, '/');
        ok = dir && strncmp(dir, "/memory", 7) == 0 && dir[7] &&
             strspn(dir + 7, "0123456789") == strlen(dir + 7);
        path[n - 6] = '/';
        return ok;
}

ssize_t write(int fd, const void *buf, size_t count)
{
        char path[PATH_MAX];
        ssize_t n;
        int saved;

        n = real_write(fd, buf, count);
        if (crash_at > 0 && is_state_file(fd, path)) {
                saved = errno;
                step("write", path);
                errno = saved;
        }
        return n;
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
        int r, saved;

        r = real_renameat(olddirfd, oldpath, newdirfd, newpath);
        if (is_record(newpath)) {
                saved = errno;
                step("save", newpath);
                errno = saved;
        }
        return r;
}

int unlinkat(int dirfd, const char *pathname, int flags)
{
        int r, saved;

        r = real_unlinkat(dirfd, pathname, flags);
        if (is_record(pathname)) {
                saved = errno;
                step("remove", pathname);
                errno = saved;
        }
        return r;
}
