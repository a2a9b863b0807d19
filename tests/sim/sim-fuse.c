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
 *
 * This file holds the names (lookup, getattr, setattr, readlink, open, readdir), the mount and
 * the session; the files' contents (read, write, interrupt) are in sim-fuse-io.c.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim-fuse-internal.h"
#include "sim.h"

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

#define DYN_OFF 16 /* readdir offsets: 1.. for fixed entries, DYN_OFF + id for blocks/nodes */
#define STATIC_TIMEOUT 86400.0

struct sim *sim;

static struct fuse_session *session;
static pthread_t loop_thread;
static time_t mount_time;

/* The block a memoryN inode names, if that incarnation of it still exists. */
struct block *ino_block_locked(fuse_ino_t ino)
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
        case K_EXTRA:
                return extra_stat_locked(ino, st);
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

/* The path of a static directory relative to the root ("" for the root). */
static void static_path(unsigned v, char *buf, size_t size)
{
        const char *parts[8];
        size_t n = 0, len = 0;

        for (; v != S_ROOT && n < ELEMENTSOF(parts); v = statics[v].parent)
                parts[n++] = statics[v].name;
        buf[0] = 0;
        while (n-- > 0)
                len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "/" : "", parts[n]);
}

/* Names the model lacks, from the --extra directory: @parent's path there, or -ENOENT. */
static int extra_parent_locked(fuse_ino_t parent, const char *name, char *buf, size_t size)
{
        const struct block *b;

        switch (INO_KIND(parent)) {
        case K_STATIC:
                /* Blocks and nodes are the model's alone: no ghost memoryN from the test. */
                if (INO_VAL(parent) == S_MEMORY || INO_VAL(parent) == S_NODE)
                        return -ENOENT;
                static_path((unsigned)INO_VAL(parent), buf, size);
                return 0;
        case K_MEMDIR:
                b = ino_block_locked(parent);
                if (!b)
                        return -ENOENT;
                /* ACPI links firmware_node once the device's memory is added, after the
                 * blocks' add uevents and node links. */
                if (strcmp(name, "firmware_node") == 0 &&
                    (int32_t)(sim_now_ms() - b->link_at - sim->late_fw_ms) < 0)
                        return -ENOENT;
                snprintf(buf, size, "sys/devices/system/memory/memory%u", b->id);
                return 0;
        case K_EXTRA:
                if (!extra_path(parent))
                        return -ENOENT;
                snprintf(buf, size, "%s", extra_path(parent));
                return 0;
        default:
                return -ENOENT;
        }
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
        if ((r == -ENOENT || INO_KIND(parent) == K_EXTRA) && extra_enabled()) {
                char path[PATH_MAX];

                r = extra_parent_locked(parent, name, path, sizeof(path));
                if (r == 0)
                        r = extra_lookup_locked(path, name, &ino);
        }
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
        char target[PATH_MAX];
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
        } else if (r == 0 && INO_KIND(ino) == K_EXTRA) {
                r = extra_readlink_locked(ino, target, sizeof(target));
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

static bool dir_add_cb(void *d, const char *name, fuse_ino_t ino, mode_t mode, off_t off)
{
        return dir_add(d, name, ino, mode, off);
}

/* Extra entries of a static directory, but not those the model has (sys/devices). */
struct static_dir {
        struct dirbuf *d;
        unsigned v;
};

static bool static_add_cb(void *userdata, const char *name, fuse_ino_t ino, mode_t mode, off_t off)
{
        struct static_dir *sd = userdata;

        for (unsigned s = S_ROOT + 1; s < _S_MAX; s++)
                if (statics[s].parent == sd->v && strcmp(statics[s].name, name) == 0)
                        return true;
        return dir_add(sd->d, name, ino, mode, off);
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
                } else {
                        struct static_dir sd = {d, (unsigned)v};
                        char path[PATH_MAX];

                        static_path((unsigned)v, path, sizeof(path));
                        return extra_readdir_locked(path, static_add_cb, &sd, off);
                }
                return 0;
        }
        if (kind == K_EXTRA) {
                if (!extra_path(ino))
                        return -ENOENT;
                return extra_readdir_locked(extra_path(ino), dir_add_cb, d, off);
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
