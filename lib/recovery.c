/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "recovery.h"

int recovery_txn_new(const Txn *record, const MemState *now, Txn **ret)
{
        Txn *rec;
        size_t k = 0;
        int r;

        r = txn_new(record->id, TXN_RECOVER, record->n_blocks, &rec);
        if (r < 0)
                return r;
        for (size_t i = 0; i < record->n_blocks; i++) {
                const TxnBlock *b = &record->blocks[i];

                /* Only the state is compared, as in txn.c: moving an online block to another
                 * zone needs an offline first, which no transaction does. */
                if (now[i] < 0 || now[i] == b->prior_state)
                        continue;
                rec->blocks[k++] = (TxnBlock){
                        .id = b->id,
                        .action = txn_restore_action(b->prior_state, b->prior_zone),
                        .prior_state = b->prior_state,
                        .prior_zone = b->prior_zone,
                        .state = now[i],
                };
        }
        rec->n_blocks = k;
        *ret = rec;
        return (int)k;
}
