/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpctl's TARGET grammar: block ids, block ranges, address ranges, sizes, node selection. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block-ids.h"
#include "macro.h"
#include "strutil.h"
#include "target.h"

typedef struct Interval {
        uint64_t first, last; /* block ids, inclusive */
        const char *item;     /* the item it came from, for error messages */
        size_t len;
} Interval;

_printf_(3, 4) static int fail(TargetError *e, int r, const char *fmt, ...)
{
        if (e) {
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(e->message, sizeof(e->message), fmt, ap);
                va_end(ap);
        }
        return r;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
        size_t l = strlen(prefix);
        return len >= l && memcmp(s, prefix, l) == 0;
}

/* "32" or "memory32". */
static int parse_block_id(const char *s, size_t len, uint64_t *ret)
{
        if (has_prefix(s, len, "memory")) {
                s += strlen("memory");
                len -= strlen("memory");
        }
        return parse_uint(s, len, 0, MEMHP_BLOCK_ID_MAX, ret);
}

/* "0x100000000": the prefix is required, so that an address is never mistaken for a block id. */
static int parse_address(const char *s, size_t len, uint64_t *ret)
{
        if (!has_prefix(s, len, "0x") && !has_prefix(s, len, "0X"))
                return -EINVAL;
        return parse_uint(s + 2, len - 2, PARSE_UINT_HEX, UINT64_MAX, ret);
}

static int parse_address_range(const char *s, size_t len, const char *dash, uint64_t block_size,
                               bool resolve, Interval *ret, TargetError *e)
{
        char q[QUOTE_BUF_SIZE];
        uint64_t start, end;
        int r;

        if (!dash)
                return fail(e, -EINVAL,
                            "'%s': an address range needs an inclusive end, as in "
                            "0x100000000-0x13fffffff",
                            quote_untrusted(q, s, len));
        r = parse_address(s, (size_t)(dash - s), &start);
        if (r >= 0)
                r = parse_address(dash + 1, len - (size_t)(dash - s) - 1, &end);
        if (r == -ERANGE)
                return fail(e, r, "'%s': address does not fit in 64 bits",
                            quote_untrusted(q, s, len));
        if (r < 0)
                return fail(e, r,
                            "'%s': expected an address range with both ends in hexadecimal, as "
                            "in 0x100000000-0x13fffffff",
                            quote_untrusted(q, s, len));
        if (end < start)
                return fail(e, -EINVAL, "'%s': reversed range, the end is below the start",
                            quote_untrusted(q, s, len));
        if (!resolve)
                return 0;

        if (block_size == 0)
                return fail(e, -EINVAL, "'%s': the block size is needed for an address range",
                            quote_untrusted(q, s, len));
        if (start % block_size != 0)
                return fail(e, -EINVAL,
                            "'%s': start address 0x%" PRIx64 " is not aligned to the block size "
                            "(0x%" PRIx64 ")",
                            quote_untrusted(q, s, len), start, block_size);
        /* The end is inclusive: it must be the last byte of a block. */
        if (end % block_size != block_size - 1)
                return fail(e, -EINVAL,
                            "'%s': end address 0x%" PRIx64 " is not the last byte of a block "
                            "(blocks are 0x%" PRIx64 " bytes; the end is inclusive)",
                            quote_untrusted(q, s, len), end, block_size);
        if (end / block_size > MEMHP_BLOCK_ID_MAX)
                return fail(e, -ERANGE,
                            "'%s': address 0x%" PRIx64 " lies beyond the highest block id %" PRIu32,
                            quote_untrusted(q, s, len), end, MEMHP_BLOCK_ID_MAX);

        ret->first = start / block_size;
        ret->last = end / block_size;
        return 0;
}

