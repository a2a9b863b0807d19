/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sparse id -> BlockEntry map in 1024-entry chunks. */
#include <stdlib.h>

#include "alloc-util.h"
#include "blockmap.h"
#include "memblock.h"

/* 65,536 blocks (8 TiB of 128 MiB blocks, or one storm) in 768 KiB: keep it that small. */
_Static_assert(sizeof(BlockEntry) == 12, "BlockEntry grew");

#define CHUNK_SHIFT 10
#define CHUNK_SIZE (1U << CHUNK_SHIFT)

static void entry_init(BlockEntry *e)
{
        *e = (BlockEntry){.state = -1, .node = MEMBLOCK_NODE_NONE};
}

BlockEntry *blockmap_get(BlockMap *m, uint32_t id)
{
        size_t c = id >> CHUNK_SHIFT;

        /* Every allocated slot is a valid (NULL) chunk pointer, so n_chunks is the room. */
        if (c >= m->n_chunks && GREEDY_REALLOC0(m->chunks, m->n_chunks, c + 1) < 0)
                return NULL;
        if (!m->chunks[c]) {
                BlockEntry *chunk = malloc(CHUNK_SIZE * sizeof(*chunk));
                if (!chunk)
                        return NULL;
                for (size_t i = 0; i < CHUNK_SIZE; i++)
                        entry_init(&chunk[i]);
                m->chunks[c] = chunk;
        }
        return &m->chunks[c][id & (CHUNK_SIZE - 1)];
}

BlockEntry *blockmap_peek(const BlockMap *m, uint32_t id)
{
        size_t c = id >> CHUNK_SHIFT;

        if (c >= m->n_chunks || !m->chunks[c])
                return NULL;
        return &m->chunks[c][id & (CHUNK_SIZE - 1)];
}

void blockmap_set_present(BlockMap *m, BlockEntry *e, bool present)
{
        bool was = e->flags & BLOCK_PRESENT;

        if (present && !was) {
                entry_init(e);
                e->flags = BLOCK_PRESENT;
                m->n_present++;
        } else if (!present && was) {
                entry_init(e);
                m->n_present--;
        }
}

bool blockmap_next(const BlockMap *m, uint32_t *id)
{
        for (uint64_t i = *id; (i >> CHUNK_SHIFT) < m->n_chunks;) {
                BlockEntry *chunk = m->chunks[i >> CHUNK_SHIFT];

                if (!chunk) {
                        i = ((i >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
                        continue;
                }
                if (chunk[i & (CHUNK_SIZE - 1)].flags & BLOCK_PRESENT) {
                        *id = (uint32_t)i;
                        return true;
                }
                i++;
        }
        return false;
}

bool blockmap_observe(BlockEntry *e, MemState st, MemZone zone)
{
        bool changed = e->state != (int8_t)st || e->zone != (int8_t)zone;

        if (e->state == MEM_STATE_ONLINE && st != MEM_STATE_ONLINE)
                e->flags |= BLOCK_ADMIN_OFFLINE;
        if (st == MEM_STATE_ONLINE) {
                e->flags |= BLOCK_SEEN_ONLINE;
                e->flags &= (uint16_t) ~(BLOCK_ADMIN_OFFLINE | BLOCK_FAILED);
                e->attempts = 0;
        }
        e->state = (int8_t)st;
        e->zone = (int8_t)zone;
        return changed;
}

BlockEventVerdict blockmap_classify_uevent(const BlockEntry *e, UeventAction action)
{
        bool present = e->flags & BLOCK_PRESENT, ours = e->flags & (BLOCK_WRITING | BLOCK_BUSY);
        MemState said;

        switch (action) {
        case UEVENT_REMOVE:
                return BLOCK_EVENT_GONE;
        case UEVENT_ADD:
                /* Remove lost, or unplug and replug: start over, unless our write is on it. */
                return present && !ours ? BLOCK_EVENT_NEW : BLOCK_EVENT_READ;
        case UEVENT_ONLINE:
        case UEVENT_OFFLINE:
                /*
                 * Our own writes come back as online/offline events: confirmations, not work.
                 * A write still in flight reports through its completion, and an event that
                 * says what is already known needs no sysfs read.
                 */
                said = action == UEVENT_ONLINE ? MEM_STATE_ONLINE : MEM_STATE_OFFLINE;
                return present && (ours || e->state == (int8_t)said) ? BLOCK_EVENT_IGNORE
                                                                     : BLOCK_EVENT_READ;
        default:
                return BLOCK_EVENT_READ;
        }
}

void blockmap_done(BlockMap *m)
{
        for (size_t i = 0; i < m->n_chunks; i++)
                free(m->chunks[i]);
        free(m->chunks);
        *m = (BlockMap){};
}
