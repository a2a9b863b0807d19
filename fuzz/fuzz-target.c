/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpctl's TARGET grammar (lib/target.h). Input: the first line is the string under test; an
 * optional second line is the block size in hex as sysfs prints block_size_bytes (default
 * 8000000, 128 MiB; unparsable or zero means the default).
 *
 * The string goes through target_check_syntax(), target_parse_blocks() (with the block size and
 * with 0), target_parse_size() and target_parse_node(); a parsed block list also goes through
 * target_select(). Invariants:
 *  - parse_blocks success: 1..MEMHP_MAX_BLOCKS_PER_CALL ids, strictly ascending (sorted, no
 *    duplicates), none above MEMHP_BLOCK_ID_MAX (UINT32_MAX is reserved), and the syntax check
 *    agrees; written back as canonical ranges it parses to the same list; without address
 *    ranges the block size does not matter;
 *  - every error comes with a message free of control characters (the input is quoted with
 *    them replaced; bytes >= 0x80 are passed on, as UTF-8);
 *  - parse_size gives 1..MEMHP_MAX_BLOCKS_PER_CALL blocks, parse_node never MEMHP_NODE_UNKNOWN;
 *  - select returns the highest matching ids in ascending order, exactly as many as asked.
 */
#include <errno.h>
#include <inttypes.h>

#include "fuzz.h"
#include "strutil.h"
#include "target.h"

#define DEFAULT_BLOCK_SIZE 0x8000000ULL

FUZZ_NO_COVERAGE static void check_error(int r, const TargetError *e)
{
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK_MSG(r == -EINVAL || r == -ERANGE || r == -E2BIG, "r=%d", r);
        FUZZ_CHECK(memchr(e->message, 0, sizeof(e->message)));
        FUZZ_CHECK(e->message[0]);
        FUZZ_CHECK_MSG(fuzz_no_controls(e->message), "message: %s", e->message);
}

FUZZ_NO_COVERAGE static void check_list(const uint32_t *ids, size_t n)
{
        FUZZ_CHECK(ids && n >= 1 && n <= MEMHP_MAX_BLOCKS_PER_CALL);
        for (size_t i = 1; i < n; i++)
                FUZZ_CHECK(ids[i - 1] < ids[i]);
        FUZZ_CHECK(ids[n - 1] <= MEMHP_BLOCK_ID_MAX);
}

/* "1-3,7": what memhpctl could print for the list; must parse back to it. */
FUZZ_NO_COVERAGE static char *format_ranges(const uint32_t *ids, size_t n)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t j = i;

                while (j + 1 < n && ids[j + 1] == ids[j] + 1)
                        j++;
                fprintf(f, "%s%s%" PRIu32, i ? "," : "", i % 2 ? "memory" : "", ids[i]);
                if (j > i)
                        fprintf(f, "-%" PRIu32, ids[j]);
                i = j + 1;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void check_select(const uint32_t *ids, size_t n, uint64_t block_size)
{
        TargetBlock *blocks = malloc(n * sizeof(*blocks));
        uint32_t *sel = NULL, node = 1, max_id = 0;
        size_t n_sel = 0, n_match = 0;
        TargetError e = {};
        int r;

        if (!blocks)
                return;
        /* A made-up topology from the ids: three nodes, alternating states. */
        for (size_t i = 0; i < n; i++) {
                blocks[i] = (TargetBlock){
                        .id = ids[i],
                        .node = ids[i] % 3 == 2 ? MEMHP_NODE_UNKNOWN : ids[i] % 3,
                        .state = ids[i] % 2 ? MEM_STATE_ONLINE : MEM_STATE_OFFLINE,
                };
                if (blocks[i].node == node && blocks[i].state == MEM_STATE_OFFLINE) {
                        n_match++;
                        max_id = ids[i];
                }
        }
        r = target_select(blocks, n, node, MEM_STATE_OFFLINE, (uint32_t)(n_match + 1) / 2,
                          block_size, &sel, &n_sel, &e);
        if (n_match == 0)
                FUZZ_CHECK(r == -ENOENT && e.message[0]);
        else if (r != -ENOMEM) {
                FUZZ_CHECK_MSG(r == 0, "r=%d %s", r, e.message);
                FUZZ_CHECK(n_sel == (n_match + 1) / 2);
                check_list(sel, n_sel);
                FUZZ_CHECK(sel[n_sel - 1] == max_id);
                for (size_t i = 0; i < n_sel; i++)
                        FUZZ_CHECK(sel[i] % 3 == node && sel[i] % 2 == 0);
                free(sel);
                sel = NULL;
        }
        r = target_select(blocks, n, node, MEM_STATE_OFFLINE, (uint32_t)n_match + 1, block_size,
                          &sel, &n_sel, &e);
        FUZZ_CHECK(r == (n_match ? -ENOSPC : -ENOENT) || r == -ENOMEM);
        FUZZ_CHECK_MSG(fuzz_no_controls(e.message), "message: %s", e.message);
        free(blocks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint64_t block_size = DEFAULT_BLOCK_SIZE;
        uint32_t *ids = NULL, *ids0 = NULL, *ids2 = NULL, n_blocks, node;
        size_t n = 0, n0 = 0, n2 = 0;
        TargetError e = {};
        char *text, *nl, *again;
        int r, rs, r0;

        /* 65,536 items of "1," is 128 KiB: enough room for every limit. */
        if (size > 192 * 1024)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;
        nl = strchr(text, '\n');
        if (nl) {
                uint64_t v;

                *nl = 0;
                if (safe_atoux64(nl + 1, &v) == 0 && v > 0)
                        block_size = v;
        }

        rs = target_check_syntax(text, &e);
        if (rs < 0)
                check_error(rs, &e);

        e = (TargetError){};
        r = target_parse_blocks(text, block_size, &ids, &n, &e);
        if (r < 0) {
                check_error(r, &e);
        } else {
                check_list(ids, n);
                FUZZ_CHECK_MSG(rs == 0, "parsed, but the syntax check said %d", rs);
                again = format_ranges(ids, n);
                if (again) {
                        e = (TargetError){};
                        r = target_parse_blocks(again, block_size, &ids2, &n2, &e);
                        FUZZ_CHECK_MSG(r == 0, "'%s': %d %s", again, r, e.message);
                        FUZZ_CHECK(n2 == n && memcmp(ids, ids2, n * sizeof(*ids)) == 0);
                        free(ids2);
                        free(again);
                }
                check_select(ids, n, block_size);
        }

        /* Without an address range, the block size does not matter. */
        e = (TargetError){};
        r0 = target_parse_blocks(text, 0, &ids0, &n0, &e);
        if (r0 < 0)
                check_error(r0, &e);
        if (!strstr(text, "0x") && !strstr(text, "0X") && r != -ENOMEM && r0 != -ENOMEM) {
                FUZZ_CHECK_MSG(r == r0, "%d with the block size, %d without", r, r0);
                if (r == 0)
                        FUZZ_CHECK(n0 == n && memcmp(ids, ids0, n * sizeof(*ids)) == 0);
        }
        free(ids0);
        free(ids);

        e = (TargetError){};
        r = target_parse_size(text, block_size, &n_blocks, &e);
        if (r < 0)
                check_error(r, &e);
        else
                FUZZ_CHECK(n_blocks >= 1 && n_blocks <= MEMHP_MAX_BLOCKS_PER_CALL);

        e = (TargetError){};
        r = target_parse_node(text, &node, &e);
        if (r < 0)
                check_error(r, &e);
        else
                FUZZ_CHECK(node != MEMHP_NODE_UNKNOWN);

        free(text);
        return 0;
}