static int parse_block_range(const char *s, size_t len, const char *dash, Interval *ret,
                             TargetError *e)
{
        char q[QUOTE_BUF_SIZE];
        uint64_t first, last;
        int r;

        if (dash) {
                r = parse_block_id(s, (size_t)(dash - s), &first);
                if (r >= 0)
                        r = parse_block_id(dash + 1, len - (size_t)(dash - s) - 1, &last);
        } else {
                r = parse_block_id(s, len, &first);
                last = first;
        }
        if (r == -ERANGE)
                return fail(e, r, "'%s': block id out of range (the highest is %" PRIu32 ")",
                            quote_untrusted(q, s, len), MEMHP_BLOCK_ID_MAX);
        if (r < 0)
                return fail(e, r,
                            "'%s': expected a block id (32 or memory32), a block range (32-47) or "
                            "an address range (0x100000000-0x13fffffff)",
                            quote_untrusted(q, s, len));
        if (last < first)
                return fail(e, -EINVAL, "'%s': reversed range, %" PRIu64 " is above %" PRIu64,
                            quote_untrusted(q, s, len), first, last);
        ret->first = first;
        ret->last = last;
        return 0;
}

static int parse_item(const char *s, size_t len, uint64_t block_size, bool resolve, Interval *ret,
                      TargetError *e)
{
        const char *dash = memchr(s, '-', len);

        ret->item = s;
        ret->len = len;
        if (has_prefix(s, len, "0x") || has_prefix(s, len, "0X"))
                return parse_address_range(s, len, dash, block_size, resolve, ret, e);
        return parse_block_range(s, len, dash, ret, e);
}

typedef enum ItemsMode {
        ITEMS_CHECK_SYNTAX, /* no block size needed, nothing returned */
        ITEMS_RESOLVE,      /* addresses become block ranges in *ret */
} ItemsMode;

/* Splits @spec at commas and parses each item; @ret may be NULL with ITEMS_CHECK_SYNTAX. */
static int parse_items(const char *spec, uint64_t block_size, ItemsMode mode, Interval **ret,
                       size_t *ret_n, TargetError *e)
{
        bool resolve = mode == ITEMS_RESOLVE;
        _cleanup_free_ Interval *items = NULL;
        char q[QUOTE_BUF_SIZE];
        size_t n_items = 1, n = 0;
        const char *p = spec;
        int r;

        if (!spec || !*spec)
                return fail(e, -EINVAL, "no blocks given: TARGET is empty");

        for (const char *c = spec; *c; c++)
                if (*c == ',')
                        n_items++;
        /* Every item names at least one block, so more items than that cannot be valid. */
        if (n_items > MEMHP_MAX_BLOCKS_PER_CALL)
                return fail(e, -E2BIG, "'%s': more than %u items",
                            quote_untrusted(q, spec, strlen(spec)), MEMHP_MAX_BLOCKS_PER_CALL);
        if (resolve) {
                items = calloc(n_items, sizeof(Interval));
                if (!items)
                        return -ENOMEM;
        }

        for (;;) {
                const char *end = strchrnul(p, ',');
                Interval scratch;

                if (end == p)
                        return fail(e, -EINVAL, "'%s': empty item (stray comma)",
                                    quote_untrusted(q, spec, strlen(spec)));
                r = parse_item(p, (size_t)(end - p), block_size, resolve,
                               resolve ? &items[n] : &scratch, e);
                if (r < 0)
                        return r;
                n++;
                if (!*end)
                        break;
                p = end + 1;
        }

        if (ret)
                *ret = TAKE_PTR(items);
        if (ret_n)
                *ret_n = n;
        return 0;
}

int target_check_syntax(const char *spec, TargetError *reterr)
{
        return parse_items(spec, 0, ITEMS_CHECK_SYNTAX, NULL, NULL, reterr);
}

static int interval_compare(const void *a, const void *b)
{
        const Interval *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        if (x->last != y->last)
                return x->last < y->last ? -1 : 1;
        return 0;
}

