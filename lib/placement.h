/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where an offline block goes, and what it costs its node. The policy pass (uevents, scans) and
 * OnlineBlocks with zone "auto" decide the same way: the block's policy, and for auto-movable the
 * node's zone sizes, counting the blocks already decided in the same pass or request, so that a
 * burst of blocks on one node splits by the ratio instead of all landing in one zone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockmap.h"
#include "conf.h"
#include "policy.h"
#include "sysfs.h"

/* Zone sizes per node as one pass of decisions sees them: read once, then counted into. */
typedef struct PlacementLedger {
        NodeZones *nodes; /* indexed by node */
        size_t n_nodes;
} PlacementLedger;

typedef enum PlaceFlags {
        /* An administrator asked for this block to go online: "ignore" means the kernel picks
         * the zone (plain "online") instead of leaving the block offline. */
        PLACE_EXPLICIT = 1 << 0,
        /* The block is online already: decide, but count it nowhere (it is in the sizes). */
        PLACE_NO_COUNT = 1 << 1,
} PlaceFlags;

/* The entry of @node, growing the ledger (new nodes start empty); NULL on ENOMEM. */
NodeZones *placement_ledger_at(PlacementLedger *l, unsigned node);
void placement_ledger_clear(PlacementLedger *l);

/**
 * placement_ledger_load() - the present pages of every node, for the ratio guard.
 * @blocks: fallback when proc/zoneinfo cannot be read: count the online blocks of the table
 * @block_pages: pages per block, for that count
 *
 * Return: 0 from zoneinfo, 1 counted from @blocks (zoneinfo unreadable), -ENOMEM.
 */
int placement_ledger_load(PlacementLedger *l, const Sysfs *s, const BlockMap *blocks,
                          uint64_t block_pages);

/**
 * placement_place() - the action for one block of @node, counted in @ledger.
 * @policy: the block's policy (conf_policy_for() of its node and source)
 * @movable_ratio: MovableRatio=, for auto-movable
 * @node: the block's node, or negative when it is unknown (no zone sizes)
 * @ledger: zone sizes; only auto-movable reads and counts them. May be NULL (counts as empty).
 *
 * Return: the action; MEM_ACTION_NONE leaves the block alone (never with PLACE_EXPLICIT).
 */
MemAction placement_place(Policy policy, unsigned movable_ratio, PlacementLedger *ledger, int node,
                          uint64_t block_pages, PlaceFlags flags);

/**
 * placement_block_node() - the node of a block, from what the table knows or the nodeN link.
 * @numa: the system has nodes (sys/devices/system/node); without them every block is node 0
 * @e: the block's entry (may be NULL); its cached node is used, never written
 * @hint: node to try first (the last one seen), or MEMBLOCK_NODE_NONE
 *
 * Return: 0; -ENODATA while the kernel has not created the link yet; -ENOENT when the block is
 * gone; other -errno.
 */
int placement_block_node(const Sysfs *s, bool numa, uint32_t id, const BlockEntry *e, int hint,
                         int *ret_node);
