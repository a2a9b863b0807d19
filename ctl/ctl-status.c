/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `memhpctl status`: the daemon and its counters, one row per node (policy, zone sizes, block
 * counts, CPUs, memory tier, the sources feeding it), and the effective policy of every source
 * on every node with the rule that decided it.
 */
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc-util.h"
#include "ctl.h"
#include "log.h"
#include "metrics.h"
#include "strutil.h"
#include "strv.h"
#include "target.h"

/* One row of DescribeNodes(). */
typedef struct NodeDesc {
        uint32_t node;
        bool has_cpus;
        int32_t tier; /* -1: none */
        char **sources;
} NodeDesc;

/* What a memhpd from before sources and tiers cannot tell: then both lists stay empty. */
typedef struct NodeDetails {
        bool described; /* DescribeNodes() answered */
        NodeDesc *descs;
        size_t n_descs;
        PolicyList policies;
} NodeDetails;

static void node_details_done(NodeDetails *d)
{
        for (size_t i = 0; i < d->n_descs; i++)
                strv_free(d->descs[i].sources);
        free(d->descs);
        policy_list_done(&d->policies);
        *d = (NodeDetails){};
}

static int read_descs(sd_bus *bus, NodeDetails *d)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        size_t allocated = 0;
        int r;

        r = ctl_call_list(bus, "DescribeNodes", "(ubias)", true, &reply);
        if (r < 0 || !reply)
                return r;
        d->described = true;
        for (;;) {
                NodeDesc n = {};
                int cpus;

                r = sd_bus_message_enter_container(reply, 'r', "ubias");
                if (r == 0)
                        break;
                if (r >= 0)
                        r = sd_bus_message_read(reply, "ubi", &n.node, &cpus, &n.tier);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &n.sources);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0) {
                        strv_free(n.sources);
                        return log_error_errno(r, "Unexpected reply to DescribeNodes: %m");
                }
                n.has_cpus = cpus;
                if (GREEDY_REALLOC(d->descs, allocated, d->n_descs + 1) < 0) {
                        strv_free(n.sources);
                        return log_oom();
                }
                d->descs[d->n_descs++] = n;
        }
        return 0;
}

typedef struct NodeRow {
        uint32_t node;
        const NodeInfo *info; /* NULL for a node only blocks or DescribeNodes mention */
        const NodeDesc *desc; /* NULL when memhpd did not describe it */
        uint64_t online, offline, going;
} NodeRow;

static int node_row_compare(const void *a, const void *b)
{
        const NodeRow *x = a, *y = b;
        return x->node < y->node ? -1 : x->node > y->node;
}

static NodeRow *find_row(NodeRow *rows, size_t *n, uint32_t node)
{
        for (size_t j = 0; j < *n; j++)
                if (rows[j].node == node)
                        return &rows[j];
        rows[*n] = (NodeRow){.node = node};
        return &rows[(*n)++];
}

/* Every node ListNodes() or DescribeNodes() reports plus any node a block names. */
static int collect_node_rows(const NodeList *nodes, const BlockList *blocks, const NodeDetails *d,
                             NodeRow **ret, size_t *ret_n)
{
        _cleanup_free_ NodeRow *rows = NULL;
        size_t n = 0;

        /* At most one row per reported node and one per block. */
        rows = calloc(nodes->n + d->n_descs + blocks->n + 1, sizeof(NodeRow));
        if (!rows)
                return log_oom();
        for (size_t i = 0; i < nodes->n; i++)
                find_row(rows, &n, nodes->nodes[i].node)->info = &nodes->nodes[i];
        for (size_t i = 0; i < d->n_descs; i++)
                find_row(rows, &n, d->descs[i].node)->desc = &d->descs[i];
        for (size_t i = 0; i < blocks->n; i++) {
                const BlockInfo *b = &blocks->blocks[i];
                NodeRow *row = find_row(rows, &n, b->node);

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

/* A node's CPUs, tier, sources and effective policies, as members of its JSON object. */
static void print_node_details_json(const NodeRow *row, const NodeDetails *d)
{
        bool first = true;

        if (row->desc) {
                printf(", \"cpus\": %s, \"tier\": ", row->desc->has_cpus ? "true" : "false");
                if (row->desc->tier >= 0)
                        printf("%" PRId32, row->desc->tier);
                else
                        printf("null");
                printf(", \"sources\": [");
                for (char **s = row->desc->sources; s && *s; s++) {
                        printf("%s", s == row->desc->sources ? "" : ", ");
                        json_string(*s);
                }
                printf("]");
        } else
                printf(", \"cpus\": null, \"tier\": null, \"sources\": null");

        printf(", \"policies\": [");
        for (size_t i = 0; i < d->policies.n; i++) {
                const EffectivePolicy *p = &d->policies.policies[i];

                if (p->node != row->node)
                        continue;
                printf("%s\n         {\"source\": ", first ? "" : ",");
                json_string(p->source);
                printf(", \"policy\": ");
                json_string(p->policy);
                printf(", \"rule\": ");
                json_string(p->rule);
                printf("}");
                first = false;
        }
        printf("%s]", first ? "" : "\n      ");
}

/* One JSON object: the daemon, its counters and the per-node rows of the tables. */
static int print_status_json(const char *version, const char *source, uint64_t block_size,
                             const MemhpMetrics *m, const NodeRow *rows, size_t n_rows,
                             const NodeDetails *d)
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
                       ", \"going_offline\": %" PRIu64,
                       row->online, row->offline, row->going);
                print_node_details_json(row, d);
                printf("}");
        }
        printf("%s]\n}\n", n_rows ? "\n   " : "");
        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write the output: %m"),
                       CTL_EXIT_FAILURE;
        return CTL_EXIT_SUCCESS;
}