int target_parse_blocks(const char *spec, uint64_t block_size, uint32_t **ret_blocks, size_t *ret_n,
                        TargetError *reterr)
{
        _cleanup_free_ Interval *items = NULL;
        _cleanup_free_ uint32_t *blocks = NULL;
        char q1[QUOTE_BUF_SIZE], q2[QUOTE_BUF_SIZE];
        size_t n_items, widest = 0, k = 0;
        uint64_t total = 0;
        int r;

        r = parse_items(spec, block_size, ITEMS_RESOLVE, &items, &n_items, reterr);
        if (r < 0)
                return r;

        qsort(items, n_items, sizeof(Interval), interval_compare);

        /*
         * Sorted by first block: an item overlaps an earlier one iff it starts at or below the
         * highest block seen so far, and then its first block is the one named twice.
         */
        for (size_t i = 0; i < n_items; i++) {
                if (i > 0 && items[i].first <= items[widest].last) {
                        /* Name the items in the order the user wrote them. */
                        const Interval *a = &items[widest], *b = &items[i];
                        if (a->item > b->item) {
                                const Interval *t = a;
                                a = b;
                                b = t;
                        }
                        return fail(reterr, -EINVAL,
                                    "memory%" PRIu64 " is named twice: '%s' and '%s'",
                                    items[i].first, quote_untrusted(q1, a->item, a->len),
                                    quote_untrusted(q2, b->item, b->len));
                }
                if (items[i].last >= items[widest].last)
                        widest = i;
                /* At most 65536 items of at most 2^32 blocks each: no overflow. */
                total += items[i].last - items[i].first + 1;
        }
        if (total > MEMHP_MAX_BLOCKS_PER_CALL) {
                if (n_items == 1)
                        return fail(reterr, -E2BIG,
                                    "'%s' names %" PRIu64 " blocks; at most %u per operation",
                                    quote_untrusted(q1, spec, strlen(spec)), total,
                                    MEMHP_MAX_BLOCKS_PER_CALL);
                return fail(reterr, -E2BIG,
                            "'%s' names %" PRIu64 " blocks in total; at most %u per operation",
                            quote_untrusted(q1, spec, strlen(spec)), total,
                            MEMHP_MAX_BLOCKS_PER_CALL);
        }

        blocks = malloc(total * sizeof(uint32_t));
        if (!blocks)
                return -ENOMEM;
        for (size_t i = 0; i < n_items; i++)
                for (uint64_t id = items[i].first; id <= items[i].last; id++)
                        blocks[k++] = (uint32_t)id;

        *ret_blocks = TAKE_PTR(blocks);
        *ret_n = k;
        return 0;
}

int target_parse_size(const char *s, uint64_t block_size, uint32_t *ret_n_blocks,
                      TargetError *reterr)
{
        char q[QUOTE_BUF_SIZE], bs[TARGET_SIZE_STRING_MAX];
        uint64_t bytes, n;
        size_t len = s ? strlen(s) : 0;
        int r;

        if (block_size == 0)
                return fail(reterr, -EINVAL, "the block size is needed for a size");
        r = len > 0 ? parse_size(s, &bytes) : -EINVAL;
        if (r == -ERANGE)
                return fail(reterr, r, "size '%s' does not fit in 64 bits",
                            quote_untrusted(q, s, len));
        if (r < 0)
                return fail(reterr, r,
                            "invalid size '%s': expected bytes with an optional K, M, G or T "
                            "suffix, as in 2G",
                            quote_untrusted(q, s, len));
        if (bytes == 0)
                return fail(reterr, -EINVAL, "size '%s' is zero", quote_untrusted(q, s, len));
        if (bytes % block_size != 0)
                return fail(reterr, -EINVAL, "size '%s' is not a multiple of the block size %s",
                            quote_untrusted(q, s, len), target_format_size(block_size, bs));
        n = bytes / block_size;
        if (n > MEMHP_MAX_BLOCKS_PER_CALL)
                return fail(reterr, -E2BIG,
                            "size '%s' is %" PRIu64 " blocks; at most %u per operation",
                            quote_untrusted(q, s, len), n, MEMHP_MAX_BLOCKS_PER_CALL);
        *ret_n_blocks = (uint32_t)n;
        return 0;
}

