/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Serves the model as files (libfuse3 low-level API). Inode numbers are computed from
 * what they name (kind, block id, attribute), so 65,536 blocks cost no per-inode state
 * and FORGET needs no bookkeeping. File contents are always served with direct I/O, so
 * every read reaches the model, the way sysfs never caches. Names are cached by the
 * kernel (a lookup per path component would make the sim ten times slower than sysfs,
 * and the daemon's speed is under test); a removed block's names are invalidated before
 * its "remove" uevent goes out, and missing names are never cached, so nothing stale is
 * ever visible.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

enum kind {
        K_STATIC,   /* fixed files and directories, index into statics[] */
        K_MEMDIR,   /* memoryN/ (gen16 << 32 | id) */
        K_MEMATTR,  /* memoryN/<attr> (attr << 48 | gen16 << 32 | id) */
        K_NODEDIR,  /* node/nodeN/ */
        K_NODEATTR, /* node/nodeN/<attr> (nid << 8 | attr) */
        K_NODELINK, /* node/nodeN/memoryM (nid << 32 | id) */
};

#define KIND_SHIFT 56
#define INO(kind, v) (((fuse_ino_t)(kind) << KIND_SHIFT) | (fuse_ino_t)(v))
#define INO_KIND(ino) ((unsigned)((ino) >> KIND_SHIFT))
#define INO_VAL(ino) ((ino) & ((UINT64_C(1) << KIND_SHIFT) - 1))

/*
 * Block inodes carry 16 bits of the block's generation: a block removed and added again
 * under the same id is a different inode, so an fd still open on the old one reaches the
 * sim (which answers ENODEV, as kernfs does) instead of hitting an inode the kernel has
 * marked bad (EIO).
 */
#define GEN16(gen) ((uint64_t)((gen)&0xffff))
#define MEMDIR_INO(b) INO(K_MEMDIR, GEN16((b)->gen) << 32 | (b)->id)
#define MEMATTR_INO(b, a) INO(K_MEMATTR, (uint64_t)(a) << 48 | GEN16((b)->gen) << 32 | (b)->id)
#define INO_BLOCK_ID(ino) ((uint32_t)(ino))
#define INO_ATTR(ino) ((unsigned)(INO_VAL(ino) >> 48) & 0xff)

enum {
        S_ROOT = 1, /* == FUSE_ROOT_ID */
        S_SYS,
        S_DEVICES,
        S_SYSTEM,
        S_MEMORY,
        S_NODE,
        S_PROC,
        S_ZONEINFO,
        S_CMDLINE,
        S_BLOCK_SIZE,
        S_AUTO_ONLINE,
        S_N_POSSIBLE,
        S_N_ONLINE,
        S_N_HAS_MEMORY,
        S_N_HAS_NORMAL,
        S_N_HAS_CPU,
        S_MODULE,
        S_MHP,
        S_MHP_PARAMS,
        S_P_ONLINE_POLICY,
        S_P_RATIO,
        S_P_NUMA_AWARE,
        S_P_MEMMAP,
        _S_MAX,
};

static const struct {
        const char *name;
        unsigned parent;
        mode_t mode;
} statics[_S_MAX] = {
        [S_ROOT] = {"", S_ROOT, S_IFDIR | 0755},
        [S_SYS] = {"sys", S_ROOT, S_IFDIR | 0755},
        [S_DEVICES] = {"devices", S_SYS, S_IFDIR | 0755},
        [S_SYSTEM] = {"system", S_DEVICES, S_IFDIR | 0755},
        [S_MEMORY] = {"memory", S_SYSTEM, S_IFDIR | 0755},
        [S_NODE] = {"node", S_SYSTEM, S_IFDIR | 0755},
        [S_PROC] = {"proc", S_ROOT, S_IFDIR | 0555},
        [S_ZONEINFO] = {"zoneinfo", S_PROC, S_IFREG | 0400},
        [S_CMDLINE] = {"cmdline", S_PROC, S_IFREG | 0444},
        [S_BLOCK_SIZE] = {"block_size_bytes", S_MEMORY, S_IFREG | 0444},
        [S_AUTO_ONLINE] = {"auto_online_blocks", S_MEMORY, S_IFREG | 0644},
        [S_N_POSSIBLE] = {"possible", S_NODE, S_IFREG | 0444},
        [S_N_ONLINE] = {"online", S_NODE, S_IFREG | 0444},
        [S_N_HAS_MEMORY] = {"has_memory", S_NODE, S_IFREG | 0444},
        [S_N_HAS_NORMAL] = {"has_normal_memory", S_NODE, S_IFREG | 0444},
        [S_N_HAS_CPU] = {"has_cpu", S_NODE, S_IFREG | 0444},
        [S_MODULE] = {"module", S_SYS, S_IFDIR | 0755},
        [S_MHP] = {"memory_hotplug", S_MODULE, S_IFDIR | 0755},
        [S_MHP_PARAMS] = {"parameters", S_MHP, S_IFDIR | 0755},
        [S_P_ONLINE_POLICY] = {"online_policy", S_MHP_PARAMS, S_IFREG | 0444},
        [S_P_RATIO] = {"auto_movable_ratio", S_MHP_PARAMS, S_IFREG | 0444},
        [S_P_NUMA_AWARE] = {"auto_movable_numa_aware", S_MHP_PARAMS, S_IFREG | 0444},
        [S_P_MEMMAP] = {"memmap_on_memory", S_MHP_PARAMS, S_IFREG | 0444},
};

enum {
        A_STATE,
        A_ONLINE,
        A_VALID_ZONES,
        A_PHYS_INDEX,
        A_PHYS_DEVICE,
        A_REMOVABLE,
        A_UEVENT,
        A_NODE_LINK, /* "nodeN", named after the block's node */
        _A_MAX,
};

static const struct {
        const char *name;
        mode_t mode;
} mem_attrs[_A_MAX] = {
        [A_STATE] = {"state", S_IFREG | 0644},
        [A_ONLINE] = {"online", S_IFREG | 0644},
        [A_VALID_ZONES] = {"valid_zones", S_IFREG | 0444},
        [A_PHYS_INDEX] = {"phys_index", S_IFREG | 0444},
        [A_PHYS_DEVICE] = {"phys_device", S_IFREG | 0444},
        [A_REMOVABLE] = {"removable", S_IFREG | 0444},
        [A_UEVENT] = {"uevent", S_IFREG | 0644},
        [A_NODE_LINK] = {NULL, S_IFLNK | 0777},
};

#define NA_MEMINFO 0
#define DYN_OFF 16 /* readdir offsets: 1.. for fixed entries, DYN_OFF + id for blocks/nodes */
#define STATIC_TIMEOUT 86400.0

static struct sim *sim;

#define COUNT(op) __atomic_fetch_add(&sim->ops[op], 1, __ATOMIC_RELAXED)
static struct fuse_session *session;
static pthread_t loop_thread;
static time_t mount_time;

/* The block a memoryN inode names, if that incarnation of it still exists. */
static struct block *ino_block_locked(fuse_ino_t ino)
{
        struct block *b = sim_find_locked(sim, INO_BLOCK_ID(ino));

        if (!b || GEN16(b->gen) != ((INO_VAL(ino) >> 32) & 0xffff))
                return NULL;
        return b;
}

/* Parses "<prefix><decimal>" the way the kernel names devices: no sign, no leading zeros. */
static bool parse_suffix(const char *name, const char *prefix, uint32_t *ret)
{
        size_t pl = strlen(prefix);
        unsigned long long v = 0;
        const char *p;

        if (strncmp(name, prefix, pl) != 0)
                return false;
        p = name + pl;
        if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 10)
                return false;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (unsigned)(*p - '0');
        }
        if (v > UINT32_MAX)
                return false;
        *ret = (uint32_t)v;
        return true;
}

