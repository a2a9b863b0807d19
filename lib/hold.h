/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hold records: blocks offlined on purpose (through an operation, or by someone writing sysfs
 * while memhpd ran) stay offline across a restart of memhpd. Each held block has one file,
 * "hold-<block>", in the runtime directory, which systemd keeps across restarts and a reboot
 * empties. The file names the block's sysfs directory inode: a block removed and added again
 * while memhpd was stopped is a new device with a new inode, and its old record does not hold it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memblock.h"
#include "sysfs.h"

typedef struct HoldRecord {
        uint32_t block;
        uint64_t inode; /* of sys/devices/system/memory/memory<block> when it was held */
} HoldRecord;

typedef enum HoldVerdict {
        HOLD_KEEP,     /* still offline, same device: the policy leaves it alone */
        HOLD_ONLINE,   /* onlined meanwhile (by hand, or a reboot-less kernel path) */
        HOLD_REPLACED, /* removed and added again: a new block, coldplugged by policy */
        HOLD_GONE,     /* removed */
        _HOLD_VERDICT_MAX,
} HoldVerdict;

const char *hold_verdict_to_string(HoldVerdict v);

/* The identity hold records compare: the inode of the block's sysfs directory. */
int hold_block_inode(const Sysfs *s, uint32_t block, uint64_t *ret);

/* Text form "memhpd-hold 1\nblock N\ninode I\n"; the parser accepts nothing else. */
int hold_format(const HoldRecord *h, char *buf, size_t size);
int hold_parse(const char *text, HoldRecord *ret);

/* Writes "hold-<block>" in @dirfd crash-safely (atomic replace). */
int hold_save(int dirfd, const HoldRecord *h);
/* Removes "hold-<block>"; 0 also when there was none. */
int hold_remove(int dirfd, uint32_t block);
/*
 * Every record in @dirfd, sorted by block (free the array). A "hold-<N>" that cannot be read or
 * parsed, or names another block, is removed (a hold is a preference, never worth a failed start)
 * and counted in *ret_n_bad.
 */
int hold_load_all(int dirfd, HoldRecord **ret, size_t *ret_n, size_t *ret_n_bad);
/* The record of @block in a sorted array, or NULL. */
const HoldRecord *hold_find(const HoldRecord *l, size_t n, uint32_t block);

/* What a record means for the block as it is now (@present false: no memoryN directory). */
HoldVerdict hold_check(const HoldRecord *h, bool present, MemState state, uint64_t inode);
