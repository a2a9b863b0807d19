/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `memhpctl list`: memory blocks merged into ranges as lsmem merges them, with -o columns. */
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "target.h"

enum {
        COL_RANGE,
        COL_SIZE,
        COL_STATE,
        COL_ZONE,
        COL_NODE,
        COL_BLOCK,
        COL_SOURCE,
        COL_DEVICE,
        COL_HELD,
        _COL_MAX,
};

static const CtlColumn columns[_COL_MAX] = {
        [COL_RANGE] = {"RANGE", CTL_COLUMN_DEFAULT, "physical address range, inclusive"},
        [COL_SIZE] = {"SIZE", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT | CTL_COLUMN_NUMBER,
                      "size of the range (bytes in JSON)"},
        [COL_STATE] = {"STATE", CTL_COLUMN_DEFAULT, "online, offline or going-offline"},
        [COL_ZONE] = {"ZONE", CTL_COLUMN_DEFAULT, "zone of online blocks"},
        [COL_NODE] = {"NODE", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT | CTL_COLUMN_NUMBER,
                      "NUMA node"},
        [COL_BLOCK] = {"BLOCK", CTL_COLUMN_DEFAULT | CTL_COLUMN_RIGHT, "block ids"},
        [COL_SOURCE] = {"SOURCE", CTL_COLUMN_DEFAULT,
                        "where the memory came from: boot, dimm, virtio-mem, dax, ..."},
        [COL_DEVICE] = {"DEVICE", CTL_COLUMN_DEFAULT, "the device the blocks belong to"},
        [COL_HELD] = {"HELD", CTL_COLUMN_DEFAULT | CTL_COLUMN_BOOLEAN,
                      "offlined on purpose: memhpd keeps it offline"},
};

static bool same_str(const char *a, const char *b)
{
        return (!a && !b) || (a && b && streq(a, b));
}

/*
 * As lsmem: adjacent blocks form one range when every shown attribute agrees, so that
 * `-o RANGE,DEVICE` gives one row per device rather than one per zone change.
 */
static bool same_range(const CtlColumns *c, const BlockInfo *a, const BlockInfo *b)
{
        return b->id == a->id + 1 &&
               (!ctl_columns_shown(c, COL_STATE) || streq(a->state_name, b->state_name)) &&
               (!ctl_columns_shown(c, COL_ZONE) || streq(a->zone, b->zone)) &&
               (!ctl_columns_shown(c, COL_NODE) || a->node == b->node) &&
               (!ctl_columns_shown(c, COL_SOURCE) || same_str(a->source, b->source)) &&
               (!ctl_columns_shown(c, COL_DEVICE) || same_str(a->device, b->device)) &&
               (!ctl_columns_shown(c, COL_HELD) || a->held == b->held);
}

static int add_range_row(struct libscols_table *tb, const CtlArgs *arg, const CtlColumns *c,
                         const BlockInfo *first, const BlockInfo *last, uint64_t block_size)
{
        char range[64] = "?", size[TARGET_SIZE_STRING_MAX], node[16], blocks[32];
        uint64_t start, end, n = (uint64_t)last->id - first->id + 1;
        const char *none = arg->json ? NULL : "-";
        const char *cells[_COL_MAX] = {};

        if (!__builtin_mul_overflow((uint64_t)first->id, block_size, &start) &&
            !__builtin_mul_overflow((uint64_t)last->id + 1, block_size, &end) && end != 0)
                ctl_format_address_range(start, end - 1, range, sizeof(range));
        if (arg->json)
                snprintf(size, sizeof(size), "%" PRIu64, ctl_blocks_bytes(n, block_size));
        else
                target_format_size(ctl_blocks_bytes(n, block_size), size);
        snprintf(node, sizeof(node), "%" PRIu32, first->node);
        if (first->id == last->id)
                snprintf(blocks, sizeof(blocks), "%" PRIu32, first->id);
        else
                snprintf(blocks, sizeof(blocks), "%" PRIu32 "-%" PRIu32, first->id, last->id);

        cells[COL_RANGE] = range;
        cells[COL_SIZE] = size;
        cells[COL_STATE] = first->state_name;
        cells[COL_ZONE] = *first->zone ? first->zone : none;
        cells[COL_NODE] = first->node != MEMHP_NODE_UNKNOWN ? node : none;
        cells[COL_BLOCK] = blocks;
        cells[COL_SOURCE] = first->source ? first->source : none;
        cells[COL_DEVICE] = first->device && *first->device ? first->device : none;
        cells[COL_HELD] = arg->json ? (first->held ? "1" : "0") : (first->held ? "held" : "");
        return ctl_columns_add_row(tb, c, cells);
}

static void print_summary(uint64_t block_size, uint64_t n_online, uint64_t n_offline,
                          uint64_t n_going)
{
        char a[TARGET_SIZE_STRING_MAX], b[TARGET_SIZE_STRING_MAX], c[TARGET_SIZE_STRING_MAX];

        printf("\nMemory block size:    %s\n", target_format_size(block_size, a));
        printf("Total online memory:  %s\n",
               target_format_size(ctl_blocks_bytes(n_online, block_size), b));
        printf("Total offline memory: %s\n",
               target_format_size(ctl_blocks_bytes(n_offline, block_size), c));
        /* Rare and transient: only worth a line while it is happening. */
        if (n_going > 0)
                printf("Going offline:        %s\n",
                       target_format_size(ctl_blocks_bytes(n_going, block_size), a));
}

/*
 * `memhpctl list`: one row per run of consecutive blocks that agree in every shown column, as
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
        CtlColumns c;
        bool help;
        int r;

        (void)args;
        (void)n_args;
        r = ctl_columns_select("list", columns, _COL_MAX, arg->output, &c, &help);
        if (r != CTL_EXIT_SUCCESS || help)
                return r;
        if (ctl_bus_open(&bus) < 0 || ctl_get_block_size(bus, &block_size) < 0 ||
            ctl_list_blocks(bus, &l) < 0)
                return CTL_EXIT_FAILURE;
        if ((ctl_columns_shown(&c, COL_SOURCE) || ctl_columns_shown(&c, COL_DEVICE)) &&
            ctl_block_list_add_sources(bus, &l) < 0)
                return CTL_EXIT_FAILURE;

        tb = ctl_table_new(arg, "memory");
        if (!tb || ctl_columns_add_to_table(tb, &c) < 0)
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
                if (prev && !same_range(&c, prev, b)) {
                        if (add_range_row(tb, arg, &c, first, prev, block_size) < 0)
                                return CTL_EXIT_FAILURE;
                        first = NULL;
                }
                if (!first)
                        first = b;
                prev = b;
        }
        if (first && add_range_row(tb, arg, &c, first, prev, block_size) < 0)
                return CTL_EXIT_FAILURE;

        if (ctl_table_print(tb) < 0)
                return CTL_EXIT_FAILURE;
        if (!arg->json && arg->legend)
                print_summary(block_size, n_online, n_offline, n_going);
        return CTL_EXIT_SUCCESS;
}
