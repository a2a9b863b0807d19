/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing new memory to the kernel's own auto-online: when the policy is one the kernel can
 * apply itself, exactly, it onlines a block inside the hot-add, before the add releases
 * device_hotplug_lock, which no userspace write can overtake. Pure: no I/O.
 */
#pragma once

#include "conf.h"

/**
 * handoff_kernel_online_type() - the auto_online_blocks value that does what @c does.
 * @c: the configuration
 *
 * Only when KernelOnline=yes, Default= is not auto, and every node and every source has the
 * same policy, one of online_movable,
 * online_kernel or online (the kernel then picks the zone by memory_hotplug.online_policy, as
 * it does for memhpd's own "online" write). auto-movable is not expressible: the kernel's
 * ratio counts all kernel memory of a node and its node awareness differs; ignore needs no
 * hand-off.
 *
 * Return: "online_movable", "online_kernel" or "online"; NULL when memhpd must write itself.
 */
const char *handoff_kernel_online_type(const MemhpConfig *c);
