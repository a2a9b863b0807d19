/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files the model does not compute, served read-only from a directory the test fills
 * (`serve --extra DIR`): what tells a block's source apart (proc/iomem, sys/bus/acpi/devices,
 * sys/bus/dax/devices with their mappingN ranges, sys/bus/vmbus/drivers/hv_balloon,
 * sys/hypervisor/type, sys/bus/ccw) and memoryN/firmware_node links. A name the model has wins;
 * only names it lacks are looked up here, so the test cannot shadow what the model serves.
 * Nothing is cached (timeouts 0, direct I/O): a file the test rewrites, or a link it adds, is
 * what the next read sees, as with sysfs and procfs.
 */
#define FUSE_USE_VERSION 312
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim-fuse-internal.h"
#include "sim.h"

#define EXTRA_MAX 65536U

static char *extra_root;
static char **paths; /* K_EXTRA inode value - 1 -> path relative to extra_root */
static size_t n_paths;

int sim_extra_init(const char *root)
{
        extra_root = realpath(root, NULL);
        return extra_root ? 0 : -errno;
}

bool extra_enabled(void)
{
        return extra_root != NULL;
}

const char *extra_path(fuse_ino_t ino)
{
        uint64_t v = INO_VAL(ino);

        return v >= 1 && v <= n_paths ? paths[v - 1] : NULL;
}

static int full_path(const char *rel, char *buf, size_t size)
{
        if ((size_t)snprintf(buf, size, "%s/%s", extra_root, rel) >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* The inode of @parent/@name if it exists under the extra root. Called with sim->lock held. */
int extra_lookup_locked(const char *parent, const char *name, fuse_ino_t *ret)
{
        char rel[PATH_MAX], full[PATH_MAX];
        struct stat st;
        char *dup;
        char **grown;

        if (!extra_root || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
                return -ENOENT;
        if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", parent, parent[0] ? "/" : "", name) >=
            sizeof(rel))
                return -ENAMETOOLONG;
        if (full_path(rel, full, sizeof(full)) < 0 || lstat(full, &st) < 0)
                return -ENOENT;
        for (size_t i = 0; i < n_paths; i++)
                if (strcmp(paths[i], rel) == 0) {
                        *ret = INO(K_EXTRA, i + 1);
                        return 0;
                }
        if (n_paths >= EXTRA_MAX)
                return -ENOSPC;
        dup = strdup(rel);
        grown = dup ? realloc(paths, (n_paths + 1) * sizeof(*paths)) : NULL;
        if (!grown) {
                free(dup);
                return -ENOMEM;
        }
        paths = grown;
        paths[n_paths++] = dup;
        *ret = INO(K_EXTRA, n_paths);
        return 0;
}

int extra_stat_locked(fuse_ino_t ino, struct stat *st)
{
        const char *rel = extra_path(ino);
        char full[PATH_MAX];

        if (!rel || full_path(rel, full, sizeof(full)) < 0 || lstat(full, st) < 0)
                return -ENOENT;
        st->st_ino = ino;
        /* Read-only, as the kernel's files of this kind are to memhpd. */
        st->st_mode &= (mode_t)~0222;
        if (S_ISREG(st->st_mode))
                st->st_size = 4096;
        return 0;
}

int extra_readlink_locked(fuse_ino_t ino, char *buf, size_t size)
{
        const char *rel = extra_path(ino);
        char full[PATH_MAX];
        ssize_t n;

        if (!rel || full_path(rel, full, sizeof(full)) < 0)
                return -ENOENT;
        n = readlink(full, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

int extra_read_locked(fuse_ino_t ino, char **ret, size_t *ret_len)
{
        const char *rel = extra_path(ino);
        char full[PATH_MAX];
        FILE *f;
        char *buf = NULL;
        size_t len = 0, cap = 0;

        if (!rel || full_path(rel, full, sizeof(full)) < 0)
                return -ENOENT;
        f = fopen(full, "re");
        if (!f)
                return -errno;
        for (;;) {
                size_t n;

                if (len + 4096 > cap) {
                        char *g = realloc(buf, cap = cap ? cap * 2 : 8192);

                        if (!g) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = g;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* Calls @add for each entry of the extra directory @rel, with the offset it stands at. */
int extra_readdir_locked(const char *rel,
                         bool (*add)(void *d, const char *name, fuse_ino_t ino, mode_t mode,
                                     off_t off),
                         void *d, off_t first_off)
{
        char full[PATH_MAX];
        struct dirent *de;
        off_t off = first_off;
        DIR *dir;

        if (!extra_root || full_path(rel, full, sizeof(full)) < 0)
                return 0;
        dir = opendir(full);
        if (!dir)
                return 0;
        while ((de = readdir(dir))) {
                fuse_ino_t ino;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (extra_lookup_locked(rel, de->d_name, &ino) < 0)
                        continue;
                if (!add(d, de->d_name, ino, (mode_t)DTTOIF(de->d_type), off++))
                        break;
        }
        closedir(dir);
        return 0;
}
