/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The multi-block transaction state machine: which write comes next, what a result means,
 * when to retry, and the reverse-order rollback of what this transaction changed. No I/O.
 *
 * Rules, beyond what txn.h says:
 *
 * - A block is skipped (no write, counts as done, never rolled back) when its prior state is
 *   already the target state of its action. Only the state is compared: writing online_movable
 *   to a block that is online in Normal would only earn the kernel's EINVAL, a zone change
 *   needs an offline first and is not what a transaction does. A forward block whose action is
 *   MEM_ACTION_NONE is skipped too (the caller's "leave it alone").
 * - A forward action that does not fit the kind (offline in TXN_ONLINE, online_* in
 *   TXN_OFFLINE, or out of range) fails that step with -EINVAL without issuing a write, and the
 *   transaction rolls back like after any other failure.
 * - result 1 ("already in that state") is success, but the block is not marked changed: another
 *   agent got there first, so a rollback must not undo what it did.
 * - Retries (forward): only an offline step failing with EBUSY or EAGAIN is retried, at most
 *   max_retries times, waiting retry_base_usec << (try - 1) before try+1 (1, 2, 4 s by
 *   default). EBUSY is the kernel's transient isolation/migration failure and EAGAIN means
 *   "try again" by definition. Everything else fails at once:
 *     EINVAL        wrong zone, holes, multi-zone block: permanent;
 *     ENOENT/ENODEV the block is gone (hot-remove);
 *     ETIMEDOUT/EINTR our own per-step deadline already fired, the kernel retried internally
 *                   the whole time; retrying would multiply the bound the caller chose;
 *     ECANCELED     the caller asked us to stop;
 *     ENOMEM        memmap or hugetlb dissolve under memory pressure: waiting and trying again
 *                   only adds pressure, an operator should decide;
 *     EHWPOISON     poisoned pages do not heal.
 *   Onlining is not retried: a failed online leaves the block unchanged and is not transient.
 * - Retries (rollback): a rollback step failing with EBUSY/EAGAIN gets exactly one more try
 *   after retry_base_usec (none when max_retries is 0). Undoing a just-onlined block can hit
 *   a transient EBUSY when the kernel started allocating from it; one short retry catches that
 *   without stretching the failure path. After that the error is recorded on the block
 *   (restored stays false) and the rollback goes on with the next block.
 * - Cancel: failed_error becomes -ECANCELED and failed_index stays -1 (no step failed) unless
 *   a step had already failed. A step that was in flight when txn_cancel() was called is still
 *   reported and recorded (a success is rolled back like any other change); it is not retried.
 * - TXN_RECOVER: every block gets a write, none is skipped: the record the blocks came from is a
 *   hint and sysfs is the truth, so the kernel decides ("already there" = result 1 = restored).
 *   The action is the block's action when the caller set one, else
 *   txn_restore_action(prior_state, prior_zone). A caller-set action that does not lead to the
 *   prior state (say, the forward action copied from a record) is refused with -EINVAL on that
 *   block rather than written. Failures are recorded on the block and the machine moves on; the
 *   first one is also put in failed_index/failed_error. EBUSY/EAGAIN on an offline is retried
 *   like a forward offline. On success: restored = true, changed = (result == 0).
 * - Callers must strictly alternate txn_next() and txn_step_done(). A report that does not
 *   match the step the machine is waiting for (index, block, direction) is ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strutil.h"
#include "txn.h"

#define TXN_DEFAULT_MAX_RETRIES 3U
#define TXN_DEFAULT_RETRY_BASE_USEC UINT64_C(1000000)

static const char *const kind_table[_TXN_KIND_MAX] = {
        [TXN_ONLINE] = "online",
        [TXN_OFFLINE] = "offline",
        [TXN_RECOVER] = "recover",
};

const char *txn_kind_to_string(TxnKind k)
{
        return k >= 0 && k < _TXN_KIND_MAX ? kind_table[k] : NULL;
}

TxnKind txn_kind_from_string(const char *s)
{
        if (!s)
                return _TXN_KIND_INVALID;
        return (TxnKind)string_table_lookup(kind_table, ELEMENTSOF(kind_table), s);
}

int txn_new(uint64_t id, TxnKind kind, size_t n_blocks, Txn **ret)
{
        _cleanup_free_ TxnBlock *blocks = NULL;
        Txn *t;

        if (!ret || kind < 0 || kind >= _TXN_KIND_MAX)
                return -EINVAL;
        if (n_blocks > 0) {
                /* calloc() checks the multiplication; zero is MEM_STATE_OFFLINE,
                 * MEM_ZONE_UNKNOWN and MEM_ACTION_NONE. */
                blocks = calloc(n_blocks, sizeof(TxnBlock));
                if (!blocks)
                        return -ENOMEM;
        }
        t = malloc(sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (Txn){
                .id = id,
                .kind = kind,
                .phase = TXN_FORWARD,
                .blocks = TAKE_PTR(blocks),
                .n_blocks = n_blocks,
                .max_retries = TXN_DEFAULT_MAX_RETRIES,
                .retry_base_usec = TXN_DEFAULT_RETRY_BASE_USEC,
                .failed_index = -1,
        };
        *ret = t;
        return 0;
}

Txn *txn_free(Txn *t)
{
        if (!t)
                return NULL;
        free(t->blocks);
        free(t);
        return NULL;
}

MemAction txn_restore_action(MemState prior_state, MemZone prior_zone)
{
        switch (prior_state) {
        case MEM_STATE_OFFLINE:
        /* Another writer was taking the block offline when we read it: do not undo its intent. */
        case MEM_STATE_GOING_OFFLINE:
                return MEM_ACTION_OFFLINE;
        case MEM_STATE_ONLINE:
                if (prior_zone == MEM_ZONE_MOVABLE)
                        return MEM_ACTION_ONLINE_MOVABLE;
                if (mem_zone_is_kernel(prior_zone))
                        return MEM_ACTION_ONLINE_KERNEL;
                /* Unknown, Device or "none": let the kernel pick, as it did the first time. */
                return MEM_ACTION_ONLINE;
        default:
                return _MEM_ACTION_INVALID;
        }
}

/* The state a restore leads to; going-offline is restored as offline (see above). */
static MemState restore_target(MemState prior_state)
{
        return prior_state == MEM_STATE_GOING_OFFLINE ? MEM_STATE_OFFLINE : prior_state;
}

static bool action_fits_kind(TxnKind kind, MemAction a)
{
        MemState target = mem_action_target_state(a);

        if (kind == TXN_ONLINE)
                return target == MEM_STATE_ONLINE;
        if (kind == TXN_OFFLINE)
                return target == MEM_STATE_OFFLINE;
        return false;
}

/* The action a recovery step writes for @b, or a negative value when there is none. */
static MemAction recover_action(const TxnBlock *b)
{
        MemState target = restore_target(b->prior_state);

        if (b->action == MEM_ACTION_NONE)
                return txn_restore_action(b->prior_state, b->prior_zone);
        if (target < 0 || mem_action_target_state(b->action) != target)
                return _MEM_ACTION_INVALID;
        return b->action;
}

static bool errno_is_transient(int r)
{
        return r == -EBUSY || r == -EAGAIN;
}

static uint64_t backoff_usec(uint64_t base, unsigned try_no)
{
        unsigned shift = try_no > 0 ? try_no - 1 : 0;

        if (shift >= 64 || base > (UINT64_MAX >> shift))
                return UINT64_MAX;
        return base << shift;
}

static void fail_forward(Txn *t, size_t i, int error)
{
        TxnBlock *b = &t->blocks[i];

        b->error = error;
        t->attempts = 0;
        if (t->kind == TXN_RECOVER) {
                b->restored = false;
                if (t->failed_index < 0 && !t->cancelled) {
                        t->failed_index = (long)i;
                        t->failed_error = error;
                }
                t->cursor = i + 1;
                return;
        }
        if (t->failed_index < 0 && !t->cancelled) {
                t->failed_index = (long)i;
                t->failed_error = error;
        }
        /* Rollback starts at the block before the failed one (cursor = one past the next). */
        t->phase = TXN_ROLLBACK;
        t->cursor = i;
}

static void start_rollback(Txn *t)
{
        t->attempts = 0;
        if (t->kind == TXN_RECOVER) {
                /* Nothing to undo: a recovery only ever restores. */
                t->phase = TXN_DONE;
                return;
        }
        t->phase = TXN_ROLLBACK;
        t->cursor = MIN(t->cursor, t->n_blocks);
}

/* The machine's view of blocks it has not touched yet is their prior state. */
static void sync_untouched(Txn *t)
{
        for (size_t i = 0; i < t->n_blocks; i++) {
                TxnBlock *b = &t->blocks[i];

                if (!b->changed) {
                        b->state = b->prior_state;
                        b->zone = b->prior_zone;
                }
        }
}

int txn_next(Txn *t, TxnStep *ret)
{
        if (!t || !ret || (t->n_blocks > 0 && !t->blocks))
                return -EINVAL;

        if (t->phase == TXN_FORWARD && t->kind != TXN_RECOVER && t->cursor == 0 && t->attempts == 0)
                sync_untouched(t);

        for (;;) {
                TxnBlock *b;
                MemAction a;

                switch (t->phase) {
                case TXN_FORWARD:
                        if (t->cancelled) {
                                start_rollback(t);
                                continue;
                        }
                        if (t->cursor >= t->n_blocks) {
                                t->phase = TXN_DONE;
                                t->attempts = 0;
                                return 0;
                        }
                        b = &t->blocks[t->cursor];
                        if (t->kind == TXN_RECOVER) {
                                a = recover_action(b);
                                if (a <= MEM_ACTION_NONE) {
                                        fail_forward(t, t->cursor, -EINVAL);
                                        continue;
                                }
                        } else {
                                a = b->action;
                                if (a == MEM_ACTION_NONE ||
                                    (action_fits_kind(t->kind, a) &&
                                     b->prior_state == mem_action_target_state(a))) {
                                        /* Nothing to do: done, not changed. */
                                        t->cursor++;
                                        t->attempts = 0;
                                        continue;
                                }
                                if (!action_fits_kind(t->kind, a)) {
                                        fail_forward(t, t->cursor, -EINVAL);
                                        continue;
                                }
                        }
                        *ret = (TxnStep){
                                .index = t->cursor,
                                .block = b->id,
                                .action = a,
                                .rollback = false,
                        };
                        return 1;

                case TXN_ROLLBACK:
                        if (t->cursor > t->n_blocks)
                                t->cursor = t->n_blocks;
                        if (t->cursor == 0) {
                                t->phase = TXN_DONE;
                                t->attempts = 0;
                                return 0;
                        }
                        b = &t->blocks[t->cursor - 1];
                        if (!b->changed || b->restored) {
                                t->cursor--;
                                t->attempts = 0;
                                continue;
                        }
                        a = txn_restore_action(b->prior_state, b->prior_zone);
                        if (a <= MEM_ACTION_NONE) {
                                /* A prior state we cannot name: say so, go on. */
                                b->error = -EINVAL;
                                t->cursor--;
                                t->attempts = 0;
                                continue;
                        }
                        *ret = (TxnStep){
                                .index = t->cursor - 1,
                                .block = b->id,
                                .action = a,
                                .rollback = true,
                        };
                        return 1;

                case TXN_DONE:
                        return 0;

                default:
                        return -EINVAL;
                }
        }
}

static bool step_expected(const Txn *t, const TxnStep *step)
{
        size_t i;

        if (t->n_blocks > 0 && !t->blocks)
                return false;
        if (t->phase == TXN_FORWARD) {
                if (step->rollback || t->cursor >= t->n_blocks)
                        return false;
                i = t->cursor;
        } else if (t->phase == TXN_ROLLBACK) {
                if (!step->rollback || t->cursor == 0 || t->cursor > t->n_blocks)
                        return false;
                i = t->cursor - 1;
        } else
                return false;
        return step->index == i && t->blocks[i].id == step->block;
}

uint64_t txn_step_done(Txn *t, const TxnStep *step, int result, MemZone zone)
{
        MemState target;
        TxnBlock *b;

        if (!t || !step || !step_expected(t, step))
                return 0;
        b = &t->blocks[step->index];
        target = mem_action_target_state(step->action);
        if (target < 0)
                target = b->state;

        if (result >= 0) {
                b->state = target;
                b->zone = target == MEM_STATE_ONLINE ? zone : MEM_ZONE_UNKNOWN;
                t->attempts = 0;
                if (t->phase == TXN_ROLLBACK) {
                        b->restored = true;
                        t->cursor--;
                } else if (t->kind == TXN_RECOVER) {
                        b->restored = true;
                        b->changed = result == 0;
                        b->error = 0;
                        t->cursor++;
                } else {
                        b->changed = result == 0;
                        b->error = 0;
                        t->cursor++;
                }
                return 0;
        }

        t->attempts++;
        if (t->phase == TXN_ROLLBACK) {
                if (errno_is_transient(result) && t->max_retries > 0 && t->attempts <= 1)
                        return t->retry_base_usec;
                b->error = result;
                b->restored = false;
                t->attempts = 0;
                t->cursor--;
                return 0;
        }

        if (target == MEM_STATE_OFFLINE && errno_is_transient(result) && !t->cancelled &&
            t->attempts <= t->max_retries)
                return backoff_usec(t->retry_base_usec, t->attempts);

        fail_forward(t, step->index, result);
        return 0;
}

void txn_cancel(Txn *t)
{
        if (!t || t->phase != TXN_FORWARD || t->cancelled)
                return;
        t->cancelled = true;
        if (t->failed_index < 0)
                t->failed_error = -ECANCELED;
}

TxnOutcome txn_outcome(const Txn *t)
{
        bool left_changed = false;

        if (!t)
                return TXN_ROLLBACK_INCOMPLETE;

        if (t->kind == TXN_RECOVER) {
                for (size_t i = 0; i < t->n_blocks; i++)
                        if (!t->blocks[i].restored)
                                return TXN_ROLLBACK_INCOMPLETE;
                return TXN_OK;
        }

        for (size_t i = 0; i < t->n_blocks; i++)
                if (t->blocks[i].changed && !t->blocks[i].restored)
                        left_changed = true;
        if (t->failed_index < 0 && !t->cancelled)
                return TXN_OK;
        return left_changed ? TXN_ROLLBACK_INCOMPLETE : TXN_ROLLED_BACK;
}
