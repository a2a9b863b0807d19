/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transaction state machine driven against a tiny simulated block table: every forward
 * failure position for several sizes and both directions, failures during rollback, skips,
 * retries and backoff, cancel, and crash recovery.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "test-util.h"
#include "txn.h"

#define SIM_MAX 64
#define LOG_MAX 1024

/* What the kernel would do, plus failure injection and a log of every write. */
typedef struct Sim {
        size_t n;
        MemState state[SIM_MAX];
        MemZone zone[SIM_MAX];
        MemZone kernel_zone[SIM_MAX]; /* the zone online_kernel gives this block */
        MemZone plain_zone[SIM_MAX];  /* the zone plain "online" gives this block */

        /* Forward failure: the step on block fwd_fail_index fails fwd_fail_times times. */
        long fwd_fail_index;
        int fwd_fail_errno;
        unsigned fwd_fail_times;
        /* Rollback failures: the restore of block i fails rb_fail_times[i] times. */
        int rb_fail_errno;
        unsigned rb_fail_times[SIM_MAX];
        /* Something else changes a block right before our write to it (a concurrent agent). */
        long race_index;

        TxnStep log[LOG_MAX];
        int results[LOG_MAX];
        uint64_t delays[LOG_MAX];
        size_t n_log;
} Sim;

static void sim_init(Sim *s, size_t n)
{
        ASSERT_TRUE(n <= SIM_MAX);
        memset(s, 0, sizeof(*s));
        s->n = n;
        s->fwd_fail_index = -1;
        s->race_index = -1;
        for (size_t i = 0; i < n; i++) {
                s->kernel_zone[i] = MEM_ZONE_NORMAL;
                s->plain_zone[i] = MEM_ZONE_NORMAL;
        }
}

static void sim_set(Sim *s, size_t i, MemState st, MemZone z)
{
        s->state[i] = st;
        s->zone[i] = st == MEM_STATE_ONLINE ? z : MEM_ZONE_UNKNOWN;
        if (mem_zone_is_kernel(z))
                s->kernel_zone[i] = z;
}

/* memblock_apply() semantics: 0 changed, 1 already there, else -errno (state unchanged). */
static int sim_write(Sim *s, size_t i, MemAction a, MemZone *ret_zone)
{
        MemState target = mem_action_target_state(a);

        *ret_zone = MEM_ZONE_UNKNOWN;
        ASSERT_TRUE(i < s->n);
        ASSERT_TRUE(target >= 0);
        if (s->state[i] == target) {
                if (target == MEM_STATE_ONLINE)
                        *ret_zone = s->zone[i];
                return 1;
        }
        s->state[i] = target;
        switch (a) {
        case MEM_ACTION_ONLINE_MOVABLE:
                s->zone[i] = MEM_ZONE_MOVABLE;
                break;
        case MEM_ACTION_ONLINE_KERNEL:
                s->zone[i] = s->kernel_zone[i];
                break;
        case MEM_ACTION_ONLINE:
                s->zone[i] = s->plain_zone[i];
                break;
        default:
                s->zone[i] = MEM_ZONE_UNKNOWN;
        }
        *ret_zone = s->zone[i];
        return 0;
}

/* Drives @t to the end against @s; with @cancel_after set, cancels after that many writes. */
static void sim_run_cancel(Sim *s, Txn *t, size_t cancel_after)
{
        for (;;) {
                TxnStep step;
                MemZone zone = MEM_ZONE_UNKNOWN;
                int r, result;

                if (s->n_log == cancel_after)
                        txn_cancel(t);
                r = txn_next(t, &step);
                ASSERT_OK(r);
                if (r == 0)
                        break;
                ASSERT_TRUE(s->n_log < LOG_MAX);
                ASSERT_TRUE(step.index < s->n);
                ASSERT_EQ(step.block, t->blocks[step.index].id);

                if (!step.rollback && (long)step.index == s->race_index) {
                        MemZone z;
                        (void)sim_write(s, step.index, step.action, &z);
                }
                if (!step.rollback && (long)step.index == s->fwd_fail_index &&
                    s->fwd_fail_times > 0) {
                        s->fwd_fail_times--;
                        result = s->fwd_fail_errno;
                } else if (step.rollback && s->rb_fail_times[step.index] > 0) {
                        s->rb_fail_times[step.index]--;
                        result = s->rb_fail_errno;
                } else
                        result = sim_write(s, step.index, step.action, &zone);

                s->log[s->n_log] = step;
                s->results[s->n_log] = result;
                s->delays[s->n_log] = txn_step_done(t, &step, result, zone);
                s->n_log++;
        }
        ASSERT_EQ(t->phase, TXN_DONE);
}

static void sim_run(Sim *s, Txn *t)
{
        sim_run_cancel(s, t, SIZE_MAX);
}

static uint32_t block_id(size_t i)
{
        /* Not contiguous, not starting at zero: index and id must not be confused. */
        return (uint32_t)(1000 + 7 * i);
}

static const MemZone online_zones[] = {
        MEM_ZONE_MOVABLE, MEM_ZONE_NORMAL, MEM_ZONE_DMA32, MEM_ZONE_MOVABLE, MEM_ZONE_DMA,
};
static const MemAction online_actions[] = {
        MEM_ACTION_ONLINE_MOVABLE,
        MEM_ACTION_ONLINE_KERNEL,
        MEM_ACTION_ONLINE,
};

/*
 * A transaction over @n blocks, all in the state opposite to the kind's target: offline for
 * TXN_ONLINE, online in a mix of zones for TXN_OFFLINE. The sim starts in the prior state.
 */
static Txn *make_txn(Sim *s, TxnKind kind, size_t n)
{
        Txn *t = NULL;

        sim_init(s, n);
        ASSERT_OK(txn_new(42, kind, n, &t));
        for (size_t i = 0; i < n; i++) {
                TxnBlock *b = &t->blocks[i];

                b->id = block_id(i);
                if (kind == TXN_ONLINE) {
                        b->action = online_actions[i % ELEMENTSOF(online_actions)];
                        b->prior_state = MEM_STATE_OFFLINE;
                        b->prior_zone = MEM_ZONE_UNKNOWN;
                } else {
                        b->action = MEM_ACTION_OFFLINE;
                        b->prior_state = MEM_STATE_ONLINE;
                        b->prior_zone = online_zones[i % ELEMENTSOF(online_zones)];
                }
                sim_set(s, i, b->prior_state, b->prior_zone);
        }
        return t;
}

static void assert_sim_is_prior(const Sim *s, const Txn *t)
{
        for (size_t i = 0; i < t->n_blocks; i++) {
                ASSERT_EQ(s->state[i], t->blocks[i].prior_state);
                ASSERT_EQ(s->zone[i], t->blocks[i].prior_zone);
        }
}

static MemAction expected_restore(const TxnBlock *b)
{
        if (b->prior_state == MEM_STATE_OFFLINE)
                return MEM_ACTION_OFFLINE;
        if (b->prior_zone == MEM_ZONE_MOVABLE)
                return MEM_ACTION_ONLINE_MOVABLE;
        if (b->prior_zone == MEM_ZONE_NORMAL || b->prior_zone == MEM_ZONE_DMA ||
            b->prior_zone == MEM_ZONE_DMA32)
                return MEM_ACTION_ONLINE_KERNEL;
        return MEM_ACTION_ONLINE;
}

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
