/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Operations: OnlineBlocks/OfflineBlocks transactions and crash recovery. Each one claims its
 * blocks (the policy leaves them alone), writes an intent record before the first write, runs
 * its steps one by one on the writer thread, rolls back on failure, and reports its outcome to
 * whoever submitted it. Operations on overlapping blocks run one after the other.
 *
 * Events (a submit, a finished write, a backoff expiring, a cancel, a block becoming free) only
 * record what happened and schedule one defer source; its handler, dispatch(), is the only place
 * operations start, step and finish, so no handler ever re-enters another.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "blocklog.h"
#include "intent.h"
#include "log.h"
#include "manager.h"
#include "operation.h"
#include "recovery.h"
#include "strutil.h"
#include "strv.h"

/* Progress rewrites of huge records would be quadratic; recovery only needs prior states. */
#define PROGRESS_SAVE_MAX_BLOCKS 256

typedef enum OperationPhase {
        OPERATION_QUEUED,  /* waiting for its blocks to be free */
        OPERATION_READY,   /* its next step can be taken */
        OPERATION_WRITING, /* a write of it is on the writer thread */
        OPERATION_BACKOFF, /* waiting out an EBUSY backoff */
} OperationPhase;

struct Operation {
        Manager *manager;
        uint64_t id;
        Txn *txn;
        char *owner; /* NULL for crash recovery */
        operation_done_fn done;
        void *userdata;
        sd_event_source *timer; /* EBUSY backoff */
        OperationPhase phase;
        bool cancel_requested;
        TxnStep step;
        Operation *next;
};

typedef enum IntentSave {
        INTENT_AT_START, /* before the first write: recovery needs it */
        INTENT_PROGRESS, /* after a step: only saves recovery writes that are not needed */
} IntentSave;

static void save_intent(Operation *op, IntentSave when)
{
        Manager *m = op->manager;
        int r;

        if (m->runtime_fd < 0)
                return;
        if (when == INTENT_PROGRESS && op->txn->n_blocks > PROGRESS_SAVE_MAX_BLOCKS)
                return;
        r = intent_save(m->runtime_fd, op->txn);
        if (r < 0)
                log_warning_errno(r,
                                  "Failed to save the intent record of operation %" PRIu64
                                  ", a crash now would not be recovered: %m",
                                  op->id);
}

static void forget_intent(Operation *op)
{
        Manager *m = op->manager;
        int r;

        if (m->runtime_fd < 0)
                return;
        r = intent_remove(m->runtime_fd, op->id);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r,
                                  "Failed to remove the intent record of operation %" PRIu64 ": %m",
                                  op->id);
}

static Operation *operation_free(Operation *op)
{
        if (!op)
                return NULL;
        sd_event_source_disable_unref(op->timer);
        txn_free(op->txn);
        free(op->owner);
        free(op);
        return NULL;
}

static void unlink_op(Manager *m, Operation *op)
{
        for (Operation **p = &m->ops; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        return;
                }
}

void manager_ops_schedule(Manager *m)
{
        if (m->ops && m->ops_dispatch)
                (void)sd_event_source_set_enabled(m->ops_dispatch, SD_EVENT_ONESHOT);
}

static bool blocks_free(Manager *m, const Txn *t)
{
        for (size_t i = 0; i < t->n_blocks; i++) {
                BlockEntry *e = blockmap_peek(&m->blocks, t->blocks[i].id);
                if (e && (e->flags & (BLOCK_BUSY | BLOCK_WRITING)))
                        return false;
        }
        return true;
}

/* Marks the blocks of @t busy: the policy leaves them alone while the operation runs. */
static void claim_blocks(Manager *m, const Txn *t)
{
        for (size_t i = 0; i < t->n_blocks; i++) {
                BlockEntry *e = blockmap_get(&m->blocks, t->blocks[i].id);
                if (e)
                        e->flags |= BLOCK_BUSY;
        }
}

