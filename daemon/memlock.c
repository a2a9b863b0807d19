/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory is hot-added when a machine runs short of it: then memhpd itself must not wait for
 * page-ins or reclaim before it can online the new block. Every page it has and will map is
 * locked. The unit grants the locked size with LimitMEMLOCK= (no CAP_IPC_LOCK); the writer
 * thread's stack is sized explicitly so the lock does not pin an 8 MiB default stack.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "log.h"
#include "memlock.h"

int memhpd_lock_memory(void)
{
        struct rlimit rl = {};

        /* One arena: a per-thread arena would reserve (and, once touched, lock) 64 MiB heaps. */
        (void)mallopt(M_ARENA_MAX, 1);
        if (mlockall(MCL_CURRENT | MCL_FUTURE) >= 0) {
                log_debug("Locked memhpd's memory (mlockall).");
                return 0;
        }
        (void)getrlimit(RLIMIT_MEMLOCK, &rl);
        if (rl.rlim_cur == RLIM_INFINITY)
                return log_warning_errno(errno,
                                         "Failed to lock memhpd's memory, it may be paged out "
                                         "under memory pressure: %m");
        return log_warning_errno(errno,
                                 "Failed to lock memhpd's memory (RLIMIT_MEMLOCK is %" PRIu64
                                 " KiB; the unit sets LimitMEMLOCK=), it may be paged out under "
                                 "memory pressure: %m",
                                 (uint64_t)rl.rlim_cur >> 10);
}
