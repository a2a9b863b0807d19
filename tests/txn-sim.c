/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated block table of the transaction tests (txn-sim.h). */
#include <stdint.h>
#include <string.h>

#include "test-util.h"
#include "txn-sim.h"

void sim_init(Sim *s, size_t n)
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

void sim_set(Sim *s, size_t i, MemState st, MemZone z)
{
        s->state[i] = st;
        s->zone[i] = st == MEM_STATE_ONLINE ? z : MEM_ZONE_UNKNOWN;
        if (mem_zone_is_kernel(z))
                s->kernel_zone[i] = z;
}

int sim_write(Sim *s, size_t i, MemAction a, MemZone *ret_zone)
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

void sim_run_cancel(Sim *s, Txn *t, size_t cancel_after)
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

void sim_run(Sim *s, Txn *t)
{
        sim_run_cancel(s, t, SIZE_MAX);
}

uint32_t block_id(size_t i)
{
        return (uint32_t)(1000 + 7 * i);
}

const MemZone online_zones[ONLINE_ZONES_MAX] = {
        MEM_ZONE_MOVABLE, MEM_ZONE_NORMAL, MEM_ZONE_DMA32, MEM_ZONE_MOVABLE, MEM_ZONE_DMA,
};

static const MemAction online_actions[] = {
        MEM_ACTION_ONLINE_MOVABLE,
        MEM_ACTION_ONLINE_KERNEL,
        MEM_ACTION_ONLINE,
};

Txn *make_txn(Sim *s, TxnKind kind, size_t n)
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

void assert_sim_is_prior(const Sim *s, const Txn *t)
{
        for (size_t i = 0; i < t->n_blocks; i++) {
                ASSERT_EQ(s->state[i], t->blocks[i].prior_state);
                ASSERT_EQ(s->zone[i], t->blocks[i].prior_zone);
        }
}

MemAction expected_restore(const TxnBlock *b)
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