static void nodelist(FILE *f, uint64_t mask)
{
        bool first = true;

        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                unsigned m = n;

                if (!(mask & (UINT64_C(1) << n)))
                        continue;
                while (m + 1 < SIM_MAX_NODES && (mask & (UINT64_C(1) << (m + 1))))
                        m++;
                fprintf(f, "%s%u", first ? "" : ",", n);
                if (m > n)
                        fprintf(f, "-%u", m);
                first = false;
                n = m;
        }
        fputc('\n', f);
}

static uint64_t node_mask_locked(unsigned which)
{
        uint64_t mask = 0;

        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                const struct node *nd = &sim->nodes[n];
                uint64_t kernel = nd->zones[ZONE_DMA].present + nd->zones[ZONE_DMA32].present +
                                  nd->zones[ZONE_NORMAL].present;
                bool set;

                switch (which) {
                case S_N_POSSIBLE:
                        set = nd->possible;
                        break;
                case S_N_ONLINE:
                        set = nd->online;
                        break;
                case S_N_HAS_MEMORY:
                        set = kernel + nd->zones[ZONE_MOVABLE].present > 0;
                        break;
                case S_N_HAS_NORMAL:
                        set = kernel > 0;
                        break;
                default:
                        set = nd->online && nd->has_cpu;
                }
                if (set)
                        mask |= UINT64_C(1) << n;
        }
        return mask;
}

