/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash recovery: a TXN_RECOVER transaction built from an intent record puts blocks back. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "test-util.h"
#include "txn-sim.h"
#include "txn.h"

static Txn *make_recover(Sim *s, size_t n)
{
        Txn *t = NULL;

        sim_init(s, n);
        ASSERT_OK(txn_new(9, TXN_RECOVER, n, &t));
        for (size_t i = 0; i < n; i++) {
                TxnBlock *b = &t->blocks[i];

                b->id = block_id(i);
                b->action = MEM_ACTION_NONE;
                if (i % 2 == 0) {
                        b->prior_state = MEM_STATE_OFFLINE;
                        b->prior_zone = MEM_ZONE_UNKNOWN;
                        /* A crash left it online. */
                        sim_set(s, i, MEM_STATE_ONLINE, MEM_ZONE_MOVABLE);
                } else {
                        b->prior_state = MEM_STATE_ONLINE;
                        b->prior_zone = online_zones[i % ELEMENTSOF(online_zones)];
                        sim_set(s, i, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN);
                        if (mem_zone_is_kernel(b->prior_zone))
                                s->kernel_zone[i] = b->prior_zone;
                }
        }
        return t;
}

TEST(recover)
{
        /* Every block gets its restore write, even ones already in place. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_recover(&s, 8);
                sim_set(&s, 4, MEM_STATE_OFFLINE, MEM_ZONE_UNKNOWN); /* already restored */
                sim_run(&s, t);
                ASSERT_EQ(txn_outcome(t), TXN_OK);
                ASSERT_EQ(s.n_log, 8);
                for (size_t i = 0; i < 8; i++) {
                        ASSERT_EQ(s.log[i].index, i);
                        ASSERT_TRUE(!s.log[i].rollback);
                        ASSERT_EQ(s.log[i].action, expected_restore(&t->blocks[i]));
                        ASSERT_TRUE(t->blocks[i].restored);
                        ASSERT_EQ(t->blocks[i].changed, i != 4);
                }
                ASSERT_EQ(s.results[4], 1);
                assert_sim_is_prior(&s, t);
        }

        /* Failures are recorded, the others are still restored, no rollback. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_recover(&s, 8);
                s.fwd_fail_index = 3;
                s.fwd_fail_errno = -EHWPOISON;
                s.fwd_fail_times = UINT32_MAX;
                sim_run(&s, t);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLBACK_INCOMPLETE);
                ASSERT_EQ(s.n_log, 8);
                ASSERT_EQ(t->failed_index, 3);
                ASSERT_EQ(t->failed_error, -EHWPOISON);
                for (size_t i = 0; i < 8; i++) {
                        bool at_prior = s.state[i] == t->blocks[i].prior_state &&
                                        s.zone[i] == t->blocks[i].prior_zone;

                        ASSERT_TRUE(!s.log[i].rollback);
                        ASSERT_EQ(at_prior, i != 3);
                        ASSERT_EQ(t->blocks[i].restored, i != 3);
                        ASSERT_EQ(t->blocks[i].error, i == 3 ? -EHWPOISON : 0);
                }
        }

        /* An offline during recovery is retried on EBUSY like a forward offline. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_recover(&s, 2);
                s.fwd_fail_index = 0;
                s.fwd_fail_errno = -EBUSY;
                s.fwd_fail_times = 2;
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 4);
                ASSERT_EQ(s.delays[0], 1000000);
                ASSERT_EQ(s.delays[1], 2000000);
                ASSERT_EQ(txn_outcome(t), TXN_OK);
                assert_sim_is_prior(&s, t);
        }

        /* Caller-set actions: a restore action is used, a forward action is refused. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_recover(&s, 4);
                t->blocks[1].action = MEM_ACTION_ONLINE; /* prior online: fine */
                s.plain_zone[1] = t->blocks[1].prior_zone;
                t->blocks[2].action = MEM_ACTION_ONLINE_MOVABLE; /* prior offline: refused */
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 3);
                ASSERT_EQ(s.log[1].index, 1);
                ASSERT_EQ(s.log[1].action, MEM_ACTION_ONLINE);
                ASSERT_EQ(s.log[2].index, 3);
                ASSERT_EQ(t->blocks[2].error, -EINVAL);
                ASSERT_TRUE(!t->blocks[2].restored);
                ASSERT_EQ(s.state[2], MEM_STATE_ONLINE);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLBACK_INCOMPLETE);
        }

        /* Cancel stops a recovery; what was not reached is not restored. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_recover(&s, 4);
                sim_run_cancel(&s, t, 2);
                ASSERT_EQ(s.n_log, 2);
                ASSERT_EQ(t->failed_error, -ECANCELED);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLBACK_INCOMPLETE);
                ASSERT_TRUE(t->blocks[1].restored && !t->blocks[2].restored);
        }
}
