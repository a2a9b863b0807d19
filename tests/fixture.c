/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Temporary sysroot trees for the unit tests: plain files under a mkdtemp directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fixture.h"
#include "macro.h"

#define MEMORY_DIR "sys/devices/system/memory"
#define NODE_DIR "sys/devices/system/node"
#define TMP_PREFIX "memhpd-fixture-"

static int mkdir_p(const char *root, const char *rel)
{
        char path[PATH_MAX];
        size_t l;

        if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        l = strlen(root) + 1;
        for (char *p = path + l;; p++) {
                if (*p != '/' && *p != 0)
                        continue;
                char c = *p;
                *p = 0;
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = c;
                if (c == 0)
                        return 0;
        }
}

int fixture_write(Fixture *f, const char *relpath, const char *content)
{
        char path[PATH_MAX];
        size_t len = strlen(content);
        ssize_t n;
        int fd, r = 0;

        if (snprintf(path, sizeof(path), "%s/%s", f->root, relpath) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        n = write(fd, content, len);
        if (n < 0)
                r = -errno;
        else if ((size_t)n != len)
                r = -EIO;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int fixture_read(Fixture *f, const char *relpath, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        char path[PATH_MAX];
        size_t len;
        int r;

        if (size == 0)
                return -EINVAL;
        if (snprintf(path, sizeof(path), "%s/%s", f->root, relpath) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = read_full_fd(fd, size - 1, &text, &len);
        if (r < 0)
                return r;
        memcpy(buf, text, len + 1);
        return (int)len;
}

int fixture_new(Fixture **ret)
{
        const char *tmp = getenv("TMPDIR");
        char tmpl[PATH_MAX];
        Fixture *f;
        int r;

        /* Belt and braces: any sysfs_open() in this process now refuses the real sysfs. */
        if (setenv("MEMHP_TESTING", "1", 1) < 0)
                return -errno;
        if (!tmp || !*tmp)
                tmp = "/tmp";
        if (snprintf(tmpl, sizeof(tmpl), "%s/" TMP_PREFIX "XXXXXX", tmp) >= (int)sizeof(tmpl))
                return -ENAMETOOLONG;
        if (!mkdtemp(tmpl))
                return -errno;
        f = calloc(1, sizeof(*f));
        if (!f || !(f->root = strdup(tmpl))) {
                free(f);
                rmdir(tmpl);
                return -ENOMEM;
        }
        if ((r = mkdir_p(f->root, MEMORY_DIR)) < 0 || (r = mkdir_p(f->root, NODE_DIR)) < 0 ||
            (r = mkdir_p(f->root, "proc")) < 0 ||
            (r = fixture_write(f, MEMORY_DIR "/block_size_bytes", FIXTURE_BLOCK_SIZE_HEX "\n")) <
                    0 ||
            (r = fixture_write(f, MEMORY_DIR "/auto_online_blocks", "offline\n")) < 0) {
                fixture_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)type;
        (void)ftw;
        return remove(path) < 0 ? -1 : 0;
}

void fixture_free(Fixture *f)
{
        if (!f)
                return;
        /* Only ever remove what fixture_new() created. */
        if (f->root && strstr(f->root, "/" TMP_PREFIX))
                (void)nftw(f->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f->root);
        free(f);
}

int fixture_add_node(Fixture *f, int node)
{
        char rel[128];

        if (node < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), NODE_DIR "/node%d", node);
        return mkdir_p(f->root, rel);
}

int fixture_link_block(Fixture *f, uint32_t id, int node)
{
        char path[PATH_MAX], target[64];
        int r;

        r = fixture_add_node(f, node);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/" MEMORY_DIR "/memory%u/node%d", f->root, id, node);
        snprintf(target, sizeof(target), "../../node/node%d", node);
        if (symlink(target, path) < 0)
                return -errno;
        snprintf(path, sizeof(path), "%s/" NODE_DIR "/node%d/memory%u", f->root, node, id);
        snprintf(target, sizeof(target), "../../memory/memory%u", id);
        if (symlink(target, path) < 0)
                return -errno;
        return 0;
}

int fixture_add_block(Fixture *f, uint32_t id, int node, const char *state, const char *valid_zones)
{
        char rel[128], phys_index[16], online[4];
        int r;

        snprintf(phys_index, sizeof(phys_index), "%08x\n", id);
        snprintf(online, sizeof(online), "%d\n", strcmp(state, "online") == 0);
        const struct {
                const char *attr, *value, *suffix;
        } attrs[] = {
                {"state", state, "\n"},         {"valid_zones", valid_zones, "\n"},
                {"phys_index", phys_index, ""}, {"phys_device", "0\n", ""},
                {"removable", "1\n", ""},       {"online", online, ""},
        };

        snprintf(rel, sizeof(rel), MEMORY_DIR "/memory%u", id);
        r = mkdir_p(f->root, rel);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
                char file[192], value[256];

                snprintf(file, sizeof(file), "%s/%s", rel, attrs[i].attr);
                snprintf(value, sizeof(value), "%s%s", attrs[i].value, attrs[i].suffix);
                r = fixture_write(f, file, value);
                if (r < 0)
                        return r;
        }
        if (node >= 0)
                return fixture_link_block(f, id, node);
        return 0;
}

int fixture_write_zoneinfo(Fixture *f, const char *text)
{
        return fixture_write(f, "proc/zoneinfo", text);
}

int fixture_read_state(Fixture *f, uint32_t id, char *buf, size_t size)
{
        char rel[128];

        snprintf(rel, sizeof(rel), MEMORY_DIR "/memory%u/state", id);
        return fixture_read(f, rel, buf, size);
}

const char *fixture_memory_path(Fixture *f, const char *rel)
{
        static char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/" MEMORY_DIR "/%s", f->root, rel);
        return path;
}

int fixture_mkdir(Fixture *f, const char *relpath)
{
        return mkdir_p(f->root, relpath);
}

int fixture_symlink(Fixture *f, const char *target, const char *relpath)
{
        char path[PATH_MAX];

        if (snprintf(path, sizeof(path), "%s/%s", f->root, relpath) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        return symlink(target, path) < 0 ? -errno : 0;
}
