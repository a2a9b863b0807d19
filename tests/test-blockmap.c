/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blockmap.h: sparse id -> BlockEntry map, presence counting and id-order iteration. */
#include "blockmap.h"
#include "macro.h"
#include "memblock.h"
#include "test-util.h"

static void assert_fresh(const BlockEntry *e)
{
        ASSERT_TRUE(e);
        ASSERT_EQ(e->flags, 0);
        ASSERT_EQ(e->state, -1);
        ASSERT_EQ(e->node, MEMBLOCK_NODE_NONE);
        ASSERT_EQ(e->attempts, 0);
}

TEST(empty)
{
        BlockMap m = {};
        uint32_t id = 0;

        ASSERT_TRUE(blockmap_peek(&m, 0) == NULL);
        ASSERT_TRUE(blockmap_peek(&m, UINT32_MAX) == NULL);
        ASSERT_TRUE(!blockmap_next(&m, &id));
        ASSERT_EQ(m.n_present, 0);
        blockmap_done(&m);
        blockmap_done(&m); /* idempotent on an empty map */
}

TEST(get_peek)
{
        BlockMap m = {};
        BlockEntry *e, *e2;

        e = blockmap_get(&m, 5);
        assert_fresh(e);
        /* Same id, same entry; peek sees it now. */
        ASSERT_TRUE(blockmap_get(&m, 5) == e);
        ASSERT_TRUE(blockmap_peek(&m, 5) == e);
        /* An absent id in an allocated chunk: an entry, but not present and "unknown". */
        e2 = blockmap_peek(&m, 6);
        assert_fresh(e2);
        ASSERT_TRUE(e2 != e);
        ASSERT_TRUE(blockmap_peek(&m, 1023) != NULL);
        /* The next chunk does not exist yet. */
        ASSERT_TRUE(blockmap_peek(&m, 1024) == NULL);
        ASSERT_TRUE(blockmap_peek(&m, 100000) == NULL);

        /* Data written through get() is what peek() returns. */
        e->flags = BLOCK_QUEUED;
        e->state = MEM_STATE_ONLINE;
        e->zone = MEM_ZONE_MOVABLE;
        e->node = 3;
        e->attempts = 2;
        e2 = blockmap_peek(&m, 5);
        ASSERT_EQ(e2->flags, BLOCK_QUEUED);
        ASSERT_EQ(e2->state, MEM_STATE_ONLINE);
        ASSERT_EQ(e2->zone, MEM_ZONE_MOVABLE);
        ASSERT_EQ(e2->node, 3);
        ASSERT_EQ(e2->attempts, 2);
        /* Neighbours are untouched. */
        assert_fresh(blockmap_peek(&m, 4));
        assert_fresh(blockmap_peek(&m, 6));
        ASSERT_EQ(m.n_present, 0);
        blockmap_done(&m);
        ASSERT_TRUE(m.chunks == NULL);
        ASSERT_EQ(m.n_chunks, 0);
        ASSERT_EQ(m.n_present, 0);
}

TEST(sparse)
{
        static const uint32_t ids[] = {0, 1023, 1024, 4000000};
        BlockMap m = {};
        BlockEntry *e[ELEMENTSOF(ids)];

        /* Allocate out of order: the far id first, so earlier chunks are created later. */
        e[3] = blockmap_get(&m, ids[3]);
        e[0] = blockmap_get(&m, ids[0]);
        e[2] = blockmap_get(&m, ids[2]);
        e[1] = blockmap_get(&m, ids[1]);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                assert_fresh(e[i]);
                e[i]->node = (int16_t)(i + 10);
        }
        /* Entries stay valid and distinct after later get()s grew the chunk table. */
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                BlockEntry *p = blockmap_peek(&m, ids[i]);
                ASSERT_TRUE(p == e[i]);
                ASSERT_EQ(p->node, (int)(i + 10));
                ASSERT_TRUE(blockmap_get(&m, ids[i]) == e[i]);
        }
        /* Chunks are 1024 ids: 0-1023, 1024-2047, ... only touched ones exist. */
        ASSERT_TRUE(blockmap_peek(&m, 2048) == NULL);
        ASSERT_TRUE(blockmap_peek(&m, 4000000 - 1024) == NULL);
        ASSERT_TRUE(blockmap_peek(&m, 4000001) != NULL);
        ASSERT_TRUE(blockmap_peek(&m, 4000000 + 1024) == NULL);
        ASSERT_TRUE(blockmap_peek(&m, UINT32_MAX) == NULL);
        blockmap_done(&m);
}