static void zoneinfo(FILE *f)
{
        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                bool first_populated = true;

                if (!sim->nodes[n].online)
                        continue;
                for (unsigned z = 0; z < NR_ZONES; z++) {
                        const struct zspan *zs = &sim->nodes[n].zones[z];
                        uint64_t start, end, wmark = zs->present / 1024;

                        sim_zone_span_locked(sim, n, z, &start, &end);
                        fprintf(f, "Node %u, zone %8s", n, zone_name(z));
                        if (zs->present && first_populated) {
                                first_populated = false;
                                fputs("\n  per-node stats"
                                      "\n      nr_inactive_anon 0"
                                      "\n      nr_active_anon 0"
                                      "\n      nr_inactive_file 0"
                                      "\n      nr_active_file 0"
                                      "\n      nr_unevictable 0",
                                      f);
                        }
                        fprintf(f,
                                "\n  pages free     %llu"
                                "\n        boost    0"
                                "\n        min      %llu"
                                "\n        low      %llu"
                                "\n        high     %llu"
                                "\n        spanned  %llu"
                                "\n        present  %llu"
                                "\n        managed  %llu"
                                "\n        cma      0"
                                "\n        protection: (0, 0, 0, 0, 0)",
                                (unsigned long long)zs->present, (unsigned long long)wmark,
                                (unsigned long long)wmark * 5 / 4,
                                (unsigned long long)wmark * 3 / 2,
                                (unsigned long long)(end - start), (unsigned long long)zs->present,
                                (unsigned long long)zs->present);
                        if (!zs->present) {
                                fputc('\n', f);
                                continue;
                        }
                        fprintf(f,
                                "\n      nr_free_pages %llu"
                                "\n      nr_zone_inactive_anon 0"
                                "\n      nr_zone_active_anon 0"
                                "\n      nr_mlock     0"
                                "\n  pagesets"
                                "\n    cpu: 0"
                                "\n              count:    0"
                                "\n              high:     0"
                                "\n              batch:    1"
                                "\n  vm stats threshold: 4"
                                "\n  node_unreclaimable:  0"
                                "\n  start_pfn:           %llu\n",
                                (unsigned long long)zs->present, (unsigned long long)start);
                }
        }
}

