/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rooted, openat()-only access to the memory hotplug attributes. */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "sysfs.h"

/* Paths are always relative to a root fd: an absolute or ".." path would escape the sysroot. */
static bool path_ok(const char *path)
{
        return path[0] != '/' && !strstr(path, "..");
}

static bool testing(void)
{
        static int cached = -1;

        if (cached < 0) {
                const char *e = getenv("MEMHP_TESTING");
                cached = e && strcmp(e, "1") == 0;
        }
        return cached;
}

/*
 * openat() that cannot leave @dirfd: a symlink inside a fixture or sysroot pointing at the
 * host's /sys must not redirect a write there. Kernels before 5.6 lack openat2(); they get plain
 * openat(), and test runs additionally refuse any fd that lands on the real sysfs.
 */
static int open_beneath(int dirfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)flags,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        struct statfs sfs;
        int fd;

        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd < 0 && (errno == ENOSYS || errno == EPERM))
                fd = openat(dirfd, path, flags);
        if (fd < 0)
                return -errno;
        if (testing() && (fstatfs(fd, &sfs) < 0 || sfs.f_type == SYSFS_MAGIC)) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

int sysfs_open(const char *root, Sysfs **ret)
{
        _cleanup_close_ int root_fd = -EBADF, memory_fd = -EBADF;
        struct statfs sfs;
        Sysfs *s;

        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        memory_fd = openat(root_fd, "sys/devices/system/memory", O_DIRECTORY | O_CLOEXEC);
        if (memory_fd < 0)
                return -errno;
        if (fstatfs(memory_fd, &sfs) < 0)
                return -errno;

        if (testing() && sfs.f_type == SYSFS_MAGIC) {
                log_debug("Refusing sysroot '%s': it is the real sysfs and MEMHP_TESTING=1.", root);
                return -EPERM;
        }

        s = malloc(sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (Sysfs){
                .root_fd = TAKE_FD(root_fd),
                .memory_fd = TAKE_FD(memory_fd),
        };
        *ret = s;
        return 0;
}

Sysfs *sysfs_free(Sysfs *s)
{
        if (!s)
                return NULL;
        closep(&s->root_fd);
        closep(&s->memory_fd);
        free(s);
        return NULL;
}

int sysfs_read_at(int dirfd, const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        if (size == 0 || !path_ok(path))
                return -EINVAL;
        fd = open_beneath(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fd;
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = 0;
        return (int)n;
}

int opendir_at(int dirfd, const char *path, DIR **ret)
{
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int sysfs_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -EBADF;

        if (!path_ok(path))
                return -EINVAL;
        fd = open_beneath(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, SIZE_MAX, ret, ret_len);
}

int sysfs_write_at(int dirfd, const char *path, const char *value)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        /* No O_TRUNC: sysfs ignores it, and the simulator would see a spurious truncate. */
        if (!path_ok(path))
                return -EINVAL;
        fd = open_beneath(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fd;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}
