/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Writer thread stack: memblock_apply() needs a few KiB; locked memory should stay small. */
#define WRITER_STACK_SIZE (256U * 1024U)

/* mlockall(MCL_CURRENT|MCL_FUTURE); a failure is logged and returned, memhpd runs on. */
int memhpd_lock_memory(void);
