/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhp-sim: a simulated memory-hotplug kernel for memhpd's "sim" test tier.
 *
 * The model (sim-model.c: blocks, nodes, hotplug lock; sim-zone.c: zones and
 * valid_zones; sim-write.c: state writes and fault injection) implements the kernel's
 * state machine; sim-fuse.c (names) and sim-fuse-io.c (contents) serve it as
 * sysfs/procfs files, sim-uevent.c emits udev-format netlink messages, sim-ctl.c is
 * the control socket the tests drive.
 * Never installed; never mounted anywhere but a test's temporary directory.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_MAX_NODES 64
#define SIM_MAX_FAULTS 1024
#define SIM_PAGE_SIZE 4096ULL
#define SIM_WLOG_SIZE 65536 /* ring of the most recent attribute writes */

#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

enum block_state {
        BLOCK_OFFLINE,
        BLOCK_ONLINE,
        BLOCK_GOING_OFFLINE, /* visible in "state" while an offline is in progress */
};

/* Same order as the kernel's enum zone_type, which is the order /proc/zoneinfo prints. */
enum zone {
        ZONE_DMA,
        ZONE_DMA32,
        ZONE_NORMAL,
        ZONE_MOVABLE,
        ZONE_DEVICE,
        NR_ZONES,
        ZONE_NONE = 0xff, /* an online boot block that spans two zones: valid_zones "none" */
};

/* What a write to "state" or "online" asks for (the kernel's MMOP_* values). */
enum online_op {
        OP_OFFLINE,
        OP_ONLINE,
        OP_ONLINE_KERNEL,
        OP_ONLINE_MOVABLE,
};

enum fault_kind {
        FAULT_SLOW,   /* delay the write by ms, then carry on */
        FAULT_HANG,   /* block until the writer is signalled (EINTR) or "release" */
        FAULT_VANISH, /* remove the block during the write, fail with err */
        FAULT_FAIL,   /* fail with err */
        FAULT_RACE,   /* another onliner onlines the block just before the write runs */
        _FAULT_KIND_MAX,
};

/*
 * One memory block. Kept small on purpose: a storm creates 65,536 of these and the
 * sim must stay at a few MiB, so faults and logs live in side tables.
 */
struct block {
        uint32_t id;
        uint32_t gen;     /* unique per incarnation: an fd opened on a removed block gets ENODEV */
        uint32_t link_at; /* ms since sim start at which the nodeN links become visible */
        uint32_t writes;  /* writes to state/online since the last reset-counters */
        uint16_t node;
        uint8_t state; /* enum block_state */
        uint8_t zone;  /* enum zone while online (or ZONE_NONE), meaningless while offline */
};

struct fault {
        uint32_t id;
        uint8_t kind; /* enum fault_kind */
        bool nolock;  /* FAULT_HANG: do not hold the hotplug lock while hanging */
        uint8_t op;   /* FAULT_RACE: enum online_op the other onliner uses */
        int err;      /* positive errno for FAULT_FAIL / FAULT_VANISH */
        int count;    /* remaining firings, -1 = always */
        unsigned ms;  /* FAULT_SLOW */
};

/* A write waiting in FAULT_HANG; the FUSE interrupt callback or "release" wakes it. */
struct hang_wait {
        uint32_t id;
        bool interrupted;
        bool released;
        struct hang_wait *next;
};

enum {
        SIM_OP_LOOKUP,
        SIM_OP_GETATTR,
        SIM_OP_OPEN,
        SIM_OP_READ,
        SIM_OP_WRITE,
        SIM_OP_READDIR,
        SIM_OP_READLINK,
        SIM_OP_SETATTR,
        SIM_OP_MAX,
};

struct wlog_entry {
        uint32_t id;
        uint8_t attr; /* 0 = state, 1 = online */
        char value[15];
        int result; /* 0 or -errno */
};

struct zspan {
        uint64_t start, end; /* pfn span of the zone's online blocks; start == end: empty */
        uint64_t present;    /* pages */
        bool dirty;          /* an edge block went offline: recompute before use */
};

struct node {
        bool possible;
        bool online;
        bool has_cpu;
        struct zspan zones[NR_ZONES];
};

struct sim {
        pthread_mutex_t lock; /* protects everything below */
        pthread_cond_t cond;  /* hotplug lock hand-over, hang wake-ups */

        /* The kernel's device_hotplug_lock: state writes, hot-add and hot-remove serialize. */
        bool hotplug_busy;

        uint64_t block_size; /* bytes */
        uint64_t pages_per_block;
        char auto_online[16]; /* auto_online_blocks */
        bool movable_node;    /* the movable_node kernel parameter: plain online prefers Movable */

