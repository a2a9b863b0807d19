/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Intent records: the text form of a Txn and its strict parser. Their atomic storage as
 * "txn-<id>.intent" files in the runtime directory is in intent-store.c.
 *
 * Format (version 1), every line ends in '\n', fields are separated by exactly one space:
 *
 *   memhpd-intent 1
 *   id 42
 *   kind offline                      online | offline | recover
 *   phase forward                     forward | rollback | done
 *   cursor 1
 *   failed -1 0                       failed_index failed_error (-errno)
 *   cancelled 0
 *   blocks 2
 *   block 32 online Movable action=offline changed=1 restored=0 error=0 state=offline zone=-
 *   block 33 online Normal action=offline changed=0 restored=0 error=0 state=online zone=Normal
 *   crc32 1a2b3c4d
 *
 * A block line is: id, prior state, prior zone, then the forward action ("none" for
 * MEM_ACTION_NONE), the progress flags, the block's error and the machine's view of its current
 * state and zone. A zone that is MEM_ZONE_UNKNOWN is written "-". The checksum is CRC-32 (IEEE
 * 802.3, reflected polynomial 0xEDB88320, as zlib's crc32()) of every byte before the "crc32"
 * line, printed as 8 lowercase hex digits. attempts, max_retries and retry_base_usec are not
 * recorded: a parsed Txn gets the defaults of txn_new().
 *
 * The parser trusts nothing: lines are bounded, numbers are parsed strictly with overflow checks,
 * every enum and flag is range-checked, the block count is capped at INTENT_BLOCKS_MAX and by
 * what the remaining text can hold, block ids must be unique. The structure is checked before
 * the checksum so that a fuzzer reaches the whole parser; every failure is -EBADMSG.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent-internal.h"
#include "intent.h"
#include "block-ids.h"
#include "macro.h"
#include "strutil.h"

#define INTENT_VERSION 1
/* No block line is shorter than this: bounds the allocation by the input size. */
#define INTENT_BLOCK_LINE_MIN 64
#define INTENT_ERRNO_MAX 4095

static const char *const phase_table[_TXN_PHASE_MAX] = {
        [TXN_FORWARD] = "forward",
        [TXN_ROLLBACK] = "rollback",
        [TXN_DONE] = "done",
};

/* CRC-32/IEEE, one nibble at a time: 16 entries instead of 256, fast enough for a record. */
static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
        static const uint32_t table[16] = {
                0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
                0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
                0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
        };
        const unsigned char *p = data;

        crc = ~crc;
        for (size_t i = 0; i < len; i++) {
                crc = (crc >> 4) ^ table[(crc ^ p[i]) & 0xf];
                crc = (crc >> 4) ^ table[(crc ^ ((unsigned)p[i] >> 4)) & 0xf];
        }
        return ~crc;
}

static const char *zone_name(MemZone z)
{
        return z == MEM_ZONE_UNKNOWN ? "-" : mem_zone_to_string(z);
}

static MemZone zone_from_name(const char *s)
{
        if (streq(s, "-"))
                return MEM_ZONE_UNKNOWN;
        if (s[0] == 0)
                return _MEM_ZONE_INVALID;
        return mem_zone_from_string(s);
}

static const char *action_name(MemAction a)
{
        return a == MEM_ACTION_NONE ? "none" : mem_action_to_string(a);
}

static MemAction action_from_name(const char *s)
{
        return streq(s, "none") ? MEM_ACTION_NONE : mem_action_from_string(s);
}

static bool errno_ok(int e)
{
        return e <= 0 && e >= -INTENT_ERRNO_MAX;
}

static int check_unique_ids(const TxnBlock *blocks, size_t n)
{
        _cleanup_free_ uint32_t *ids = NULL;

        if (n < 2)
                return 0;
        ids = malloc(n * sizeof(uint32_t));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                ids[i] = blocks[i].id;
        return block_ids_sort_check_unique(ids, n, NULL) < 0 ? -EINVAL : 0;
}

/* Everything intent_parse() would refuse, so that no record we write is unreadable. */
static int check_txn(const Txn *t)
{
        if (t->kind < 0 || t->kind >= _TXN_KIND_MAX || t->phase < 0 || t->phase >= _TXN_PHASE_MAX)
                return -EINVAL;
        if (t->n_blocks > INTENT_BLOCKS_MAX)
                return -E2BIG;
        if (t->n_blocks > 0 && !t->blocks)
                return -EINVAL;
        if (t->cursor > t->n_blocks || t->failed_index < -1 ||
            (t->failed_index >= 0 && (size_t)t->failed_index >= t->n_blocks) ||
            !errno_ok(t->failed_error))
                return -EINVAL;
        for (size_t i = 0; i < t->n_blocks; i++) {
                const TxnBlock *b = &t->blocks[i];

                if (!mem_state_to_string(b->prior_state) || !zone_name(b->prior_zone) ||
                    !action_name(b->action) || !mem_state_to_string(b->state) ||
                    !zone_name(b->zone) || !errno_ok(b->error))
                        return -EINVAL;
        }
        return check_unique_ids(t->blocks, t->n_blocks);
}