/* Renders a file's content. Returns -errno; *ret is malloc'd. Called with sim->lock held. */
static int render_locked(fuse_ino_t ino, char **ret, size_t *ret_len)
{
        unsigned kind = INO_KIND(ino);
        uint64_t v = INO_VAL(ino);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        if (kind == K_STATIC) {
                switch (v) {
                case S_ZONEINFO:
                        zoneinfo(f);
                        break;
                case S_CMDLINE:
                        fprintf(f, "BOOT_IMAGE=/vmlinuz-memhp-sim ro%s\n",
                                sim->movable_node ? " movable_node" : "");
                        break;
                case S_BLOCK_SIZE:
                        fprintf(f, "%llx\n", (unsigned long long)sim->block_size);
                        break;
                case S_AUTO_ONLINE:
                        fprintf(f, "%s\n", sim->auto_online);
                        break;
                case S_N_POSSIBLE:
                case S_N_ONLINE:
                case S_N_HAS_MEMORY:
                case S_N_HAS_NORMAL:
                case S_N_HAS_CPU:
                        nodelist(f, node_mask_locked((unsigned)v));
                        break;
                case S_P_ONLINE_POLICY:
                        fputs("contig-zones\n", f);
                        break;
                case S_P_RATIO:
                        fputs("301\n", f);
                        break;
                case S_P_NUMA_AWARE:
                        fputs("Y\n", f);
                        break;
                case S_P_MEMMAP:
                        fputs("N\n", f);
                        break;
                }
        } else if (kind == K_MEMATTR) {
                const struct block *b = ino_block_locked(ino);
                char zbuf[64];

                if (!b) {
                        fclose(f);
                        free(buf);
                        return -ENODEV;
                }
                switch (INO_ATTR(ino)) {
                case A_STATE:
                        fputs(b->state == BLOCK_ONLINE    ? "online\n"
                              : b->state == BLOCK_OFFLINE ? "offline\n"
                                                          : "going-offline\n",
                              f);
                        break;
                case A_ONLINE:
                        fputs(b->state == BLOCK_OFFLINE ? "0\n" : "1\n", f);
                        break;
                case A_VALID_ZONES:
                        sim_valid_zones_locked(sim, b, zbuf, sizeof(zbuf));
                        fputs(zbuf, f);
                        break;
                case A_PHYS_INDEX:
                        fprintf(f, "%08x\n", b->id);
                        break;
                case A_PHYS_DEVICE:
                        fputs("0\n", f);
                        break;
                case A_REMOVABLE:
                        fputs("1\n", f);
                        break;
                case A_UEVENT:
                        break;
                }
        } else if (kind == K_NODEATTR) {
                unsigned n = (unsigned)(v >> 8);
                uint64_t kb = 0;

                for (unsigned z = 0; z < NR_ZONES; z++)
                        kb += sim->nodes[n].zones[z].present * (SIM_PAGE_SIZE / 1024);
                fprintf(f,
                        "Node %u MemTotal:       %8llu kB\n"
                        "Node %u MemFree:        %8llu kB\n"
                        "Node %u MemUsed:        %8llu kB\n",
                        n, (unsigned long long)kb, n, (unsigned long long)kb, n, 0ULL);
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* Fills st for ino; -ENOENT if it does not exist (right now). Called with sim->lock held. */
static int stat_locked(fuse_ino_t ino, struct stat *st, double *timeout)
{
        unsigned kind = INO_KIND(ino);
        uint64_t v = INO_VAL(ino);
        uint32_t now = sim_now_ms();
        const struct block *b;

        memset(st, 0, sizeof(*st));
        st->st_ino = ino;
        st->st_nlink = 1;
        st->st_atime = st->st_mtime = st->st_ctime = mount_time;
        *timeout = 0;
        switch (kind) {
        case K_STATIC:
                if (v == 0 || v >= _S_MAX)
                        return -ENOENT;
                st->st_mode = statics[v].mode;
                *timeout = STATIC_TIMEOUT;
                if (v == S_NODE || v == S_AUTO_ONLINE)
                        *timeout = 0; /* node dirs come and go; auto_online_blocks is written */
                break;
        case K_MEMDIR:
                if (!ino_block_locked(ino))
                        return -ENOENT;
                st->st_mode = S_IFDIR | 0755;
                *timeout = STATIC_TIMEOUT;
                break;
        case K_MEMATTR:
                b = ino_block_locked(ino);
                if (!b || INO_ATTR(ino) >= _A_MAX)
                        return -ENOENT;
                if (INO_ATTR(ino) == A_NODE_LINK && !sim_link_visible(b, now))
                        return -ENOENT;
                st->st_mode = mem_attrs[INO_ATTR(ino)].mode;
                st->st_size = 4096;
                *timeout = STATIC_TIMEOUT;
                if (INO_ATTR(ino) == A_NODE_LINK)
                        st->st_size = (off_t)snprintf(NULL, 0, "../../node/node%u", b->node);
                break;
        case K_NODEDIR:
                if (v >= SIM_MAX_NODES || !sim->nodes[v].online)
                        return -ENOENT;
                st->st_mode = S_IFDIR | 0755;
                *timeout = STATIC_TIMEOUT; /* nodes never go offline in the sim */
                break;
        case K_NODEATTR:
                if ((v >> 8) >= SIM_MAX_NODES || !sim->nodes[v >> 8].online ||
                    (v & 0xff) != NA_MEMINFO)
                        return -ENOENT;
                st->st_mode = S_IFREG | 0444;
                st->st_size = 4096;
                *timeout = STATIC_TIMEOUT;
                break;
        case K_NODELINK:
                b = sim_find_locked(sim, (uint32_t)v);
                if (!b || b->node != (v >> 32) || !sim_link_visible(b, now))
                        return -ENOENT;
                st->st_mode = S_IFLNK | 0777;
                st->st_size = (off_t)snprintf(NULL, 0, "../../memory/memory%u", b->id);
                *timeout = STATIC_TIMEOUT;
                break;
        default:
                return -ENOENT;
        }
        if (S_ISDIR(st->st_mode))
                st->st_nlink = 2;
        return 0;
}

static int lookup_locked(fuse_ino_t parent, const char *name, fuse_ino_t *ret)
{
        unsigned kind = INO_KIND(parent);
        uint64_t v = INO_VAL(parent);
        uint32_t id;
        const struct block *b;

        if (kind == K_STATIC) {
                for (unsigned i = S_ROOT + 1; i < _S_MAX; i++)
                        if (statics[i].parent == v && strcmp(statics[i].name, name) == 0) {
                                *ret = INO(K_STATIC, i);
                                return 0;
                        }
                if (v == S_MEMORY && parse_suffix(name, "memory", &id) &&
                    (b = sim_find_locked(sim, id))) {
                        *ret = MEMDIR_INO(b);
                        return 0;
                }
                if (v == S_NODE && parse_suffix(name, "node", &id) && id < SIM_MAX_NODES &&
                    sim->nodes[id].online) {
                        *ret = INO(K_NODEDIR, id);
                        return 0;
                }
                return -ENOENT;
        }
        if (kind == K_MEMDIR) {
                b = ino_block_locked(parent);
                if (!b)
                        return -ENOENT;
                for (unsigned a = 0; a < A_NODE_LINK; a++)
                        if (strcmp(mem_attrs[a].name, name) == 0) {
                                *ret = MEMATTR_INO(b, a);
                                return 0;
                        }
                if (parse_suffix(name, "node", &id) && id == b->node &&
                    sim_link_visible(b, sim_now_ms())) {
                        *ret = MEMATTR_INO(b, A_NODE_LINK);
                        return 0;
                }
                return -ENOENT;
        }
        if (kind == K_NODEDIR) {
                if (strcmp(name, "meminfo") == 0) {
                        *ret = INO(K_NODEATTR, v << 8 | NA_MEMINFO);
                        return 0;
                }
                if (parse_suffix(name, "memory", &id)) {
                        b = sim_find_locked(sim, id);
                        if (b && b->node == v && sim_link_visible(b, sim_now_ms())) {
                                *ret = INO(K_NODELINK, v << 32 | id);
                                return 0;
                        }
                }
                return -ENOENT;
        }
        return -ENOTDIR;
}

static void op_init(void *userdata _unused_, struct fuse_conn_info *conn)
{
        /* O_TRUNC arrives as an open flag (ignored, as sysfs does) rather than a SETATTR. */
        if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
                conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
        conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
        struct fuse_entry_param e = {0};
        fuse_ino_t ino;
        double timeout;
        int r;

        COUNT(SIM_OP_LOOKUP);
        pthread_mutex_lock(&sim->lock);
        r = lookup_locked(parent, name, &ino);
        if (r == 0)
                r = stat_locked(ino, &e.attr, &timeout);
        if (r == 0 && (INO_KIND(ino) == K_MEMDIR || INO_KIND(ino) == K_MEMATTR)) {
                /* A re-added block is a new inode to the kernel, not the old one revived. */
                const struct block *b = ino_block_locked(ino);

                e.generation = b ? b->gen : 0;
        }
        pthread_mutex_unlock(&sim->lock);
        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        e.ino = ino;
        e.attr_timeout = timeout;
        e.entry_timeout = timeout;
        fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi _unused_)
{
        struct stat st;
        double timeout;
        int r;

        COUNT(SIM_OP_GETATTR);
        pthread_mutex_lock(&sim->lock);
        r = stat_locked(ino, &st, &timeout);
        pthread_mutex_unlock(&sim->lock);
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_attr(req, &st, timeout);
}

/* sysfs ignores truncation (O_TRUNC from "echo >"); nothing else may change. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr _unused_, int to_set,
                       struct fuse_file_info *fi _unused_)
{
        struct stat st;
        double timeout;
        int r;

        COUNT(SIM_OP_SETATTR);
        pthread_mutex_lock(&sim->lock);
        r = stat_locked(ino, &st, &timeout);
        pthread_mutex_unlock(&sim->lock);
        if (r == 0 &&
            (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
                        FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)))
                r = -EPERM;
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_attr(req, &st, timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
        char target[64];
        struct stat st;
        double timeout;
        int r;

        COUNT(SIM_OP_READLINK);
        pthread_mutex_lock(&sim->lock);
        r = stat_locked(ino, &st, &timeout);
        if (r == 0 && INO_KIND(ino) == K_MEMATTR) {
                const struct block *b = ino_block_locked(ino);

                snprintf(target, sizeof(target), "../../node/node%u", b->node);
        } else if (r == 0 && INO_KIND(ino) == K_NODELINK) {
                snprintf(target, sizeof(target), "../../memory/memory%u", (uint32_t)INO_VAL(ino));
        } else if (r == 0) {
                r = -EINVAL;
        }
        pthread_mutex_unlock(&sim->lock);
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_readlink(req, target);
}

static bool writable(fuse_ino_t ino)
{
        if (INO_KIND(ino) == K_MEMATTR)
                return (mem_attrs[INO_ATTR(ino)].mode & 0200) != 0;
        return ino == INO(K_STATIC, S_AUTO_ONLINE);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        struct stat st;
        double timeout;
        int r;

        COUNT(SIM_OP_OPEN);
        pthread_mutex_lock(&sim->lock);
        r = stat_locked(ino, &st, &timeout);
        if (r == 0 && S_ISDIR(st.st_mode))
                r = -EISDIR;
        /* kernfs refuses write opens of attributes without a store method, even for root. */
        if (r == 0 && (fi->flags & O_ACCMODE) != O_RDONLY && !writable(ino))
                r = -EACCES;
        fi->fh = 0;
        if (r == 0 && INO_KIND(ino) == K_MEMATTR)
                fi->fh = ino_block_locked(ino)->gen;
        pthread_mutex_unlock(&sim->lock);
        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        fi->direct_io = 1;
        fi->keep_cache = 0;
        fi->nonseekable = 0;
        fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
        char *buf = NULL;
        size_t len = 0;
        int r = 0;

        COUNT(SIM_OP_READ);
        pthread_mutex_lock(&sim->lock);
        if (INO_KIND(ino) == K_MEMATTR) {
                const struct block *b = ino_block_locked(ino);

                if (!b || b->gen != fi->fh)
                        r = -ENODEV; /* kernfs: the attribute's device is gone */
        }
        if (r == 0)
                r = render_locked(ino, &buf, &len);
        pthread_mutex_unlock(&sim->lock);
        if (r < 0)
                fuse_reply_err(req, -r);
        else if ((size_t)off >= len)
                fuse_reply_buf(req, NULL, 0);
        else
                fuse_reply_buf(req, buf + off, len - (size_t)off < size ? len - (size_t)off : size);
        free(buf);
}

static void on_interrupt(fuse_req_t req _unused_, void *data)
{
        sim_interrupt(sim, data);
}

static int uevent_write(uint32_t id, uint32_t gen, const char *buf, size_t len)
{
        static const char *const actions[] = {"add",    "remove",  "change", "move",
                                              "online", "offline", "bind",   "unbind"};
        char word[16];
        size_t n = 0;
        const struct block *b;
        bool alive;

        /* kobject_synth_uevent(): an action word, optionally followed by arguments. */
        while (n < len && n < sizeof(word) - 1 && buf[n] != ' ' && buf[n] != '\n') {
                word[n] = buf[n];
                n++;
        }
        word[n] = 0;
        pthread_mutex_lock(&sim->lock);
        b = sim_find_locked(sim, id);
        alive = b && b->gen == gen;
        pthread_mutex_unlock(&sim->lock);
        if (!alive)
                return -ENODEV;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (strcmp(word, actions[i]) == 0)
                        return uevent_emit(sim, word, id, true);
        return -EINVAL;
}

/* A state/online write that may wait (hotplug lock, slow, hang): runs on its own thread. */
struct slow_write {
        fuse_req_t req;
        uint32_t id, gen;
        unsigned attr;
        size_t size;
        struct hang_wait hw;
        char buf[];
};

static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static unsigned slow_running;

static void *slow_write_thread(void *p)
{
        struct slow_write *w = p;
        int r = sim_write_attr(sim, w->id, w->gen, w->attr, w->buf, w->size, &w->hw, false);

        /* After this returns on_interrupt can no longer touch w->hw. */
        fuse_req_interrupt_func(w->req, NULL, NULL);
        if (r < 0)
                fuse_reply_err(w->req, -r);
        else
                fuse_reply_write(w->req, w->size);
        free(w);
        pthread_mutex_lock(&slow_lock);
        slow_running--;
        pthread_cond_broadcast(&slow_cond);
        pthread_mutex_unlock(&slow_lock);
        return NULL;
}

/*
 * The loop is single-threaded (a FUSE round trip is most of the sim's cost, and thread
 * hand-offs make it 40% dearer), so a write that may wait must not wait here: the loop
 * has to stay free to deliver the INTERRUPT that ends a hang.
 */
static int state_write(fuse_req_t req, uint32_t id, uint32_t gen, unsigned attr, const char *buf,
                       size_t size)
{
        struct slow_write *w;
        pthread_t t;
        int r;

        r = sim_write_attr(sim, id, gen, attr, buf, size, NULL, true);
        if (r != -EWOULDBLOCK)
                return r;
        w = calloc(1, sizeof(*w) + size);
        if (!w)
                return -ENOMEM;
        *w = (struct slow_write){.req = req, .id = id, .gen = gen, .attr = attr, .size = size};
        memcpy(w->buf, buf, size);
        fuse_req_interrupt_func(req, on_interrupt, &w->hw);
        pthread_mutex_lock(&slow_lock);
        slow_running++;
        pthread_mutex_unlock(&slow_lock);
        if (pthread_create(&t, NULL, slow_write_thread, w) != 0) {
                fuse_req_interrupt_func(req, NULL, NULL);
                free(w);
                pthread_mutex_lock(&slow_lock);
                slow_running--;
                pthread_mutex_unlock(&slow_lock);
                return -EAGAIN;
        }
        pthread_detach(t);
        return 1; /* the thread replies */
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
                     off_t off _unused_, struct fuse_file_info *fi)
{
        int r;

        COUNT(SIM_OP_WRITE);
        if (INO_KIND(ino) == K_MEMATTR && (INO_ATTR(ino) == A_STATE || INO_ATTR(ino) == A_ONLINE)) {
                r = state_write(req, INO_BLOCK_ID(ino), (uint32_t)fi->fh, INO_ATTR(ino) == A_ONLINE,
                                buf, size);
                if (r > 0)
                        return;
        } else if (INO_KIND(ino) == K_MEMATTR && INO_ATTR(ino) == A_UEVENT) {
                r = uevent_write(INO_BLOCK_ID(ino), (uint32_t)fi->fh, buf, size);
        } else if (ino == INO(K_STATIC, S_AUTO_ONLINE)) {
                r = sim_set_auto_online(sim, buf, size);
        } else {
                r = -EIO;
        }
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_write(req, size);
}

struct dirbuf {
        fuse_req_t req;
        char *buf;
        size_t size, len;
        off_t skip; /* entries at or below this offset were returned already */
        bool full;
};

/* Adds one entry unless the buffer is full; returns false once it is. */
static bool dir_add(struct dirbuf *d, const char *name, fuse_ino_t ino, mode_t mode, off_t off)
{
        struct stat st = {.st_ino = ino, .st_mode = mode};
        size_t need;

        if (d->full)
                return false;
        if (off <= d->skip)
                return true;
        need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
        if (d->len + need > d->size) {
                d->full = true;
                return false;
        }
        fuse_add_direntry(d->req, d->buf + d->len, d->size - d->len, name, &st, off);
        d->len += need;
        return true;
}

static int readdir_locked(struct dirbuf *d, fuse_ino_t ino)
{
        unsigned kind = INO_KIND(ino);
        uint64_t v = INO_VAL(ino);
        uint32_t now = sim_now_ms();
        char name[32];
        off_t off = 3;
        size_t i;

        if (!dir_add(d, ".", ino, S_IFDIR, 1) || !dir_add(d, "..", ino, S_IFDIR, 2))
                return 0;
        if (kind == K_STATIC) {
                for (unsigned s = S_ROOT + 1; s < _S_MAX; s++)
                        if (statics[s].parent == v &&
                            !dir_add(d, statics[s].name, INO(K_STATIC, s), statics[s].mode, off++))
                                return 0;
                if (v == S_MEMORY) {
                        /* Resume by id, so blocks added or removed meanwhile don't shift. */
                        uint32_t from = d->skip >= DYN_OFF ? (uint32_t)(d->skip - DYN_OFF) : 0;

                        size_t lo = 0, hi = sim->n_blocks;

                        while (lo < hi) {
                                size_t mid = lo + (hi - lo) / 2;

                                if (sim->blocks[mid].id < from)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        for (i = lo; i < sim->n_blocks; i++) {
                                uint32_t id = sim->blocks[i].id;

                                snprintf(name, sizeof(name), "memory%u", id);
                                if (!dir_add(d, name, MEMDIR_INO(&sim->blocks[i]), S_IFDIR,
                                             DYN_OFF + (off_t)id))
                                        return 0;
                        }
                } else if (v == S_NODE) {
                        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                                if (!sim->nodes[n].online)
                                        continue;
                                snprintf(name, sizeof(name), "node%u", n);
                                if (!dir_add(d, name, INO(K_NODEDIR, n), S_IFDIR, DYN_OFF + n))
                                        return 0;
                        }
                }
                return 0;
        }
        if (kind == K_MEMDIR) {
                const struct block *b = ino_block_locked(ino);

                if (!b)
                        return -ENOENT;
                for (unsigned a = 0; a < A_NODE_LINK; a++)
                        if (!dir_add(d, mem_attrs[a].name, MEMATTR_INO(b, a), mem_attrs[a].mode,
                                     off++))
                                return 0;
                if (sim_link_visible(b, now)) {
                        snprintf(name, sizeof(name), "node%u", b->node);
                        dir_add(d, name, MEMATTR_INO(b, A_NODE_LINK), S_IFLNK, off);
                }
                return 0;
        }
        if (kind == K_NODEDIR) {
                if (v >= SIM_MAX_NODES || !sim->nodes[v].online)
                        return -ENOENT;
                if (!dir_add(d, "meminfo", INO(K_NODEATTR, v << 8 | NA_MEMINFO), S_IFREG, off))
                        return 0;
                for (i = 0; i < sim->n_blocks; i++) {
                        const struct block *b = &sim->blocks[i];

                        if (b->node != v || DYN_OFF + (off_t)b->id <= d->skip ||
                            !sim_link_visible(b, now))
                                continue;
                        snprintf(name, sizeof(name), "memory%u", b->id);
                        if (!dir_add(d, name, INO(K_NODELINK, v << 32 | b->id), S_IFLNK,
                                     DYN_OFF + (off_t)b->id))
                                return 0;
                }
                return 0;
        }
        return -ENOTDIR;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi _unused_)
{
        struct dirbuf d = {.req = req, .size = size, .skip = off};
        int r;

        COUNT(SIM_OP_READDIR);
        d.buf = malloc(size);
        if (!d.buf) {
                fuse_reply_err(req, ENOMEM);
                return;
        }
        pthread_mutex_lock(&sim->lock);
        r = readdir_locked(&d, ino);
        pthread_mutex_unlock(&sim->lock);
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_buf(req, d.buf, d.len);
        free(d.buf);
}

static const struct fuse_lowlevel_ops ops = {
        .init = op_init,
        .lookup = op_lookup,
        .getattr = op_getattr,
        .setattr = op_setattr,
        .readlink = op_readlink,
        .open = op_open,
        .read = op_read,
        .write = op_write,
        .readdir = op_readdir,
};

/* sim->invalidate: forget memoryN under memory/ (its subtree goes with it) and node/nodeX/. */
static void invalidate(struct sim *s _unused_, uint32_t id, unsigned node)
{
        char name[32];
        int n = snprintf(name, sizeof(name), "memory%u", id);

        if (!session)
                return;
        /* -ENOENT just means the kernel had nothing cached. */
        (void)fuse_lowlevel_notify_inval_entry(session, INO(K_STATIC, S_MEMORY), name, (size_t)n);
        (void)fuse_lowlevel_notify_inval_entry(session, INO(K_NODEDIR, node), name, (size_t)n);
}

/* Mounts at mountpoint and serves until unmounted, signalled or sim_fuse_stop(). */
int sim_fuse_run(struct sim *s, const char *mountpoint, bool debug)
{
        static char a0[] = "memhp-sim", a1[] = "-o", a2[] = "fsname=memhp-sim,subtype=memhp-sim",
                    a3[] = "-d";
        char *argv[] = {a0, a1, a2, a3, NULL};
        struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, argv);
        int r;

        sim = s;
        s->invalidate = invalidate;
        mount_time = time(NULL);
        session = fuse_session_new(&args, &ops, sizeof(ops), NULL);
        fuse_opt_free_args(&args);
        if (!session)
                return -EIO;
        if (fuse_set_signal_handlers(session) < 0) {
                r = -EIO;
                goto destroy;
        }
        if (fuse_session_mount(session, mountpoint) < 0) {
                r = -EIO;
                goto handlers;
        }
        fprintf(stderr, "memhp-sim: serving %s\n", mountpoint);
        loop_thread = pthread_self();
        r = fuse_session_loop(session);
        r = r < 0 ? r : 0;
        /* Whatever ended the loop (quit, signal, fusermount -u): end waiting writes too. */
        sim_quit(s);
        pthread_mutex_lock(&slow_lock);
        while (slow_running > 0)
                pthread_cond_wait(&slow_cond, &slow_lock);
        pthread_mutex_unlock(&slow_lock);
        fuse_session_unmount(session);
handlers:
        fuse_remove_signal_handlers(session);
destroy:
        fuse_session_destroy(session);
        session = NULL;
        return r;
}

/* Ends the loop: wake every waiting write, then the same path as SIGTERM. */
void sim_fuse_stop(void)
{
        sim_quit(sim);
        if (session) {
                fuse_session_exit(session);
                /* To the loop's thread: the signal must interrupt its read of /dev/fuse. */
                pthread_kill(loop_thread, SIGTERM);
        }
}
