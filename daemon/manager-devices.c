/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Devices and sources on the bus: ListDevices, GetBlockSources, OnlineDevice, OfflineDevice,
 * DescribeNodes, GetEffectivePolicies and the DeviceChanged signal, all read from the block
 * table and manager_block_source() (manager-sources.c), never from a device list of their own:
 * a device is the set of present blocks that carry its id.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "alloc-util.h"
#include "bus-auth.h"
#include "bus-ops.h"
#include "log.h"
#include "manager-devices.h"
#include "manager.h"
#include "memhp-api.h"
#include "nodemask.h"
#include "request.h"
#include "strutil.h"

/* One device as its present blocks show it. */
typedef struct DeviceSummary {
        const Device *dev;
        int node; /* -1 unknown, -2 blocks on several nodes */
        uint32_t blocks, online;
        unsigned zones; /* bit per MemZone of its online blocks */
} DeviceSummary;

static int block_node_of(Manager *m, uint32_t id, const BlockEntry *e, int *hint)
{
        int node = e->node >= 0 ? e->node : bus_block_node(m, id, *hint);

        if (node >= 0)
                *hint = node;
        return node;
}

/* The devices of the present blocks, in the order of their lowest block. */
static int summarize(Manager *m, DeviceSummary **ret, size_t *ret_n)
{
        _cleanup_free_ DeviceSummary *s = NULL;
        size_t n = 0, allocated = 0, last = 0;
        int hint = m->node_hint;

        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                const BlockEntry *e = blockmap_peek(&m->blocks, id);
                const Device *dev;
                DeviceSummary *d = NULL;
                int node;

                (void)manager_block_source(m, id, &dev);
                if (!dev)
                        continue;
                /* A device's blocks are mostly contiguous: try the last one first. */
                if (n > 0 && s[last].dev == dev)
                        d = &s[last];
                for (size_t i = 0; !d && i < n; i++)
                        if (s[i].dev == dev) {
                                d = &s[i];
                                last = i;
                        }
                node = block_node_of(m, id, e, &hint);
                if (!d) {
                        if (GREEDY_REALLOC(s, allocated, n + 1) < 0)
                                return -ENOMEM;
                        last = n;
                        d = &s[n++];
                        *d = (DeviceSummary){.dev = dev, .node = node};
                } else if (d->node != node)
                        d->node = -2;
                d->blocks++;
                if (e->state == MEM_STATE_ONLINE) {
                        d->online++;
                        if (e->zone > MEM_ZONE_UNKNOWN && e->zone < _MEM_ZONE_MAX)
                                d->zones |= 1U << e->zone;
                }
        }
        *ret = TAKE_PTR(s);
        *ret_n = n;
        return 0;
}

static const char *zone_name(int z)
{
        return mem_zone_to_string((MemZone)z);
}

static const char *source_name(int s)
{
        return mem_source_to_string((MemSource)s);
}

