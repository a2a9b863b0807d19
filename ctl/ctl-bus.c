/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpctl's bus plumbing: connecting, reading memhpd's lists, and one-line error reports. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "target.h"

int ctl_bus_open(sd_bus **ret)
{
        int r;

        /* Honours $DBUS_SYSTEM_BUS_ADDRESS, which the tests point at a private bus. */
        r = sd_bus_open_system(ret);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        return 0;
}

int ctl_log_bus_error(const sd_bus_error *error, int r, const char *what)
{
        const char *msg;

        if (!sd_bus_error_is_set(error)) {
                log_error_errno(r, "%s failed: %m", what);
                return CTL_EXIT_FAILURE;
        }
        msg = error->message && *error->message ? error->message : error->name;

        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                   SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                log_error("memhpd is not running (no %s on the system bus).", MEMHP_BUS_NAME);
                return CTL_EXIT_FAILURE;
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED)) {
                /* The bus daemon's own refusals are a dump of match rules: not for humans. */
                if (startswith(msg, "Rejected send message"))
                        log_error("Permission denied by the system bus policy: %s needs root "
                                  "or membership in group '" MEMHP_BUS_GROUP "'.",
                                  what);
                else
                        log_error("Permission denied: %s", msg);
                return CTL_EXIT_FAILURE;
        }
        if (sd_bus_error_has_name(error, MEMHP_ERROR_OPERATION_FAILED)) {
                log_error("%s", msg);
                return CTL_EXIT_ROLLED_BACK;
        }
        if (sd_bus_error_has_name(error, MEMHP_ERROR_ROLLBACK_INCOMPLETE)) {
                log_error("%s", msg);
                return CTL_EXIT_LEFT_CHANGED;
        }
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                   SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_PROPERTY)) {
                log_error("This memhpd does not offer %s; is it older than memhpctl?", what);
                return CTL_EXIT_FAILURE;
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY)) {
                log_error("memhpd did not reply to %s (%s). Check the result with "
                          "'memhpctl list'.",
                          what, msg);
                return CTL_EXIT_FAILURE;
        }
        /* InvalidArgs, InvalidConfig and the rest: memhpd's message is the explanation. */
        log_error("%s", msg);
        return CTL_EXIT_FAILURE;
}

static int call_failed(const sd_bus_error *error, int r, const char *what)
{
        (void)ctl_log_bus_error(error, r, what);
        return r < 0 ? r : -EIO;
}

int ctl_get_string_property(sd_bus *bus, const char *name, char **ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE,
                                       name, &error, ret);
        if (r < 0)
                return call_failed(&error, r, name);
        return 0;
}

int ctl_get_block_size(sd_bus *bus, uint64_t *ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t size;
        int r;

        r = sd_bus_get_property_trivial(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE,
                                        "BlockSizeBytes", &error, 't', &size);
        if (r < 0)
                return call_failed(&error, r, "BlockSizeBytes");
        /* Every address and size computation divides by it. */
        if (size == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EIO),
                                       "memhpd reports a block size of 0; is memory hotplug "
                                       "available?");
        *ret = size;
        return 0;
}

static bool is_unknown_method(const sd_bus_error *error)
{
        return sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_METHOD,
                                      SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                      SD_BUS_ERROR_UNKNOWN_PROPERTY);
}

int ctl_call_list(sd_bus *bus, const char *method, const char *signature, bool optional,
                  sd_bus_message **ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE, method,
                               &error, &reply, NULL);
        if (r < 0 && optional && is_unknown_method(&error)) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return call_failed(&error, r, method);
        r = sd_bus_message_enter_container(reply, 'a', signature);
        if (r < 0)
                return log_error_errno(r, "Unexpected reply to %s: %m", method);
        *ret = TAKE_PTR(reply);
        return 0;
}

static int block_info_compare(const void *a, const void *b)
{
        const BlockInfo *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Marks the blocks of HeldBlocks; a memhpd from before holds has none to mark. */
static int mark_held(sd_bus *bus, BlockList *l)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t id;
        int r;

        r = sd_bus_get_property(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE,
                                "HeldBlocks", &error, &reply, "au");
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_PROPERTY))
                return 0;
        if (r < 0)
                return call_failed(&error, r, "HeldBlocks");
        r = sd_bus_message_enter_container(reply, 'a', "u");
        while (r >= 0 && (r = sd_bus_message_read(reply, "u", &id)) > 0) {
                BlockInfo *b = (BlockInfo *)block_list_find(l, id);

                if (b)
                        b->held = true;
        }
        if (r < 0)
                return log_error_errno(r, "Unexpected value of HeldBlocks: %m");
        return 0;
}

