/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read-only verbs and the one policy setter: status, list, policy. */
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "metrics.h"
#include "log.h"
#include "policy.h"
#include "strutil.h"
#include "target.h"

static bool same_range(const BlockInfo *a, const BlockInfo *b)
{
        return b->id == a->id + 1 && a->node == b->node && streq(a->state_name, b->state_name) &&
               streq(a->zone, b->zone) && a->held == b->held;
}

/* Bytes covered by @n blocks, saturated: memhpd's numbers are not ours to trust blindly. */
static uint64_t blocks_bytes(uint64_t n, uint64_t block_size)
{
        uint64_t bytes;

        return __builtin_mul_overflow(n, block_size, &bytes) ? UINT64_MAX : bytes;
}

static int add_range_row(struct libscols_table *tb, const CtlArgs *arg, const BlockInfo *first,
                         const BlockInfo *last, uint64_t block_size)
{
        char range[64], size[TARGET_SIZE_STRING_MAX], node[16], blocks[32];
        uint64_t start, end, n = (uint64_t)last->id - first->id + 1;

        if (__builtin_mul_overflow((uint64_t)first->id, block_size, &start) ||
            __builtin_mul_overflow((uint64_t)last->id + 1, block_size, &end) || end == 0)
                snprintf(range, sizeof(range), "?");
        else
                snprintf(range, sizeof(range), "0x%016" PRIx64 "-0x%016" PRIx64, start, end - 1);
        if (arg->json)
                snprintf(size, sizeof(size), "%" PRIu64, blocks_bytes(n, block_size));
        else
                target_format_size(blocks_bytes(n, block_size), size);
        snprintf(node, sizeof(node), "%" PRIu32, first->node);
        if (first->id == last->id)
                snprintf(blocks, sizeof(blocks), "%" PRIu32, first->id);
        else
                snprintf(blocks, sizeof(blocks), "%" PRIu32 "-%" PRIu32, first->id, last->id);

        return ctl_table_add_row(
                tb, 7, range, size, first->state_name,
                *first->zone ? first->zone : (arg->json ? NULL : "-"),
                first->node != MEMHP_NODE_UNKNOWN ? node : (arg->json ? NULL : "-"), blocks,
                arg->json ? (first->held ? "1" : "0") : (first->held ? "held" : ""));
}

static void print_summary(uint64_t block_size, uint64_t n_online, uint64_t n_offline,
                          uint64_t n_going)
{
        char a[TARGET_SIZE_STRING_MAX], b[TARGET_SIZE_STRING_MAX], c[TARGET_SIZE_STRING_MAX];

        printf("\nMemory block size:    %s\n", target_format_size(block_size, a));
        printf("Total online memory:  %s\n",
               target_format_size(blocks_bytes(n_online, block_size), b));
        printf("Total offline memory: %s\n",
               target_format_size(blocks_bytes(n_offline, block_size), c));
        /* Rare and transient: only worth a line while it is happening. */
        if (n_going > 0)
                printf("Going offline:        %s\n",
                       target_format_size(blocks_bytes(n_going, block_size), a));
}

/*
 * `memhpctl list`: one row per run of consecutive blocks with the same node, state and zone, as
 * lsmem merges them; --json keeps those rows (lsmem does the same), with SIZE in bytes and NODE
 * a number or null.
 */
