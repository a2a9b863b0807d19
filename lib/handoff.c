/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "handoff.h"

const char *handoff_kernel_online_type(const MemhpConfig *c)
{
        int8_t dflt;

        /* Default=auto picks by source and platform: one kernel setting cannot say that. */
        if (!c || !c->kernel_online || c->default_auto)
                return NULL;
        dflt = (int8_t)c->default_policy;
        /* A node or a source of its own with another policy: the one setting cannot say both. */
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++) {
                if (c->node_policy[n] >= 0 && c->node_policy[n] != dflt)
                        return NULL;
                for (unsigned s = 0; s < _MEM_SOURCE_MAX; s++)
                        if (c->node_source_policy[n][s] >= 0 && c->node_source_policy[n][s] != dflt)
                                return NULL;
        }
        for (unsigned s = 0; s < _MEM_SOURCE_MAX; s++)
                if (c->source_policy[s] >= 0 && c->source_policy[s] != dflt)
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
