/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * D-Bus calls that run as operations (OnlineBlocks, OfflineBlocks, OnlineDevice,
 * OfflineDevice): the request is checked, turned into a transaction and handed to manager-ops.c;
 * the reply is sent when the operation ends, with each block's state read back from sysfs.
 *
 * Offlines run highest address first, as virtio-mem's own unplug does. What the kernel refuses
 * to offline (boot memory, blocks with unmovable pages) sits low, so a low refused block no
 * longer ends an operation before any of the removable memory above it was tried, and a device,
 * hot-added from its lowest address up, gives back its youngest memory first.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-auth.h"
#include "bus-ops.h"
#include "log.h"
#include "manager.h"
#include "memhp-api.h"
#include "nodemask.h"
#include "operation.h"
#include "placement.h"
#include "request.h"
#include "strutil.h"

/* A call waiting for its operation to end. */
typedef struct BusCall {
        Manager *manager;
        sd_bus_message *request;
        sd_bus_track *track; /* the caller leaving cancels the operation */
        Operation *op;
        uint32_t *ids; /* the reply's order */
        size_t n_ids;
        char *device; /* OfflineDevice: the reply says whether it can be removed */
} BusCall;

static BusCall *bus_call_free(BusCall *c)
{
        if (!c)
                return NULL;
        sd_bus_track_unref(c->track);
        sd_bus_message_unref(c->request);
        free(c->ids);
        free(c->device);
        free(c);
        return NULL;
}

static bool block_offline(Manager *m, uint32_t id)
{
        MemState st;

        /* Gone counts as offline: nothing of it is left to remove. */
        return memblock_read_state(m->sysfs, id, &st) < 0 || st == MEM_STATE_OFFLINE;
}

/* Every block of @device, as sysfs shows it now, is offline. */
static bool device_removable(Manager *m, const char *device, const uint32_t *ids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!block_offline(m, ids[i]))
                        return false;
        /* Blocks it gained while the operation ran count too. */
        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                const Device *dev;

                (void)manager_block_source(m, id, &dev);
                if (dev && streq(dev->id, device) && !block_offline(m, id))
                        return false;
        }
        return true;
}