int verb_list(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;
        _cleanup_(block_list_done) BlockList l = {};
        uint64_t block_size, n_online = 0, n_offline = 0, n_going = 0;
        const BlockInfo *first = NULL, *prev = NULL;
        int r;

        (void)args;
        (void)n_args;
        if (ctl_bus_open(&bus) < 0 || ctl_get_block_size(bus, &block_size) < 0 ||
            ctl_list_blocks(bus, &l) < 0)
                return CTL_EXIT_FAILURE;

        tb = ctl_table_new(arg, "memory");
        if (!tb)
                return CTL_EXIT_FAILURE;
        if (ctl_table_add_column(tb, "RANGE", false, false) < 0 ||
            ctl_table_add_column(tb, "SIZE", true, true) < 0 ||
            ctl_table_add_column(tb, "STATE", false, false) < 0 ||
            ctl_table_add_column(tb, "ZONE", false, false) < 0 ||
            ctl_table_add_column(tb, "NODE", true, true) < 0 ||
            ctl_table_add_column(tb, "BLOCK", true, false) < 0 ||
            ctl_table_add_column_json(tb, "HELD", SCOLS_JSON_BOOLEAN) < 0)
                return CTL_EXIT_FAILURE;

        for (size_t i = 0; i < l.n; i++) {
                const BlockInfo *b = &l.blocks[i];

                if (arg->has_node && b->node != arg->node)
                        continue;
                if (b->state == MEM_STATE_ONLINE)
                        n_online++;
                else if (b->state == MEM_STATE_OFFLINE)
                        n_offline++;
                else
                        n_going++;
                if (prev && !same_range(prev, b)) {
                        r = add_range_row(tb, arg, first, prev, block_size);
                        if (r < 0)
                                return CTL_EXIT_FAILURE;
                        first = NULL;
                }
                if (!first)
                        first = b;
                prev = b;
        }
        if (first && add_range_row(tb, arg, first, prev, block_size) < 0)
                return CTL_EXIT_FAILURE;

        if (ctl_table_print(tb) < 0)
                return CTL_EXIT_FAILURE;
        if (!arg->json && arg->legend)
                print_summary(block_size, n_online, n_offline, n_going);
        return CTL_EXIT_SUCCESS;
}

typedef struct NodeRow {
        uint32_t node;
        const NodeInfo *info; /* NULL for a node only blocks mention */
        uint64_t online, offline, going;
} NodeRow;

static int node_row_compare(const void *a, const void *b)
{
        const NodeRow *x = a, *y = b;
        return x->node < y->node ? -1 : x->node > y->node;
}

