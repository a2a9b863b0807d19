/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The zone decision for a new block: pure, table-driven, no I/O. */
#include <string.h>

#include "macro.h"
#include "memhp-api.h"
#include "policy.h"
#include "strutil.h"

static const char *const policy_table[_POLICY_MAX] = {
        [POLICY_ONLINE_MOVABLE] = MEMHP_POLICY_ONLINE_MOVABLE,
        [POLICY_ONLINE_KERNEL] = MEMHP_POLICY_ONLINE_KERNEL,
        [POLICY_ONLINE] = MEMHP_POLICY_ONLINE,
        [POLICY_AUTO_MOVABLE] = MEMHP_POLICY_AUTO_MOVABLE,
        [POLICY_IGNORE] = MEMHP_POLICY_IGNORE,
};

static const char *const action_table[_MEM_ACTION_MAX] = {
        [MEM_ACTION_NONE] = NULL,
        [MEM_ACTION_ONLINE_MOVABLE] = "online_movable",
        [MEM_ACTION_ONLINE_KERNEL] = "online_kernel",
        [MEM_ACTION_ONLINE] = "online",
        [MEM_ACTION_OFFLINE] = "offline",
};

const char *policy_to_string(Policy p)
{
        if (p < 0 || p >= _POLICY_MAX)
                return NULL;
        return policy_table[p];
}

Policy policy_from_string(const char *s)
{
        return (Policy)string_table_lookup(policy_table, ELEMENTSOF(policy_table), s);
}

const char *mem_action_to_string(MemAction a)
{
        if (a < 0 || a >= _MEM_ACTION_MAX)
                return NULL;
        return action_table[a];
}

MemAction mem_action_from_string(const char *s)
{
        /* MEM_ACTION_NONE has no string: its NULL entry never matches. */
        return (MemAction)string_table_lookup(action_table, ELEMENTSOF(action_table), s);
}

MemAction policy_decide(Policy policy, unsigned movable_ratio, const NodeZones *zones,
                        uint64_t block_pages)
{
        static const NodeZones empty = {};
        unsigned __int128 movable, limit;

        switch (policy) {
        case POLICY_ONLINE_MOVABLE:
                return MEM_ACTION_ONLINE_MOVABLE;
        case POLICY_ONLINE_KERNEL:
                return MEM_ACTION_ONLINE_KERNEL;
        case POLICY_ONLINE:
                return MEM_ACTION_ONLINE;
        case POLICY_IGNORE:
                return MEM_ACTION_NONE;
        case POLICY_AUTO_MOVABLE:
                break;
        default:
                return _MEM_ACTION_INVALID;
        }

        if (!zones)
                zones = &empty;
        /*
         * Unlike the kernel's auto-movable, kernel memory here includes hot-added kernel-zone
         * memory, so DIMMs onlined to Normal earn Movable budget. 128-bit math: a node with
         * petabytes of pages times a ratio of thousands must not overflow.
         */
        movable = (unsigned __int128)zones->movable_pages + block_pages;
        limit = (unsigned __int128)zones->kernel_pages * movable_ratio;
        if (zones->kernel_pages > 0 && movable * 100 <= limit)
                return MEM_ACTION_ONLINE_MOVABLE;
        return MEM_ACTION_ONLINE_KERNEL;
}
