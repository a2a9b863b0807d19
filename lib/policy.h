/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy decision: what to do with a newly seen offline block, as a pure function of the
 * node's policy, the Movable:Kernel ratio and the node's current zone sizes. No I/O.
 */
#pragma once

#include <errno.h>
#include <stdint.h>

typedef enum Policy {
        POLICY_ONLINE_MOVABLE,
        POLICY_ONLINE_KERNEL,
        POLICY_ONLINE,
        POLICY_AUTO_MOVABLE,
        POLICY_IGNORE,
        _POLICY_MAX,
        _POLICY_INVALID = -EINVAL,
} Policy;

/* What to write to memoryN/state; MEM_ACTION_NONE leaves the block alone. */
typedef enum MemAction {
        MEM_ACTION_NONE,
        MEM_ACTION_ONLINE_MOVABLE,
        MEM_ACTION_ONLINE_KERNEL,
        MEM_ACTION_ONLINE,
        MEM_ACTION_OFFLINE,
        _MEM_ACTION_MAX,
        _MEM_ACTION_INVALID = -EINVAL,
} MemAction;

/* Present pages of one node, split the way the ratio guard needs them. */
typedef struct NodeZones {
        uint64_t kernel_pages;  /* DMA + DMA32 + Normal, boot and hot-added */
        uint64_t movable_pages; /* Movable */
} NodeZones;

const char *policy_to_string(Policy p);
Policy policy_from_string(const char *s);

/* The string the kernel takes in memoryN/state ("online_movable", ...); NULL for NONE. */
const char *mem_action_to_string(MemAction a);
MemAction mem_action_from_string(const char *s);

/**
 * policy_decide() - choose the action for one offline block.
 * @policy: the node's policy
 * @movable_ratio: percent, for POLICY_AUTO_MOVABLE: Movable may reach this share of kernel memory
 * @zones: the node's present pages before this block is onlined (may be NULL: counts as empty)
 * @block_pages: pages in the block being decided
 *
 * auto-movable picks Movable if, counting this block, movable <= ratio% of kernel memory;
 * otherwise (and always for a node without kernel memory) the kernel zone.
 *
 * Return: the action, never _MEM_ACTION_INVALID for a valid @policy.
 */
MemAction policy_decide(Policy policy, unsigned movable_ratio, const NodeZones *zones,
                        uint64_t block_pages);