TEST(present_counting)
{
        BlockMap m = {};
        BlockEntry *a = blockmap_get(&m, 7), *b = blockmap_get(&m, 4000000);

        blockmap_set_present(&m, a, true);
        ASSERT_EQ(m.n_present, 1);
        ASSERT_EQ(a->flags, BLOCK_PRESENT);
        ASSERT_EQ(a->state, -1);
        ASSERT_EQ(a->node, MEMBLOCK_NODE_NONE);
        /* Setting present twice counts once. */
        blockmap_set_present(&m, a, true);
        ASSERT_EQ(m.n_present, 1);
        blockmap_set_present(&m, b, true);
        ASSERT_EQ(m.n_present, 2);

        /* A present block keeps what the daemon learnt while it stays present... */
        a->state = MEM_STATE_OFFLINE;
        a->node = 1;
        a->flags |= BLOCK_QUEUED | BLOCK_FAILED;
        blockmap_set_present(&m, a, true);
        ASSERT_EQ(a->state, MEM_STATE_OFFLINE);
        ASSERT_EQ(a->node, 1);
        ASSERT_EQ(a->flags, BLOCK_PRESENT | BLOCK_QUEUED | BLOCK_FAILED);
        ASSERT_EQ(m.n_present, 2);

        /* ...and forgets it when it goes away: a block that comes back starts over. */
        blockmap_set_present(&m, a, false);
        ASSERT_EQ(m.n_present, 1);
        assert_fresh(a);
        blockmap_set_present(&m, a, false);
        ASSERT_EQ(m.n_present, 1); /* no underflow for an absent block */
        blockmap_set_present(&m, a, true);
        ASSERT_EQ(a->flags, BLOCK_PRESENT);
        ASSERT_EQ(a->state, -1);
        ASSERT_EQ(a->node, MEMBLOCK_NODE_NONE);
        ASSERT_EQ(m.n_present, 2);

        blockmap_set_present(&m, a, false);
        blockmap_set_present(&m, b, false);
        ASSERT_EQ(m.n_present, 0);
        blockmap_set_present(&m, b, false);
        ASSERT_EQ(m.n_present, 0);
        blockmap_done(&m);
        ASSERT_EQ(m.n_present, 0);
}

static size_t collect(const BlockMap *m, uint32_t *out, size_t max)
{
        size_t n = 0;

        for (uint32_t id = 0; blockmap_next(m, &id); id++) {
                ASSERT_TRUE(n < max);
                out[n++] = id;
        }
        return n;
}