int target_parse_node(const char *s, uint32_t *ret_node, TargetError *reterr)
{
        char q[QUOTE_BUF_SIZE];
        size_t len = s ? strlen(s) : 0;
        const char *digits = s;
        uint64_t v;
        int r;

        if (len >= 4 && has_prefix(s, len, "node"))
                digits += 4;
        r = parse_uint(digits, len - (size_t)(digits - s), 0, MEMHP_NODE_UNKNOWN - 1, &v);
        if (r == -ERANGE)
                return fail(reterr, r, "node '%s' is out of range", quote_untrusted(q, s, len));
        if (r < 0)
                return fail(reterr, r, "invalid node '%s': expected a number such as 0 or node0",
                            quote_untrusted(q, s, len));
        *ret_node = (uint32_t)v;
        return 0;
}

int target_select(const TargetBlock *blocks, size_t n, uint32_t node, MemState state,
                  uint32_t n_wanted, uint64_t block_size, uint32_t **ret_blocks, size_t *ret_n,
                  TargetError *reterr)
{
        _cleanup_free_ uint32_t *ids = NULL;
        char have[TARGET_SIZE_STRING_MAX], want[TARGET_SIZE_STRING_MAX];
        const char *state_name = mem_state_to_string(state);
        size_t m = 0, k = 0, unique, take;

        for (size_t i = 0; i < n; i++)
                if (blocks[i].node == node && blocks[i].state == state)
                        m++;
        if (m == 0)
                return fail(reterr, -ENOENT, "node %" PRIu32 " has no %s memory blocks", node,
                            state_name);

        ids = malloc(m * sizeof(uint32_t));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (blocks[i].node == node && blocks[i].state == state)
                        ids[k++] = blocks[i].id;
        unique = block_ids_sort_unique(ids, m);

        if (n_wanted == TARGET_SELECT_ALL) {
                if (unique > MEMHP_MAX_BLOCKS_PER_CALL)
                        return fail(reterr, -E2BIG,
                                    "node %" PRIu32 " has %zu %s blocks, more than %u per "
                                    "operation; pick fewer with --size",
                                    node, unique, state_name, MEMHP_MAX_BLOCKS_PER_CALL);
                take = unique;
        } else {
                if (n_wanted == 0)
                        return fail(reterr, -EINVAL, "no blocks wanted");
                if (unique < n_wanted)
                        return fail(reterr, -ENOSPC,
                                    "node %" PRIu32 " has only %s %s (%zu blocks), %s requested",
                                    node, target_format_size(unique * block_size, have), state_name,
                                    unique,
                                    target_format_size((uint64_t)n_wanted * block_size, want));
                take = n_wanted;
        }

        /* The highest ids are at the end: keep those, ascending. */
        memmove(ids, ids + (unique - take), take * sizeof(uint32_t));
        *ret_blocks = TAKE_PTR(ids);
        *ret_n = take;
        return 0;
}

const char *target_format_size(uint64_t bytes, char buf[static TARGET_SIZE_STRING_MAX])
{
        static const char units[] = "KMGTPE";
        unsigned shift = 0;
        size_t u = 0;

        if (bytes < 1024) {
                snprintf(buf, TARGET_SIZE_STRING_MAX, "%uB", (unsigned)bytes);
                return buf;
        }
        while (u + 1 < sizeof(units) - 1 && bytes >> (shift + 20) > 0) {
                shift += 10;
                u++;
        }
        shift += 10;

        uint64_t unit = UINT64_C(1) << shift, whole = bytes >> shift, rest = bytes & (unit - 1);
        /* rest < 2^60, so rest * 10 + unit / 2 stays below 2^64. */
        uint64_t tenths = (rest * 10 + unit / 2) >> shift;

        if (tenths == 10) {
                whole++;
                tenths = 0;
        }
        /* A carry can lift 1023.95K to 1024K: say 1M then. */
        if (whole == 1024 && units[u + 1]) {
                whole = 1;
                u++;
        }
        /* whole <= 1024 and tenths <= 9 here. */
        if (tenths == 0)
                snprintf(buf, TARGET_SIZE_STRING_MAX, "%u%c", (unsigned)whole, units[u]);
        else
                snprintf(buf, TARGET_SIZE_STRING_MAX, "%u.%u%c", (unsigned)whole, (unsigned)tenths,
                         units[u]);
        return buf;
}