/* Every node ListNodes() reports plus any node a block names, with block counts. */
static int collect_node_rows(const NodeList *nodes, const BlockList *blocks, NodeRow **ret,
                             size_t *ret_n)
{
        _cleanup_free_ NodeRow *rows = NULL;
        size_t n = 0;

        /* At most one row per reported node and one per block. */
        rows = calloc(nodes->n + blocks->n + 1, sizeof(NodeRow));
        if (!rows)
                return log_oom();
        for (size_t i = 0; i < nodes->n; i++)
                rows[n++] = (NodeRow){.node = nodes->nodes[i].node, .info = &nodes->nodes[i]};
        for (size_t i = 0; i < blocks->n; i++) {
                const BlockInfo *b = &blocks->blocks[i];
                NodeRow *row = NULL;

                for (size_t j = 0; j < n && !row; j++)
                        if (rows[j].node == b->node)
                                row = &rows[j];
                if (!row) {
                        row = &rows[n++];
                        *row = (NodeRow){.node = b->node};
                }
                if (b->state == MEM_STATE_ONLINE)
                        row->online++;
                else if (b->state == MEM_STATE_OFFLINE)
                        row->offline++;
                else
                        row->going++;
        }
        /* MEMHP_NODE_UNKNOWN sorts last. */
        qsort(rows, n, sizeof(NodeRow), node_row_compare);
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

static void print_counters(const MemhpMetrics *m)
{
        printf("Blocks:       %" PRIu64 " onlined, %" PRIu64 " offlined, %" PRIu64
               " held offline\n",
               m->blocks_onlined, m->blocks_offlined, m->held_blocks);
        printf("Writes:       %" PRIu64 " failed, %" PRIu64 " retried\n", m->failed_writes,
               m->retries);
        printf("Operations:   %" PRIu64 " succeeded, %" PRIu64 " rolled back, %" PRIu64
               " incomplete\n",
               m->ops_succeeded, m->ops_rolled_back, m->ops_incomplete);
        printf("Rescans:      %" PRIu64 " (%" PRIu64 " uevent overflows)\n", m->rescans,
               m->overflows);
        if (m->last_failure_usec > 0) {
                time_t t = (time_t)(m->last_failure_usec / 1000000);
                char when[64] = "?";
                struct tm tm;

                if (localtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
                printf("Last failure: memory%" PRIu32 " %s: %s (%s)\n", m->last_failure_block,
                       m->last_failure_action, strerror(m->last_failure_errno), when);
        }
}

static void json_string(const char *s)
{
        putchar('"');
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

/* One JSON object: the daemon, its counters and the per-node rows of the table. */
static int print_status_json(const char *version, const char *source, uint64_t block_size,
                             const MemhpMetrics *m, const NodeRow *rows, size_t n_rows)
{
        const char *en = m->last_failure_usec > 0 ? strerrorname_np(m->last_failure_errno) : NULL;

        printf("{\n   \"version\": ");
        json_string(version);
        printf(",\n   \"event_source\": ");
        json_string(source);
        printf(",\n   \"block_size\": %" PRIu64 ",\n", block_size);
        printf("   \"counters\": {\"blocks_onlined\": %" PRIu64 ", \"blocks_offlined\": %" PRIu64
               ", \"failed_writes\": %" PRIu64 ", \"write_retries\": %" PRIu64
               ", \"overflows\": %" PRIu64 ", \"rescans\": %" PRIu64
               ", \"operations_succeeded\": %" PRIu64 ", \"operations_rolled_back\": %" PRIu64
               ", \"operations_incomplete\": %" PRIu64 ", \"held_blocks\": %" PRIu64 "},\n",
               m->blocks_onlined, m->blocks_offlined, m->failed_writes, m->retries, m->overflows,
               m->rescans, m->ops_succeeded, m->ops_rolled_back, m->ops_incomplete, m->held_blocks);
        printf("   \"last_failure\": ");
        if (m->last_failure_usec == 0)
                printf("null");
        else {
                printf("{\"time_usec\": %" PRIu64 ", \"block\": %" PRIu32 ", \"action\": ",
                       m->last_failure_usec, m->last_failure_block);
                json_string(m->last_failure_action);
                printf(", \"errno\": %" PRId32 ", \"errno_name\": ", m->last_failure_errno);
                if (en)
                        json_string(en);
                else
                        printf("null");
                printf("}");
        }
        printf(",\n   \"nodes\": [");
        for (size_t i = 0; i < n_rows; i++) {
                const NodeRow *row = &rows[i];

                printf("%s\n      {\"node\": ", i ? "," : "");
                if (row->node != MEMHP_NODE_UNKNOWN)
                        printf("%" PRIu32, row->node);
                else
                        printf("null");
                printf(", \"policy\": ");
                if (row->info)
                        json_string(row->info->policy);
                else
                        printf("null");
                if (row->info)
                        printf(", \"kernel\": %" PRIu64 ", \"movable\": %" PRIu64,
                               row->info->kernel_bytes, row->info->movable_bytes);
                else
                        printf(", \"kernel\": null, \"movable\": null");
                printf(", \"online\": %" PRIu64 ", \"offline\": %" PRIu64
                       ", \"going_offline\": %" PRIu64 "}",
                       row->online, row->offline, row->going);
        }
        printf("%s]\n}\n", n_rows ? "\n   " : "");
        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write the output: %m"),
                       CTL_EXIT_FAILURE;
        return CTL_EXIT_SUCCESS;
}

/* `memhpctl status`: the daemon and its counters, then one line per node. */
int verb_status(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;
        _cleanup_(block_list_done) BlockList blocks = {};
        _cleanup_(node_list_done) NodeList nodes = {};
        _cleanup_free_ char *version = NULL, *source = NULL;
        _cleanup_free_ NodeRow *rows = NULL;
        char bs[TARGET_SIZE_STRING_MAX];
        MemhpMetrics metrics;
        uint64_t block_size;
        size_t n_rows = 0;

        (void)args;
        (void)n_args;
        if (ctl_bus_open(&bus) < 0 || ctl_get_string_property(bus, "Version", &version) < 0 ||
            ctl_get_string_property(bus, "EventSource", &source) < 0 ||
            ctl_get_block_size(bus, &block_size) < 0 || ctl_list_nodes(bus, &nodes) < 0 ||
            ctl_list_blocks(bus, &blocks) < 0)
                return CTL_EXIT_FAILURE;
        if (collect_node_rows(&nodes, &blocks, &rows, &n_rows) < 0)
                return CTL_EXIT_FAILURE;

        if (ctl_get_metrics(bus, &metrics) < 0)
                return CTL_EXIT_FAILURE;
        if (arg->json)
                return print_status_json(version, source, block_size, &metrics, rows, n_rows);

        printf("Version:      %s\n", version);
        printf("Event source: %s\n", source);
        printf("Block size:   %s\n", target_format_size(block_size, bs));
        print_counters(&metrics);
        printf("\n");

        tb = ctl_table_new(arg, "nodes");
        if (!tb)
                return CTL_EXIT_FAILURE;
        if (ctl_table_add_column(tb, "NODE", true, true) < 0 ||
            ctl_table_add_column(tb, "POLICY", false, false) < 0 ||
            ctl_table_add_column(tb, "KERNEL", true, true) < 0 ||
            ctl_table_add_column(tb, "MOVABLE", true, true) < 0 ||
            ctl_table_add_column(tb, "ONLINE", true, true) < 0 ||
            ctl_table_add_column(tb, "OFFLINE", true, true) < 0 ||
            ctl_table_add_column(tb, "GOING-OFFLINE", true, true) < 0)
                return CTL_EXIT_FAILURE;
        for (size_t i = 0; i < n_rows; i++) {
                const NodeRow *row = &rows[i];
                char node[16] = "-", kernel[TARGET_SIZE_STRING_MAX] = "-",
                     movable[TARGET_SIZE_STRING_MAX] = "-", on[24], off[24], going[24];

                if (row->node != MEMHP_NODE_UNKNOWN)
                        snprintf(node, sizeof(node), "%" PRIu32, row->node);
                if (row->info) {
                        target_format_size(row->info->kernel_bytes, kernel);
                        target_format_size(row->info->movable_bytes, movable);
                }
                snprintf(on, sizeof(on), "%" PRIu64, row->online);
                snprintf(off, sizeof(off), "%" PRIu64, row->offline);
                snprintf(going, sizeof(going), "%" PRIu64, row->going);
                if (ctl_table_add_row(tb, 7, node, row->info ? row->info->policy : "-", kernel,
                                      movable, on, off, going) < 0)
                        return CTL_EXIT_FAILURE;
        }
        return ctl_table_print(tb) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
}

static int set_policy(sd_bus *bus, uint32_t node, const char *policy)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE,
                               "SetNodePolicy", &error, NULL, "us", node, policy);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "SetNodePolicy");
        printf("Node %" PRIu32 " policy set to %s until memhpd reloads or restarts "
               "(memhpd.conf is unchanged).\n",
               node, policy);
        return CTL_EXIT_SUCCESS;
}

