/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read-only verbs and the one policy setter: status, list, policy. */
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "policy.h"
#include "strutil.h"
#include "target.h"

static bool same_range(const BlockInfo *a, const BlockInfo *b)
{
        return b->id == a->id + 1 && a->node == b->node && streq(a->state_name, b->state_name) &&
               streq(a->zone, b->zone);
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
                tb, 6, range, size, first->state_name,
                *first->zone ? first->zone : (arg->json ? NULL : "-"),
                first->node != MEMHP_NODE_UNKNOWN ? node : (arg->json ? NULL : "-"), blocks);
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
            ctl_table_add_column(tb, "BLOCK", true, false) < 0)
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

/* `memhpctl status`: the daemon, then one line per node. */
int verb_status(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;
        _cleanup_(block_list_done) BlockList blocks = {};
        _cleanup_(node_list_done) NodeList nodes = {};
        _cleanup_free_ char *version = NULL, *source = NULL;
        _cleanup_free_ NodeRow *rows = NULL;
        char bs[TARGET_SIZE_STRING_MAX];
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

        printf("Version:      %s\n", version);
        printf("Event source: %s\n", source);
        printf("Block size:   %s\n\n", target_format_size(block_size, bs));

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
