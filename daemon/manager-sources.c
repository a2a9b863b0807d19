/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sources and devices of blocks. Resolution is not wired in yet: every block reports
 * MEM_SOURCE_UNKNOWN and no device, which is the truth of what the daemon knows so far.
 */
#include "manager.h"

int manager_sources_setup(Manager *m)
{
        (void)m;
        return 0;
}

void manager_sources_free(Manager *m)
{
        (void)m;
}

MemSource manager_block_source(Manager *m, uint32_t block, const Device **ret_device)
{
        (void)m;
        (void)block;
        if (ret_device)
                *ret_device = NULL;
        return MEM_SOURCE_UNKNOWN;
}
