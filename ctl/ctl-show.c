/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy verb (show the node policies, or set one) and formatting the listings share. */
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

uint64_t ctl_blocks_bytes(uint64_t n, uint64_t block_size)
{
        uint64_t bytes;

        return __builtin_mul_overflow(n, block_size, &bytes) ? UINT64_MAX : bytes;
}

void ctl_format_address_range(uint64_t start, uint64_t end, char *buf, size_t size)
{
        if (end < start)
                snprintf(buf, size, "?");
        else
                snprintf(buf, size, "0x%016" PRIx64 "-0x%016" PRIx64, start, end);
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