TEST(iteration)
{
        /* Inserted out of order, with absent-but-allocated entries in between. */
        static const uint32_t ins[] = {4000000, 1024, 0, 3000, 1023, 5, 4000001, 2047};
        static const uint32_t want[] = {0, 5, 1023, 1024, 2047, 3000, 4000000, 4000001};
        BlockMap m = {};
        uint32_t got[16], id;
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(ins); i++)
                blockmap_set_present(&m, blockmap_get(&m, ins[i]), true);
        /* Allocated but never present: skipped. */
        ASSERT_TRUE(blockmap_get(&m, 6));
        ASSERT_TRUE(blockmap_get(&m, 100000));
        ASSERT_TRUE(blockmap_get(&m, 4000002));
        ASSERT_EQ(m.n_present, ELEMENTSOF(want));

        n = collect(&m, got, ELEMENTSOF(got));
        ASSERT_EQ(n, ELEMENTSOF(want));
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(got[i], want[i]);

        /* Starting in the middle: the next present id at or after the start. */
        id = 6;
        ASSERT_TRUE(blockmap_next(&m, &id));
        ASSERT_EQ(id, 1023);
        id = 1024;
        ASSERT_TRUE(blockmap_next(&m, &id));
        ASSERT_EQ(id, 1024);
        id = 3001;
        ASSERT_TRUE(blockmap_next(&m, &id));
        ASSERT_EQ(id, 4000000);
        /* From the middle of a chunk that was never allocated to the start of the next one. */
        id = 3072 + 500;
        ASSERT_TRUE(blockmap_next(&m, &id));
        ASSERT_EQ(id, 4000000);
        id = 4000000 - 1024 + 300;
        ASSERT_TRUE(blockmap_next(&m, &id));
        ASSERT_EQ(id, 4000000);
        id = 4000002;
        ASSERT_TRUE(!blockmap_next(&m, &id));
        id = 5000000; /* beyond the last chunk */
        ASSERT_TRUE(!blockmap_next(&m, &id));
        id = UINT32_MAX;
        ASSERT_TRUE(!blockmap_next(&m, &id));

        /* Removing blocks removes them from the iteration. */
        blockmap_set_present(&m, blockmap_peek(&m, 1024), false);
        blockmap_set_present(&m, blockmap_peek(&m, 0), false);
        blockmap_set_present(&m, blockmap_peek(&m, 4000001), false);
        n = collect(&m, got, ELEMENTSOF(got));
        ASSERT_EQ(n, 5);
        ASSERT_EQ(got[0], 5);
        ASSERT_EQ(got[1], 1023);
        ASSERT_EQ(got[2], 2047);
        ASSERT_EQ(got[3], 3000);
        ASSERT_EQ(got[4], 4000000);
        ASSERT_EQ(m.n_present, 5);
        blockmap_done(&m);

        /* After done() the map is empty and reusable. */
        id = 0;
        ASSERT_TRUE(!blockmap_next(&m, &id));
        ASSERT_TRUE(blockmap_peek(&m, 5) == NULL);
        blockmap_set_present(&m, blockmap_get(&m, 9), true);
        n = collect(&m, got, ELEMENTSOF(got));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(got[0], 9);
        blockmap_done(&m);
}

TEST(many)
{
        /* 65,536 present blocks, every other id: counting and iteration at daemon scale. */
        BlockMap m = {};
        uint32_t expect = 0;
        size_t n = 0;

        for (uint32_t id = 0; id < 131072; id += 2) {
                BlockEntry *e = blockmap_get(&m, id);
                ASSERT_TRUE(e);
                blockmap_set_present(&m, e, true);
        }
        ASSERT_EQ(m.n_present, 65536);
        for (uint32_t id = 0; blockmap_next(&m, &id); id++) {
                ASSERT_EQ(id, expect);
                expect += 2;
                n++;
        }
        ASSERT_EQ(n, 65536);
        blockmap_done(&m);
}

TEST(entry_stays_small)
{
        /* 65,536 blocks in 0.75 MiB: source and device took 4 more bytes, the flags are full. */
        ASSERT_EQ(sizeof(BlockEntry), 12);
        ASSERT_TRUE(BLOCK_COUNTED_ONLINE <= UINT16_MAX && BLOCK_DELAYED <= UINT16_MAX);
        ASSERT_TRUE(BLOCK_SOURCE_MASK >= 7 && (BLOCK_SOURCE_RECHECK & BLOCK_SOURCE_MASK) == 0);
        ASSERT_TRUE(BLOCK_SOURCE_RECHECK <= UINT8_MAX);
        ASSERT_TRUE((BLOCK_AWAIT_NODE & BLOCK_AWAIT_RETRY) == 0);
        ASSERT_TRUE((BLOCK_AWAIT_SOURCE & (BLOCK_AWAIT_NODE | BLOCK_AWAIT_RETRY)) == 0);
        ASSERT_TRUE((BLOCK_AWAIT_KERNEL &
                     (BLOCK_AWAIT_NODE | BLOCK_AWAIT_RETRY | BLOCK_AWAIT_SOURCE)) == 0);
}

