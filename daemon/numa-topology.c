/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Topology report: the possible-node mask from the sysroot, CPUs per node from libnuma. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "manager.h"
#include "nodemask.h"
#include "numa-topology.h"

#if HAVE_LIBNUMA
#include <numa.h>

/* libnuma prints its own warnings to stderr (weak symbols); route them through our log. */
void numa_warn(int num, char *fmt, ...);
void numa_error(char *where);

void numa_warn(int num, char *fmt, ...)
{
        (void)num;
        log_debug("libnuma warning: %s", fmt);
}

void numa_error(char *where)
{
        log_debug("libnuma error in %s", where);
}

/* libnuma reads the running host: only meaningful when the sysroot is "/". */
static void log_cpus_per_node(Manager *m)
{
        struct bitmask *cpus;
        char buf[512] = "";
        size_t l = 0;

        if (strcmp(m->sysroot, "/") != 0 || numa_available() < 0)
                return;
        cpus = numa_allocate_cpumask();
        if (!cpus)
                return;
        for (int node = 0; node <= numa_max_node() && l < sizeof(buf) - 32; node++) {
                int has_cpus = numa_node_to_cpus(node, cpus) == 0 && numa_bitmask_weight(cpus) > 0;
                l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%d%s", l ? ", " : "", node,
                                      has_cpus ? "" : " (no CPUs)");
        }
        numa_free_cpumask(cpus);
        log_info("NUMA nodes online: %s.", buf);
}
#else
static void log_cpus_per_node(Manager *m)
{
        (void)m;
}
#endif

void manager_log_numa_topology(Manager *m)
{
        char text[256];
        NodeMask possible;

        log_cpus_per_node(m);
        if (!m->numa ||
            sysfs_read_at(m->sysfs->root_fd, "sys/devices/system/node/possible", text,
                          sizeof(text)) < 0 ||
            nodemask_parse(text, &possible) < 0)
                return;
        log_info("Possible NUMA nodes: %s.", text);
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++) {
                bool named = m->config->node_policy[n] >= 0;

                for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                        named = named || m->config->node_source_policy[n][s] >= 0;
                if (named && !nodemask_test(&possible, n))
                        log_warning("[Node %u] in the configuration names a node this kernel can "
                                    "never have (possible nodes: %s).",
                                    n, text);
        }
}
