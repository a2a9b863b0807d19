/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host's NUMA topology through libnuma. libnuma reads the real /sys and cannot be pointed at
 * a sysroot, so it is used only when memhpd runs on "/", and only for reporting: decisions come
 * from the sysroot's own node links.
 */
#pragma once

typedef struct Manager Manager;

/* Logs the nodes, which have CPUs, and config sections naming nodes that are not possible. */
void manager_log_numa_topology(Manager *m);
