/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state: event loop, config, block table, uevent monitor and writer. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "blockmap.h"
#include "conf.h"
#include "memsource.h"
#include "metrics.h"
#include "nodemask.h"
#include "monitor.h"
#include "time-util.h"
#include "placement.h"
#include "platform.h"
#include "sysfs.h"
#include "writer.h"

typedef struct Manager Manager;
typedef struct Operation Operation;
typedef struct Device Device;
typedef struct DeviceSignals DeviceSignals;
typedef struct sd_bus sd_bus;

typedef struct Delayed {
        uint32_t block;
        uint64_t due_usec; /* CLOCK_MONOTONIC */
} Delayed;

struct Manager {
        sd_event *event;
        char *config_path;
        bool config_missing_ok; /* the default path may be absent; an explicit --config may not */
        int log_level_override; /* --log-level, wins over LogLevel= across reloads; -1 if unset */
        MemhpConfig *config;
        Sysfs *sysfs;
        const char *sysroot;
        bool numa;         /* sys/devices/system/node exists: blocks have nodeN links */
        Platform platform; /* for Default=auto; detected at start and on reload */

        uint64_t block_size;
        uint64_t page_size; /* zoneinfo counts pages of this size */
        uint64_t block_pages;
        BlockMap blocks;

        Monitor *monitor;
        EventSource event_source; /* resolved, never AUTO */
        Writer *writer;

        /* Blocks to (re)read and apply policy to, coalesced per event-loop iteration. */
        uint32_t *queue;
        size_t n_queue, queue_allocated;
        sd_event_source *process_source;
        bool rescan_pending;
        unsigned policy_writes; /* policy writes in flight; overflow rescans wait for them */
        const char *rescan_reason;
        uint64_t scan_started_usec; /* coldplug scan start, for the "Scanned ... in" log line */
        uint64_t last_pass_usec;    /* handed off: a long burst gets one pass per grace */
        sd_event_source *held_pass_timer; /* brings a held pass back after the grace */

        /* Blocks deferred until all in-flight writes complete (auto-movable needs exact sizes). */
        uint32_t *deferred;
        size_t n_deferred, deferred_allocated;

        /* Node-link waits and write retries, one timer for all. */
        Delayed *delayed;
        size_t n_delayed, delayed_allocated;
        sd_event_source *delay_timer;
        sd_event_source *rescan_timer;

        /* Zone sizes read once per pass, plus what this pass has already decided. */
        PlacementLedger ledger;
        bool ledger_loaded;

        int node_hint;
        bool startup_done; /* READY=1 sent */

        /* D-Bus (manager-bus.c): optional, onlining never waits for it. */
        sd_bus *bus;
        sd_event_source *bus_retry;

        /* Multi-block operations (manager-ops.c), oldest first, run from ops_dispatch. */
        Operation *ops;
        sd_event_source *ops_dispatch;
        uint64_t next_op_id;
        int runtime_fd; /* intent records; -1 when there is no runtime directory */

        /* Hand-off to auto_online_blocks (manager-handoff.c): the value found, "" when none. */
        char handoff_saved[32];
        const char *handoff_type; /* what memhpd set it to, NULL when not handed off */
        bool stopping;            /* SIGTERM: exit once cancelled operations have rolled back */

        /* Counters, for logs and the bus. */
        uint64_t n_events, n_overflows, n_rescans, n_onlined, n_failed;
        MemhpMetrics metrics; /* the rest, for org.memhpd1.Metrics (manager-metrics.c) */

        /* BlockChanged signals waiting for the bus's write queue to drain (manager-signals.c). */
        uint32_t *signal_backlog;
        size_t n_signal_backlog, signal_backlog_allocated;
        sd_event_source *signal_flush;

        /* Optional observer (the bus layer): called when a block's state or zone changes. */
        void (*block_changed)(Manager *m, uint32_t block, BlockEntry *e);
        /* Optional observer (the bus layer): called with "added" when a device first has a
         * block, "removed" when it loses its last one (manager-sources.c). */
        void (*device_changed)(Manager *m, const Device *dev, const char *change);
        DeviceSignals *device_signals; /* DeviceChanged's queue (manager-device-signals.c) */

