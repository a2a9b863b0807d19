/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * online and offline: resolve the TARGET into block ids, then either print the plan (--dry-run)
 * or make the one transactional call and wait for it, turning Ctrl-C into Cancel().
 */
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "alloc-util.h"
#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "target.h"

/* The OnlineBlocks()/OfflineBlocks() call being waited for (memhpd runs it as an operation). */
typedef struct PendingCall {
        sd_bus *bus;
        const char *method;
        sd_bus_message *reply; /* the method's reply, once it is in */
        unsigned n_interrupts;
} PendingCall;

static int check_usage(char **args, size_t n_args, const CtlArgs *arg)
{
        TargetError err;

        if (arg->device && (n_args > 0 || arg->has_node || arg->size)) {
                log_error("Give either --device or a TARGET or --node, not several: --device "
                          "names all the blocks of one device.");
                return CTL_EXIT_USAGE;
        }
        if (arg->device)
                return CTL_EXIT_SUCCESS;
        if (n_args > 1) {
                log_error("Unexpected argument '%s': give one TARGET, joining blocks with commas "
                          "as in 32,40-47.",
                          args[1]);
                return CTL_EXIT_USAGE;
        }
        if (n_args == 1 && arg->has_node) {
                log_error("Give either a TARGET or --node, not both.");
                return CTL_EXIT_USAGE;
        }
        if (n_args == 0 && !arg->has_node) {
                log_error("Missing TARGET: block ids (32,40-47), an address range "
                          "(0x100000000-0x13fffffff), --node N [--size SIZE] or --device ID.");
                return CTL_EXIT_USAGE;
        }
        if (arg->size && !arg->has_node) {
                log_error("--size needs --node: the blocks are picked from one node.");
                return CTL_EXIT_USAGE;
        }
        if (n_args == 1 && target_check_syntax(args[0], &err) < 0) {
                log_error("%s", err.message);
                return CTL_EXIT_USAGE;
        }
        return CTL_EXIT_SUCCESS;
}

