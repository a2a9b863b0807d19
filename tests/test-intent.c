/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Intent records, their text form: the checksum, the exact text, the round trip of every field and
 * what intent_format() refuses. The parser's refusals are in test-intent-parse.c, the on-disk
 * life cycle in test-intent-store.c (the same binary).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intent-test.h"
#include "intent.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"
#include "txn.h"

static const char sample_body[] =
        "memhpd-intent 1\n"
        "id 18446744073709551615\n"
        "kind offline\n"
        "phase rollback\n"
        "cursor 2\n"
        "failed 3 -16\n"
        "cancelled 1\n"
        "blocks 4\n"
        "block 32 online Movable action=offline changed=1 restored=0 error=0 state=offline "
        "zone=-\n"
        "block 4294967295 going-offline DMA32 action=none changed=0 restored=0 error=0 "
        "state=going-offline zone=DMA32\n"
        "block 0 online Normal action=online_kernel changed=1 restored=1 error=-5 state=online "
        "zone=Normal\n"
        "block 33 online none action=offline changed=0 restored=0 error=-16 state=online "
        "zone=Device\n";

TEST(crc_reference)
{
        /* The check value of CRC-32/ISO-HDLC, as zlib's crc32(). */
        ASSERT_EQ(ref_crc32("123456789", 9), 0xcbf43926);
}

TEST(format_exact)
{
        _cleanup_(txn_freep) Txn *t = sample();
        _cleanup_free_ char *text = NULL;
        char want[sizeof(sample_body) + 32];

        ASSERT_OK(intent_format(t, &text));
        snprintf(want, sizeof(want), "%scrc32 %08x\n", sample_body,
                 ref_crc32(sample_body, strlen(sample_body)));
        ASSERT_STREQ(text, want);
        ASSERT_ERROR(intent_format(NULL, &text), EINVAL);
}

TEST(round_trip)
{
        for (int kind = 0; kind < _TXN_KIND_MAX; kind++)
                for (int phase = 0; phase < _TXN_PHASE_MAX; phase++) {
                        _cleanup_(txn_freep) Txn *t = sample(), *u = NULL;
                        _cleanup_free_ char *a = NULL, *b = NULL;

                        t->kind = (TxnKind)kind;
                        t->phase = (TxnPhase)phase;
                        t->cancelled = phase == 1;
                        if (phase == 2) {
                                t->failed_index = -1;
                                t->failed_error = -ECANCELED;
                                t->cursor = t->n_blocks;
                        }
                        ASSERT_OK(intent_format(t, &a));
                        ASSERT_OK(intent_parse(a, &u));
                        assert_txn_eq(t, u);
                        /* Not recorded: a parsed machine gets txn_new()'s defaults. */
                        ASSERT_EQ(u->attempts, 0);
                        ASSERT_EQ(u->max_retries, 3);
                        ASSERT_EQ(u->retry_base_usec, 1000000);
                        ASSERT_OK(intent_format(u, &b));
                        ASSERT_STREQ(a, b);
                }

        /* No blocks at all. */
        _cleanup_(txn_freep) Txn *t = NULL, *u = NULL;
        _cleanup_free_ char *a = NULL;

        ASSERT_OK(txn_new(0, TXN_ONLINE, 0, &t));
        ASSERT_OK(intent_format(t, &a));
        ASSERT_CONTAINS(a, "\nfailed -1 0\n");
        ASSERT_OK(intent_parse(a, &u));
        assert_txn_eq(t, u);
}

TEST(format_refuses)
{
        _cleanup_(txn_freep) Txn *t = sample(), *big = NULL;
        _cleanup_free_ char *text = NULL;

        t->blocks[2].id = 33; /* duplicate of block 3 */
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->blocks[2].id = 0;
        t->blocks[1].error = 5; /* not a -errno */
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->blocks[1].error = 0;
        t->blocks[1].zone = _MEM_ZONE_MAX;
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->blocks[1].zone = MEM_ZONE_NORMAL;
        t->failed_index = 4;
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->failed_index = 3;
        t->cursor = 5;
        ASSERT_ERROR(intent_format(t, &text), EINVAL);
        t->cursor = 4;
        ASSERT_OK(intent_format(t, &text));

        ASSERT_OK(txn_new(1, TXN_ONLINE, 65537, &big));
        for (size_t i = 0; i < big->n_blocks; i++)
                big->blocks[i].id = (uint32_t)i;
        ASSERT_ERROR(intent_format(big, &text), E2BIG);
}
