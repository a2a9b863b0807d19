/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.memhpd1 on the system bus. The bus is optional: memhpd onlines memory without it, waits
 * for the socket to appear (early boot) and reconnects when dbus restarts. Mutating methods check
 * the caller themselves, with credentials the bus daemon reports, on top of the bus policy.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-auth.h"
#include "bus-ops.h"
#include "manager-devices.h"
#include "log.h"
#include "manager.h"
#include "memhp-api.h"
#include "nodemask.h"
#include "operation.h"
#include "placement.h"
#include "request.h"
#include "strutil.h"
#include "zoneinfo.h"

static int do_set_node_policy(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        const char *policy;
        NodeMask possible;
        uint32_t node;
        Policy p;
        int r;

        r = sd_bus_message_read(msg, "us", &node, &policy);
        if (r < 0)
                return r;
        p = policy_from_string(policy);
        if (p < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown policy '%s': expected " MEMHP_POLICY_CHOICES ".",
                                         policy);
        if (nodemask_read(m->sysfs, "possible", &possible) < 0) {
                possible = (NodeMask){};
                possible.bits[0] = 1; /* no NUMA: node 0 only */
        }
        if (!nodemask_test(&possible, node))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Node %" PRIu32 " is not a possible node on this system.",
                                         node);
        m->config->node_policy[node] = (int8_t)p;
        log_notice("Node %" PRIu32 " policy set to %s at runtime (until reload or restart).", node,
                   policy);
        manager_request_rescan(m, "node policy changed");
        return sd_bus_reply_method_return(msg, NULL);
}

static int do_reload(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        int r = manager_reload(m);

        if (r < 0)
                return sd_bus_error_setf(error, MEMHP_ERROR_INVALID_CONFIG,
                                         "The configuration is invalid, the running one is kept "
                                         "(see the log).");
        return sd_bus_reply_method_return(msg, NULL);
}

static int do_rescan(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        (void)error;
        manager_request_rescan(m, "requested over D-Bus");
        return sd_bus_reply_method_return(msg, NULL);
}

static int do_cancel(Manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        (void)error;
        return sd_bus_reply_method_return(
                msg, "u", operation_cancel_owner(m, sd_bus_message_get_sender(msg)));
}

#define PRIVILEGED_METHOD(name, fn)                                               \
        static int name(sd_bus_message *msg, void *userdata, sd_bus_error *error) \
        {                                                                         \
                return bus_authorize(userdata, msg, fn, error);                   \
        }

PRIVILEGED_METHOD(method_online_blocks, bus_do_online_blocks)
PRIVILEGED_METHOD(method_offline_blocks, bus_do_offline_blocks)
PRIVILEGED_METHOD(method_set_node_policy, do_set_node_policy)
PRIVILEGED_METHOD(method_reload, do_reload)
PRIVILEGED_METHOD(method_rescan, do_rescan)
PRIVILEGED_METHOD(method_cancel, do_cancel)

