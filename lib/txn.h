/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A multi-block online/offline operation as a pure state machine. The daemon asks for the next
 * write (txn_next), performs it however it likes (worker thread, deadline) and reports the
 * result (txn_step_done). On a forward failure at block k the machine rolls blocks k-1..0 back
 * in reverse order to their prior state and zone; failures during rollback are recorded and the
 * rollback goes on with the remaining blocks. No I/O here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "memblock.h"

typedef enum TxnKind {
        TXN_ONLINE,  /* forward actions are online_movable / online_kernel / online */
        TXN_OFFLINE, /* forward action is offline */
        TXN_RECOVER, /* restore prior states after a crash: every step is a restore, no rollback */
        _TXN_KIND_MAX,
        _TXN_KIND_INVALID = -EINVAL,
} TxnKind;

typedef enum TxnPhase {
        TXN_FORWARD,
        TXN_ROLLBACK,
        TXN_DONE,
        _TXN_PHASE_MAX,
        _TXN_PHASE_INVALID = -EINVAL,
} TxnPhase;

typedef enum TxnOutcome {
        TXN_OK,                  /* every block reached its target */
        TXN_ROLLED_BACK,         /* a step failed (or cancel), everything changed was restored */
        TXN_ROLLBACK_INCOMPLETE, /* a step failed and some blocks could not be restored */
} TxnOutcome;

typedef struct TxnBlock {
        uint32_t id;
        MemAction action;     /* forward action for this block (resolved per block by the caller) */
        MemState prior_state; /* read from sysfs before the first write */
        MemZone prior_zone;   /* zone when online before; MEM_ZONE_UNKNOWN when it was offline */
        MemState state;       /* the machine's view after its own steps */
        MemZone zone;
        bool changed;  /* a forward step changed this block */
        bool restored; /* a rollback step restored it */
        int error;     /* forward or rollback failure of this block, -errno, else 0 */
} TxnBlock;

typedef struct Txn {
        uint64_t id;
        TxnKind kind;
        TxnPhase phase;
        TxnBlock *blocks;
        size_t n_blocks;
        size_t cursor;            /* forward: next index; rollback: one past the next index */
        unsigned attempts;        /* tries of the current step so far */
        unsigned max_retries;     /* EBUSY retries per step (forward offline) */
        uint64_t retry_base_usec; /* first backoff, doubled per retry */
        long failed_index;        /* forward step that failed, -1 */
        int failed_error;
        bool cancelled;
} Txn;

typedef struct TxnStep {
        size_t index;
        uint32_t block;
        MemAction action;
        bool rollback;
} TxnStep;

/* Allocates a machine for @n_blocks blocks; the caller fills id, action, prior_state, prior_zone
 * of each block and may set max_retries / retry_base_usec (defaults: 3, 1 s). */
int txn_new(uint64_t id, TxnKind kind, size_t n_blocks, Txn **ret);
Txn *txn_free(Txn *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Txn *, txn_free);

/* The action that puts a block back where it was: offline, or online into its prior zone. */
MemAction txn_restore_action(MemState prior_state, MemZone prior_zone);

/**
 * txn_next() - the next write to perform.
 *
 * Blocks already in their target state are skipped and count as done.
 * Return: 1 with *ret filled, 0 when the transaction is finished (phase TXN_DONE).
 */
int txn_next(Txn *t, TxnStep *ret);

/**
 * txn_step_done() - report the result of the step txn_next() returned.
 * @result: 0 changed, 1 already in that state (both success), or -errno
 * @zone: the zone read back after an online, else MEM_ZONE_UNKNOWN
 *
 * Forward EBUSY on an offline is retried max_retries times with exponential backoff; EINVAL,
 * ENOENT, ETIMEDOUT, ECANCELED and others fail the step at once.
 * Return: microseconds to wait before calling txn_next() again (backoff), else 0.
 */
uint64_t txn_step_done(Txn *t, const TxnStep *step, int result, MemZone zone);

/* Stops going forward; the next txn_next() starts the rollback of what changed. */
void txn_cancel(Txn *t);

TxnOutcome txn_outcome(const Txn *t);

const char *txn_kind_to_string(TxnKind k);
TxnKind txn_kind_from_string(const char *s);