int ctl_list_blocks(sd_bus *bus, BlockList *ret)
{
        _cleanup_(block_list_done) BlockList l = {};
        size_t allocated = 0;
        int r;

        r = ctl_call_list(bus, "ListBlocks", "(uuss)", false, &l.reply);
        if (r < 0)
                return r;
        for (;;) {
                BlockInfo b;

                r = sd_bus_message_read(l.reply, "(uuss)", &b.id, &b.node, &b.state_name, &b.zone);
                if (r < 0)
                        return log_error_errno(r, "Unexpected reply to ListBlocks: %m");
                if (r == 0)
                        break;
                b.state = mem_state_from_string(b.state_name);
                b.held = false;
                b.source = b.device = NULL;
                if (GREEDY_REALLOC(l.blocks, allocated, l.n + 1) < 0)
                        return log_oom();
                l.blocks[l.n++] = b;
        }
        /* memhpd lists in id order today; lookups must not depend on that. */
        if (l.n > 0)
                qsort(l.blocks, l.n, sizeof(BlockInfo), block_info_compare);
        r = mark_held(bus, &l);
        if (r < 0)
                return r;
        *ret = l;
        l = (BlockList){};
        return 0;
}

/*
 * GetBlockSources with an empty array: every block's. One call for all blocks rather than one per
 * block: a machine may have 65536 of them.
 */
int ctl_block_list_add_sources(sd_bus *bus, BlockList *l)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *source, *device;
        uint32_t id;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                                           MEMHP_BUS_INTERFACE, "GetBlockSources");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'u', NULL, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to build the GetBlockSources call: %m");
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0 && is_unknown_method(&error))
                return 0;
        if (r < 0)
                return call_failed(&error, r, "GetBlockSources");
        r = sd_bus_message_enter_container(reply, 'a', "(uss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(uss)", &id, &source, &device)) > 0) {
                BlockInfo *b = (BlockInfo *)block_list_find(l, id);

                if (b) {
                        b->source = source;
                        b->device = device;
                }
        }
        if (r < 0)
                return log_error_errno(r, "Unexpected reply to GetBlockSources: %m");
        /* The strings point into the reply: the list keeps it. */
        sd_bus_message_unref(l->sources_reply);
        l->sources_reply = TAKE_PTR(reply);
        return 0;
}

void block_list_done(BlockList *l)
{
        l->reply = sd_bus_message_unref(l->reply);
        l->sources_reply = sd_bus_message_unref(l->sources_reply);
        free(l->blocks);
        l->blocks = NULL;
        l->n = 0;
}

const BlockInfo *block_list_find(const BlockList *l, uint32_t id)
{
        BlockInfo key = {.id = id};

        if (l->n == 0)
                return NULL;
        return bsearch(&key, l->blocks, l->n, sizeof(BlockInfo), block_info_compare);
}

int ctl_list_nodes(sd_bus *bus, NodeList *ret)
{
        _cleanup_(node_list_done) NodeList l = {};
        size_t allocated = 0;
        int r;

        r = ctl_call_list(bus, "ListNodes", "(ustt)", false, &l.reply);
        if (r < 0)
                return r;
        for (;;) {
                NodeInfo n;

                r = sd_bus_message_read(l.reply, "(ustt)", &n.node, &n.policy, &n.kernel_bytes,
                                        &n.movable_bytes);
                if (r < 0)
                        return log_error_errno(r, "Unexpected reply to ListNodes: %m");
                if (r == 0)
                        break;
                if (GREEDY_REALLOC(l.nodes, allocated, l.n + 1) < 0)
                        return log_oom();
                l.nodes[l.n++] = n;
        }
        *ret = l;
        l = (NodeList){};
        return 0;
}

void node_list_done(NodeList *l)
{
        l->reply = sd_bus_message_unref(l->reply);
        free(l->nodes);
        l->nodes = NULL;
        l->n = 0;
}

const NodeInfo *node_list_find(const NodeList *l, uint32_t node)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->nodes[i].node == node)
                        return &l->nodes[i];
        return NULL;
}

int ctl_get_effective_policies(sd_bus *bus, PolicyList *ret)
{
        _cleanup_(policy_list_done) PolicyList l = {};
        size_t allocated = 0;
        int r;

        r = ctl_call_list(bus, "GetEffectivePolicies", "(usss)", true, &l.reply);
        if (r < 0)
                return r;
        while (l.reply) {
                EffectivePolicy p;

                r = sd_bus_message_read(l.reply, "(usss)", &p.node, &p.source, &p.policy, &p.rule);
                if (r < 0)
                        return log_error_errno(r, "Unexpected reply to GetEffectivePolicies: %m");
                if (r == 0)
                        break;
                if (GREEDY_REALLOC(l.policies, allocated, l.n + 1) < 0)
                        return log_oom();
                l.policies[l.n++] = p;
        }
        *ret = l;
        l = (PolicyList){};
        return 0;
}

void policy_list_done(PolicyList *l)
{
        l->reply = sd_bus_message_unref(l->reply);
        free(l->policies);
        l->policies = NULL;
        l->n = 0;
}

const EffectivePolicy *policy_list_find(const PolicyList *l, uint32_t node, const char *source)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->policies[i].node == node && streq(l->policies[i].source, source))
                        return &l->policies[i];
        return NULL;
}

void ctl_format_block_range(uint32_t first, uint32_t last, char *buf, size_t size)
{
        if (first == last)
                snprintf(buf, size, "memory%" PRIu32, first);
        else
                snprintf(buf, size, "memory%" PRIu32 "-memory%" PRIu32, first, last);
}
