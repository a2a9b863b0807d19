/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash recovery: an intent record left behind names an operation that was interrupted, with
 * each block's state before it began. Recovery puts back every block that is not in that state
 * now; blocks that are, or that are gone, are left out. sysfs is the truth, the record a hint.
 */
#pragma once

#include "memblock.h"
#include "txn.h"

/**
 * recovery_txn_new() - the transaction that restores what an interrupted operation changed.
 * @record: the operation's intent record (from intent_load_all())
 * @now: each block's state now, in @record's block order; negative where it cannot be read
 *       (the block is gone): that block is left out
 * @ret: a TXN_RECOVER machine with @record's id, over the blocks to restore in @record's order
 *       (none when nothing needs restoring). Each block's prior state and zone are the
 *       original ones, so that the record of a recovery that crashes too still names them.
 *
 * Return: the number of blocks to restore, or -ENOMEM.
 */
int recovery_txn_new(const Txn *record, const MemState *now, Txn **ret);
