/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "handoff.h"

const char *handoff_kernel_online_type(const MemhpConfig *c)
{
        if (!c || !c->kernel_online)
                return NULL;
        /* A node of its own with another policy: the kernel's one setting cannot say both. */
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                if (c->node_policy[n] >= 0 && c->node_policy[n] != (int8_t)c->default_policy)
                        return NULL;
        switch (c->default_policy) {
        case POLICY_ONLINE_MOVABLE:
                return "online_movable";
        case POLICY_ONLINE_KERNEL:
                return "online_kernel";
        case POLICY_ONLINE:
                return "online";
        default:
                return NULL;
        }
}
