/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transaction retries: offline EBUSY with backoff, no retry when none is allowed, and cancel. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "test-util.h"
#include "txn-sim.h"
#include "txn.h"

TEST(offline_busy_retries)
{
        /* Always EBUSY: 1 + 3 tries, delays 1, 2, 4 s, then the step fails. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_OFFLINE, 3);
                s.fwd_fail_index = 1;
                s.fwd_fail_errno = -EBUSY;
                s.fwd_fail_times = UINT32_MAX;
                sim_run(&s, t);

                /* fwd 0; fwd 1 x4; back 0 */
                ASSERT_EQ(s.n_log, 6);
                for (size_t i = 1; i <= 4; i++) {
                        ASSERT_EQ(s.log[i].index, 1);
                        ASSERT_TRUE(!s.log[i].rollback);
                        ASSERT_EQ(s.log[i].action, MEM_ACTION_OFFLINE);
                }
                ASSERT_EQ(s.delays[1], 1000000);
                ASSERT_EQ(s.delays[2], 2000000);
                ASSERT_EQ(s.delays[3], 4000000);
                ASSERT_EQ(s.delays[4], 0);
                ASSERT_TRUE(s.log[5].rollback);
                ASSERT_EQ(s.log[5].index, 0);
                ASSERT_EQ(s.log[5].action, MEM_ACTION_ONLINE_MOVABLE);
                ASSERT_EQ(t->failed_index, 1);
                ASSERT_EQ(t->failed_error, -EBUSY);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                assert_sim_is_prior(&s, t);
        }

        /* EBUSY twice, then it works: no rollback. EAGAIN is treated the same. */
        for (int e = 0; e < 2; e++) {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_OFFLINE, 3);
                s.fwd_fail_index = 2;
                s.fwd_fail_errno = e == 0 ? -EBUSY : -EAGAIN;
                s.fwd_fail_times = 2;
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 5);
                ASSERT_EQ(s.delays[2], 1000000);
                ASSERT_EQ(s.delays[3], 2000000);
                ASSERT_EQ(s.delays[4], 0);
                ASSERT_EQ(txn_outcome(t), TXN_OK);
                ASSERT_EQ(t->blocks[2].error, 0);
                ASSERT_EQ(s.state[2], MEM_STATE_OFFLINE);
        }

        /* Tunables: base 10 us, 5 retries. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_OFFLINE, 1);
                t->retry_base_usec = 10;
                t->max_retries = 5;
                s.fwd_fail_index = 0;
                s.fwd_fail_errno = -EBUSY;
                s.fwd_fail_times = UINT32_MAX;
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 6);
                for (size_t i = 0; i < 5; i++)
                        ASSERT_EQ(s.delays[i], 10u << i);
                ASSERT_EQ(s.delays[5], 0);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
        }

        /* A huge backoff saturates instead of overflowing. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_OFFLINE, 1);
                t->retry_base_usec = UINT64_C(1) << 62;
                t->max_retries = 100;
                s.fwd_fail_index = 0;
                s.fwd_fail_errno = -EBUSY;
                s.fwd_fail_times = 99;
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 100);
                ASSERT_TRUE(s.delays[0] == UINT64_C(1) << 62);
                ASSERT_TRUE(s.delays[1] == UINT64_C(1) << 63);
                for (size_t i = 2; i < 99; i++)
                        ASSERT_TRUE(s.delays[i] == UINT64_MAX);
                ASSERT_EQ(txn_outcome(t), TXN_OK);
        }
}

TEST(no_retry)
{
        /* EINVAL (and the others) on an offline: one try. EBUSY on an online: one try. */
        static const int errs[] = {-EINVAL, -ENOENT, -ETIMEDOUT, -ECANCELED,
                                   -EINTR,  -ENOMEM, -EHWPOISON};

        for (size_t e = 0; e < ELEMENTSOF(errs); e++) {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_OFFLINE, 2);
                s.fwd_fail_index = 0;
                s.fwd_fail_errno = errs[e];
                s.fwd_fail_times = UINT32_MAX;
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 1);
                ASSERT_EQ(s.delays[0], 0);
                ASSERT_EQ(t->failed_error, errs[e]);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                assert_sim_is_prior(&s, t);
        }

        _cleanup_(txn_freep) Txn *t = NULL;
        Sim s;

        t = make_txn(&s, TXN_ONLINE, 2);
        s.fwd_fail_index = 1;
        s.fwd_fail_errno = -EBUSY;
        s.fwd_fail_times = UINT32_MAX;
        sim_run(&s, t);
        ASSERT_EQ(s.n_log, 3);
        ASSERT_EQ(s.delays[1], 0);
        ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
        assert_sim_is_prior(&s, t);
}

