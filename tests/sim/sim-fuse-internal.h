/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to sim-fuse.c (names: lookup, getattr, readdir, open) and sim-fuse-io.c (contents:
 * read, write, interrupt): the inode numbering and what both serve from.
 * Include after defining FUSE_USE_VERSION.
 */
#pragma once

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "sim.h"

enum kind {
        K_STATIC,   /* fixed files and directories, index into statics[] */
        K_MEMDIR,   /* memoryN/ (gen16 << 32 | id) */
        K_MEMATTR,  /* memoryN/<attr> (attr << 48 | gen16 << 32 | id) */
        K_NODEDIR,  /* node/nodeN/ */
        K_NODEATTR, /* node/nodeN/<attr> (nid << 8 | attr) */
        K_NODELINK, /* node/nodeN/memoryM (nid << 32 | id) */
        K_EXTRA,    /* a file of the --extra directory (index + 1, sim-fuse-extra.c) */
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

#define NA_MEMINFO 0

extern struct sim *sim;

#define COUNT(op) __atomic_fetch_add(&sim->ops[op], 1, __ATOMIC_RELAXED)

/* sim-fuse.c */
struct block *ino_block_locked(fuse_ino_t ino);

/* sim-fuse-extra.c: files served from the --extra directory. Called with sim->lock held. */
bool extra_enabled(void);
const char *extra_path(fuse_ino_t ino);
int extra_lookup_locked(const char *parent, const char *name, fuse_ino_t *ret);
int extra_stat_locked(fuse_ino_t ino, struct stat *st);
int extra_readlink_locked(fuse_ino_t ino, char *buf, size_t size);
int extra_read_locked(fuse_ino_t ino, char **ret, size_t *ret_len);
int extra_readdir_locked(const char *rel,
                         bool (*add)(void *d, const char *name, fuse_ino_t ino, mode_t mode,
                                     off_t off),
                         void *d, off_t first_off);

/* sim-fuse-io.c */
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi);
/* State/online writes running on their own threads; sim_fuse_run() waits for them. */
extern pthread_mutex_t slow_lock;
extern pthread_cond_t slow_cond;
extern unsigned slow_running;