static int reply_success(BusCall *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = c->manager;
        int r;

        r = sd_bus_message_new_method_return(c->request, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(uss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_ids; i++) {
                uint32_t id = c->ids[i];
                MemState st = MEM_STATE_OFFLINE;
                MemZone zone = MEM_ZONE_UNKNOWN;

                /* The reply reports sysfs, not what the machine believes. */
                if (memblock_read_state(m->sysfs, id, &st) >= 0 && st == MEM_STATE_ONLINE)
                        (void)memblock_read_zone(m->sysfs, id, &zone);
                r = sd_bus_message_append(reply, "(uss)", id, mem_state_to_string(st),
                                          mem_zone_to_string(zone));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        if (c->device) {
                r = sd_bus_message_append(reply, "b",
                                          device_removable(m, c->device, c->ids, c->n_ids));
                if (r < 0)
                        return r;
        }
        return sd_bus_send(NULL, reply, NULL);
}

static void on_operation_done(const OperationResult *res, void *userdata)
{
        BusCall *c = userdata;
        int r;

        /* NULL: memhpd is exiting; the caller gets NoReply from the bus. */
        if (res) {
                char device[MEMSOURCE_DEVICE_MAX + 32] = "", errname[32] = "";

                /* A device's transaction that did not happen: which device, and errno by name
                 * too, so that a script can tell a busy block (EBUSY) from a refusal. */
                if (c->device) {
                        const char *en = res->txn->failed_index >= 0
                                                 ? strerrorname_np(-res->txn->failed_error)
                                                 : NULL;

                        (void)snprintf(device, sizeof(device),
                                       "Device %s not offlined: ", c->device);
                        if (en)
                                (void)snprintf(errname, sizeof(errname), " (%s)", en);
                }
                if (res->outcome == TXN_OK)
                        r = reply_success(c);
                else if (res->outcome == TXN_ROLLED_BACK)
                        r = sd_bus_reply_method_errorf(
                                c->request, MEMHP_ERROR_OPERATION_FAILED,
                                "%s%s%s. Rolled back: %s.", device, res->what, errname,
                                *res->restored ? res->restored : "nothing had changed");
                else
                        r = sd_bus_reply_method_errorf(
                                c->request, MEMHP_ERROR_ROLLBACK_INCOMPLETE,
                                "%s%s%s. Rollback incomplete; blocks left changed: %s. "
                                "Restored: %s.",
                                device, *res->what ? res->what : "Restore failed",
                                *res->what ? errname : "", res->left_changed,
                                *res->restored ? res->restored : "none");
                if (r < 0)
                        log_debug_errno(r, "Failed to reply to operation %" PRIu64 ": %m", res->id);
        }
        bus_call_free(c);
}

static int on_caller_gone(sd_bus_track *track, void *userdata)
{
        BusCall *c = userdata;

        (void)track;
        if (operation_cancel(c->op))
                log_notice("Caller of operation %" PRIu64 " disconnected, cancelling it.",
                           operation_id(c->op));
        return 0;
}

/* Runs @t (taken over) as an operation that replies to @msg when it ends. */
static int submit_call(Manager *m, Txn *t, sd_bus_message *msg, const uint32_t *ids, size_t n,
                       const char *device)
{
        BusCall *c = calloc(1, sizeof(*c));
        int r;

        if (c) {
                c->ids = malloc(MAX(n, (size_t)1) * sizeof(*ids));
                c->device = device ? strdup(device) : NULL;
        }
        if (!c || !c->ids || (device && !c->device)) {
                bus_call_free(c);
                txn_free(t);
                return -ENOMEM;
        }
        memcpy(c->ids, ids, n * sizeof(*ids));
        c->n_ids = n;
        c->manager = m;
        c->request = sd_bus_message_ref(msg);
        r = operation_submit(m, t, sd_bus_message_get_sender(msg) ?: "", on_operation_done, c,
                             &c->op);
        if (r < 0) {
                bus_call_free(c);
                return r;
        }
        r = sd_bus_track_new(sd_bus_message_get_bus(msg), &c->track, on_caller_gone, c);
        if (r >= 0)
                r = sd_bus_track_add_sender(c->track, msg);
        if (r < 0)
                log_debug_errno(r, "Cannot track the caller of operation %" PRIu64 ": %m",
                                operation_id(c->op));
        return 0;
}

static int read_blocks(sd_bus_message *msg, uint32_t **ret, size_t *ret_n, sd_bus_error *error)
{
        const void *p;
        size_t size;
        uint32_t *ids;
        int r;

        r = sd_bus_message_read_array(msg, 'u', &p, &size);
        if (r < 0)
                return r;
        char text[128];

        size /= sizeof(uint32_t);
        r = request_check_blocks(p, size, text, sizeof(text));
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, text);
        if (r < 0)
                return r;
        ids = malloc(size * sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        memcpy(ids, p, size * sizeof(*ids));
        *ret = ids;
        *ret_n = size;
        return 0;
}

static int cmp_block_desc(const void *a, const void *b)
{
        uint32_t x = ((const TxnBlock *)a)->id, y = ((const TxnBlock *)b)->id;

        return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * A transaction over @ids with each block's current state. Unknown and going-offline blocks are
 * refused before anything is written (read_blocks did the pure checks); the operation reads the
 * states (and zones) again when it starts, since it may have waited behind another.
 */
static int new_txn(Manager *m, TxnKind kind, const uint32_t *ids, size_t n, Txn **ret,
                   sd_bus_error *error)
{
        _cleanup_(txn_freep) Txn *t = NULL;
        int r = txn_new(0, kind, n, &t);

        if (r < 0)
                return r;
        t->max_retries = m->config->offline_retries;
        for (size_t i = 0; i < n; i++) {
                TxnBlock *b = &t->blocks[i];
                BlockEntry *e;
                MemState st;

                r = memblock_read_state(m->sysfs, ids[i], &st);
                if (r == -ENOENT)
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "No such memory block: memory%" PRIu32 ".", ids[i]);
                else if (r < 0)
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_IO_ERROR,
                                              "Cannot read the state of memory%" PRIu32 ": %s.",
                                              ids[i], strerror(-r));
                else if (st == MEM_STATE_GOING_OFFLINE)
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "memory%" PRIu32 " is being offlined already.",
                                              ids[i]);
                if (r < 0)
                        return r;
                *b = (TxnBlock){
                        .id = ids[i],
                        .action = MEM_ACTION_OFFLINE,
                        .prior_state = st,
                        .prior_zone = MEM_ZONE_UNKNOWN,
                        .state = st,
                        .zone = MEM_ZONE_UNKNOWN,
                };
                e = blockmap_get(&m->blocks, ids[i]);
                if (e && !(e->flags & BLOCK_PRESENT))
                        blockmap_set_present(&m->blocks, e, true);
        }
        /* Block ids grow with the physical address. */
        if (kind == TXN_OFFLINE)
                qsort(t->blocks, n, sizeof(*t->blocks), cmp_block_desc);
        /* Only accepted requests take an operation id. */
        t->id = m->next_op_id++;
        *ret = TAKE_PTR(t);
        return 0;
}