static void unclaim_blocks(Manager *m, const Txn *t)
{
        for (size_t i = 0; i < t->n_blocks; i++) {
                BlockEntry *e = blockmap_peek(&m->blocks, t->blocks[i].id);
                if (e)
                        e->flags &= (uint16_t)~BLOCK_BUSY;
        }
}

/* "memory36, memory35" for the blocks matching @pick, in rollback (reverse) order. */
static char *block_list(const Txn *t, bool (*pick)(const Txn *t, const TxnBlock *b))
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool first = true;

        if (!f)
                return NULL;
        for (size_t i = t->n_blocks; i > 0; i--) {
                const TxnBlock *b = &t->blocks[i - 1];
                if (!pick(t, b))
                        continue;
                fprintf(f, "%smemory%u", first ? "" : ", ", b->id);
                if (b->error != 0 && !b->restored)
                        fprintf(f, " (%s)", strerror(-b->error));
                first = false;
        }
        fclose(f);
        return buf;
}

static bool pick_restored(const Txn *t, const TxnBlock *b)
{
        return (b->changed || t->kind == TXN_RECOVER) && b->restored;
}

/* A recovery lists only blocks that differed from their prior state: each unrestored one counts. */
static bool pick_left_changed(const Txn *t, const TxnBlock *b)
{
        return (b->changed || t->kind == TXN_RECOVER) && !b->restored;
}

static void log_outcome(const Operation *op, const OperationResult *res)
{
        const Txn *t = op->txn;
        Manager *m = op->manager;

        switch (res->outcome) {
        case TXN_OK:
                m->metrics.ops_succeeded++;
                log_info("Operation %" PRIu64 " (%s of %zu blocks) %s.", op->id,
                         txn_kind_to_string(t->kind), t->n_blocks,
                         t->kind == TXN_RECOVER ? "restored every block" : "succeeded");
                break;
        case TXN_ROLLED_BACK:
                m->metrics.ops_rolled_back++;
                log_warning("Operation %" PRIu64 " (%s of %zu blocks): %s. Rolled back: %s.",
                            op->id, txn_kind_to_string(t->kind), t->n_blocks, res->what,
                            *res->restored ? res->restored : "nothing had changed");
                break;
        case TXN_ROLLBACK_INCOMPLETE:
                m->metrics.ops_incomplete++;
                log_error("Operation %" PRIu64 " (%s of %zu blocks): %s. Rollback incomplete, "
                          "left changed: %s.",
                          op->id, txn_kind_to_string(t->kind), t->n_blocks,
                          *res->what ? res->what : "restore failed", res->left_changed);
                break;
        }
}

/* Blocks an operation leaves offline are the admin's decision: policy keeps off them. */
static void release_blocks(Manager *m, const Txn *t)
{
        unclaim_blocks(m, t);
        for (size_t i = 0; i < t->n_blocks; i++) {
                BlockEntry *e = blockmap_peek(&m->blocks, t->blocks[i].id);
                if (e && (e->flags & BLOCK_PRESENT)) {
                        e->flags |= BLOCK_ADMIN_OFFLINE;
                        if (e->state >= 0 && e->state != MEM_STATE_ONLINE)
                                manager_hold_block(m, t->blocks[i].id, e);
                        manager_queue_block(m, t->blocks[i].id);
                }
        }
}

/* Ends @op: log, release its blocks, drop its record, tell its submitter, and free it. */
static void finish(Operation *op)
{
        Manager *m = op->manager;
        Txn *t = op->txn;
        _cleanup_free_ char *restored = block_list(t, pick_restored);
        _cleanup_free_ char *left = block_list(t, pick_left_changed);
        OperationResult res = {
                .id = op->id,
                .txn = t,
                .outcome = txn_outcome(t),
                .restored = restored ?: "",
                .left_changed = left ?: "?",
        };
        char what[256] = "";

        if (t->failed_index >= 0)
                snprintf(what, sizeof(what), "%s memory%u: %s",
                         t->failed_error == -ECANCELED ? "Cancelled at" : "Failed to change",
                         t->blocks[t->failed_index].id, strerror(-t->failed_error));
        else if (t->cancelled)
                snprintf(what, sizeof(what), "Cancelled");
        res.what = what;

        log_outcome(op, &res);
        release_blocks(m, t);
        forget_intent(op);
        if (op->done)
                op->done(&res, op->userdata);
        unlink_op(m, op);
        operation_free(op);
}