/* --node N [--size SIZE]: for online the node's offline blocks, for offline its online ones. */
static int select_from_node(const BlockList *blocks, const CtlArgs *arg, bool online,
                            uint64_t block_size, uint32_t **ret, size_t *ret_n)
{
        _cleanup_free_ TargetBlock *tb = NULL;
        uint32_t n_wanted = TARGET_SELECT_ALL;
        TargetError err;

        if (arg->size && target_parse_size(arg->size, block_size, &n_wanted, &err) < 0) {
                log_error("%s", err.message);
                return CTL_EXIT_USAGE;
        }
        tb = calloc(blocks->n + 1, sizeof(TargetBlock));
        if (!tb) {
                log_oom();
                return CTL_EXIT_FAILURE;
        }
        for (size_t i = 0; i < blocks->n; i++)
                tb[i] = (TargetBlock){blocks->blocks[i].id, blocks->blocks[i].node,
                                      blocks->blocks[i].state};
        if (target_select(tb, blocks->n, arg->node, online ? MEM_STATE_OFFLINE : MEM_STATE_ONLINE,
                          n_wanted, block_size, ret, ret_n, &err) < 0) {
                log_error("%s.", err.message);
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_SUCCESS;
}

/* What OnlineBlocks would do with one block, in words. */
static const char *plan_online(const BlockInfo *b, const char *zone, const NodeList *nodes,
                               const PolicyList *policies, char *buf, size_t size)
{
        const EffectivePolicy *p;
        const NodeInfo *node;

        if (b->state == MEM_STATE_ONLINE)
                return "nothing, online already";
        if (!streq(zone, MEMHP_ZONE_AUTO)) {
                snprintf(buf, size, "online to %s", zone);
                return buf;
        }
        /* The policy of the block's source on its node, as memhpd decides it. */
        p = b->node != MEMHP_NODE_UNKNOWN
                    ? policy_list_find(policies, b->node, b->source ? b->source : "unknown")
                    : NULL;
        if (p && streq(p->policy, MEMHP_POLICY_IGNORE))
                snprintf(buf, size, "online by policy ignore (%s): the kernel picks the zone",
                         p->rule);
        else if (p)
                snprintf(buf, size, "online by policy %s (%s)", p->policy, p->rule);
        if (p)
                return buf;
        /* A memhpd without GetEffectivePolicies: the node's policy is all there is. */
        node = b->node != MEMHP_NODE_UNKNOWN ? node_list_find(nodes, b->node) : NULL;
        if (!node)
                return "online by its node's policy (node unknown)";
        if (streq(node->policy, "ignore"))
                snprintf(buf, size, "online by policy ignore (the kernel picks the zone)");
        else
                snprintf(buf, size, "online by policy %s", node->policy);
        return buf;
}

/*
 * --dry-run: the checks memhpd makes before it changes anything (every block exists and is not
 * being offlined), then one row per block with its node, its state and what would happen.
 */
static int print_plan(sd_bus *bus, BlockList *blocks, const uint32_t *ids, size_t n, bool online,
                      const CtlArgs *arg)
{
        _cleanup_(ctl_table_unrefp) struct libscols_table *tb = NULL;
        _cleanup_(node_list_done) NodeList nodes = {};
        _cleanup_(policy_list_done) PolicyList policies = {};
        size_t n_changes = 0;

        if (online && streq(arg->zone, MEMHP_ZONE_AUTO) &&
            (ctl_list_nodes(bus, &nodes) < 0 || ctl_get_effective_policies(bus, &policies) < 0 ||
             (!blocks->sources_reply && ctl_block_list_add_sources(bus, blocks) < 0)))
                return CTL_EXIT_FAILURE;
        for (size_t i = 0; i < n; i++) {
                const BlockInfo *b = block_list_find(blocks, ids[i]);

                if (!b) {
                        log_error("No such memory block: memory%" PRIu32 ".", ids[i]);
                        return CTL_EXIT_FAILURE;
                }
                if (b->state != MEM_STATE_ONLINE && b->state != MEM_STATE_OFFLINE) {
                        log_error("memory%" PRIu32 " is %s: memhpd would refuse it.", ids[i],
                                  b->state_name);
                        return CTL_EXIT_FAILURE;
                }
        }

        tb = ctl_table_new(arg, "plan");
        if (!tb || ctl_table_add_column(tb, "BLOCK", false, false) < 0 ||
            ctl_table_add_column(tb, "NODE", true, true) < 0 ||
            ctl_table_add_column(tb, "NOW", false, false) < 0 ||
            ctl_table_add_column(tb, "PLAN", false, false) < 0)
                return CTL_EXIT_FAILURE;
        for (size_t i = 0; i < n; i++) {
                const BlockInfo *b = block_list_find(blocks, ids[i]);
                char block[24], node[16] = "-", now[48], buf[512];
                const char *plan;

                snprintf(block, sizeof(block), "memory%" PRIu32, b->id);
                if (b->node != MEMHP_NODE_UNKNOWN)
                        snprintf(node, sizeof(node), "%" PRIu32, b->node);
                snprintf(now, sizeof(now), "%s%s%s", b->state_name, *b->zone ? " " : "", b->zone);
                if (online)
                        plan = plan_online(b, arg->zone, &nodes, &policies, buf, sizeof(buf));
                else
                        plan = b->state == MEM_STATE_OFFLINE ? "nothing, offline already"
                                                             : "offline";
                if (b->state == (online ? MEM_STATE_OFFLINE : MEM_STATE_ONLINE))
                        n_changes++;
                if (ctl_table_add_row(tb, 4, block, node, now, plan) < 0)
                        return CTL_EXIT_FAILURE;
        }
        if (ctl_table_print(tb) < 0)
                return CTL_EXIT_FAILURE;
        if (arg->legend)
                printf("\nDry run: nothing was changed (%zu of %zu blocks would change).\n",
                       n_changes, n);
        return CTL_EXIT_SUCCESS;
}

typedef struct Result {
        uint32_t id;
        const char *state, *zone;
} Result;

static int result_compare(const void *a, const void *b)
{
        const Result *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * The reply: "memory32-memory39: online (Movable)", one line per run of equal outcomes, in
 * ascending order whatever order memhpd worked in (offlining goes highest address first).
 */
static int print_results(sd_bus_message *reply)
{
        _cleanup_free_ Result *results = NULL;
        size_t n = 0, allocated = 0;
        char range[48];
        Result x;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(uss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(uss)", &x.id, &x.state, &x.zone)) > 0) {
                if (GREEDY_REALLOC(results, allocated, n + 1) < 0)
                        return log_oom();
                results[n++] = x;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return log_error_errno(r, "Unexpected reply from memhpd: %m");
        if (n > 0)
                qsort(results, n, sizeof(Result), result_compare);
        for (size_t first = 0, i = 1; i <= n; i++) {
                if (i < n && results[i].id == results[i - 1].id + 1 &&
                    streq(results[i].state, results[first].state) &&
                    streq(results[i].zone, results[first].zone))
                        continue;
                ctl_format_block_range(results[first].id, results[i - 1].id, range, sizeof(range));
                printf("%s: %s%s%s%s\n", range, results[first].state,
                       *results[first].zone ? " (" : "", results[first].zone,
                       *results[first].zone ? ")" : "");
                first = i;
        }
        return fflush(stdout) == 0 ? 0 : negative_errno();
}

/* OfflineDevice's second value: whether the device may now be unplugged. */
static int print_removable(sd_bus_message *reply, const char *device)
{
        int removable, r;

        r = sd_bus_message_read(reply, "b", &removable);
        if (r < 0)
                return log_error_errno(r, "Unexpected reply from memhpd: %m");
        if (!removable) {
                log_error("%s is not safe to remove: some of its blocks are not offline "
                          "(see 'memhpctl list -o BLOCK,STATE,DEVICE').",
                          device);
                return -EBUSY;
        }
        printf("%s is safe to remove: all its memory blocks are offline.\n", device);
        return fflush(stdout) == 0 ? 0 : negative_errno();
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        PendingCall *call = userdata;

        (void)error;
        call->reply = sd_bus_message_ref(m);
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), 0);
}

static int on_cancel_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        uint32_t n = 0;

        (void)userdata;
        (void)error;
        if (sd_bus_message_is_method_error(m, NULL))
                (void)ctl_log_bus_error(sd_bus_message_get_error(m), -EIO, "Cancel");
        else if (sd_bus_message_read(m, "u", &n) >= 0 && n == 0)
                log_notice("memhpd had nothing to cancel: the operation is finishing.");
        return 0;
}