TEST(cancel)
{
        /* Cancel after each possible number of writes of an 8-block online. (Cancel after
         * txn_next() returned 0 is a no-op: see all_succeed.) */
        for (size_t c = 0; c <= 8; c++) {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_ONLINE, 8);
                /* c == 8: every write was made but txn_next() has not said "done" yet. */
                sim_run_cancel(&s, t, c);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                ASSERT_EQ(t->failed_index, -1);
                ASSERT_EQ(t->failed_error, -ECANCELED);
                ASSERT_TRUE(t->cancelled);
                ASSERT_EQ(s.n_log, 2 * c);
                for (size_t j = 0; j < c; j++) {
                        ASSERT_TRUE(s.log[c + j].rollback);
                        ASSERT_EQ(s.log[c + j].index, c - 1 - j);
                }
                assert_sim_is_prior(&s, t);
        }

        /* Cancel while a step is in flight: its success is recorded and rolled back. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                TxnStep step;
                MemZone z;
                Sim s;
                int r;

                t = make_txn(&s, TXN_OFFLINE, 4);
                ASSERT_EQ(txn_next(t, &step), 1);
                r = sim_write(&s, step.index, step.action, &z);
                ASSERT_EQ(txn_step_done(t, &step, r, z), 0);
                ASSERT_EQ(txn_next(t, &step), 1);
                ASSERT_EQ(step.index, 1);
                txn_cancel(t);
                r = sim_write(&s, step.index, step.action, &z);
                ASSERT_EQ(txn_step_done(t, &step, r, z), 0);
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 2);
                ASSERT_EQ(s.log[0].index, 1);
                ASSERT_EQ(s.log[1].index, 0);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                assert_sim_is_prior(&s, t);
        }

        /* Cancel during an EBUSY backoff: no further try, rollback. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                TxnStep step;
                MemZone z;
                Sim s;
                int r;

                t = make_txn(&s, TXN_OFFLINE, 3);
                ASSERT_EQ(txn_next(t, &step), 1);
                r = sim_write(&s, step.index, step.action, &z);
                ASSERT_EQ(txn_step_done(t, &step, r, z), 0);
                ASSERT_EQ(txn_next(t, &step), 1);
                ASSERT_EQ(txn_step_done(t, &step, -EBUSY, MEM_ZONE_UNKNOWN), 1000000);
                txn_cancel(t);
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 1);
                ASSERT_TRUE(s.log[0].rollback);
                ASSERT_EQ(s.log[0].index, 0);
                ASSERT_EQ(t->failed_error, -ECANCELED);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                assert_sim_is_prior(&s, t);
        }

        /* Cancel while an offline is in flight and it then fails with EBUSY: no backoff, its
         * error is recorded on the block, the cancel stays the reason. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                TxnStep step;
                MemZone z;
                Sim s;
                int r;

                t = make_txn(&s, TXN_OFFLINE, 3);
                ASSERT_EQ(txn_next(t, &step), 1);
                r = sim_write(&s, step.index, step.action, &z);
                ASSERT_EQ(txn_step_done(t, &step, r, z), 0);
                ASSERT_EQ(txn_next(t, &step), 1);
                txn_cancel(t);
                ASSERT_EQ(txn_step_done(t, &step, -EBUSY, MEM_ZONE_UNKNOWN), 0);
                ASSERT_EQ(t->blocks[1].error, -EBUSY);
                sim_run(&s, t);
                ASSERT_EQ(s.n_log, 1);
                ASSERT_EQ(s.log[0].index, 0);
                ASSERT_EQ(t->failed_index, -1);
                ASSERT_EQ(t->failed_error, -ECANCELED);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                assert_sim_is_prior(&s, t);
        }

        /* A failed step's errno is kept when a cancel comes during the rollback. */
        {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_OFFLINE, 3);
                s.fwd_fail_index = 2;
                s.fwd_fail_errno = -EINVAL;
                s.fwd_fail_times = 1;
                sim_run_cancel(&s, t, 4);
                ASSERT_EQ(s.n_log, 5);
                ASSERT_EQ(t->failed_error, -EINVAL);
                ASSERT_EQ(t->failed_index, 2);
                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
        }
}
