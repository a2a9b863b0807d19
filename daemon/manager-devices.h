/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices, sources and nodes on the bus (manager-devices.c, manager-nodes.c,
 * manager-device-signals.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "manager.h"

/* What DescribeNodes() says of a node. */
typedef struct NodeFacts {
        uint32_t node;
        int has_cpus;     /* a D-Bus boolean */
        int32_t tier;     /* memory_tierN of sys/devices/virtual/memory_tiering, -1 in none */
        unsigned sources; /* bit per MemSource of its present blocks */
} NodeFacts;

/* One entry per node bus_nodes() reports, in node order. */
int manager_node_facts(Manager *m, NodeFacts **ret, size_t *ret_n);

/* The policy for blocks of @source on @node, and the rule that decided it ("[Node 1]"). */
Policy manager_effective_policy(Manager *m, unsigned node, MemSource source, char *rule,
                                size_t rule_size);

/* Adds the device methods and DeviceChanged to org.memhpd1.Manager on @path. */
int manager_devices_bus_add(Manager *m, sd_bus *bus, const char *path);

/* DeviceChanged: takes over the block_changed and device_changed observers. */
void manager_device_signals_start(Manager *m);
void manager_device_signals_free(Manager *m);