static int print_nodes_table(const CtlArgs *arg, const NodeRow *rows, size_t n_rows, bool described)
{
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;

        tb = ctl_table_new(arg, "nodes");
        if (!tb)
                return -ENOMEM;
        if (ctl_table_add_column(tb, "NODE", true, true) < 0 ||
            ctl_table_add_column(tb, "POLICY", false, false) < 0 ||
            ctl_table_add_column(tb, "KERNEL", true, true) < 0 ||
            ctl_table_add_column(tb, "MOVABLE", true, true) < 0 ||
            ctl_table_add_column(tb, "ONLINE", true, true) < 0 ||
            ctl_table_add_column(tb, "OFFLINE", true, true) < 0 ||
            ctl_table_add_column(tb, "GOING-OFFLINE", true, true) < 0)
                return -ENOMEM;
        if (described && (ctl_table_add_column(tb, "CPUS", false, false) < 0 ||
                          ctl_table_add_column(tb, "TIER", true, true) < 0 ||
                          ctl_table_add_column(tb, "SOURCES", false, false) < 0))
                return -ENOMEM;
        for (size_t i = 0; i < n_rows; i++) {
                const NodeRow *row = &rows[i];
                char node[16] = "-", kernel[TARGET_SIZE_STRING_MAX] = "-",
                     movable[TARGET_SIZE_STRING_MAX] = "-", on[24], off[24], going[24],
                     tier[16] = "-", sources[256] = "-";
                const char *cpus = "-";

                if (row->node != MEMHP_NODE_UNKNOWN)
                        snprintf(node, sizeof(node), "%" PRIu32, row->node);
                if (row->info) {
                        target_format_size(row->info->kernel_bytes, kernel);
                        target_format_size(row->info->movable_bytes, movable);
                }
                snprintf(on, sizeof(on), "%" PRIu64, row->online);
                snprintf(off, sizeof(off), "%" PRIu64, row->offline);
                snprintf(going, sizeof(going), "%" PRIu64, row->going);
                if (row->desc) {
                        size_t len = 0;

                        cpus = row->desc->has_cpus ? "yes" : "no";
                        if (row->desc->tier >= 0)
                                snprintf(tier, sizeof(tier), "%" PRId32, row->desc->tier);
                        for (char **s = row->desc->sources; s && *s && len < sizeof(sources); s++)
                                len += (size_t)snprintf(sources + len, sizeof(sources) - len,
                                                        "%s%s", len ? "," : "", *s);
                }
                if (ctl_table_add_row(tb, described ? 10 : 7, node,
                                      row->info ? row->info->policy : "-", kernel, movable, on, off,
                                      going, cpus, tier, sources) < 0)
                        return -ENOMEM;
        }
        return ctl_table_print(tb);
}

/* Which policy each source gets on each node, and the configuration line that says so. */
static int print_policies_table(const CtlArgs *arg, const NodeDetails *d)
{
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;

        if (arg->legend)
                printf("\nEffective policy by source:\n");
        tb = ctl_table_new(arg, "policies");
        if (!tb || ctl_table_add_column(tb, "NODE", true, true) < 0 ||
            ctl_table_add_column(tb, "SOURCE", false, false) < 0 ||
            ctl_table_add_column(tb, "POLICY", false, false) < 0 ||
            ctl_table_add_column(tb, "RULE", false, false) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < d->policies.n; i++) {
                const EffectivePolicy *p = &d->policies.policies[i];
                char node[16];

                snprintf(node, sizeof(node), "%" PRIu32, p->node);
                if (ctl_table_add_row(tb, 4, node, p->source, p->policy, p->rule) < 0)
                        return -ENOMEM;
        }
        return ctl_table_print(tb);
}

int verb_status(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(block_list_done) BlockList blocks = {};
        _cleanup_(node_list_done) NodeList nodes = {};
        _cleanup_(node_details_done) NodeDetails details = {};
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
            ctl_list_blocks(bus, &blocks) < 0 || read_descs(bus, &details) < 0 ||
            ctl_get_effective_policies(bus, &details.policies) < 0)
                return CTL_EXIT_FAILURE;
        if (collect_node_rows(&nodes, &blocks, &details, &rows, &n_rows) < 0)
                return CTL_EXIT_FAILURE;

        if (ctl_get_metrics(bus, &metrics) < 0)
                return CTL_EXIT_FAILURE;
        if (arg->json)
                return print_status_json(version, source, block_size, &metrics, rows, n_rows,
                                         &details);

        printf("Version:      %s\n", version);
        printf("Event source: %s\n", source);
        printf("Block size:   %s\n", target_format_size(block_size, bs));
        print_counters(&metrics);
        printf("\n");

        if (print_nodes_table(arg, rows, n_rows, details.described) < 0)
                return CTL_EXIT_FAILURE;
        if (details.policies.reply && print_policies_table(arg, &details) < 0)
                return CTL_EXIT_FAILURE;
        return CTL_EXIT_SUCCESS;
}
