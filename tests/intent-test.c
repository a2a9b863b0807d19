/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the intent record tests (intent-test.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent-test.h"
#include "test-util.h"

uint32_t ref_crc32(const char *s, size_t len)
{
        uint32_t c = 0xffffffff;

        for (size_t i = 0; i < len; i++) {
                c ^= (unsigned char)s[i];
                for (int k = 0; k < 8; k++)
                        c = (c >> 1) ^ (0xedb88320 & -(c & 1));
        }
        return ~c;
}

char *reseal(const char *text)
{
        const char *crc = strstr(text, "crc32 ");
        size_t body = crc ? (size_t)(crc - text) : strlen(text);
        char *out = malloc(body + 16);

        ASSERT_TRUE(out);
        memcpy(out, text, body);
        snprintf(out + body, 16, "crc32 %08x\n", ref_crc32(text, body));
        return out;
}

Txn *sample(void)
{
        Txn *t = NULL;

        ASSERT_OK(txn_new(UINT64_C(18446744073709551615), TXN_OFFLINE, 4, &t));
        t->phase = TXN_ROLLBACK;
        t->cursor = 2;
        t->failed_index = 3;
        t->failed_error = -EBUSY;
        t->cancelled = true;
        t->blocks[0] = (TxnBlock){
                .id = 32,
                .action = MEM_ACTION_OFFLINE,
                .prior_state = MEM_STATE_ONLINE,
                .prior_zone = MEM_ZONE_MOVABLE,
                .state = MEM_STATE_OFFLINE,
                .zone = MEM_ZONE_UNKNOWN,
                .changed = true,
                .restored = false,
                .error = 0,
        };
        t->blocks[1] = (TxnBlock){
                .id = 4294967295u,
                .action = MEM_ACTION_NONE,
                .prior_state = MEM_STATE_GOING_OFFLINE,
                .prior_zone = MEM_ZONE_DMA32,
                .state = MEM_STATE_GOING_OFFLINE,
                .zone = MEM_ZONE_DMA32,
        };
        t->blocks[2] = (TxnBlock){
                .id = 0,
                .action = MEM_ACTION_ONLINE_KERNEL,
                .prior_state = MEM_STATE_ONLINE,
                .prior_zone = MEM_ZONE_NORMAL,
                .state = MEM_STATE_ONLINE,
                .zone = MEM_ZONE_NORMAL,
                .changed = true,
                .restored = true,
                .error = -EIO,
        };
        t->blocks[3] = (TxnBlock){
                .id = 33,
                .action = MEM_ACTION_OFFLINE,
                .prior_state = MEM_STATE_ONLINE,
                .prior_zone = MEM_ZONE_NONE,
                .state = MEM_STATE_ONLINE,
                .zone = MEM_ZONE_DEVICE,
                .error = -EBUSY,
        };
        return t;
}

void assert_txn_eq(const Txn *a, const Txn *b)
{
        ASSERT_TRUE(a->id == b->id);
        ASSERT_EQ(a->kind, b->kind);
        ASSERT_EQ(a->phase, b->phase);
        ASSERT_EQ(a->cursor, b->cursor);
        ASSERT_EQ(a->failed_index, b->failed_index);
        ASSERT_EQ(a->failed_error, b->failed_error);
        ASSERT_EQ(a->cancelled, b->cancelled);
        ASSERT_EQ(a->n_blocks, b->n_blocks);
        for (size_t i = 0; i < a->n_blocks; i++) {
                const TxnBlock *x = &a->blocks[i], *y = &b->blocks[i];

                ASSERT_EQ(x->id, y->id);
                ASSERT_EQ(x->action, y->action);
                ASSERT_EQ(x->prior_state, y->prior_state);
                ASSERT_EQ(x->prior_zone, y->prior_zone);
                ASSERT_EQ(x->state, y->state);
                ASSERT_EQ(x->zone, y->zone);
                ASSERT_EQ(x->changed, y->changed);
                ASSERT_EQ(x->restored, y->restored);
                ASSERT_EQ(x->error, y->error);
        }
}
