/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transaction rollback: every forward failure position for several sizes and both directions,
 * failures and EBUSY during the rollback itself, and blocks restored into their prior zone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "test-util.h"
#include "txn-sim.h"
#include "txn.h"

/* The matrix: every failing step k of n blocks, both directions. */
TEST(rollback_matrix)
{
        static const size_t sizes[] = {1, 2, 8, 64};
        static const int errs[] = {-EINVAL, -ENOENT, -ETIMEDOUT, -EINTR, -EHWPOISON, -ENOMEM};
        unsigned cases = 0;

        for (int kind = TXN_ONLINE; kind <= TXN_OFFLINE; kind++)
                for (size_t si = 0; si < ELEMENTSOF(sizes); si++)
                        for (size_t k = 1; k <= sizes[si]; k++) {
                                _cleanup_(txn_freep) Txn *t = NULL;
                                size_t n = sizes[si], f = k - 1;
                                int err = errs[k % ELEMENTSOF(errs)];
                                Sim s;

                                t = make_txn(&s, (TxnKind)kind, n);
                                s.fwd_fail_index = (long)f;
                                s.fwd_fail_errno = err;
                                s.fwd_fail_times = UINT32_MAX;
                                sim_run(&s, t);

                                ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                                ASSERT_EQ(t->failed_index, (long)f);
                                ASSERT_EQ(t->failed_error, err);
                                assert_sim_is_prior(&s, t);

                                /* k forward steps (no retry for these errnos), k-1 back. */
                                ASSERT_EQ(s.n_log, k + (k - 1));
                                for (size_t i = 0; i < k; i++) {
                                        ASSERT_EQ(s.log[i].index, i);
                                        ASSERT_TRUE(!s.log[i].rollback);
                                        ASSERT_EQ(s.delays[i], 0);
                                }
                                for (size_t j = 0; j + 1 < k; j++) {
                                        const TxnStep *st = &s.log[k + j];
                                        size_t want = f - 1 - j; /* reverse order */

                                        ASSERT_TRUE(st->rollback);
                                        ASSERT_EQ(st->index, want);
                                        ASSERT_EQ(st->block, block_id(want));
                                        ASSERT_EQ(st->action, expected_restore(&t->blocks[want]));
                                }
                                for (size_t i = 0; i < n; i++) {
                                        const TxnBlock *b = &t->blocks[i];

                                        ASSERT_EQ(b->changed, i < f);
                                        ASSERT_EQ(b->restored, i < f);
                                        ASSERT_EQ(b->error, i == f ? err : 0);
                                        ASSERT_EQ(b->state, b->prior_state);
                                }
                                cases++;
                        }
        ASSERT_EQ(cases, 2 * (1 + 2 + 8 + 64));
}

/* Failures during rollback: every single failing restore, and several at once. */
TEST(rollback_failures)
{
        static const size_t sizes[] = {2, 8, 64};

        for (int kind = TXN_ONLINE; kind <= TXN_OFFLINE; kind++)
                for (size_t si = 0; si < ELEMENTSOF(sizes); si++) {
                        size_t n = sizes[si];

                        /* pattern 0..n-2: only that block's restore fails; n-1: every third. */
                        for (size_t j = 0; j < n; j++) {
                                _cleanup_(txn_freep) Txn *t = NULL;
                                bool fails[SIM_MAX] = {};
                                Sim s;

                                t = make_txn(&s, (TxnKind)kind, n);
                                s.fwd_fail_index = (long)(n - 1);
                                s.fwd_fail_errno = -EINVAL;
                                s.fwd_fail_times = UINT32_MAX;
                                s.rb_fail_errno = -EIO;
                                for (size_t i = 0; i + 1 < n; i++) {
                                        fails[i] = j + 1 < n ? i == j : i % 3 == 0;
                                        s.rb_fail_times[i] = fails[i] ? UINT32_MAX : 0;
                                }
                                sim_run(&s, t);

                                ASSERT_EQ(txn_outcome(t), TXN_ROLLBACK_INCOMPLETE);
                                ASSERT_EQ(t->failed_index, (long)(n - 1));
                                ASSERT_EQ(t->failed_error, -EINVAL);
                                /* The rollback went on: every changed block got its step. */
                                ASSERT_EQ(s.n_log, n + (n - 1));
                                for (size_t q = 0; q + 1 < n; q++)
                                        ASSERT_EQ(s.log[n + q].index, n - 2 - q);
                                for (size_t i = 0; i < n; i++) {
                                        const TxnBlock *b = &t->blocks[i];
                                        bool left = s.state[i] != b->prior_state ||
                                                    s.zone[i] != b->prior_zone;

                                        ASSERT_EQ(left, fails[i]);
                                        ASSERT_EQ(b->changed && !b->restored, fails[i]);
                                        if (i + 1 == n)
                                                ASSERT_EQ(b->error, -EINVAL);
                                        else
                                                ASSERT_EQ(b->error, fails[i] ? -EIO : 0);
                                }
                        }
                }
}