/* An operation may have waited behind another: its prior states are the ones at its start. */
static void refresh_prior_states(Manager *m, Txn *t)
{
        if (t->kind == TXN_RECOVER)
                return;
        for (size_t i = 0; i < t->n_blocks; i++) {
                TxnBlock *b = &t->blocks[i];
                MemState st;

                if (memblock_read_state(m->sysfs, b->id, &st) < 0)
                        continue;
                b->prior_state = b->state = st;
                b->prior_zone = MEM_ZONE_UNKNOWN;
                if (st == MEM_STATE_ONLINE)
                        (void)memblock_read_zone(m->sysfs, b->id, &b->prior_zone);
                b->zone = b->prior_zone;
        }
}

static void start(Operation *op)
{
        Manager *m = op->manager;

        claim_blocks(m, op->txn);
        refresh_prior_states(m, op->txn);
        save_intent(op, INTENT_AT_START);
        log_info("Operation %" PRIu64 ": %s of %zu blocks started%s%s.", op->id,
                 txn_kind_to_string(op->txn->kind), op->txn->n_blocks, op->owner ? " for " : "",
                 op->owner ? op->owner : "");
        op->phase = OPERATION_READY;
}

/* Hands @op's next write to the writer; returns false when @op has no step left. */
static bool step(Operation *op)
{
        for (;;) {
                int r = txn_next(op->txn, &op->step);

                if (r == 0)
                        return false;
                r = writer_submit(op->manager->writer, op->step.block, op->step.action, op->id);
                if (r >= 0) {
                        op->phase = OPERATION_WRITING;
                        return true;
                }
                log_oom();
                (void)txn_step_done(op->txn, &op->step, r, MEM_ZONE_UNKNOWN);
        }
}

/*
 * Starts queued operations whose blocks are free, oldest first, and takes the next step of each
 * ready one. A finished operation frees its blocks for an older queued one: walk again then.
 */
static int dispatch(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        bool again = true;

        (void)s;
        while (again) {
                again = false;
                for (Operation *op = m->ops, *next; op; op = next) {
                        next = op->next;
                        if (op->phase == OPERATION_QUEUED && blocks_free(m, op->txn))
                                start(op);
                        if (op->phase == OPERATION_READY && !step(op)) {
                                finish(op);
                                again = true;
                        }
                }
        }
        if (m->stopping && !m->ops)
                return sd_event_exit(m->event, 0);
        manager_check_startup_done(m);
        return 0;
}

static void make_ready(Operation *op)
{
        op->phase = OPERATION_READY;
        manager_ops_schedule(op->manager);
}

static int on_backoff(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        make_ready(userdata);
        return 0;
}

