/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny simulated block table for the transaction tests: what the kernel would do with each
 * state write, failure injection, a concurrent agent, and a log of every step and its result.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
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

void sim_init(Sim *s, size_t n);
void sim_set(Sim *s, size_t i, MemState st, MemZone z);

/* memblock_apply() semantics: 0 changed, 1 already there, else -errno (state unchanged). */
int sim_write(Sim *s, size_t i, MemAction a, MemZone *ret_zone);

/* Drives @t to the end against @s; with @cancel_after set, cancels after that many writes. */
void sim_run_cancel(Sim *s, Txn *t, size_t cancel_after);

void sim_run(Sim *s, Txn *t);

/* Not contiguous, not starting at zero: index and id must not be confused. */
uint32_t block_id(size_t i);

/* The zones the blocks of an offline transaction are online in, by index (cycling). */
#define ONLINE_ZONES_MAX 5
extern const MemZone online_zones[ONLINE_ZONES_MAX];

/*
 * A transaction over @n blocks, all in the state opposite to the kind's target: offline for
 * TXN_ONLINE, online in a mix of zones for TXN_OFFLINE. The sim starts in the prior state.
 */
Txn *make_txn(Sim *s, TxnKind kind, size_t n);

void assert_sim_is_prior(const Sim *s, const Txn *t);
/* The action that restores @b's prior state, as txn_restore_action() should choose it. */
MemAction expected_restore(const TxnBlock *b);