int intent_format(const Txn *t, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;
        int r;

        if (!t || !ret)
                return -EINVAL;
        r = check_txn(t);
        if (r < 0)
                return r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "memhpd-intent %d\n"
                "id %" PRIu64 "\n"
                "kind %s\n"
                "phase %s\n"
                "cursor %zu\n"
                "failed %ld %d\n"
                "cancelled %d\n"
                "blocks %zu\n",
                INTENT_VERSION, t->id, txn_kind_to_string(t->kind), phase_table[t->phase],
                t->cursor, t->failed_index, t->failed_error, t->cancelled ? 1 : 0, t->n_blocks);
        for (size_t i = 0; i < t->n_blocks; i++) {
                const TxnBlock *b = &t->blocks[i];

                fprintf(f,
                        "block %" PRIu32
                        " %s %s action=%s changed=%d restored=%d error=%d state=%s zone=%s\n",
                        b->id, mem_state_to_string(b->prior_state), zone_name(b->prior_zone),
                        action_name(b->action), b->changed ? 1 : 0, b->restored ? 1 : 0, b->error,
                        mem_state_to_string(b->state), zone_name(b->zone));
        }
        /* fflush() makes buf/size describe everything written so far. */
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        fprintf(f, "crc32 %08" PRIx32 "\n", crc32_update(0, buf, size));
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        /* fclose() of a memstream finalizes buf; it fails only when that cannot be done. */
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Decimal without sign or leading zeros, overflow-checked. */
int intent_parse_u64(const char *s, uint64_t *ret)
{
        if (parse_uint(s, strlen(s), PARSE_UINT_NO_LEADING_ZERO, UINT64_MAX, ret) < 0)
                return -EBADMSG;
        return 0;
}

static int parse_u32(const char *s, uint32_t *ret)
{
        uint64_t v;

        if (intent_parse_u64(s, &v) < 0 || v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t)v;
        return 0;
}

/* "0" or a negative errno "-1" ... "-4095". */
static int parse_errno(const char *s, int *ret)
{
        uint64_t v;

        if (streq(s, "0")) {
                *ret = 0;
                return 0;
        }
        if (s[0] != '-' || intent_parse_u64(s + 1, &v) < 0 || v == 0 || v > INTENT_ERRNO_MAX)
                return -EBADMSG;
        *ret = -(int)v;
        return 0;
}

static int parse_bool01(const char *s, bool *ret)
{
        if (streq(s, "0"))
                *ret = false;
        else if (streq(s, "1"))
                *ret = true;
        else
                return -EBADMSG;
        return 0;
}

/* "key=value" -> value, or NULL. */
static const char *keyed(const char *token, const char *key)
{
        const char *v = startswith(token, key);
        return v && v[0] == '=' ? v + 1 : NULL;
}

typedef struct Line {
        char buf[INTENT_LINE_MAX];
        char *tok[12];
        size_t n_tok;
} Line;

/*
 * Copies the next '\n'-terminated line at *p into @l and splits it at single spaces. A missing
 * newline, an over-long line, an empty token or too many tokens is -EBADMSG.
 */
static int next_line(const char **p, Line *l)
{
        const char *nl = strchr(*p, '\n');
        size_t len;
        char *s;

        if (!nl)
                return -EBADMSG;
        len = (size_t)(nl - *p);
        if (len >= sizeof(l->buf))
                return -EBADMSG;
        memcpy(l->buf, *p, len);
        l->buf[len] = 0;
        *p = nl + 1;

        l->n_tok = 0;
        s = l->buf;
        for (;;) {
                char *sp = strchr(s, ' ');

                if (s[0] == 0 || s[0] == ' ' || l->n_tok >= ELEMENTSOF(l->tok))
                        return -EBADMSG;
                l->tok[l->n_tok++] = s;
                if (!sp)
                        break;
                *sp = 0;
                s = sp + 1;
        }
        return 0;
}

/* Reads a "key value" line into value (two tokens exactly). */
static int next_keyword(const char **p, Line *l, const char *key, const char **ret_value)
{
        if (next_line(p, l) < 0 || l->n_tok != 2 || !streq(l->tok[0], key))
                return -EBADMSG;
        *ret_value = l->tok[1];
        return 0;
}

