/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpctl: the admin's command line over memhpd's D-Bus API (org.memhpd1). The verbs live in
 * ctl-status.c (status), ctl-list.c (list), ctl-devices.c (devices), ctl-show.c (policy),
 * ctl-ops.c (online, offline), ctl-monitor.c (monitor), ctl-metrics.c (metrics) and memhpctl.c
 * (argument parsing, reload, rescan); ctl-bus.c holds the bus plumbing they share, ctl-table.c
 * and ctl-columns.c the tables.
 *
 * Verbs return the process exit code. Helpers return 0 or a negative errno after logging the
 * one line that explains the failure, so nothing is reported twice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "memblock.h"
#include "memhp-api.h"

/*
 * Exit codes, also listed in --help (and later in memhpctl(8)). Scripts rely on them, so they
 * only ever grow:
 *   0   success (for online/offline: every block reached the requested state)
 *   1   any failure not listed below: memhpd not running, access denied, bad block or node,
 *       lost connection, invalid configuration on reload
 *   2   online/offline failed and memhpd rolled every block back (also after Ctrl-C)
 *   3   online/offline failed and the rollback was incomplete: some blocks were left changed
 *  64   bad usage (EX_USAGE): unknown verb or option, malformed TARGET, size or node
 */
enum {
        CTL_EXIT_SUCCESS = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_ROLLED_BACK = 2,
        CTL_EXIT_LEFT_CHANGED = 3,
        CTL_EXIT_USAGE = 64,
};

typedef struct CtlArgs {
        bool json;
        bool legend;
        bool dry_run;
        bool has_node;
        uint32_t node;
        const char *size;   /* parsed once the block size is known */
        const char *zone;   /* "movable", "kernel" or "auto" */
        const char *output; /* metrics: --output FILE; list, devices: -o COLUMNS */
        const char *device; /* online, offline: --device ID */
} CtlArgs;

/* One row of ListBlocks(); the strings point into the reply that BlockList holds. */
typedef struct BlockInfo {
        uint32_t id;
        uint32_t node;  /* MEMHP_NODE_UNKNOWN when memhpd does not know it */
        MemState state; /* _MEM_STATE_INVALID for a state this memhpctl does not know */
        const char *state_name;
        const char *zone;   /* "" when offline */
        bool held;          /* offline on purpose: memhpd keeps it so across restarts */
        const char *source; /* GetBlockSources(): NULL until asked, or if memhpd lacks it */
        const char *device; /* "" for none; NULL as source */
} BlockInfo;

typedef struct BlockList {
        sd_bus_message *reply;
        sd_bus_message *sources_reply;
        BlockInfo *blocks; /* sorted by id */
        size_t n;
} BlockList;

/* One row of ListNodes(). */
typedef struct NodeInfo {
        uint32_t node;
        const char *policy;
        uint64_t kernel_bytes;
        uint64_t movable_bytes;
} NodeInfo;

typedef struct NodeList {
        sd_bus_message *reply;
        NodeInfo *nodes;
        size_t n;
} NodeList;

/* One row of ListDevices(). */
typedef struct DeviceInfo {
        const char *id, *source, *backing; /* backing: "" unless a dax device */
        uint32_t node;                     /* MEMHP_NODE_UNKNOWN: unknown or several */
        uint64_t start, end;               /* inclusive; 0, 0 when not known */
        uint32_t blocks, online_blocks;
        char *zones; /* its online blocks' distinct zones, comma-separated; "" for none */
} DeviceInfo;

typedef struct DeviceList {
        sd_bus_message *reply;
        DeviceInfo *devices; /* sorted by id */
        size_t n;
} DeviceList;

/* One row of GetEffectivePolicies(): what a new block of @source on @node gets, and why. */
typedef struct EffectivePolicy {
        uint32_t node;
        const char *source, *policy, *rule;
} EffectivePolicy;

typedef struct PolicyList {
        sd_bus_message *reply; /* NULL: memhpd does not offer GetEffectivePolicies */
        EffectivePolicy *policies;
        size_t n;
} PolicyList;

struct libscols_table;

/* ctl-bus.c */
int ctl_bus_open(sd_bus **ret);
/* Logs one line for a failed call and returns the exit code it stands for (1, 2 or 3). */
int ctl_log_bus_error(const sd_bus_error *error, int r, const char *what);
int ctl_get_string_property(sd_bus *bus, const char *name, char **ret);
int ctl_get_block_size(sd_bus *bus, uint64_t *ret);
int ctl_list_blocks(sd_bus *bus, BlockList *ret);
void block_list_done(BlockList *l);
const BlockInfo *block_list_find(const BlockList *l, uint32_t id);
int ctl_list_nodes(sd_bus *bus, NodeList *ret);
void node_list_done(NodeList *l);
const NodeInfo *node_list_find(const NodeList *l, uint32_t node);
/*
 * Fills each block's source and device from GetBlockSources(); a memhpd without it leaves them
 * NULL, as one without HeldBlocks leaves nothing held.
 */
