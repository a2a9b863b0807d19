/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multi-block operations (manager-ops.c): a Txn state machine driven through the writer thread,
 * with an intent record for crash safety. They know nothing of D-Bus: whoever submits one (the
 * bus layer, or crash recovery) learns how it ended through its done callback.
 */
#pragma once

#include <stdint.h>

#include "manager.h"
#include "txn.h"

/* How an operation ended, valid during the done callback only. */
typedef struct OperationResult {
        uint64_t id;
        const Txn *txn; /* its blocks, in request order */
        TxnOutcome outcome;
        /* Why it failed ("Failed to change memory33: ...", "Cancelled"); "" on success. */
        const char *what;
        /* Blocks it restored, in rollback order ("memory36, memory35"); "" when none. */
        const char *restored;
        /* Blocks it left changed, with their errors; "?" when that could not be listed. */
        const char *left_changed;
} OperationResult;

/*
 * Called exactly once per submitted operation: with its result once its blocks are released and
 * its intent record removed, or with NULL when memhpd exits before it ends (its intent record
 * then stays for the next start to recover).
 */
typedef void (*operation_done_fn)(const OperationResult *result, void *userdata);

/**
 * operation_submit() - queue @txn as an operation; it starts once its blocks are free.
 * @txn: taken over, also on failure
 * @owner: who asked (a bus name), for Cancel() and the log; NULL for crash recovery
 * @done: may be NULL
 * @ret: the operation, valid until @done is called (may be NULL)
 *
 * Nothing runs before the event loop dispatches: a caller may finish setting up first.
 * Return: 0, or -ENOMEM (then @done is never called).
 */
int operation_submit(Manager *m, Txn *txn, const char *owner, operation_done_fn done,
                     void *userdata, Operation **ret);

/* Asks @op to stop and roll back; false when that was asked before. */
bool operation_cancel(Operation *op);
uint64_t operation_id(const Operation *op);

/* Cancels every operation @owner submitted; returns how many. */
unsigned operation_cancel_owner(Manager *m, const char *owner);