        /* Sources and devices (manager-sources.c). */
        int iomem_fd;          /* <sysroot>/proc/iomem, opened once at start; -1 if absent */
        SourceMap *source_map; /* the last snapshot, kept until a block it cannot explain */
        bool source_map_fresh; /* built during the current pass: not again before the next */
        Device *devices;       /* interned; BlockEntry.device is the index + 1 */
        size_t n_devices, devices_allocated;
        uint16_t last_device;               /* the slot device_intern() found last, a hint */
        uint8_t announced[MEMHP_MAX_NODES]; /* bit per MemSource: device-less policy logged */
        /* Blocks decided while their firmware_node could still appear: looked at again after
         * 1, 4 and 16 s (manager-sources.c). */
        struct Recheck *recheck;
        size_t n_recheck, recheck_allocated;
        sd_event_source *recheck_timer;
        bool iomem_hidden_logged;
        sd_event_source *foreign_timer; /* reports blocks other onliners took (manager-foreign.c) */
};

int manager_new(const char *config_path, MemhpConfig *config, const char *sysroot, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_start(Manager *m);
int manager_run(Manager *m);
int manager_reload(Manager *m);

/* manager-blocks.c */
void manager_queue_block(Manager *m, uint32_t block);
void manager_block_gone(Manager *m, uint32_t block, BlockEntry *e);
void manager_on_uevent(const MemUevent *ev, void *userdata);
/* The monitor's paced burst is over (handed off): the pass it held may run. */
void manager_on_settled(void *userdata);
void manager_on_write_done(const WriteJob *job, void *userdata);
int manager_setup_blocks(Manager *m);

/* manager-scan.c */
void manager_request_rescan(Manager *m, const char *reason);
typedef enum ScanFlags {
        /* Blocks this scan finds for the first time and that are offline are the admin's:
         * the policy leaves them be (Coldplug=no). */
        SCAN_LEAVE_OFFLINE_ALONE = 1 << 0,
} ScanFlags;

/* Enumerates blocks, forgets the gone ones and queues them all for the next pass. */
int manager_scan(Manager *m, ScanFlags flags);
/* The scan at start, with Coldplug= deciding about blocks found offline. */
int manager_coldplug(Manager *m);
void manager_on_overflow(void *userdata);
void manager_arm_rescan_timer(Manager *m);

/* Records a state observed by someone other than the pass (an operation's write). */
void manager_block_observed(Manager *m, uint32_t block, MemState st, MemZone zone);
void manager_check_startup_done(Manager *m);

/* manager-ops.c */
int manager_ops_setup(Manager *m);
int manager_ops_recover(Manager *m);
void manager_ops_on_write_done(Manager *m, const WriteJob *job);
/* Operations may be able to move on (a block became free): look at them from the event loop. */
void manager_ops_schedule(Manager *m);
void manager_ops_free(Manager *m);
/* Cancels every operation (they roll back and reply); returns how many there were. */
unsigned manager_ops_cancel_all(Manager *m);

/* manager-signals.c: BlockChanged, with a backlog bounded by the number of blocks. */
void manager_emit_block_changed(Manager *m, uint32_t block, BlockEntry *e);
void manager_signals_free(Manager *m);

/* manager-bus.c */
int manager_bus_connect(Manager *m);
void manager_bus_free(Manager *m);

/* manager-holds.c: blocks offlined on purpose stay offline across a restart (lib/hold.h). */
void manager_holds_restore(Manager *m);
void manager_hold_block(Manager *m, uint32_t block, BlockEntry *e);
void manager_hold_release(Manager *m, uint32_t block, BlockEntry *e, const char *why);
int manager_bus_get_held_blocks(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error);

/* manager-metrics.c */
void manager_record_failure(Manager *m, uint32_t block, int error, const char *action);
void manager_metrics_snapshot(const Manager *m, MemhpMetrics *ret);
int manager_metrics_bus_add(Manager *m, sd_bus *bus, const char *path);

/* conflicts.c: warns about other onliners (kernel auto-online, udev rules). */
void manager_check_other_onliners(Manager *m);

/*
 * Handed off, what memhpd does with a block is bookkeeping (state, zone, source, signals)
 * plus the rare write to one the kernel left offline, which waits HANDOFF_GRACE_USEC anyway.
 * Done per uevent it cost ~1 ms of guest CPU per block under TCG, taken from the add that
 * produces the next block: a virtio-mem device grew ~1.5x slower than with the kernel alone.
 * So the monitor reads a burst in batches this far apart, and the pass over its blocks waits
 * until the burst is over (or has gone on for the grace).
 */
#define HANDOFF_PACE_USEC (50 * USEC_PER_MSEC)

void manager_handoff_recover(Manager *m);
void manager_handoff_update(Manager *m);
void manager_handoff_stop(Manager *m);

/* manager-sources.c: where each block came from (lib/memsource.h), and the devices that group
 * blocks. A device is a hotplug unit with an id (PNP0C80:XX, virtioN, daxX.Y); boot memory,
 * balloons and unknown blocks belong to none. */
struct Device {
        char id[MEMSOURCE_DEVICE_MAX]; /* "" for a free slot of the table */
        MemSource source;
        DaxBacking backing;
        uint64_t start, end; /* inclusive; 0, 0 when the range is not known */
        uint32_t n_blocks;   /* present blocks that resolved to it */
        bool announced;      /* its policy was logged at info */
        /* Blocks another onliner took, reported once none is left undecided (manager-foreign.c). */
        uint32_t n_fresh;      /* present blocks added while memhpd watched, not decided yet */
        uint32_t n_foreign;    /* blocks found online before memhpd decided them, unreported */
        uint32_t n_misplaced;  /* of those, in a zone other than memhpd's write asked for */
        int16_t foreign_node;  /* their node; -1 unknown, -2 several */
        uint8_t foreign_zones; /* bit per MemZone */
};

/* manager-foreign.c: blocks another onliner (daxctl, auto_online_blocks, a udev rule) put online
 * before memhpd decided them are left as they are, and logged once per device and burst. */
/* @e was added while memhpd watched: memhpd has yet to decide it. */
void manager_block_fresh(Manager *m, BlockEntry *e);
/* memhpd decided @e (wrote it, leaves it offline, gave up, an operation took it). */
void manager_block_decided(Manager *m, BlockEntry *e);
/* @e was online in @zone before memhpd decided it; @want is what memhpd's write asked for
 * (MEM_ACTION_NONE when it found the block online before writing). */
void manager_block_foreign(Manager *m, uint32_t block, BlockEntry *e, MemZone zone, MemAction want);
/* @e joins or leaves device @d (manager-sources.c); @last: it was the device's last block. */
void manager_foreign_attach(Manager *m, BlockEntry *e, Device *d);
void manager_foreign_detach(Manager *m, BlockEntry *e, Device *d, bool last);
void manager_foreign_free(Manager *m);

/* Opens proc/iomem while memhpd still has CAP_SYS_ADMIN, then drops that capability. */
int manager_sources_setup(Manager *m);
void manager_sources_free(Manager *m);
/* The block's source as last resolved, and its device (NULL for none). A block whose
 * firmware_node may still appear is resolved again first (lazily: when someone asks).
 * MEM_SOURCE_UNKNOWN for a block not resolved yet. */
MemSource manager_block_source(Manager *m, uint32_t block, const Device **ret_device);
/* Device @index + 1 (BlockEntry.device), NULL for 0 or a free slot. */
const Device *manager_device(const Manager *m, uint16_t device);
/* The device called @id, or NULL. */
const Device *manager_device_find(const Manager *m, const char *id);

/* A new pass: the next block the last snapshot cannot explain may rebuild it. */
void manager_sources_pass_begin(Manager *m);
/* Resolves @block if it never was, or if its firmware_node may have appeared since. */
void manager_block_resolve(Manager *m, uint32_t block, BlockEntry *e, MemState st);
/* The block leaves: it no longer counts for its device. */
void manager_block_source_forget(Manager *m, BlockEntry *e);

/* What the policy does with an offline block of @node (manager-sources.c). */
typedef enum SourceVerdict {
        SOURCE_DECIDED, /* *ret_policy applies */
        SOURCE_WAIT,    /* its source would change the policy: look again in *ret_delay_usec */
} SourceVerdict;
SourceVerdict manager_block_policy(Manager *m, uint32_t block, BlockEntry *e, int node,
                                   Policy *ret_policy, uint64_t *ret_delay_usec);
/* A new block handed off to the kernel's auto-online: it may still turn out to be a DIMM. */
void manager_block_handed_off(Manager *m, uint32_t block, BlockEntry *e);
/* Forgets which policies were announced (after a reload they are announced again). */
void manager_sources_reset_announced(Manager *m);