static int method_list_blocks(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r, hint = m->node_hint;

        (void)error;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(uuss)");
        if (r < 0)
                return r;
        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                BlockEntry *e = blockmap_peek(&m->blocks, id);
                int node = bus_block_node(m, id, hint);
                const char *st =
                        e->state >= 0 ? mem_state_to_string((MemState)e->state) : "offline";

                r = sd_bus_message_append(
                        reply, "(uuss)", id, node < 0 ? MEMHP_NODE_UNKNOWN : (uint32_t)node, st,
                        e->state == MEM_STATE_ONLINE ? mem_zone_to_string((MemZone)e->zone) : "");
                if (r < 0)
                        return r;
                if (node >= 0)
                        hint = node;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_nodes(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ NodeZones *zones = NULL;
        Manager *m = userdata;
        NodeMask nodes;
        size_t n_zones = 0;
        int r;

        (void)error;
        bus_nodes(m, &nodes);
        (void)zoneinfo_read(m->sysfs, &zones, &n_zones);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ustt)");
        if (r < 0)
                return r;
        for (unsigned node = 0; node < MEMHP_MAX_NODES; node++) {
                uint64_t k = 0, mv = 0;

                if (!nodemask_test(&nodes, node) && node >= n_zones)
                        continue;
                if (node < n_zones) {
                        k = zones[node].kernel_pages * m->page_size;
                        mv = zones[node].movable_pages * m->page_size;
                }
                r = sd_bus_message_append(reply, "(ustt)", node,
                                          conf_node_policy_to_string(m->config, node), k, mv);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        (void)bus, (void)path, (void)interface, (void)property, (void)userdata, (void)error;
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_block_size(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        Manager *m = userdata;

        (void)bus, (void)path, (void)interface, (void)property, (void)error;
        return sd_bus_message_append(reply, "t", m->block_size);
}

static int property_get_event_source(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        Manager *m = userdata;

        (void)bus, (void)path, (void)interface, (void)property, (void)error;
        return sd_bus_message_append(reply, "s", event_source_to_string(m->event_source));
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BlockSizeBytes", "t", property_get_block_size, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("EventSource", "s", property_get_event_source, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HeldBlocks", "au", manager_bus_get_held_blocks, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListBlocks", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(uuss)", blocks),
                                method_list_blocks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNodes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ustt)", nodes),
                                method_list_nodes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OnlineBlocks", SD_BUS_ARGS("au", blocks, "s", zone),
                                SD_BUS_RESULT("a(uss)", results), method_online_blocks,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OfflineBlocks", SD_BUS_ARGS("au", blocks),
                                SD_BUS_RESULT("a(uss)", results), method_offline_blocks,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetNodePolicy", SD_BUS_ARGS("u", node, "s", policy),
                                SD_BUS_NO_RESULT, method_set_node_policy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Rescan", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_rescan,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", cancelled),
                                method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("BlockChanged", SD_BUS_ARGS("u", block, "s", state, "s", zone), 0),
        SD_BUS_VTABLE_END,
};

static int on_bus_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        (void)usec;
        manager_bus_free(m);
        (void)manager_bus_connect(m);
        return 0;
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;

        (void)msg;
        (void)error;
        log_warning("Lost the system bus; onlining goes on, reconnecting when it is back.");
        /* Not from inside the bus's own callback: replace the connection from a timer. */
        m->bus_retry = sd_event_source_disable_unref(m->bus_retry);
        (void)sd_event_add_time_relative(m->event, &m->bus_retry, CLOCK_MONOTONIC, 1000000, 0,
                                         on_bus_retry, m);
        return 0;
}

static int on_name(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        (void)userdata;
        (void)error;
        if (sd_bus_message_is_method_error(reply, NULL))
                log_error("Failed to acquire the bus name %s: %s. The D-Bus API is unavailable; "
                          "onlining goes on.",
                          MEMHP_BUS_NAME, sd_bus_message_get_error(reply)->message);
        else
                log_info("Serving %s on the system bus.", MEMHP_BUS_NAME);
        return 0;
}

int manager_bus_connect(Manager *m)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        int r;

        m->block_changed = manager_emit_block_changed;
        r = sd_bus_new(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate a bus connection: %m");
        r = sd_bus_set_address(bus, address ?: "unix:path=/run/dbus/system_bus_socket");
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        /* Early in boot the socket does not exist yet: connect when it appears. */
        if (r >= 0)
                r = sd_bus_set_watch_bind(bus, true);
        if (r >= 0)
                r = sd_bus_set_connected_signal(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE,
                                             manager_vtable, m);
        if (r >= 0)
                r = manager_devices_bus_add(m, bus, MEMHP_BUS_PATH);
        if (r >= 0)
                r = manager_metrics_bus_add(m, bus, MEMHP_BUS_PATH);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus.Local", NULL,
                                              "org.freedesktop.DBus.Local", "Disconnected",
                                              on_disconnected, NULL, m);
        if (r >= 0)
                r = sd_bus_request_name_async(bus, NULL, MEMHP_BUS_NAME, 0, on_name, m);
        if (r < 0)
                return log_warning_errno(r, "Failed to set up the system bus, the D-Bus API is "
                                            "unavailable: %m");
        m->bus = TAKE_PTR(bus);
        return 0;
}

void manager_bus_free(Manager *m)
{
        manager_signals_free(m);
        manager_device_signals_free(m);
        m->bus_retry = sd_event_source_disable_unref(m->bus_retry);
        m->bus = sd_bus_flush_close_unref(m->bus);
}