void manager_ops_on_write_done(Manager *m, const WriteJob *job)
{
        Operation *op;
        uint64_t delay;

        for (op = m->ops; op; op = op->next)
                if (op->id == job->cookie)
                        break;
        if (!op || op->phase != OPERATION_WRITING)
                return;

        if (job->result >= 0)
                manager_block_observed(m, job->block, mem_action_target_state(job->action),
                                       job->zone);
        if (job->result == 0 && mem_action_target_state(job->action) == MEM_STATE_ONLINE)
                m->metrics.blocks_onlined++;
        else if (job->result == 0)
                m->metrics.blocks_offlined++;
        else if (job->result < 0 && job->result != -ECANCELED)
                manager_record_failure(m, job->block, job->result,
                                       mem_action_to_string(job->action));
        if (job->result < 0)
                log_block(LOG_WARNING, job->result, job->block, -1, NULL,
                          op->step.rollback ? "rollback" : mem_action_to_string(job->action),
                          "Operation %" PRIu64 ": memory%u %s%s failed: %m.", op->id, job->block,
                          op->step.rollback ? "rollback " : "", mem_action_to_string(job->action));
        else
                log_block(LOG_INFO, 0, job->block, -1, mem_zone_to_string(job->zone),
                          op->step.rollback ? "rollback" : mem_action_to_string(job->action),
                          "Operation %" PRIu64 ": memory%u %s%s %s.", op->id, job->block,
                          op->step.rollback ? "rollback " : "", mem_action_to_string(job->action),
                          job->result == 1 ? "(already)" : "done");

        delay = txn_step_done(op->txn, &op->step, job->result, job->zone);
        save_intent(op, INTENT_PROGRESS);
        if (delay > 0) {
                m->metrics.retries++;
                op->timer = sd_event_source_disable_unref(op->timer);
                if (sd_event_add_time_relative(m->event, &op->timer, CLOCK_MONOTONIC, delay, 0,
                                               on_backoff, op) >= 0) {
                        op->phase = OPERATION_BACKOFF;
                        return;
                }
        }
        make_ready(op);
}

bool operation_cancel(Operation *op)
{
        /*
         * Once only (sd-bus reports a vanished caller more than once), and never into a rollback:
         * interrupting a restore would leave the block changed.
         */
        if (op->cancel_requested)
                return false;
        op->cancel_requested = true;
        txn_cancel(op->txn);
        if (op->step.rollback)
                return true;
        if (op->phase == OPERATION_WRITING)
                writer_cancel(op->manager->writer, op->id);
        else if (op->phase == OPERATION_BACKOFF) {
                op->timer = sd_event_source_disable_unref(op->timer);
                make_ready(op);
        }
        return true;
}

uint64_t operation_id(const Operation *op)
{
        return op->id;
}

/* Cancels every operation of @owner (all when NULL); returns how many. */
static unsigned cancel_matching(Manager *m, const char *owner)
{
        unsigned n = 0;

        for (Operation *op = m->ops; op; op = op->next)
                if (!op->cancel_requested && (!owner || (op->owner && streq(op->owner, owner)))) {
                        (void)operation_cancel(op);
                        n++;
                }
        return n;
}

unsigned manager_ops_cancel_all(Manager *m)
{
        return cancel_matching(m, NULL);
}

unsigned operation_cancel_owner(Manager *m, const char *owner)
{
        return cancel_matching(m, owner);
}

int operation_submit(Manager *m, Txn *txn, const char *owner, operation_done_fn done,
                     void *userdata, Operation **ret)
{
        Operation *op, **tail;

        op = calloc(1, sizeof(*op));
        if (!op) {
                txn_free(txn);
                return -ENOMEM;
        }
        *op = (Operation){
                .manager = m,
                .txn = txn,
                .id = txn->id,
                .done = done,
                .userdata = userdata,
                .phase = OPERATION_QUEUED,
        };
        if (owner) {
                op->owner = strdup(owner);
                if (!op->owner) {
                        operation_free(op);
                        return -ENOMEM;
                }
        }
        for (tail = &m->ops; *tail; tail = &(*tail)->next)
                ;
        *tail = op;
        manager_ops_schedule(m);
        if (ret)
                *ret = op;
        return 0;
}

