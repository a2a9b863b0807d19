/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transaction state machine driven against a tiny simulated block table (txn-sim.c): names,
 * defaults, the forward path, skips, concurrent agents, refused actions and stale reports. Its
 * rollback, retries, cancel and crash recovery are in test-txn-*.c, in the same binary.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "test-util.h"
#include "txn-sim.h"
#include "txn.h"

TEST(kind_strings)
{
        for (int k = 0; k < _TXN_KIND_MAX; k++)
                ASSERT_EQ(txn_kind_from_string(txn_kind_to_string((TxnKind)k)), k);
        ASSERT_STREQ(txn_kind_to_string(TXN_RECOVER), "recover");
        ASSERT_EQ(txn_kind_from_string("Online"), _TXN_KIND_INVALID);
        ASSERT_EQ(txn_kind_from_string(NULL), _TXN_KIND_INVALID);
        ASSERT_TRUE(txn_kind_to_string(_TXN_KIND_MAX) == NULL);
        ASSERT_TRUE(txn_kind_to_string(_TXN_KIND_INVALID) == NULL);
}

TEST(new_defaults)
{
        _cleanup_(txn_freep) Txn *t = NULL;
        Txn *bad = NULL;
        TxnStep step;

        ASSERT_ERROR(txn_new(1, _TXN_KIND_MAX, 1, &bad), EINVAL);
        ASSERT_ERROR(txn_new(1, _TXN_KIND_INVALID, 1, &bad), EINVAL);
        ASSERT_TRUE(bad == NULL);

        ASSERT_OK(txn_new(7, TXN_OFFLINE, 3, &t));
        ASSERT_EQ(t->id, 7);
        ASSERT_EQ(t->kind, TXN_OFFLINE);
        ASSERT_EQ(t->phase, TXN_FORWARD);
        ASSERT_EQ(t->n_blocks, 3);
        ASSERT_EQ(t->max_retries, 3);
        ASSERT_EQ(t->retry_base_usec, 1000000);
        ASSERT_EQ(t->failed_index, -1);
        ASSERT_EQ(t->failed_error, 0);
        ASSERT_EQ(t->cursor, 0);
        ASSERT_TRUE(!t->cancelled);
        t = txn_free(t);
        ASSERT_TRUE(txn_free(NULL) == NULL);

        /* An empty transaction is done at once. */
        ASSERT_OK(txn_new(8, TXN_ONLINE, 0, &t));
        ASSERT_EQ(txn_next(t, &step), 0);
        ASSERT_EQ(t->phase, TXN_DONE);
        ASSERT_EQ(txn_outcome(t), TXN_OK);
        ASSERT_ERROR(txn_next(NULL, &step), EINVAL);
        ASSERT_ERROR(txn_next(t, NULL), EINVAL);
}

TEST(restore_action)
{
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_MOVABLE),
                  MEM_ACTION_ONLINE_MOVABLE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_NORMAL), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_DMA), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_DMA32), MEM_ACTION_ONLINE_KERNEL);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_UNKNOWN), MEM_ACTION_ONLINE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_DEVICE), MEM_ACTION_ONLINE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, MEM_ZONE_NONE), MEM_ACTION_ONLINE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_ONLINE, _MEM_ZONE_INVALID), MEM_ACTION_ONLINE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN), MEM_ACTION_OFFLINE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_OFFLINE, MEM_ZONE_MOVABLE), MEM_ACTION_OFFLINE);
        ASSERT_EQ(txn_restore_action(MEM_STATE_GOING_OFFLINE, MEM_ZONE_NORMAL), MEM_ACTION_OFFLINE);
        ASSERT_EQ(txn_restore_action(_MEM_STATE_INVALID, MEM_ZONE_NORMAL), _MEM_ACTION_INVALID);
        ASSERT_EQ(txn_restore_action(_MEM_STATE_MAX, MEM_ZONE_NORMAL), _MEM_ACTION_INVALID);
}