        struct block *blocks; /* sorted by id */
        size_t n_blocks, cap_blocks;
        uint32_t next_gen;

        struct node nodes[SIM_MAX_NODES];

        struct fault faults[SIM_MAX_FAULTS];
        size_t n_faults;
        unsigned late_link_ms;
        /* memoryN/firmware_node (from --extra) appears this long after the nodeN links, as
         * ACPI links it only once the whole device is added. */
        unsigned late_fw_ms;
        struct hang_wait *hangs;

        struct wlog_entry *wlog;
        uint64_t wlog_total; /* writes ever logged, the ring holds the last SIM_WLOG_SIZE */

        bool quitting;

        /*
         * Set by the FUSE layer: drop cached dentries of a removed block. Called with the
         * hotplug lock held but not s->lock, because the kernel may need a lookup answered
         * (which takes s->lock) before the invalidation completes.
         */
        void (*invalidate)(struct sim *s, uint32_t id, unsigned node);

        /* FUSE requests served, by kind (relaxed atomics): what a daemon costs the kernel. */
        uint64_t ops[SIM_OP_MAX];

        /* uevents (sim-uevent.c) */
        pthread_mutex_t uevent_lock; /* seqnum order == send order, like uevent_sock_mutex */
        int uevent_fd;
        uint32_t uevent_port; /* our netlink port id: never 0, which is the kernel's */
        bool kernel_group;    /* --kernel-group: the kernel's format on group 1 too */
        uint64_t seqnum;
        uint64_t events_sent, events_failed;
};

/* sim-model.c, sim-zone.c, sim-write.c */
int sim_init(struct sim *s, uint64_t block_size);
void sim_done(struct sim *s);
uint32_t sim_now_ms(void);
int sim_parse_range(const char *spec, uint32_t *ret_lo, uint32_t *ret_hi, const char **ret_next);
int sim_parse_nodelist(const char *spec, uint64_t *ret_mask);
const char *zone_name(unsigned z);
int zone_from_name(const char *name);
int errno_from_name(const char *name);
const char *errno_name(int err);

struct block *sim_find_locked(struct sim *s, uint32_t id);
int sim_node_online_locked(struct sim *s, unsigned node);
int sim_boot_block(struct sim *s, uint32_t id, unsigned node, int zone);
int sim_add_blocks(struct sim *s, unsigned node, uint32_t start, uint32_t n, bool emit);
int sim_remove_blocks(struct sim *s, uint32_t lo, uint32_t hi, bool force);
int sim_ctl_change_state(struct sim *s, uint32_t id, enum online_op op, bool allow_noop);
int sim_write_attr(struct sim *s, uint32_t id, uint32_t gen, unsigned attr, const char *buf,
                   size_t len, struct hang_wait *hw, bool nowait);
void sim_interrupt(struct sim *s, struct hang_wait *hw);
void sim_quit(struct sim *s);
int sim_valid_zones_locked(struct sim *s, const struct block *b, char *buf, size_t len);
void sim_zone_span_locked(struct sim *s, unsigned node, unsigned z, uint64_t *start, uint64_t *end);
bool sim_link_visible(const struct block *b, uint32_t now);
int sim_add_fault(struct sim *s, const struct fault *f);
void sim_clear_faults(struct sim *s, bool all, uint32_t id);
int sim_set_auto_online(struct sim *s, const char *buf, size_t len);

/* sim-uevent.c */
uint32_t murmur2(const void *data, size_t len, uint32_t seed);
int uevent_open(struct sim *s);
int uevent_emit(struct sim *s, const char *action, uint32_t id, bool synthetic);
size_t uevent_build(char *buf, size_t size, const char *action, const char *devpath,
                    const char *subsystem, uint64_t seqnum, uint64_t usec, bool synthetic);
size_t uevent_build_kernel(char *buf, size_t size, const char *action, const char *devpath,
                           const char *subsystem, uint64_t seqnum, bool synthetic);

/* sim-fuse.c, sim-fuse-io.c */
/* Serve the names the model lacks from @dir (sim-fuse-extra.c), before sim_fuse_run(). */
int sim_extra_init(const char *dir);
int sim_fuse_run(struct sim *s, const char *mountpoint, bool debug);
void sim_fuse_stop(void);

/* sim-ctl.c */
int ctl_listen(struct sim *s, const char *path);
int ctl_client(const char *path, int argc, char **argv);
int sim_status_dump(struct sim *s, FILE *f, uint32_t lo, uint32_t hi);
