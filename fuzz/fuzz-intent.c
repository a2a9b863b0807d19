/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash-safety intent records: intent_parse() on the input, twice: as it is, and with its
 * "crc32" line replaced by the right checksum of what precedes it, so that the fuzzer also gets
 * past the checksum to the checks after it and to the success path.
 *
 * Invariants on success: the Txn is within the limits the format promises; intent_format() of it
 * gives back exactly the input (the parser takes only the canonical form) and parses to the
 * same Txn; and the machines built from it terminate: the TXN_RECOVER machine the daemon builds
 * from a record (manager_ops_recover()), and the parsed machine itself.
 */
#include <errno.h>
#include <inttypes.h>

#include "block-ids.h"
#include "fuzz.h"
#include "intent.h"

#define INTENT_INPUT_MAX (256U * 1024U)

/* Bitwise CRC-32/IEEE, independent of the table-driven one in lib/intent.c. */
FUZZ_NO_COVERAGE static uint32_t crc32_ieee(const char *p, size_t n)
{
        uint32_t crc = 0xffffffffU;

        for (size_t i = 0; i < n; i++) {
                crc ^= (unsigned char)p[i];
                for (int k = 0; k < 8; k++)
                        crc = (crc >> 1) ^ (0xedb88320U & (0U - (crc & 1)));
        }
        return ~crc;
}

FUZZ_NO_COVERAGE static void check_same(const Txn *a, const Txn *b)
{
        FUZZ_CHECK(a->id == b->id && a->kind == b->kind && a->phase == b->phase);
        FUZZ_CHECK(a->cursor == b->cursor && a->failed_index == b->failed_index);
        FUZZ_CHECK(a->failed_error == b->failed_error && a->cancelled == b->cancelled);
        FUZZ_CHECK(a->n_blocks == b->n_blocks);
        for (size_t i = 0; i < a->n_blocks; i++) {
                const TxnBlock *x = &a->blocks[i], *y = &b->blocks[i];

                FUZZ_CHECK(x->id == y->id && x->action == y->action);
                FUZZ_CHECK(x->prior_state == y->prior_state && x->prior_zone == y->prior_zone);
                FUZZ_CHECK(x->state == y->state && x->zone == y->zone);
                FUZZ_CHECK(x->changed == y->changed && x->restored == y->restored);
                FUZZ_CHECK(x->error == y->error);
        }
}

FUZZ_NO_COVERAGE static void check_unique(const Txn *t)
{
        uint32_t *ids = malloc((t->n_blocks + 1) * sizeof(uint32_t));

        if (!ids)
                return;
        for (size_t i = 0; i < t->n_blocks; i++)
                ids[i] = t->blocks[i].id;
        block_ids_sort(ids, t->n_blocks);
        for (size_t i = 1; i < t->n_blocks; i++)
                FUZZ_CHECK_MSG(ids[i] != ids[i - 1], "memory%" PRIu32 " twice", ids[i]);
        free(ids);
}

FUZZ_NO_COVERAGE static void check_limits(const Txn *t)
{
        FUZZ_CHECK(t->kind >= 0 && t->kind < _TXN_KIND_MAX);
        FUZZ_CHECK(t->phase >= 0 && t->phase < _TXN_PHASE_MAX);
        FUZZ_CHECK(t->n_blocks <= 65536 && (t->n_blocks == 0 || t->blocks));
        FUZZ_CHECK(t->cursor <= t->n_blocks);
        FUZZ_CHECK(t->failed_index >= -1 && t->failed_index < (long)t->n_blocks);
        FUZZ_CHECK(t->failed_error <= 0 && t->failed_error >= -4095);
        for (size_t i = 0; i < t->n_blocks; i++) {
                const TxnBlock *b = &t->blocks[i];

                FUZZ_CHECK(mem_state_to_string(b->prior_state) && mem_state_to_string(b->state));
                FUZZ_CHECK(mem_zone_to_string(b->prior_zone) && mem_zone_to_string(b->zone));
                FUZZ_CHECK(b->action >= MEM_ACTION_NONE && b->action < _MEM_ACTION_MAX);
                FUZZ_CHECK(b->error <= 0 && b->error >= -4095);
        }
        check_unique(t);
}

