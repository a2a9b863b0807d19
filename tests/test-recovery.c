/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* recovery.h: the restore transaction built from an intent record and the blocks' states now. */
#include "macro.h"
#include "recovery.h"
#include "test-util.h"

static Txn *record(TxnKind kind, uint64_t id, size_t n)
{
        Txn *t;

        ASSERT_OK(txn_new(id, kind, n, &t));
        return t;
}

static void set(Txn *t, size_t i, uint32_t id, MemState prior, MemZone zone)
{
        t->blocks[i] = (TxnBlock){.id = id, .prior_state = prior, .prior_zone = zone};
}

TEST(offline_interrupted)
{
        /* An offline of four blocks crashed after two; one block has since been removed. */
        Txn *old = record(TXN_OFFLINE, 42, 4), *rec = NULL;
        const MemState now[] = {MEM_STATE_OFFLINE, MEM_STATE_OFFLINE, MEM_STATE_ONLINE,
                                _MEM_STATE_INVALID};

        set(old, 0, 10, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        set(old, 1, 11, MEM_STATE_ONLINE, MEM_ZONE_NORMAL);
        set(old, 2, 12, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        set(old, 3, 13, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        ASSERT_EQ(recovery_txn_new(old, now, &rec), 2);
        ASSERT_EQ(rec->id, 42);
        ASSERT_EQ(rec->kind, TXN_RECOVER);
        ASSERT_EQ(rec->phase, TXN_FORWARD);
        ASSERT_EQ(rec->n_blocks, 2);
        /* Back into the zones they were in, in the record's order. */
        ASSERT_EQ(rec->blocks[0].id, 10);
        ASSERT_EQ(rec->blocks[0].action, MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(rec->blocks[0].state, MEM_STATE_OFFLINE);
        ASSERT_EQ(rec->blocks[1].id, 11);
        ASSERT_EQ(rec->blocks[1].action, MEM_ACTION_ONLINE_KERNEL);
        /* The original prior state stays in the record a crashed recovery would leave. */
        ASSERT_EQ(rec->blocks[1].prior_state, MEM_STATE_ONLINE);
        ASSERT_EQ(rec->blocks[1].prior_zone, MEM_ZONE_NORMAL);
        ASSERT_TRUE(!rec->blocks[0].changed && !rec->blocks[0].restored);
        txn_free(rec);
        txn_free(old);
}

TEST(online_interrupted)
{
        Txn *old = record(TXN_ONLINE, 7, 3), *rec = NULL;
        const MemState now[] = {MEM_STATE_ONLINE, MEM_STATE_GOING_OFFLINE, MEM_STATE_OFFLINE};
        TxnStep step;

        set(old, 0, 100, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
        set(old, 1, 101, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
        set(old, 2, 102, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
        ASSERT_EQ(recovery_txn_new(old, now, &rec), 2);
        ASSERT_EQ(rec->blocks[0].id, 100);
        ASSERT_EQ(rec->blocks[0].action, MEM_ACTION_OFFLINE);
        ASSERT_EQ(rec->blocks[0].state, MEM_STATE_ONLINE);
        ASSERT_EQ(rec->blocks[1].id, 101);
        ASSERT_EQ(rec->blocks[1].action, MEM_ACTION_OFFLINE);
        ASSERT_EQ(rec->blocks[1].state, MEM_STATE_GOING_OFFLINE);
        /* The machine the daemon runs writes both, in order. */
        ASSERT_EQ(txn_next(rec, &step), 1);
        ASSERT_EQ(step.block, 100);
        ASSERT_EQ(step.action, MEM_ACTION_OFFLINE);
        ASSERT_EQ(txn_step_done(rec, &step, 0, MEM_ZONE_UNKNOWN), 0);
        ASSERT_EQ(txn_next(rec, &step), 1);
        ASSERT_EQ(step.block, 101);
        ASSERT_EQ(txn_step_done(rec, &step, 1, MEM_ZONE_UNKNOWN), 0);
        ASSERT_EQ(txn_next(rec, &step), 0);
        ASSERT_EQ(txn_outcome(rec), TXN_OK);
        txn_free(rec);
        txn_free(old);
}

TEST(nothing_to_restore)
{
        Txn *old = record(TXN_OFFLINE, 9, 3), *rec = NULL;
        const MemState now[] = {MEM_STATE_ONLINE, -ENOENT, -EIO};
        Txn *empty = record(TXN_ONLINE, 10, 0);

        set(old, 0, 1, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        set(old, 1, 2, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        set(old, 2, 3, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
        ASSERT_EQ(recovery_txn_new(old, now, &rec), 0);
        ASSERT_EQ(rec->n_blocks, 0);
        ASSERT_EQ(rec->id, 9);
        txn_free(rec);
        rec = NULL;
        ASSERT_EQ(recovery_txn_new(empty, NULL, &rec), 0);
        ASSERT_EQ(rec->n_blocks, 0);
        txn_free(rec);
        txn_free(empty);
        txn_free(old);
}

TEST(recovery_of_a_recovery)
{
        /* A recovery that crashed left its own record: recovering it restores the same prior
         * states, whatever the interrupted recovery had already done. */
        Txn *old = record(TXN_RECOVER, 5, 2), *rec = NULL;
        const MemState now[] = {MEM_STATE_ONLINE, MEM_STATE_OFFLINE};

        set(old, 0, 20, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
        set(old, 1, 21, MEM_STATE_ONLINE, MEM_ZONE_DMA32);
        ASSERT_EQ(recovery_txn_new(old, now, &rec), 1);
        ASSERT_EQ(rec->blocks[0].id, 21);
        ASSERT_EQ(rec->blocks[0].action, MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(rec->blocks[0].prior_zone, MEM_ZONE_DMA32);
        txn_free(rec);
        txn_free(old);
}
