/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnuma adapter: topology report on the real root only. */
#include <string.h>

#include "log.h"
#include "manager.h"
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

void numa_log_topology(Manager *m)
{
        struct bitmask *cpus;
        int max_possible;
        char buf[512] = "";
        size_t l = 0;

        if (strcmp(m->sysroot, "/") != 0 || numa_available() < 0)
                return;
        max_possible = numa_max_possible_node();
        cpus = numa_allocate_cpumask();
        if (!cpus)
                return;
        for (int node = 0; node <= numa_max_node() && l < sizeof(buf) - 32; node++) {
                int has_cpus = numa_node_to_cpus(node, cpus) == 0 && numa_bitmask_weight(cpus) > 0;
                l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%d%s", l ? ", " : "", node,
                                      has_cpus ? "" : " (no CPUs)");
        }
        numa_free_cpumask(cpus);
        log_info("NUMA nodes: %s; up to %d possible.", buf, max_possible + 1);

        for (unsigned n = (unsigned)max_possible + 1; n < MEMHP_MAX_NODES; n++)
                if (m->config->node_policy[n] >= 0)
                        log_warning("[Node %u] in the configuration names a node this kernel can "
                                    "never have (possible nodes: 0-%d).",
                                    n, max_possible);
}
#else
void numa_log_topology(Manager *m)
{
        (void)m;
}
#endif
