/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "alloc-util.h"
#include "memblock.h"
#include "nodemask.h"
#include "placement.h"
#include "zoneinfo.h"

NodeZones *placement_ledger_at(PlacementLedger *l, unsigned node)
{
        if (node >= l->n_nodes) {
                /* zoneinfo_read() may have filled the table: only nodes past n_nodes are new. */
                size_t zeroed_from = l->n_nodes;

                if (node >= MEMHP_MAX_NODES ||
                    GREEDY_REALLOC0(l->nodes, zeroed_from, (size_t)node + 1) < 0)
                        return NULL;
                l->n_nodes = (size_t)node + 1;
        }
        return &l->nodes[node];
}

void placement_ledger_clear(PlacementLedger *l)
{
        free(l->nodes);
        *l = (PlacementLedger){};
}

int placement_ledger_load(PlacementLedger *l, const Sysfs *s, const BlockMap *blocks,
                          uint64_t block_pages)
{
        placement_ledger_clear(l);
        if (zoneinfo_read(s, &l->nodes, &l->n_nodes) >= 0)
                return 0;
        /* Without zoneinfo the table knows every online block; boot memory in none counts as
         * kernel memory, as it cannot be offlined. */
        for (uint32_t id = 0; blockmap_next(blocks, &id); id++) {
                const BlockEntry *e = blockmap_peek(blocks, id);
                NodeZones *z;

                if (e->state != MEM_STATE_ONLINE || e->node < 0)
                        continue;
                z = placement_ledger_at(l, (unsigned)e->node);
                if (!z)
                        return -ENOMEM;
                if (e->zone == MEM_ZONE_MOVABLE)
                        z->movable_pages += block_pages;
                else if (mem_zone_is_kernel((MemZone)e->zone) || e->zone == MEM_ZONE_NONE)
                        z->kernel_pages += block_pages;
        }
        return 1;
}

MemAction placement_place(Policy policy, unsigned movable_ratio, PlacementLedger *ledger, int node,
                          uint64_t block_pages, PlaceFlags flags)
{
        NodeZones *z = NULL;
        MemAction a;

        /* Only the ratio guard looks at zone sizes; the fixed policies need no ledger. */
        if (policy == POLICY_AUTO_MOVABLE && ledger && node >= 0)
                z = placement_ledger_at(ledger, (unsigned)node);
        a = policy_decide(policy, movable_ratio, z, block_pages);
        if (a == MEM_ACTION_NONE && (flags & PLACE_EXPLICIT))
                a = MEM_ACTION_ONLINE;
        /* Later decisions of the same pass must see this block as placed. */
        if (z && !(flags & PLACE_NO_COUNT)) {
                if (a == MEM_ACTION_ONLINE_MOVABLE)
                        z->movable_pages += block_pages;
                else if (a == MEM_ACTION_ONLINE_KERNEL)
                        z->kernel_pages += block_pages;
        }
        return a;
}

int placement_block_node(const Sysfs *s, bool numa, uint32_t id, const BlockEntry *e, int hint,
                         int *ret_node)
{
        if (!numa) {
                *ret_node = 0;
                return 0;
        }
        if (e && e->node >= 0) {
                *ret_node = e->node;
                return 0;
        }
        return memblock_read_node(s, id, hint, ret_node);
}
