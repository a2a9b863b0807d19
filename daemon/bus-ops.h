/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OnlineBlocks/OfflineBlocks and the device methods built on them (manager-bus-ops.c): a D-Bus
 * call turned into an operation (operation.h) that replies when it ends.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "manager.h"

/**
 * bus_ops_online() - online @ids as one operation, in the order given, replying to @msg with
 * a(uss) (each block's state and zone read back from sysfs, in the order of @ids).
 * @zone: "movable", "kernel" or "auto" (what each block's policy would do)
 *
 * Return: 1 or 0 (the reply comes later, or was sent), or a negative errno with @error set
 * for a refused request.
 */
int bus_ops_online(Manager *m, sd_bus_message *msg, const uint32_t *ids, size_t n, const char *zone,
                   sd_bus_error *error);

/**
 * bus_ops_offline() - offline @ids as one operation, highest address first, replying a(uss) in
 * the order of @ids; with @device, also "b removable": every block of that device is offline
 * once the operation is over.
 */
int bus_ops_offline(Manager *m, sd_bus_message *msg, const uint32_t *ids, size_t n,
                    const char *device, sd_bus_error *error);

/* The node of @id, or -1 when it cannot be found now; what the table knows is not changed. */
int bus_block_node(Manager *m, uint32_t id, int hint);

/* The nodes ListNodes() and the node methods report: the possible ones and those with blocks. */
void bus_nodes(Manager *m, NodeMask *ret);

/* OnlineBlocks() and OfflineBlocks(), run once the caller is authorized (bus-auth.h). */
int bus_do_online_blocks(Manager *m, sd_bus_message *msg, sd_bus_error *error);
int bus_do_offline_blocks(Manager *m, sd_bus_message *msg, sd_bus_error *error);