static int parse_block(const Line *l, TxnBlock *b)
{
        const char *v;
        int s;

        if (l->n_tok != 10 || !streq(l->tok[0], "block"))
                return -EBADMSG;
        if (parse_u32(l->tok[1], &b->id) < 0)
                return -EBADMSG;
        s = mem_state_from_string(l->tok[2]);
        if (s < 0)
                return -EBADMSG;
        b->prior_state = (MemState)s;
        s = zone_from_name(l->tok[3]);
        if (s < 0)
                return -EBADMSG;
        b->prior_zone = (MemZone)s;

        v = keyed(l->tok[4], "action");
        if (!v || (s = action_from_name(v)) < 0)
                return -EBADMSG;
        b->action = (MemAction)s;
        v = keyed(l->tok[5], "changed");
        if (!v || parse_bool01(v, &b->changed) < 0)
                return -EBADMSG;
        v = keyed(l->tok[6], "restored");
        if (!v || parse_bool01(v, &b->restored) < 0)
                return -EBADMSG;
        v = keyed(l->tok[7], "error");
        if (!v || parse_errno(v, &b->error) < 0)
                return -EBADMSG;
        v = keyed(l->tok[8], "state");
        if (!v || (s = mem_state_from_string(v)) < 0)
                return -EBADMSG;
        b->state = (MemState)s;
        v = keyed(l->tok[9], "zone");
        if (!v || (s = zone_from_name(v)) < 0)
                return -EBADMSG;
        b->zone = (MemZone)s;
        return 0;
}

static int phase_from_string(const char *s)
{
        int r = string_table_lookup(phase_table, ELEMENTSOF(phase_table), s);

        return r < 0 ? -EBADMSG : r;
}

int intent_parse(const char *text, Txn **ret)
{
        _cleanup_(txn_freep) Txn *t = NULL;
        const char *p = text, *v, *crc_start;
        uint64_t id, cursor, n, u;
        uint32_t crc;
        long failed_index;
        int kind, phase, failed_error, r;
        bool cancelled;
        Line l;

        if (!text || !ret)
                return -EINVAL;

        if (next_keyword(&p, &l, "memhpd-intent", &v) < 0 || !streq(v, "1"))
                return -EBADMSG;
        if (next_keyword(&p, &l, "id", &v) < 0 || intent_parse_u64(v, &id) < 0)
                return -EBADMSG;
        if (next_keyword(&p, &l, "kind", &v) < 0 || (kind = txn_kind_from_string(v)) < 0)
                return -EBADMSG;
        if (next_keyword(&p, &l, "phase", &v) < 0 || (phase = phase_from_string(v)) < 0)
                return -EBADMSG;
        if (next_keyword(&p, &l, "cursor", &v) < 0 || intent_parse_u64(v, &cursor) < 0)
                return -EBADMSG;

        if (next_line(&p, &l) < 0 || l.n_tok != 3 || !streq(l.tok[0], "failed"))
                return -EBADMSG;
        if (streq(l.tok[1], "-1"))
                failed_index = -1;
        else if (intent_parse_u64(l.tok[1], &u) < 0 || u >= INTENT_BLOCKS_MAX)
                return -EBADMSG;
        else
                failed_index = (long)u;
        if (parse_errno(l.tok[2], &failed_error) < 0)
                return -EBADMSG;

        if (next_keyword(&p, &l, "cancelled", &v) < 0 || parse_bool01(v, &cancelled) < 0)
                return -EBADMSG;
        if (next_keyword(&p, &l, "blocks", &v) < 0 || intent_parse_u64(v, &n) < 0 ||
            n > INTENT_BLOCKS_MAX || n > strlen(p) / INTENT_BLOCK_LINE_MIN)
                return -EBADMSG;
        if (cursor > n || (failed_index >= 0 && (uint64_t)failed_index >= n))
                return -EBADMSG;

        r = txn_new(id, (TxnKind)kind, (size_t)n, &t);
        if (r < 0)
                return r;
        t->phase = (TxnPhase)phase;
        t->cursor = (size_t)cursor;
        t->failed_index = failed_index;
        t->failed_error = failed_error;
        t->cancelled = cancelled;

        for (size_t i = 0; i < n; i++)
                if (next_line(&p, &l) < 0 || parse_block(&l, &t->blocks[i]) < 0)
                        return -EBADMSG;

        crc_start = p;
        if (next_keyword(&p, &l, "crc32", &v) < 0 || *p != 0 || strlen(v) != 8)
                return -EBADMSG;
        crc = 0;
        for (const char *c = v; *c; c++) {
                unsigned d;

                if (*c >= '0' && *c <= '9')
                        d = (unsigned)(*c - '0');
                else if (*c >= 'a' && *c <= 'f')
                        d = (unsigned)(*c - 'a' + 10);
                else
                        return -EBADMSG;
                crc = crc << 4 | d;
        }
        if (crc != crc32_update(0, text, (size_t)(crc_start - text)))
                return -EBADMSG;

        r = check_unique_ids(t->blocks, t->n_blocks);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EBADMSG;

        *ret = TAKE_PTR(t);
        return 0;
}
