/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * placement.h: one decision for the policy pass and OnlineBlocks(auto): the block's policy, the
 * ratio guard over a ledger that counts each placed block, and a block's node from the table or
 * its nodeN link. Expected zones are worked out by hand from the ratio, not by policy_decide().
 */
#include "fixture.h"
#include "macro.h"
#include "memblock.h"
#include "placement.h"
#include "test-util.h"

#define PAGES 100 /* per block, to keep the arithmetic readable */

/* What the daemon does for a block of unknown source: the config's policy for it, placed. */
static MemAction place(const MemhpConfig *c, PlacementLedger *l, int node, PlaceFlags flags)
{
        return placement_place(
                conf_policy_for(c, PLATFORM_GENERIC, node, MEM_SOURCE_UNKNOWN).policy,
                c->movable_ratio, l, node, PAGES, flags);
}

static MemhpConfig config(Policy dflt)
{
        MemhpConfig c;

        conf_init_defaults(&c);
        c.default_auto = false;
        c.default_policy = dflt;
        return c;
}

TEST(fixed_policies_leave_the_ledger_alone)
{
        MemhpConfig c = config(POLICY_ONLINE_MOVABLE);
        PlacementLedger l = {};

        c.node_policy[1] = POLICY_ONLINE_KERNEL;
        c.node_policy[2] = POLICY_ONLINE;
        c.node_policy[3] = POLICY_IGNORE;
        ASSERT_EQ(place(&c, &l, 0, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(place(&c, &l, 1, 0), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(place(&c, &l, 2, 0), MEM_ACTION_ONLINE);
        ASSERT_EQ(place(&c, &l, 3, 0), MEM_ACTION_NONE);
        /* A node without a policy of its own takes the default. */
        ASSERT_EQ(place(&c, &l, 4, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(l.n_nodes, 0);
        placement_ledger_clear(&l);
}

TEST(explicit_request_onlines_ignored_nodes)
{
        MemhpConfig c = config(POLICY_IGNORE);

        /* The policy pass leaves an "ignore" node alone; an administrator's request does not. */
        ASSERT_EQ(place(&c, NULL, 0, 0), MEM_ACTION_NONE);
        ASSERT_EQ(place(&c, NULL, 0, PLACE_EXPLICIT), MEM_ACTION_ONLINE);
        ASSERT_EQ(place(&c, NULL, -1, PLACE_EXPLICIT), MEM_ACTION_ONLINE);
        /* PLACE_EXPLICIT changes nothing for a policy that onlines anyway. */
        c.default_policy = POLICY_ONLINE_KERNEL;
        ASSERT_EQ(place(&c, NULL, 0, PLACE_EXPLICIT), MEM_ACTION_ONLINE_KERNEL);
}

TEST(auto_movable_burst_splits_by_ratio)
{
        MemhpConfig c = config(POLICY_AUTO_MOVABLE);
        PlacementLedger l = {};
        NodeZones *z;
        /* Ratio 301%, kernel 100 pages: movable may grow to 301, so three blocks of 100 fit;
         * the fourth goes to the kernel zone (kernel 200, limit 602), then three more fit. */
        static const MemAction want[] = {
                MEM_ACTION_ONLINE_MOVABLE, MEM_ACTION_ONLINE_MOVABLE, MEM_ACTION_ONLINE_MOVABLE,
                MEM_ACTION_ONLINE_KERNEL,  MEM_ACTION_ONLINE_MOVABLE, MEM_ACTION_ONLINE_MOVABLE,
                MEM_ACTION_ONLINE_MOVABLE, MEM_ACTION_ONLINE_KERNEL,
        };

        c.movable_ratio = 301;
        z = placement_ledger_at(&l, 1);
        ASSERT_TRUE(z);
        z->kernel_pages = PAGES;
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                ASSERT_EQ(place(&c, &l, 1, 0), want[i]);
        ASSERT_EQ(l.nodes[1].kernel_pages, 3 * PAGES);
        ASSERT_EQ(l.nodes[1].movable_pages, 6 * PAGES);
        /* Node 0 was not touched by node 1's blocks. */
        ASSERT_EQ(l.nodes[0].kernel_pages, 0);
        ASSERT_EQ(l.nodes[0].movable_pages, 0);
        placement_ledger_clear(&l);
        ASSERT_TRUE(l.nodes == NULL);
        ASSERT_EQ(l.n_nodes, 0);
}

TEST(auto_movable_new_node_counts_from_zero)
{
        MemhpConfig c = config(POLICY_AUTO_MOVABLE);
        PlacementLedger l = {};

        /* A node the ledger has never seen (memory-less until now): kernel memory first, then
         * the ratio applies to what this pass placed. */
        c.movable_ratio = 100;
        ASSERT_EQ(place(&c, &l, 5, 0), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(place(&c, &l, 5, 0), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(place(&c, &l, 5, 0), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(l.n_nodes, 6);
        ASSERT_EQ(l.nodes[5].kernel_pages, 2 * PAGES);
        ASSERT_EQ(l.nodes[5].movable_pages, PAGES);
        placement_ledger_clear(&l);
}

TEST(no_count_and_unknown_node)
{
        MemhpConfig c = config(POLICY_ONLINE_KERNEL);
        PlacementLedger l = {};

        c.node_policy[0] = POLICY_AUTO_MOVABLE;
        ASSERT_TRUE(placement_ledger_at(&l, 0));
        l.nodes[0].kernel_pages = 10 * PAGES;
        /* An online block is decided but not counted again. */
        for (int i = 0; i < 5; i++)
                ASSERT_EQ(place(&c, &l, 0, PLACE_NO_COUNT), MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(l.nodes[0].kernel_pages, 10 * PAGES);
        ASSERT_EQ(l.nodes[0].movable_pages, 0);
        /* Unknown node: node 0's policy, but no node's sizes (counts as empty: kernel first). */
        ASSERT_EQ(place(&c, &l, -1, 0), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(l.nodes[0].kernel_pages, 10 * PAGES);
        ASSERT_EQ(l.nodes[0].movable_pages, 0);
        /* Without a ledger auto-movable sees an empty node. */
        ASSERT_EQ(place(&c, NULL, 0, 0), MEM_ACTION_ONLINE_KERNEL);
        placement_ledger_clear(&l);
}

TEST(ledger_at)
{
        PlacementLedger l = {};
        NodeZones *z;

        z = placement_ledger_at(&l, 2);
        ASSERT_TRUE(z);
        z->movable_pages = 7;
        ASSERT_EQ(l.n_nodes, 3);
        z = placement_ledger_at(&l, 40);
        ASSERT_TRUE(z);
        ASSERT_EQ(l.n_nodes, 41);
        /* Growth keeps what was there and zeroes the new nodes. */
        ASSERT_EQ(l.nodes[2].movable_pages, 7);
        for (size_t i = 3; i <= 40; i++)
                ASSERT_TRUE(l.nodes[i].kernel_pages == 0 && l.nodes[i].movable_pages == 0);
        /* Lookups below the size do not shrink or move it. */
        ASSERT_TRUE(placement_ledger_at(&l, 2) == &l.nodes[2]);
        ASSERT_EQ(l.n_nodes, 41);
        ASSERT_TRUE(placement_ledger_at(&l, MEMHP_MAX_NODES - 1));
        ASSERT_TRUE(placement_ledger_at(&l, MEMHP_MAX_NODES) == NULL);
        ASSERT_EQ(l.n_nodes, MEMHP_MAX_NODES);
        placement_ledger_clear(&l);
}

static void set_block(BlockMap *m, uint32_t id, int node, MemState st, MemZone zone)
{
        BlockEntry *e = blockmap_get(m, id);

        ASSERT_TRUE(e);
        blockmap_set_present(m, e, true);
        e->node = (int16_t)node;
        e->state = (int8_t)st;
        e->zone = (int8_t)zone;
}

TEST(ledger_load)
{
        _cleanup_(blockmap_done) BlockMap blocks = {};
        PlacementLedger l = {};
        Fixture *f;
        Sysfs *s;

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));
        set_block(&blocks, 0, 0, MEM_STATE_ONLINE, MEM_ZONE_NORMAL);
        set_block(&blocks, 1, 0, MEM_STATE_ONLINE, MEM_ZONE_DMA32);
        set_block(&blocks, 2, 0, MEM_STATE_ONLINE, MEM_ZONE_NONE);
        set_block(&blocks, 3, 2, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        set_block(&blocks, 4, 2, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
        set_block(&blocks, 5, -1, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE); /* node not known */
        set_block(&blocks, 6, 2, MEM_STATE_ONLINE, MEM_ZONE_DEVICE);

        /* zoneinfo wins over the table. */
        ASSERT_OK(fixture_write_zoneinfo(f, "Node 0, zone   Normal\n  pages free 1\n"
                                            "        present  4096\n"
                                            "Node 1, zone  Movable\n  pages free 1\n"
                                            "        present  512\n"));
        ASSERT_EQ(placement_ledger_load(&l, s, &blocks, PAGES), 0);
        ASSERT_EQ(l.n_nodes, 2);
        ASSERT_EQ(l.nodes[0].kernel_pages, 4096);
        ASSERT_EQ(l.nodes[0].movable_pages, 0);
        ASSERT_EQ(l.nodes[1].movable_pages, 512);

        /* No zoneinfo: the online blocks of known nodes, "none" counted as kernel memory. */
        ASSERT_OK(fixture_write(f, "proc/zoneinfo", "this is not zoneinfo\n"));
        ASSERT_EQ(placement_ledger_load(&l, s, &blocks, PAGES), 1);
        ASSERT_EQ(l.n_nodes, 3);
        ASSERT_EQ(l.nodes[0].kernel_pages, 3 * PAGES);
        ASSERT_EQ(l.nodes[0].movable_pages, 0);
        ASSERT_EQ(l.nodes[1].kernel_pages, 0);
        ASSERT_EQ(l.nodes[2].kernel_pages, 0);
        ASSERT_EQ(l.nodes[2].movable_pages, PAGES);

        placement_ledger_clear(&l);
        sysfs_free(s);
        fixture_free(f);
}

TEST(block_node)
{
        BlockEntry cached = {.node = 3}, unknown = {.node = MEMBLOCK_NODE_NONE};
        Fixture *f;
        Sysfs *s;
        int node;

        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(fixture_add_block(f, 10, 1, "online", "Normal"));
        ASSERT_OK(fixture_add_block(f, 11, -1, "offline", "Movable"));

        /* Without NUMA every block is node 0, whatever the tree or the table say. */
        node = -5;
        ASSERT_OK(placement_block_node(s, false, 10, &cached, 1, &node));
        ASSERT_EQ(node, 0);
        /* The table's node wins (no sysfs read: block 99 does not exist). */
        ASSERT_OK(placement_block_node(s, true, 99, &cached, 1, &node));
        ASSERT_EQ(node, 3);
        /* Not known: the link, with or without an entry; the entry is not written. */
        ASSERT_OK(placement_block_node(s, true, 10, &unknown, MEMBLOCK_NODE_NONE, &node));
        ASSERT_EQ(node, 1);
        ASSERT_EQ(unknown.node, MEMBLOCK_NODE_NONE);
        node = -5;
        ASSERT_OK(placement_block_node(s, true, 10, NULL, 0, &node));
        ASSERT_EQ(node, 1);
        /* No link yet, and gone. */
        ASSERT_ERROR(placement_block_node(s, true, 11, &unknown, 1, &node), ENODATA);
        ASSERT_ERROR(placement_block_node(s, true, 12, NULL, 1, &node), ENOENT);

        sysfs_free(s);
        fixture_free(f);
}