/*
 * Ctrl-C (or SIGTERM): the first asks memhpd to cancel and roll back, and keeps waiting for the
 * original reply, which says how that went; a second one stops waiting. memhpd also cancels when
 * its caller disconnects, so leaving early cannot strand a half-done operation.
 */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        PendingCall *call = userdata;
        int r;

        (void)si;
        if (call->n_interrupts++ > 0) {
                log_error("Stopped waiting. memhpd cancels the operation because memhpctl left; "
                          "check the result with 'memhpctl list'.");
                return sd_event_exit(sd_event_source_get_event(s), -EINTR);
        }
        log_notice("Cancelling: memhpd rolls back what it changed. Press Ctrl-C again to stop "
                   "waiting.");
        r = sd_bus_call_method_async(call->bus, NULL, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                                     MEMHP_BUS_INTERFACE, "Cancel", on_cancel_reply, call, NULL);
        if (r < 0)
                log_error_errno(r, "Failed to send Cancel: %m");
        return 0;
}

/*
 * Makes the call @m (OnlineBlocks, OfflineBlocks, OnlineDevice or OfflineDevice) and waits for
 * its reply; returns the exit code.
 */
static int call_and_wait(sd_bus *bus, sd_bus_message *m, const char *device)
{
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        PendingCall call = {.bus = bus, .method = sd_bus_message_get_member(m)};
        bool offline_device = streq(call.method, "OfflineDevice");
        int r, ret;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal,
                                        &call);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal,
                                        &call);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        /*
         * No timeout: offlining may legitimately take minutes (memhpd bounds it by its own
         * TimeoutSec=), and Ctrl-C is the way out. A dying memhpd still ends the wait: the bus
         * then replies NoReply on its behalf.
         */
        if (r >= 0)
                r = sd_bus_call_async(bus, &slot, m, on_reply, &call, UINT64_MAX);
        if (r < 0) {
                log_error_errno(r, "Failed to call %s: %m", call.method);
                return CTL_EXIT_FAILURE;
        }

        r = sd_event_loop(event);
        (void)sd_bus_detach_event(bus);
        if (r < 0 || !call.reply) {
                if (r != -EINTR)
                        log_error_errno(r, "Failed while waiting for memhpd: %m");
                sd_bus_message_unref(call.reply);
                return CTL_EXIT_FAILURE;
        }

        if (sd_bus_message_is_method_error(call.reply, NULL))
                ret = ctl_log_bus_error(sd_bus_message_get_error(call.reply), -EIO, call.method);
        else if (print_results(call.reply) < 0)
                ret = CTL_EXIT_FAILURE;
        else if (offline_device && print_removable(call.reply, device) < 0)
                ret = CTL_EXIT_FAILURE;
        else
                ret = CTL_EXIT_SUCCESS;
        sd_bus_message_unref(call.reply);
        return ret;
}

