/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model's zones: names, each block's pages per zone, the per-node zone spans and present
 * counts, and which zone an online would pick (valid_zones).
 */
#include <errno.h>
#include <string.h>

#include "sim-model-internal.h"
#include "sim.h"

static const char *const zone_names[NR_ZONES] = {
        [ZONE_DMA] = "DMA",         [ZONE_DMA32] = "DMA32",   [ZONE_NORMAL] = "Normal",
        [ZONE_MOVABLE] = "Movable", [ZONE_DEVICE] = "Device",
};

const char *zone_name(unsigned z)
{
        if (z == ZONE_NONE)
                return "none";
        return z < NR_ZONES ? zone_names[z] : "?";
}

int zone_from_name(const char *name)
{
        for (unsigned z = 0; z < NR_ZONES; z++)
                if (strcasecmp(name, zone_names[z]) == 0)
                        return z;
        if (strcasecmp(name, "none") == 0)
                return ZONE_NONE;
        return -EINVAL;
}

uint64_t block_start_pfn(const struct sim *s, const struct block *b)
{
        return (uint64_t)b->id * s->pages_per_block;
}

/* Pages of block b that sit in zone z while it is online. */
static void block_zone_range(const struct sim *s, const struct block *b, unsigned z,
                             uint64_t *ret_start, uint64_t *ret_end)
{
        uint64_t start = block_start_pfn(s, b), end = start + s->pages_per_block;
        uint64_t zs, ze;

        *ret_start = *ret_end = 0;
        if (b->state == BLOCK_OFFLINE)
                return;
        if (b->zone != ZONE_NONE) {
                if (b->zone == z) {
                        *ret_start = start;
                        *ret_end = end;
                }
                return;
        }
        /* A "none" boot block: split along the fixed x86-64 address boundaries. */
        switch (z) {
        case ZONE_DMA:
                zs = 0, ze = DMA_END_PFN;
                break;
        case ZONE_DMA32:
                zs = DMA_END_PFN, ze = DMA32_END_PFN;
                break;
        case ZONE_NORMAL:
                zs = DMA32_END_PFN, ze = UINT64_MAX;
                break;
        default:
                return;
        }
        zs = start > zs ? start : zs;
        ze = end < ze ? end : ze;
        if (zs < ze) {
                *ret_start = zs;
                *ret_end = ze;
        }
}

/* Adds (sign > 0) or removes block b's pages to/from its node's zone accounting. */
void account_locked(struct sim *s, const struct block *b, int sign)
{
        struct node *n = &s->nodes[b->node];

        for (unsigned z = 0; z < NR_ZONES; z++) {
                struct zspan *zs = &n->zones[z];
                uint64_t start, end;

                block_zone_range(s, b, z, &start, &end);
                if (start == end)
                        continue;
                if (sign > 0) {
                        zs->present += end - start;
                        if (zs->dirty)
                                continue;
                        if (zs->start == zs->end) {
                                zs->start = start;
                                zs->end = end;
                        } else {
                                zs->start = start < zs->start ? start : zs->start;
                                zs->end = end > zs->end ? end : zs->end;
                        }
                } else {
                        zs->present -= end - start;
                        /* Like shrink_zone_span(): only edge blocks shrink the span. */
                        if (zs->present == 0) {
                                zs->start = zs->end = 0;
                                zs->dirty = false;
                        } else if (start <= zs->start || end >= zs->end) {
                                zs->dirty = true;
                        }
                }
        }
}

void sim_zone_span_locked(struct sim *s, unsigned node, unsigned z, uint64_t *ret_start,
                          uint64_t *ret_end)
{
        struct zspan *zs = &s->nodes[node].zones[z];

        if (zs->dirty) {
                uint64_t lo = UINT64_MAX, hi = 0;

                for (size_t i = 0; i < s->n_blocks; i++) {
                        uint64_t start, end;

                        if (s->blocks[i].node != node)
                                continue;
                        block_zone_range(s, &s->blocks[i], z, &start, &end);
                        if (start == end)
                                continue;
                        lo = start < lo ? start : lo;
                        hi = end > hi ? end : hi;
                }
                zs->start = lo == UINT64_MAX ? 0 : lo;
                zs->end = lo == UINT64_MAX ? 0 : hi;
                zs->dirty = false;
        }
        *ret_start = zs->start;
        *ret_end = zs->end;
}

static bool zone_intersects(struct sim *s, unsigned node, unsigned z, uint64_t start, uint64_t end)
{
        uint64_t zs, ze;

        sim_zone_span_locked(s, node, z, &zs, &ze);
        if (zs == ze)
                return false;
        return start < ze && end > zs;
}

/* default_kernel_zone_for_pfn(): the first kernel zone that already spans the range. */
static unsigned default_kernel_zone(struct sim *s, unsigned node, uint64_t start, uint64_t end)
{
        for (unsigned z = ZONE_DMA; z <= ZONE_NORMAL; z++)
                if (zone_intersects(s, node, z, start, end))
                        return z;
        return ZONE_NORMAL;
}

/* zone_for_pfn_range() with the default online_policy "contig-zones". */
unsigned zone_for_op(struct sim *s, const struct block *b, enum online_op op)
{
        uint64_t start = block_start_pfn(s, b), end = start + s->pages_per_block;
        unsigned kz = default_kernel_zone(s, b->node, start, end);
        bool in_kernel, in_movable;

        if (op == OP_ONLINE_KERNEL)
                return kz;
        if (op == OP_ONLINE_MOVABLE)
                return ZONE_MOVABLE;
        /* Inherit the zone when exactly one of them already spans the block. */
        in_kernel = zone_intersects(s, b->node, kz, start, end);
        in_movable = zone_intersects(s, b->node, ZONE_MOVABLE, start, end);
        if (in_kernel != in_movable)
                return in_kernel ? kz : ZONE_MOVABLE;
        return s->movable_node ? ZONE_MOVABLE : kz;
}

int sim_valid_zones_locked(struct sim *s, const struct block *b, char *buf, size_t len)
{
        unsigned def, kz;

        /* valid_zones_show() tests MEM_ONLINE, so going-offline prints the offline form. */
        if (b->state == BLOCK_ONLINE)
                return snprintf(buf, len, "%s\n", zone_name(b->zone));
        def = zone_for_op(s, b, OP_ONLINE);
        kz = zone_for_op(s, b, OP_ONLINE_KERNEL);
        return snprintf(buf, len, "%s%s%s%s%s\n", zone_name(def), kz != def ? " " : "",
                        kz != def ? zone_name(kz) : "", def != ZONE_MOVABLE ? " " : "",
                        def != ZONE_MOVABLE ? "Movable" : "");
}