/*
 * `memhpctl policy`: every node's policy; `policy NODE`: that node's, alone on a line for
 * scripts; `policy NODE POLICY`: set it until memhpd reloads or restarts.
 */
int verb_policy(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;
        _cleanup_(node_list_done) NodeList nodes = {};
        TargetError err;
        uint32_t node = 0;
        const NodeInfo *info;

        if (n_args >= 1 && target_parse_node(args[0], &node, &err) < 0) {
                log_error("%s", err.message);
                return CTL_EXIT_USAGE;
        }
        if (n_args == 2 && policy_from_string(args[1]) < 0) {
                log_error("Unknown policy '%s': expected " MEMHP_POLICY_CHOICES ".", args[1]);
                return CTL_EXIT_USAGE;
        }
        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;
        if (n_args == 2)
                return set_policy(bus, node, args[1]);

        if (ctl_list_nodes(bus, &nodes) < 0)
                return CTL_EXIT_FAILURE;
        if (n_args == 1) {
                info = node_list_find(&nodes, node);
                if (!info) {
                        log_error("memhpd knows no node %" PRIu32 ".", node);
                        return CTL_EXIT_FAILURE;
                }
                printf("%s\n", info->policy);
                return CTL_EXIT_SUCCESS;
        }

        tb = ctl_table_new(arg, "nodes");
        if (!tb || ctl_table_add_column(tb, "NODE", true, true) < 0 ||
            ctl_table_add_column(tb, "POLICY", false, false) < 0)
                return CTL_EXIT_FAILURE;
        for (size_t i = 0; i < nodes.n; i++) {
                char n[16];

                snprintf(n, sizeof(n), "%" PRIu32, nodes.nodes[i].node);
                if (ctl_table_add_row(tb, 2, n, nodes.nodes[i].policy) < 0)
                        return CTL_EXIT_FAILURE;
        }
        return ctl_table_print(tb) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
}