TEST(observe)
{
        BlockMap m = {};
        BlockEntry *e = blockmap_get(&m, 3);

        ASSERT_TRUE(e);
        blockmap_set_present(&m, e, true);
        /* First read: offline, found so. Nothing is the admin's yet. */
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_EQ(e->flags, BLOCK_PRESENT);
        ASSERT_TRUE(!blockmap_observe(e, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN));

        /* Online after a failed try and two retries: the failure and the count are forgotten. */
        e->flags |= BLOCK_FAILED;
        e->attempts = 2;
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE));
        ASSERT_EQ(e->flags, BLOCK_PRESENT | BLOCK_SEEN_ONLINE);
        ASSERT_EQ(e->attempts, 0);
        ASSERT_EQ(e->state, MEM_STATE_ONLINE);
        ASSERT_EQ(e->zone, MEM_ZONE_MOVABLE);
        ASSERT_TRUE(!blockmap_observe(e, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE));
        /* Same state, another zone is a change too. */
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_ONLINE, MEM_ZONE_NORMAL));

        /* Online, then going offline or offline: someone offlined it, policy keeps off. */
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_GOING_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_TRUE(e->flags & BLOCK_ADMIN_OFFLINE);
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_TRUE(e->flags & BLOCK_ADMIN_OFFLINE);
        ASSERT_TRUE(e->flags & BLOCK_SEEN_ONLINE);
        /* Onlined again (by anyone): the policy may act on it once it goes offline anew... */
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_ONLINE, MEM_ZONE_NORMAL));
        ASSERT_TRUE(!(e->flags & BLOCK_ADMIN_OFFLINE));
        /* ...but an offline after that is the admin's again. */
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_TRUE(e->flags & BLOCK_ADMIN_OFFLINE);

        /* A block never seen online that stays offline is not the admin's. */
        e = blockmap_get(&m, 4);
        ASSERT_TRUE(e);
        blockmap_set_present(&m, e, true);
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_GOING_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_TRUE(!blockmap_observe(e, MEM_STATE_GOING_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_TRUE(blockmap_observe(e, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN));
        ASSERT_EQ(e->flags, BLOCK_PRESENT);
        blockmap_done(&m);
}

static BlockEventVerdict classify(uint16_t flags, int state, UeventAction action)
{
        BlockEntry e = {.flags = flags, .state = (int8_t)state, .node = MEMBLOCK_NODE_NONE};

        return blockmap_classify_uevent(&e, action);
}

TEST(classify_uevent)
{
        /* remove: gone, whatever is known or in flight. */
        ASSERT_EQ(classify(0, -1, UEVENT_REMOVE), BLOCK_EVENT_GONE);
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_WRITING, MEM_STATE_OFFLINE, UEVENT_REMOVE),
                  BLOCK_EVENT_GONE);

        /* add: a block not known is read; a known one under the same id starts over... */
        ASSERT_EQ(classify(0, -1, UEVENT_ADD), BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_ONLINE, UEVENT_ADD), BLOCK_EVENT_NEW);
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_ADMIN_OFFLINE, MEM_STATE_OFFLINE, UEVENT_ADD),
                  BLOCK_EVENT_NEW);
        /* ...unless a write of ours or an operation is on it: its completion tells. */
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_WRITING, MEM_STATE_OFFLINE, UEVENT_ADD),
                  BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_BUSY, MEM_STATE_OFFLINE, UEVENT_ADD),
                  BLOCK_EVENT_READ);

        /* online/offline: confirmations of what is known or in flight need no read. */
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_ONLINE, UEVENT_ONLINE), BLOCK_EVENT_IGNORE);
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_OFFLINE, UEVENT_OFFLINE), BLOCK_EVENT_IGNORE);
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_WRITING, MEM_STATE_OFFLINE, UEVENT_ONLINE),
                  BLOCK_EVENT_IGNORE);
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_BUSY, MEM_STATE_ONLINE, UEVENT_OFFLINE),
                  BLOCK_EVENT_IGNORE);
        /* News: someone else changed the block, or it was never read. */
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_OFFLINE, UEVENT_ONLINE), BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_ONLINE, UEVENT_OFFLINE), BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT, -1, UEVENT_ONLINE), BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_GOING_OFFLINE, UEVENT_OFFLINE),
                  BLOCK_EVENT_READ);
        /* A block not known to be present is read even if the stale state matches. */
        ASSERT_EQ(classify(0, MEM_STATE_ONLINE, UEVENT_ONLINE), BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_WRITING, MEM_STATE_OFFLINE, UEVENT_OFFLINE), BLOCK_EVENT_READ);

        /* change (udevadm trigger) and anything else: read, never act on the event alone. */
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_ONLINE, UEVENT_CHANGE), BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT | BLOCK_WRITING, MEM_STATE_ONLINE, UEVENT_CHANGE),
                  BLOCK_EVENT_READ);
        ASSERT_EQ(classify(BLOCK_PRESENT, MEM_STATE_ONLINE, _UEVENT_ACTION_MAX), BLOCK_EVENT_READ);
}