TEST(all_succeed)
{
        static const size_t sizes[] = {1, 2, 8, 64};

        for (int kind = TXN_ONLINE; kind <= TXN_OFFLINE; kind++)
                for (size_t si = 0; si < ELEMENTSOF(sizes); si++) {
                        _cleanup_(txn_freep) Txn *t = NULL;
                        size_t n = sizes[si];
                        Sim s;

                        t = make_txn(&s, (TxnKind)kind, n);
                        sim_run(&s, t);
                        ASSERT_EQ(txn_outcome(t), TXN_OK);
                        ASSERT_EQ(t->failed_index, -1);
                        ASSERT_EQ(s.n_log, n);
                        for (size_t i = 0; i < n; i++) {
                                const TxnBlock *b = &t->blocks[i];

                                /* Forward steps in ascending order, the caller's actions. */
                                ASSERT_EQ(s.log[i].index, i);
                                ASSERT_TRUE(!s.log[i].rollback);
                                ASSERT_EQ(s.log[i].action, b->action);
                                ASSERT_EQ(s.delays[i], 0);
                                ASSERT_EQ(s.state[i], mem_action_target_state(b->action));
                                ASSERT_TRUE(b->changed);
                                ASSERT_TRUE(!b->restored);
                                ASSERT_EQ(b->error, 0);
                                ASSERT_EQ(b->state, s.state[i]);
                                ASSERT_EQ(b->zone, s.zone[i]);
                        }
                        /* Finished is finished. */
                        TxnStep step;
                        ASSERT_EQ(txn_next(t, &step), 0);
                        txn_cancel(t);
                        ASSERT_EQ(txn_outcome(t), TXN_OK);
                }
}

/* Blocks already in the target state: no write, never rolled back. */
TEST(skip_already_there)
{
        for (int kind = TXN_ONLINE; kind <= TXN_OFFLINE; kind++) {
                _cleanup_(txn_freep) Txn *t = NULL;
                const size_t n = 8;
                Sim s;

                t = make_txn(&s, (TxnKind)kind, n);
                /* Blocks 0, 3 and 5 already are where the transaction would take them. */
                for (size_t i = 0; i < n; i++) {
                        TxnBlock *b = &t->blocks[i];

                        if (i != 0 && i != 3 && i != 5)
                                continue;
                        if (kind == TXN_ONLINE) {
                                b->prior_state = MEM_STATE_ONLINE;
                                b->prior_zone = MEM_ZONE_NORMAL; /* even with another zone */
                        } else {
                                b->prior_state = MEM_STATE_OFFLINE;
                                b->prior_zone = MEM_ZONE_UNKNOWN;
                        }
                        sim_set(&s, i, b->prior_state, b->prior_zone);
                }
                /* Block 2 is left alone by the caller. */
                t->blocks[2].action = MEM_ACTION_NONE;
                s.fwd_fail_index = 6;
                s.fwd_fail_errno = -EINVAL;
                s.fwd_fail_times = 1;
                sim_run(&s, t);

                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                ASSERT_EQ(t->failed_index, 6);
                assert_sim_is_prior(&s, t);
                /* Forward writes to 1, 4, 6; rollback of 4, 1 only. */
                ASSERT_EQ(s.n_log, 5);
                ASSERT_EQ(s.log[0].index, 1);
                ASSERT_EQ(s.log[1].index, 4);
                ASSERT_EQ(s.log[2].index, 6);
                ASSERT_TRUE(s.log[3].rollback);
                ASSERT_EQ(s.log[3].index, 4);
                ASSERT_TRUE(s.log[4].rollback);
                ASSERT_EQ(s.log[4].index, 1);
                for (size_t i = 0; i < n; i++)
                        ASSERT_EQ(t->blocks[i].changed, i == 1 || i == 4);
        }

        /* All in place: nothing to write, success. */
        _cleanup_(txn_freep) Txn *t = NULL;
        Sim s;

        t = make_txn(&s, TXN_OFFLINE, 4);
        for (size_t i = 0; i < 4; i++) {
                t->blocks[i].prior_state = MEM_STATE_OFFLINE;
                t->blocks[i].prior_zone = MEM_ZONE_UNKNOWN;
                sim_set(&s, i, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
        }
        sim_run(&s, t);
        ASSERT_EQ(s.n_log, 0);
        ASSERT_EQ(txn_outcome(t), TXN_OK);
}

/* Result 1: someone else got there between our read and our write; we must not undo it. */
TEST(concurrent_agent_not_rolled_back)
{
        for (int kind = TXN_ONLINE; kind <= TXN_OFFLINE; kind++) {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, (TxnKind)kind, 4);
                s.race_index = 1;
                s.fwd_fail_index = 3;
                s.fwd_fail_errno = -EINVAL;
                s.fwd_fail_times = 1;
                sim_run(&s, t);

                ASSERT_EQ(s.results[1], 1);
                ASSERT_TRUE(!t->blocks[1].changed);
                ASSERT_EQ(t->blocks[1].error, 0);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                /* Forward 0..3, rollback 2 and 0: block 1 stays as the other agent left it. */
                ASSERT_EQ(s.n_log, 6);
                ASSERT_EQ(s.log[4].index, 2);
                ASSERT_EQ(s.log[5].index, 0);
                ASSERT_EQ(s.state[1], mem_action_target_state(t->blocks[1].action));
                ASSERT_EQ(s.state[0], t->blocks[0].prior_state);
                ASSERT_EQ(s.state[2], t->blocks[2].prior_state);
        }
}