/* Results made up from the block id, so that the machines see failures and retries too. */
static int fake_result(uint32_t block, unsigned attempt)
{
        switch (block % 7) {
        case 3:
                return attempt < 2 ? -EBUSY : 0;
        case 5:
                return -EINVAL;
        case 6:
                return 1;
        default:
                return 0;
        }
}

/* Drives @t to TXN_DONE; at most a few steps per block, or it does not terminate. */
static void drive(Txn *t)
{
        size_t limit = 16 * (t->n_blocks + 2), steps = 0;
        unsigned attempt = 0;
        uint32_t last = UINT32_MAX;
        TxnStep step;
        int r;

        while ((r = txn_next(t, &step)) > 0) {
                FUZZ_CHECK_MSG(++steps <= limit, "no end after %zu steps for %zu blocks", steps,
                               t->n_blocks);
                FUZZ_CHECK(step.index < t->n_blocks && t->blocks[step.index].id == step.block);
                FUZZ_CHECK(mem_action_to_string(step.action));
                attempt = step.block == last ? attempt + 1 : 0;
                last = step.block;
                (void)txn_step_done(t, &step, fake_result(step.block, attempt),
                                    step.action == MEM_ACTION_OFFLINE ? MEM_ZONE_UNKNOWN
                                                                      : MEM_ZONE_MOVABLE);
        }
        FUZZ_CHECK_MSG(r == 0, "txn_next() = %d", r);
        FUZZ_CHECK(t->phase == TXN_DONE);
        (void)txn_outcome(t);
}

/* What manager_ops_recover() builds from a record (every block taken as still changed). */
static void drive_recovery(const Txn *old)
{
        Txn *rec;

        if (txn_new(old->id, TXN_RECOVER, old->n_blocks, &rec) < 0)
                return;
        for (size_t i = 0; i < old->n_blocks; i++) {
                const TxnBlock *b = &old->blocks[i];

                rec->blocks[i] = (TxnBlock){
                        .id = b->id,
                        .action = txn_restore_action(b->prior_state, b->prior_zone),
                        .prior_state = b->prior_state,
                        .prior_zone = b->prior_zone,
                        .state = b->state,
                };
                FUZZ_CHECK(rec->blocks[i].action > MEM_ACTION_NONE);
        }
        drive(rec);
        txn_free(rec);
}

static void check_parsed(const char *text, Txn *t)
{
        char *again = NULL;
        Txn *t2 = NULL;
        int r;

        check_limits(t);
        r = intent_format(t, &again);
        FUZZ_CHECK_MSG(r == 0, "intent_format() = %d", r);
        FUZZ_CHECK_MSG(strcmp(again, text) == 0, "input:\n%s\nformatted:\n%s", text, again);
        r = intent_parse(again, &t2);
        FUZZ_CHECK_MSG(r == 0, "intent_parse(intent_format()) = %d", r);
        check_same(t, t2);
        txn_free(t2);
        free(again);

        drive_recovery(t);
        drive(t);
}

static void parse_one(const char *text)
{
        Txn *t = NULL;
        int r = intent_parse(text, &t);

        if (r < 0) {
                FUZZ_CHECK_MSG(r == -EBADMSG || r == -ENOMEM, "r=%d", r);
                FUZZ_CHECK(!t);
                return;
        }
        FUZZ_CHECK(r == 0 && t);
        check_parsed(text, t);
        txn_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text, *crc, *fixed;
        size_t head;

        if (size > INTENT_INPUT_MAX)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;
        parse_one(text);

        /* The checksum line starts the text or follows a newline; take the last one. */
        crc = strncmp(text, "crc32 ", 6) == 0 ? text : NULL;
        for (char *p = text; (p = strstr(p, "\ncrc32 ")); p++)
                crc = p + 1;
        if (crc) {
                head = (size_t)(crc - text);
                fixed = malloc(head + sizeof("crc32 12345678\n"));
                if (fixed) {
                        memcpy(fixed, text, head);
                        snprintf(fixed + head, sizeof("crc32 12345678\n"), "crc32 %08" PRIx32 "\n",
                                 crc32_ieee(text, head));
                        if (strcmp(fixed, text) != 0)
                                parse_one(fixed);
                        free(fixed);
                }
        }
        free(text);
        return 0;
}