int bus_block_node(Manager *m, uint32_t id, int hint)
{
        int node;

        if (placement_block_node(m->sysfs, m->numa, id, blockmap_peek(&m->blocks, id), hint,
                                 &node) < 0)
                return -1;
        return node;
}

int bus_ops_online(Manager *m, sd_bus_message *msg, const uint32_t *ids, size_t n, const char *zone,
                   sd_bus_error *error)
{
        _cleanup_(placement_ledger_clear) PlacementLedger ledger = {};
        _cleanup_(txn_freep) Txn *t = NULL;
        int r, hint = m->node_hint;

        if (request_zone_from_string(zone) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown zone '%s': expected " MEMHP_ZONE_CHOICES ".",
                                         zone);
        r = new_txn(m, TXN_ONLINE, ids, n, &t, error);
        if (r < 0)
                return r;
        if (streq(zone, MEMHP_ZONE_AUTO) &&
            placement_ledger_load(&ledger, m->sysfs, &m->blocks, m->block_pages) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                TxnBlock *b = &t->blocks[i];
                PlaceFlags flags = PLACE_EXPLICIT;
                int node;

                if (streq(zone, MEMHP_ZONE_MOVABLE)) {
                        b->action = MEM_ACTION_ONLINE_MOVABLE;
                        continue;
                }
                if (streq(zone, MEMHP_ZONE_KERNEL)) {
                        b->action = MEM_ACTION_ONLINE_KERNEL;
                        continue;
                }
                /* auto: what the block's policy (node and source) would do; "ignore" means the
                 * kernel decides. */
                node = bus_block_node(m, b->id, hint);
                if (b->prior_state != MEM_STATE_OFFLINE)
                        flags |= PLACE_NO_COUNT; /* its pages are in the sizes already */
                b->action = placement_place(conf_policy_for(m->config, m->platform, node,
                                                            manager_block_source(m, b->id, NULL))
                                                    .policy,
                                            m->config->movable_ratio, &ledger, node, m->block_pages,
                                            flags);
                if (node >= 0)
                        hint = node;
        }
        return submit_call(m, TAKE_PTR(t), msg, ids, n, NULL);
}

int bus_ops_offline(Manager *m, sd_bus_message *msg, const uint32_t *ids, size_t n,
                    const char *device, sd_bus_error *error)
{
        Txn *t;
        int r;

        r = new_txn(m, TXN_OFFLINE, ids, n, &t, error);
        if (r < 0)
                return r;
        return submit_call(m, t, msg, ids, n, device);
}

int bus_do_online_blocks(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        _cleanup_free_ uint32_t *ids = NULL;
        const char *zone;
        size_t n;
        int r;

        r = read_blocks(msg, &ids, &n, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &zone);
        if (r < 0)
                return r;
        return bus_ops_online(m, msg, ids, n, zone, error);
}

int bus_do_offline_blocks(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n;
        int r;

        r = read_blocks(msg, &ids, &n, error);
        if (r < 0)
                return r;
        return bus_ops_offline(m, msg, ids, n, NULL, error);
}

void bus_nodes(Manager *m, NodeMask *ret)
{
        NodeMask nodes = {};

        if (!m->numa || nodemask_read(m->sysfs, "possible", &nodes) < 0)
                nodes.bits[0] = 1;
        /* Nodes that hold blocks count even when the possible mask is unreadable. */
        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                int node = blockmap_peek(&m->blocks, id)->node;
                if (node >= 0 && (unsigned)node < MEMHP_MAX_NODES)
                        nodes.bits[node / 64] |= UINT64_C(1) << (node % 64);
        }
        *ret = nodes;
}