/* An action that does not fit the kind is refused without a write. */
TEST(action_kind_mismatch)
{
        _cleanup_(txn_freep) Txn *t = NULL;
        Sim s;

        t = make_txn(&s, TXN_ONLINE, 4);
        t->blocks[2].action = MEM_ACTION_OFFLINE;
        sim_run(&s, t);
        ASSERT_EQ(s.n_log, 2 + 2);
        ASSERT_EQ(t->failed_index, 2);
        ASSERT_EQ(t->failed_error, -EINVAL);
        ASSERT_EQ(t->blocks[2].error, -EINVAL);
        ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
        assert_sim_is_prior(&s, t);
        t = txn_free(t);

        t = make_txn(&s, TXN_OFFLINE, 2);
        t->blocks[0].action = MEM_ACTION_ONLINE_MOVABLE;
        sim_run(&s, t);
        ASSERT_EQ(s.n_log, 0);
        ASSERT_EQ(t->failed_index, 0);
        ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
        t = txn_free(t);

        t = make_txn(&s, TXN_OFFLINE, 2);
        t->blocks[1].action = _MEM_ACTION_MAX;
        sim_run(&s, t);
        ASSERT_EQ(s.n_log, 2);
        ASSERT_EQ(t->failed_index, 1);
        assert_sim_is_prior(&s, t);
}

/* Reports that do not match the awaited step change nothing. */
TEST(stale_reports_ignored)
{
        _cleanup_(txn_freep) Txn *t = NULL;
        TxnStep step, bogus;
        Sim s;

        t = make_txn(&s, TXN_OFFLINE, 3);
        ASSERT_EQ(txn_next(t, &step), 1);
        bogus = step;
        bogus.index = 2;
        bogus.block = block_id(2);
        ASSERT_EQ(txn_step_done(t, &bogus, 0, MEM_ZONE_UNKNOWN), 0);
        bogus = step;
        bogus.block++;
        ASSERT_EQ(txn_step_done(t, &bogus, -EINVAL, MEM_ZONE_UNKNOWN), 0);
        bogus = step;
        bogus.rollback = true;
        ASSERT_EQ(txn_step_done(t, &bogus, -EINVAL, MEM_ZONE_UNKNOWN), 0);
        ASSERT_EQ(txn_step_done(NULL, &step, 0, MEM_ZONE_UNKNOWN), 0);
        ASSERT_EQ(txn_step_done(t, NULL, 0, MEM_ZONE_UNKNOWN), 0);
        ASSERT_EQ(t->cursor, 0);
        ASSERT_EQ(t->failed_index, -1);
        ASSERT_TRUE(!t->blocks[0].changed && !t->blocks[2].changed);
        ASSERT_EQ(t->phase, TXN_FORWARD);
}
