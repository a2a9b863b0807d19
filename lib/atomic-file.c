/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash-safe small files (intent and hold records): temp file, fsync, renameat, fsync dir. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic-file.h"
#include "macro.h"

/* Not for secrets: only makes temp names unlikely to collide; O_EXCL makes them safe. */
static uint64_t random_u64(void)
{
        static unsigned counter;
        struct timespec ts;
        uint64_t v;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
                return v;
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 40) ^
               __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
}

static int fsync_dir(int dirfd)
{
        _cleanup_close_ int fd = -EBADF;

        /* dirfd may be O_PATH, on which fsync() fails: reopen the directory itself. */
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const char *text, mode_t mode)
{
        _cleanup_close_ int fd = -EBADF;
        char tmp[256];
        int r;

        if (dirfd < 0 || !name || !text || strlen(name) > 200)
                return -EINVAL;
        for (unsigned i = 0;; i++) {
                snprintf(tmp, sizeof(tmp), ".%s.%016" PRIx64, name, random_u64());
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || i >= 16)
                        return -errno;
        }

        /* The umask must not decide who may read it (node_exporter reads metrics as its user). */
        r = RET_NERRNO(fchmod(fd, mode));
        if (r >= 0)
                r = write_all(fd, text, strlen(text));
        if (r >= 0)
                r = RET_NERRNO(fsync(fd));
        if (r >= 0) {
                /* close() can report a deferred write error on some file systems. */
                r = RET_NERRNO(close(TAKE_FD(fd)));
                if (r >= 0)
                        r = RET_NERRNO(renameat(dirfd, tmp, dirfd, name));
        }
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        return fsync_dir(dirfd);
}

int unlink_file_durable_at(int dirfd, const char *name)
{
        if (dirfd < 0 || !name)
                return -EINVAL;
        if (unlinkat(dirfd, name, 0) < 0)
                return -errno;
        return fsync_dir(dirfd);
}
