/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory block attributes: parsing and state writes with the kernel's errno semantics. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "block-ids.h"
#include "macro.h"
#include "memblock.h"
#include "memhp-api.h"
#include "strutil.h"

static const char *const state_table[_MEM_STATE_MAX] = {
        [MEM_STATE_OFFLINE] = "offline",
        [MEM_STATE_ONLINE] = "online",
        [MEM_STATE_GOING_OFFLINE] = "going-offline",
};

static const char *const zone_table[_MEM_ZONE_MAX] = {
        [MEM_ZONE_UNKNOWN] = "",      [MEM_ZONE_DMA] = "DMA",         [MEM_ZONE_DMA32] = "DMA32",
        [MEM_ZONE_NORMAL] = "Normal", [MEM_ZONE_MOVABLE] = "Movable", [MEM_ZONE_DEVICE] = "Device",
        [MEM_ZONE_NONE] = "none",
};

const char *mem_state_to_string(MemState s)
{
        return s >= 0 && s < _MEM_STATE_MAX ? state_table[s] : NULL;
}

MemState mem_state_from_string(const char *s)
{
        return (MemState)string_table_lookup(state_table, ELEMENTSOF(state_table), s);
}

const char *mem_zone_to_string(MemZone z)
{
        return z >= 0 && z < _MEM_ZONE_MAX ? zone_table[z] : NULL;
}

MemZone mem_zone_from_string(const char *s)
{
        return (MemZone)string_table_lookup(zone_table, ELEMENTSOF(zone_table), s);
}

bool mem_action_zone_matches(MemAction a, MemZone zone)
{
        if (a == MEM_ACTION_ONLINE_MOVABLE)
                return zone == MEM_ZONE_MOVABLE;
        if (a == MEM_ACTION_ONLINE_KERNEL)
                return mem_zone_is_kernel(zone);
        return true;
}

MemState mem_action_target_state(MemAction a)
{
        switch (a) {
        case MEM_ACTION_ONLINE:
        case MEM_ACTION_ONLINE_KERNEL:
        case MEM_ACTION_ONLINE_MOVABLE:
                return MEM_STATE_ONLINE;
        case MEM_ACTION_OFFLINE:
                return MEM_STATE_OFFLINE;
        default:
                return _MEM_STATE_INVALID;
        }
}

int memblock_parse_name(const char *name, uint32_t *ret_id)
{
        const char *n = startswith(name, "memory");
        uint64_t v;

        /*
         * Leading zeros would alias another block's directory name. UINT32_MAX stays free so
         * "id + 1" loops over the block map cannot wrap (MEMHP_BLOCK_ID_MAX).
         */
        if (!n || parse_uint(n, strlen(n), PARSE_UINT_NO_LEADING_ZERO, MEMHP_BLOCK_ID_MAX, &v) < 0)
                return -EINVAL;
        *ret_id = (uint32_t)v;
        return 0;
}

int memblock_parse_devpath(const char *devpath, uint32_t *ret_id)
{
        const char *n = startswith(devpath, "/devices/system/memory/");

        if (!n || strchr(n, '/'))
                return -EINVAL;
        return memblock_parse_name(n, ret_id);
}

static int read_block_attr(const Sysfs *s, uint32_t id, const char *attr, char *buf, size_t size)
{
        char path[64];

        snprintf(path, sizeof(path), "memory%u/%s", id, attr);
        return sysfs_read_at(s->memory_fd, path, buf, size);
}

int memblock_read_block_size(const Sysfs *s, uint64_t *ret)
{
        char buf[32];
        uint64_t v;
        int r;

        r = sysfs_read_at(s->memory_fd, "block_size_bytes", buf, sizeof(buf));
        if (r < 0)
                return r;
        r = safe_atoux64(buf, &v);
        if (r < 0)
                return r;
        /* A block is at least one page; anything else is a broken tree. */
        if (v < 4096 || (v & (v - 1)) != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int memblock_read_state(const Sysfs *s, uint32_t id, MemState *ret)
{
        char buf[32];
        MemState st;
        int r;

        r = read_block_attr(s, id, "state", buf, sizeof(buf));
        if (r < 0)
                return r;
        st = mem_state_from_string(buf);
        if (st < 0)
                return -EINVAL;
        *ret = st;
        return 0;
}

int memblock_read_zone(const Sysfs *s, uint32_t id, MemZone *ret)
{
        char buf[128], *sp;
        MemZone z;
        int r;

        r = read_block_attr(s, id, "valid_zones", buf, sizeof(buf));
        if (r < 0)
                return r;
        sp = strchr(buf, ' ');
        if (sp)
                *sp = 0;
        z = mem_zone_from_string(buf);
        if (z < 0 || z == MEM_ZONE_UNKNOWN)
                return -EINVAL;
        *ret = z;
        return 0;
}

int memblock_read_node(const Sysfs *s, uint32_t id, int hint, int *ret_node)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        char path[64];
        int r;

        /* Most blocks of a burst share a node: one access() instead of a directory walk. */
        if (hint >= 0) {
                snprintf(path, sizeof(path), "memory%u/node%d", id, hint);
                if (faccessat(s->memory_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                        *ret_node = hint;
                        return 0;
                }
        }

        snprintf(path, sizeof(path), "memory%u", id);
        r = opendir_at(s->memory_fd, path, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                const char *n = startswith(de->d_name, "node");
                unsigned node;

                if (n && safe_atou(n, &node) == 0 && node <= INT32_MAX) {
                        *ret_node = (int)node;
                        return 0;
                }
        }
        return -ENODATA;
}

int memblock_enumerate(const Sysfs *s, uint32_t **ret_ids, size_t *ret_n)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int r;

        r = opendir_at(s->memory_fd, ".", &d);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                uint32_t id;

                if (memblock_parse_name(de->d_name, &id) < 0)
                        continue;
                if (GREEDY_REALLOC(ids, allocated, n + 1) < 0)
                        return -ENOMEM;
                ids[n++] = id;
        }
        if (errno != 0)
                return -errno;
        block_ids_sort(ids, n);
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int memblock_apply(const Sysfs *s, uint32_t id, MemAction a, MemZone *ret_zone)
{
        const char *value = mem_action_to_string(a);
        MemState target = mem_action_target_state(a), now;
        char path[64];
        int r, already = 0;

        if (!value || target < 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "memory%u/state", id);
        r = sysfs_write_at(s->memory_fd, path, value);
        if (r == -EINVAL) {
                /* The kernel's answer for "already in that state": only the state tells. */
                if (memblock_read_state(s, id, &now) < 0 || now != target)
                        return -EINVAL;
                already = 1;
        } else if (r < 0)
                return r;

        if (ret_zone) {
                *ret_zone = MEM_ZONE_UNKNOWN;
                /*
                 * online_movable always lands in ZONE_MOVABLE: no need to ask. online_kernel
                 * may land in DMA32 or Normal depending on the address, so that one is read.
                 */
                if (target == MEM_STATE_ONLINE && !already && a == MEM_ACTION_ONLINE_MOVABLE)
                        *ret_zone = MEM_ZONE_MOVABLE;
                else if (target == MEM_STATE_ONLINE)
                        (void)memblock_read_zone(s, id, ret_zone);
        }
        return already;
}