int manager_ops_setup(Manager *m)
{
        const char *dir = getenv("RUNTIME_DIRECTORY");
        char path[4096];
        int r;

        m->runtime_fd = -EBADF;
        m->next_op_id = 1; /* recovery moves it past every id still on disk */

        r = sd_event_add_defer(m->event, &m->ops_dispatch, dispatch, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up operations: %m");
        /* Ahead of the policy pass: recovered operations claim their blocks before it runs. */
        (void)sd_event_source_set_priority(m->ops_dispatch, SD_EVENT_PRIORITY_NORMAL - 1);
        (void)sd_event_source_set_enabled(m->ops_dispatch, SD_EVENT_OFF);

        /*
         * Records of a test sysroot must never be replayed against the real one: without
         * $RUNTIME_DIRECTORY (set by systemd) they live inside the sysroot.
         */
        if (!dir || !*dir) {
                const char *root = strcmp(m->sysroot, "/") == 0 ? "" : m->sysroot;

                snprintf(path, sizeof(path), "%s/run", root);
                (void)mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/run/memhpd", root);
                (void)mkdir(path, 0700);
                dir = path;
        } else {
                /* systemd may hand over a list; the first entry is ours. */
                snprintf(path, sizeof(path), "%s", dir);
                path[strcspn(path, ":")] = 0;
                dir = path;
        }
        m->runtime_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->runtime_fd < 0)
                log_warning_errno(errno,
                                  "No runtime directory '%s', operations will not survive "
                                  "a crash: %m",
                                  dir);
        return 0;
}

/* Each block's state now, _MEM_STATE_INVALID for a block that is gone; NULL on ENOMEM. */
static MemState *read_states(Manager *m, const Txn *record)
{
        MemState *now = calloc(MAX(record->n_blocks, (size_t)1), sizeof(*now));

        if (!now)
                return NULL;
        for (size_t i = 0; i < record->n_blocks; i++) {
                const TxnBlock *b = &record->blocks[i];

                if (memblock_read_state(m->sysfs, b->id, &now[i]) < 0) {
                        log_notice("Recovery of operation %" PRIu64 ": memory%u is gone.",
                                   record->id, b->id);
                        now[i] = _MEM_STATE_INVALID;
                }
        }
        return now;
}

int manager_ops_recover(Manager *m)
{
        _cleanup_strv_free_ char **bad = NULL;
        _cleanup_free_ Txn **records = NULL;
        size_t n = 0;
        int r;

        if (m->runtime_fd < 0)
                return 0;
        r = intent_load_all(m->runtime_fd, &records, &n, &bad);
        if (r < 0)
                return log_warning_errno(r, "Failed to read intent records, skipping recovery: %m");
        for (char **b = bad; b && *b; b++)
                log_error("Intent record '%s' is damaged; the operation it describes cannot be "
                          "recovered. Check its blocks with 'memhpctl list'.",
                          *b);

        for (size_t i = 0; i < n; i++) {
                _cleanup_(txn_freep) Txn *old = records[i], *rec = NULL;
                _cleanup_free_ MemState *now = NULL;

                if (old->id >= m->next_op_id)
                        m->next_op_id = old->id + 1;
                now = read_states(m, old);
                r = now ? recovery_txn_new(old, now, &rec) : -ENOMEM;
                if (r < 0) {
                        log_oom();
                        continue;
                }
                for (size_t k = 0; k < rec->n_blocks; k++) {
                        BlockEntry *e = blockmap_get(&m->blocks, rec->blocks[k].id);
                        if (e)
                                blockmap_set_present(&m->blocks, e, true);
                }
                log_notice("Operation %" PRIu64 " (%s of %zu blocks) was interrupted by a crash: "
                           "restoring %zu blocks to their prior state.",
                           old->id, txn_kind_to_string(old->kind), old->n_blocks, rec->n_blocks);
                if (rec->n_blocks == 0) {
                        (void)intent_remove(m->runtime_fd, rec->id);
                        continue;
                }
                r = operation_submit(m, TAKE_PTR(rec), NULL, NULL, NULL, NULL);
                if (r < 0)
                        log_oom();
        }
        return 0;
}

void manager_ops_free(Manager *m)
{
        while (m->ops) {
                Operation *op = m->ops;
                m->ops = op->next;
                if (op->done)
                        op->done(NULL, op->userdata);
                operation_free(op);
        }
        m->ops_dispatch = sd_event_source_disable_unref(m->ops_dispatch);
        if (m->runtime_fd >= 0)
                close(m->runtime_fd);
        m->runtime_fd = -EBADF;
}