int ctl_block_list_add_sources(sd_bus *bus, BlockList *l);
/*
 * Calls a method without arguments whose reply is an array of @signature and enters the array.
 * @optional: a memhpd older than the method gives *ret = NULL and 0 instead of an error.
 */
int ctl_call_list(sd_bus *bus, const char *method, const char *signature, bool optional,
                  sd_bus_message **ret);
int ctl_get_effective_policies(sd_bus *bus, PolicyList *ret);
void policy_list_done(PolicyList *l);
const EffectivePolicy *policy_list_find(const PolicyList *l, uint32_t node, const char *source);
/* ctl-devices.c */
int ctl_list_devices(sd_bus *bus, DeviceList *ret);
void device_list_done(DeviceList *l);
const DeviceInfo *device_list_find(const DeviceList *l, const char *id);
/* ctl-metrics.c: org.memhpd1.Metrics and Manager.HeldBlocks into one snapshot. */
struct MemhpMetrics;
int ctl_get_metrics(sd_bus *bus, struct MemhpMetrics *ret);
int verb_metrics(char **args, size_t n_args, const CtlArgs *arg);
/* "memory32" or "memory32-memory39". */
void ctl_format_block_range(uint32_t first, uint32_t last, char *buf, size_t size);

/*
 * ctl-table.c: libsmartcols tables, so that every listing honours --no-legend and --json alike.
 * A NULL cell is empty in a table and null in JSON.
 */
struct libscols_table *ctl_table_new(const CtlArgs *arg, const char *json_name);
int ctl_table_add_column(struct libscols_table *tb, const char *name, bool right, bool number);
/* A column whose JSON type is @json_type (SCOLS_JSON_BOOLEAN: cells "1"/"0"). */
int ctl_table_add_column_json(struct libscols_table *tb, const char *name, int json_type);
int ctl_table_add_row(struct libscols_table *tb, size_t n_cells, ...);
int ctl_table_print(struct libscols_table *tb);
void ctl_table_unrefp(struct libscols_table **tb);

/* ctl-columns.c: the columns a listing offers and the ones -o picked, in their order. */
typedef enum CtlColumnFlags {
        CTL_COLUMN_DEFAULT = 1 << 0, /* shown without -o */
        CTL_COLUMN_RIGHT = 1 << 1,
        CTL_COLUMN_NUMBER = 1 << 2,  /* a JSON number */
        CTL_COLUMN_BOOLEAN = 1 << 3, /* a JSON boolean: cells "1" and "0" */
} CtlColumnFlags;

typedef struct CtlColumn {
        const char *name;
        unsigned flags;
        const char *help; /* for -o help */
} CtlColumn;

#define CTL_COLUMNS_MAX 16

typedef struct CtlColumns {
        const CtlColumn *all;
        size_t n_all;
        unsigned shown[CTL_COLUMNS_MAX]; /* indices into all */
        size_t n_shown;
} CtlColumns;

/*
 * -o's list (NULL: the defaults; "+A,B": the defaults and A, B; "help": print the columns and set
 * *ret_help). Returns CTL_EXIT_SUCCESS, or CTL_EXIT_USAGE after naming the bad column.
 */
int ctl_columns_select(const char *verb, const CtlColumn *all, size_t n_all, const char *spec,
                       CtlColumns *ret, bool *ret_help);
bool ctl_columns_shown(const CtlColumns *c, unsigned id);
int ctl_columns_add_to_table(struct libscols_table *tb, const CtlColumns *c);
/* @cells is indexed by column (all[]), not by position: the selection picks and orders them. */
int ctl_columns_add_row(struct libscols_table *tb, const CtlColumns *c, const char *const *cells);

/*
 * Verbs: each checks its arguments before it connects, so that bad usage is reported (exit 64)
 * even when memhpd is not running.
 */
typedef int (*verb_fn)(char **args, size_t n_args, const CtlArgs *arg);

int verb_status(char **args, size_t n_args, const CtlArgs *arg);
int verb_list(char **args, size_t n_args, const CtlArgs *arg);
int verb_devices(char **args, size_t n_args, const CtlArgs *arg);
int verb_policy(char **args, size_t n_args, const CtlArgs *arg);
/* Bytes covered by @n blocks, saturated: memhpd's numbers are not ours to trust blindly. */
uint64_t ctl_blocks_bytes(uint64_t n, uint64_t block_size);
/* "0x0000000100000000-0x000000013fffffff", or "?" when the numbers make no sense. */
void ctl_format_address_range(uint64_t start, uint64_t end, char *buf, size_t size);

/* ctl-ops.c */
int verb_online(char **args, size_t n_args, const CtlArgs *arg);
int verb_offline(char **args, size_t n_args, const CtlArgs *arg);

/* ctl-monitor.c */
int verb_monitor(char **args, size_t n_args, const CtlArgs *arg);