/* A rollback EBUSY gets one more try after retry_base_usec, and no more. */
TEST(rollback_busy)
{
        for (unsigned times = 1; times <= 2; times++) {
                _cleanup_(txn_freep) Txn *t = NULL;
                Sim s;

                t = make_txn(&s, TXN_ONLINE, 3);
                t->retry_base_usec = 5000;
                s.fwd_fail_index = 2;
                s.fwd_fail_errno = -EHWPOISON;
                s.fwd_fail_times = 1;
                s.rb_fail_errno = -EBUSY;
                s.rb_fail_times[1] = times;
                sim_run(&s, t);

                /* fwd 0, 1, 2 (fails); back 1 (EBUSY), 1 again, 0 */
                ASSERT_EQ(s.n_log, 6);
                ASSERT_EQ(s.log[3].index, 1);
                ASSERT_EQ(s.delays[3], 5000);
                ASSERT_EQ(s.log[4].index, 1);
                ASSERT_TRUE(s.log[4].rollback);
                ASSERT_EQ(s.delays[4], 0);
                ASSERT_EQ(s.log[5].index, 0);
                if (times == 1) {
                        ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
                        assert_sim_is_prior(&s, t);
                } else {
                        ASSERT_EQ(txn_outcome(t), TXN_ROLLBACK_INCOMPLETE);
                        ASSERT_EQ(t->blocks[1].error, -EBUSY);
                        ASSERT_TRUE(!t->blocks[1].restored);
                        ASSERT_EQ(s.state[1], MEM_STATE_ONLINE);
                        ASSERT_EQ(s.state[0], MEM_STATE_OFFLINE);
                }
        }

        /* max_retries = 0 turns rollback retries off too. */
        _cleanup_(txn_freep) Txn *t = NULL;
        Sim s;

        t = make_txn(&s, TXN_ONLINE, 2);
        t->max_retries = 0;
        s.fwd_fail_index = 1;
        s.fwd_fail_errno = -EINVAL;
        s.fwd_fail_times = 1;
        s.rb_fail_errno = -EBUSY;
        s.rb_fail_times[0] = 1;
        sim_run(&s, t);
        ASSERT_EQ(s.n_log, 3);
        ASSERT_EQ(txn_outcome(t), TXN_ROLLBACK_INCOMPLETE);
}

/* Offlined blocks come back in their zone: Movable as online_movable, kernel zones as
 * online_kernel, anything else as plain online. */
TEST(rollback_zones)
{
        static const MemZone zones[] = {MEM_ZONE_MOVABLE, MEM_ZONE_NORMAL, MEM_ZONE_DMA32,
                                        MEM_ZONE_DMA,     MEM_ZONE_DEVICE, MEM_ZONE_UNKNOWN};
        static const MemAction want[] = {MEM_ACTION_ONLINE_MOVABLE, MEM_ACTION_ONLINE_KERNEL,
                                         MEM_ACTION_ONLINE_KERNEL,  MEM_ACTION_ONLINE_KERNEL,
                                         MEM_ACTION_ONLINE,         MEM_ACTION_ONLINE};
        const size_t n = ELEMENTSOF(zones) + 1;
        _cleanup_(txn_freep) Txn *t = NULL;
        Sim s;

        t = make_txn(&s, TXN_OFFLINE, n);
        for (size_t i = 0; i + 1 < n; i++) {
                t->blocks[i].prior_zone = zones[i];
                sim_set(&s, i, MEM_STATE_ONLINE, zones[i]);
                /* What the kernel would pick for plain online here: the zone it had. */
                s.plain_zone[i] = zones[i];
        }
        s.fwd_fail_index = (long)(n - 1);
        s.fwd_fail_errno = -EBUSY;
        s.fwd_fail_times = UINT32_MAX;
        t->max_retries = 0;
        sim_run(&s, t);

        ASSERT_EQ(txn_outcome(t), TXN_ROLLED_BACK);
        ASSERT_EQ(s.n_log, n + (n - 1));
        for (size_t j = 0; j + 1 < n; j++) {
                const TxnStep *st = &s.log[n + j];
                size_t i = n - 2 - j;

                ASSERT_EQ(st->index, i);
                ASSERT_EQ(st->action, want[i]);
                ASSERT_EQ(s.state[i], MEM_STATE_ONLINE);
                ASSERT_EQ(s.zone[i], zones[i]);
                ASSERT_EQ(t->blocks[i].zone, zones[i]);
        }
}