/* A set of zones or sources, kept as bits, as the "as" the API gives it. */
static int append_names(sd_bus_message *reply, unsigned mask, int n, const char *(*name)(int))
{
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (int i = 0; r >= 0 && i < n; i++)
                if (mask & (1U << i))
                        r = sd_bus_message_append(reply, "s", name(i));
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ DeviceSummary *s = NULL;
        Manager *m = userdata;
        size_t n;
        int r;

        (void)error;
        r = summarize(m, &s, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssuttuuas)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const DeviceSummary *d = &s[i];

                r = sd_bus_message_open_container(reply, 'r', "sssuttuuas");
                if (r >= 0)
                        r = sd_bus_message_append(
                                reply, "sssuttuu", d->dev->id, mem_source_to_string(d->dev->source),
                                d->dev->source == MEM_SOURCE_DAX
                                        ? dax_backing_to_string(d->dev->backing)
                                        : "",
                                d->node < 0 ? MEMHP_NODE_UNKNOWN : (uint32_t)d->node, d->dev->start,
                                d->dev->end, d->blocks, d->online);
                if (r >= 0)
                        r = append_names(reply, d->zones, _MEM_ZONE_MAX, zone_name);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_block_source(Manager *m, sd_bus_message *reply, uint32_t id)
{
        const Device *dev;
        MemSource s = manager_block_source(m, id, &dev);

        return sd_bus_message_append(reply, "(uss)", id, mem_source_to_string(s),
                                     dev ? dev->id : "");
}

static bool block_present(Manager *m, uint32_t id)
{
        const BlockEntry *e = blockmap_peek(&m->blocks, id);

        return e && (e->flags & BLOCK_PRESENT);
}

static int method_get_block_sources(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const uint32_t *ids;
        const void *p;
        size_t n;
        int r;

        r = sd_bus_message_read_array(msg, 'u', &p, &n);
        if (r < 0)
                return r;
        ids = p;
        n /= sizeof(uint32_t);
        if (n > 0) {
                char text[128];

                r = request_check_blocks(ids, n, text, sizeof(text));
                if (r == -EINVAL)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, text);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (!block_present(m, ids[i]))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "No such memory block: memory%" PRIu32 ".",
                                                         ids[i]);
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(uss)");
        if (n > 0)
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = append_block_source(m, reply, ids[i]);
        else
                for (uint32_t id = 0; r >= 0 && blockmap_next(&m->blocks, &id); id++)
                        r = append_block_source(m, reply, id);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The present blocks of device @id in ascending order; InvalidArgs naming it when it has none. */
static int device_blocks(Manager *m, const char *device, uint32_t **ret, size_t *ret_n,
                         sd_bus_error *error)
{
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0, allocated = 0;

        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                const Device *dev;

                (void)manager_block_source(m, id, &dev);
                if (!dev || !streq(dev->id, device))
                        continue;
                if (GREEDY_REALLOC(ids, allocated, n + 1) < 0)
                        return -ENOMEM;
                ids[n++] = id;
        }
        if (n == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "No such device: '%s' (see ListDevices).", device);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int do_offline_device(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        _cleanup_free_ uint32_t *ids = NULL;
        const char *device;
        size_t n;
        int r;

        r = sd_bus_message_read(msg, "s", &device);
        if (r < 0)
                return r;
        r = device_blocks(m, device, &ids, &n, error);
        if (r < 0)
                return r;
        return bus_ops_offline(m, msg, ids, n, device, error);
}

static int do_online_device(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        _cleanup_free_ uint32_t *ids = NULL;
        const char *device, *zone;
        size_t n;
        int r;

        r = sd_bus_message_read(msg, "ss", &device, &zone);
        if (r < 0)
                return r;
        r = device_blocks(m, device, &ids, &n, error);
        if (r < 0)
                return r;
        return bus_ops_online(m, msg, ids, n, zone, error);
}

static int method_offline_device(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return bus_authorize(userdata, msg, do_offline_device, error);
}

static int method_online_device(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return bus_authorize(userdata, msg, do_online_device, error);
}

static int method_describe_nodes(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ NodeFacts *facts = NULL;
        Manager *m = userdata;
        size_t n;
        int r;

        (void)error;
        r = manager_node_facts(m, &facts, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ubias)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const NodeFacts *f = &facts[i];

                r = sd_bus_message_open_container(reply, 'r', "ubias");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ubi", f->node, f->has_cpus, f->tier);
                if (r >= 0)
                        r = append_names(reply, f->sources, _MEM_SOURCE_MAX, source_name);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_effective_policies(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        NodeMask nodes;
        int r;

        (void)error;
        bus_nodes(m, &nodes);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(usss)");
        for (unsigned node = 0; r >= 0 && node < MEMHP_MAX_NODES; node++) {
                if (!nodemask_test(&nodes, node))
                        continue;
                for (int s = 0; r >= 0 && s < _MEM_SOURCE_MAX; s++) {
                        char rule[POLICY_RULE_TEXT_MAX];
                        Policy p =
                                manager_effective_policy(m, node, (MemSource)s, rule, sizeof(rule));

                        r = sd_bus_message_append(reply, "(usss)", node,
                                                  mem_source_to_string((MemSource)s),
                                                  policy_to_string(p), rule);
                }
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable devices_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssuttuuas)", devices), method_list_devices,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetBlockSources", SD_BUS_ARGS("au", blocks),
                                SD_BUS_RESULT("a(uss)", sources), method_get_block_sources,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OnlineDevice", SD_BUS_ARGS("s", device, "s", zone),
                                SD_BUS_RESULT("a(uss)", results), method_online_device,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OfflineDevice", SD_BUS_ARGS("s", device),
                                SD_BUS_RESULT("a(uss)", results, "b", removable),
                                method_offline_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DescribeNodes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ubias)", nodes),
                                method_describe_nodes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetEffectivePolicies", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(usss)", policies), method_get_effective_policies,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("DeviceChanged", SD_BUS_ARGS("s", device, "s", source, "s", change),
                                0),
        SD_BUS_VTABLE_END,
};

int manager_devices_bus_add(Manager *m, sd_bus *bus, const char *path)
{
        int r = sd_bus_add_object_vtable(bus, NULL, path, MEMHP_BUS_INTERFACE, devices_vtable, m);

        if (r < 0)
                return r;
        manager_device_signals_start(m);
        return 0;
}
