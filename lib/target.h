/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpctl's TARGET grammar, as pure functions: no I/O, no logging, allocation bounded by the
 * input. A TARGET is a comma-separated list of items:
 *
 *   32 | memory32                    one block
 *   32-47 | memory32-memory47         blocks 32 to 47, inclusive
 *   0x100000000-0x13fffffff           a physical address range, inclusive end, block aligned
 *
 * Block N covers addresses [N * block_size, (N + 1) * block_size). The result is sorted and
 * free of duplicates; a block named twice is an error rather than silently merged, because the
 * daemon rejects duplicates too and a repeated block usually means a typo in a range.
 *
 * Every error fills a TargetError with one sentence that quotes the offending input.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "memblock.h"
#include "memhp-api.h"

/*
 * The limits are memhpd's own (memhp-api.h), so that the two cannot drift: at most
 * MEMHP_MAX_BLOCKS_PER_CALL blocks, ids up to MEMHP_BLOCK_ID_MAX, nodes below MEMHP_NODE_UNKNOWN.
 */

/* target_select(): every matching block instead of a count. */
#define TARGET_SELECT_ALL UINT32_MAX

typedef struct TargetError {
        char message[256];
} TargetError;

/*
 * Checks the syntax of every item without a block size: lets a caller reject bad usage before
 * it asks the daemon for the block size. Alignment, duplicates and the block count are checked
 * by target_parse_blocks() only.
 */
int target_check_syntax(const char *spec, TargetError *reterr);

/**
 * target_parse_blocks() - a TARGET into a sorted list of distinct block ids.
 * @block_size: bytes per block; may be 0 only when @spec has no address range
 *
 * Return: 0 with a malloc'ed array (never NULL on success) in @ret_blocks; -EINVAL for garbage,
 * empty items, reversed ranges, misaligned addresses and duplicates; -ERANGE for numbers that do
 * not fit; -E2BIG for more than TARGET_BLOCKS_MAX blocks; -ENOMEM.
 */
int target_parse_blocks(const char *spec, uint64_t block_size, uint32_t **ret_blocks, size_t *ret_n,
                        TargetError *reterr);

/*
 * "2G" into a block count: K/M/G/T suffixes are powers of 1024. The size must be a non-zero
 * multiple of @block_size and at most TARGET_BLOCKS_MAX blocks. -EINVAL, -ERANGE or -E2BIG.
 */
int target_parse_size(const char *s, uint64_t block_size, uint32_t *ret_n_blocks,
                      TargetError *reterr);

/* "1" or "node1" into a node number; TARGET_NODE_UNKNOWN itself is refused. */
int target_parse_node(const char *s, uint32_t *ret_node, TargetError *reterr);

typedef struct TargetBlock {
        uint32_t id;
        uint32_t node; /* TARGET_NODE_UNKNOWN when not known */
        MemState state;
} TargetBlock;

/**
 * target_select() - blocks of one node in one state, highest addresses first.
 * @blocks: what ListBlocks() reported, in any order
 * @node: the node to pick from
 * @state: MEM_STATE_OFFLINE to pick blocks to online, MEM_STATE_ONLINE for offline
 * @n_wanted: how many, or TARGET_SELECT_ALL
 * @block_size: for the sizes in error messages
 *
 * Highest first because hot-added memory sits above boot memory: offlining from the top gives
 * back the most recently added (most likely removable) memory and leaves boot memory alone, as
 * chmem does.
 *
 * Return: 0 with the chosen ids in ascending order; -ENOENT when the node has no block in
 * @state; -ENOSPC when it has fewer than @n_wanted; -E2BIG when TARGET_SELECT_ALL matches more
 * than TARGET_BLOCKS_MAX; -ENOMEM.
 */
int target_select(const TargetBlock *blocks, size_t n, uint32_t node, MemState state,
                  uint32_t n_wanted, uint64_t block_size, uint32_t **ret_blocks, size_t *ret_n,
                  TargetError *reterr);

/* "0B", "512B", "128M", "1.5G": powers of 1024, one decimal at most, as lsmem prints sizes. */
#define TARGET_SIZE_STRING_MAX 32
const char *target_format_size(uint64_t bytes, char buf[static TARGET_SIZE_STRING_MAX]);