static int new_call(sd_bus *bus, const char *method, sd_bus_message **ret)
{
        int r = sd_bus_message_new_method_call(bus, ret, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                                               MEMHP_BUS_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to build the %s call: %m", method);
        return 0;
}

/* OnlineBlocks(au ids, s zone) or OfflineBlocks(au ids). */
static int call_blocks(sd_bus *bus, const uint32_t *ids, size_t n, bool online, const char *zone)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (new_call(bus, online ? "OnlineBlocks" : "OfflineBlocks", &m) < 0)
                return CTL_EXIT_FAILURE;
        r = sd_bus_message_append_array(m, 'u', ids, n * sizeof(uint32_t));
        if (r >= 0 && online)
                r = sd_bus_message_append(m, "s", zone);
        if (r < 0) {
                log_error_errno(r, "Failed to build the call: %m");
                return CTL_EXIT_FAILURE;
        }
        return call_and_wait(bus, m, NULL);
}

/* OnlineDevice(s device, s zone) or OfflineDevice(s device). */
static int call_device(sd_bus *bus, const char *device, bool online, const char *zone)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (new_call(bus, online ? "OnlineDevice" : "OfflineDevice", &m) < 0)
                return CTL_EXIT_FAILURE;
        r = sd_bus_message_append(m, "s", device);
        if (r >= 0 && online)
                r = sd_bus_message_append(m, "s", zone);
        if (r < 0) {
                log_error_errno(r, "Failed to build the call: %m");
                return CTL_EXIT_FAILURE;
        }
        return call_and_wait(bus, m, device);
}

/* --device with --dry-run: the device's blocks, from GetBlockSources(), in ascending order. */
static int select_from_device(sd_bus *bus, BlockList *blocks, const char *device, uint32_t **ret,
                              size_t *ret_n)
{
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;

        if (ctl_block_list_add_sources(bus, blocks) < 0)
                return CTL_EXIT_FAILURE;
        ids = calloc(blocks->n + 1, sizeof(uint32_t));
        if (!ids) {
                log_oom();
                return CTL_EXIT_FAILURE;
        }
        for (size_t i = 0; i < blocks->n; i++)
                if (blocks->blocks[i].device && streq(blocks->blocks[i].device, device))
                        ids[n++] = blocks->blocks[i].id;
        if (n == 0) {
                log_error("No such device: '%s' (memhpctl devices lists them).", device);
                return CTL_EXIT_FAILURE;
        }
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return CTL_EXIT_SUCCESS;
}

/* memhpd offlines highest address first; memhpctl asks in that order and shows it. */
static void reverse(uint32_t *ids, size_t n)
{
        for (size_t i = 0; i < n / 2; i++) {
                uint32_t t = ids[i];

                ids[i] = ids[n - 1 - i];
                ids[n - 1 - i] = t;
        }
}

typedef enum Change {
        CHANGE_ONLINE,
        CHANGE_OFFLINE,
} Change;

static int change_blocks(char **args, size_t n_args, const CtlArgs *arg, Change change)
{
        bool online = change == CHANGE_ONLINE;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(block_list_done) BlockList blocks = {};
        _cleanup_free_ uint32_t *ids = NULL;
        uint64_t block_size;
        TargetError err;
        size_t n;
        int ret;

        ret = check_usage(args, n_args, arg);
        if (ret != CTL_EXIT_SUCCESS)
                return ret;
        if (ctl_bus_open(&bus) < 0 || ctl_get_block_size(bus, &block_size) < 0)
                return CTL_EXIT_FAILURE;
        /* Selecting by node and planning both need the daemon's view of every block. */
        if ((arg->has_node || arg->dry_run) && ctl_list_blocks(bus, &blocks) < 0)
                return CTL_EXIT_FAILURE;

        if (arg->device && !arg->dry_run)
                return call_device(bus, arg->device, online, arg->zone);
        if (arg->device) {
                ret = select_from_device(bus, &blocks, arg->device, &ids, &n);
                if (ret != CTL_EXIT_SUCCESS)
                        return ret;
        } else if (n_args == 1) {
                if (target_parse_blocks(args[0], block_size, &ids, &n, &err) < 0) {
                        log_error("%s", err.message);
                        return CTL_EXIT_USAGE;
                }
        } else {
                ret = select_from_node(&blocks, arg, online, block_size, &ids, &n);
                if (ret != CTL_EXIT_SUCCESS)
                        return ret;
        }
        if (!online)
                reverse(ids, n);

        if (arg->dry_run)
                return print_plan(bus, &blocks, ids, n, online, arg);
        return call_blocks(bus, ids, n, online, arg->zone);
}

int verb_online(char **args, size_t n_args, const CtlArgs *arg)
{
        return change_blocks(args, n_args, arg, CHANGE_ONLINE);
}

int verb_offline(char **args, size_t n_args, const CtlArgs *arg)
{
        return change_blocks(args, n_args, arg, CHANGE_OFFLINE);
}
