/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's view of every memory block, keyed by block id. Ids are sparse and may be large
 * (a device-memory window far above boot memory), so the map is two-level: chunks of 1024
 * entries allocated on first use. 65,536 blocks cost about 0.75 MiB (12 bytes each).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memblock.h"
#include "uevent.h"

enum {
        BLOCK_PRESENT = 1 << 0,       /* the memoryN directory exists */
        BLOCK_QUEUED = 1 << 1,        /* on the work queue */
        BLOCK_WRITING = 1 << 2,       /* a state write is in flight */
        BLOCK_AWAIT_NODE = 1 << 3,    /* waiting for the kernel to create memoryN/nodeX */
        BLOCK_ADMIN_OFFLINE = 1 << 4, /* someone offlined it on purpose: policy leaves it be */
        BLOCK_FAILED = 1 << 5,        /* the last policy write failed */
        BLOCK_BUSY = 1 << 6,          /* part of a running operation: policy leaves it be */
        BLOCK_SEEN_ONLINE = 1 << 7,   /* was online at some point since it appeared */
        BLOCK_AWAIT_RETRY = 1 << 8,   /* its policy write failed, the next try is on a timer */
        BLOCK_DEFERRED = 1 << 9,      /* on the auto-movable list that waits for writes to finish */
        BLOCK_SIGNAL_PENDING = 1 << 10, /* its BlockChanged waits for the bus's queue to drain */
        BLOCK_COUNTED_ONLINE = 1 << 11, /* online as DeviceChanged last counted it */
        BLOCK_AWAIT_SOURCE = 1 << 12,   /* waiting for firmware_node: it would change the policy */
        BLOCK_AWAIT_KERNEL = 1 << 13,   /* handed off: the kernel's own online goes first */
        BLOCK_FRESH = 1 << 14,          /* added while memhpd watched, not decided yet */
        BLOCK_HANDED_OFF = 1 << 15,     /* the kernel's to online: its device is still to find */
        /* On the delay timer. */
        BLOCK_DELAYED =
                BLOCK_AWAIT_NODE | BLOCK_AWAIT_RETRY | BLOCK_AWAIT_SOURCE | BLOCK_AWAIT_KERNEL,
};

/* BlockEntry.source: the MemSource in the low bits, what resolving it has found above. */
enum {
        BLOCK_SOURCE_MASK = 0x0f,
        BLOCK_SOURCE_KNOWN = 1 << 4,    /* resolved at least once since it appeared */
        BLOCK_SOURCE_GAVE_UP = 1 << 5,  /* waited for firmware_node in vain: follows what it is */
        BLOCK_SOURCE_SETTLING = 1 << 6, /* its attempts count source lookups, not writes */
        BLOCK_SOURCE_RECHECK = 1 << 7,  /* on the list of blocks whose device may still appear */
};

typedef struct BlockEntry {
        uint16_t flags;
        int8_t state;     /* MemState, or -1 when not read yet */
        int8_t zone;      /* MemZone */
        uint8_t attempts; /* node-link lookups or write retries so far */
        uint8_t held;     /* offline on purpose, with a hold record (lib/hold.h) */
        int16_t node;     /* MEMBLOCK_NODE_NONE until known */
        uint8_t source;   /* MemSource (BLOCK_SOURCE_MASK) and BLOCK_SOURCE_* bits below */
        uint16_t device;  /* index + 1 into the daemon's device table; 0 for none */
} BlockEntry;

typedef struct BlockMap {
        BlockEntry **chunks;
        size_t n_chunks;
        size_t n_present;
} BlockMap;

/* The entry for @id, allocating its chunk; NULL on ENOMEM. New entries are zeroed "unknown". */
BlockEntry *blockmap_get(BlockMap *m, uint32_t id);
/* The entry for @id if its chunk exists (it may be an absent block), else NULL. */
BlockEntry *blockmap_peek(const BlockMap *m, uint32_t id);
void blockmap_set_present(BlockMap *m, BlockEntry *e, bool present);

/**
 * blockmap_observe() - record the state and zone sysfs shows for a block.
 *
 * An online block that turns offline was offlined on purpose (by an administrator or an
 * operation, since memhpd's policy never offlines): it gets BLOCK_ADMIN_OFFLINE and the policy
 * leaves it be. A block seen online forgets that, its failed write and its retry count.
 * Return: true when the state or the zone differ from what @e held.
 */
bool blockmap_observe(BlockEntry *e, MemState st, MemZone zone);

/* What a uevent asks of the daemon, given what it knows of the block. */
typedef enum BlockEventVerdict {
        BLOCK_EVENT_READ,   /* re-read the block from sysfs (never act on the event alone) */
        BLOCK_EVENT_NEW,    /* a new block under a known id: forget the old one, then read */
        BLOCK_EVENT_GONE,   /* the block was removed */
        BLOCK_EVENT_IGNORE, /* a confirmation: of a write in flight, or of the known state */
} BlockEventVerdict;

BlockEventVerdict blockmap_classify_uevent(const BlockEntry *e, UeventAction action);
void blockmap_done(BlockMap *m);

/* Iterates present blocks in id order: for (uint32_t id = 0; blockmap_next(m, &id); id++) */
bool blockmap_next(const BlockMap *m, uint32_t *id);
