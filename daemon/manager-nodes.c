/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What DescribeNodes() and GetEffectivePolicies() report per node: whether it has CPUs, its
 * memory tier, the sources of its memory, and the policy each source gets there. A CPU-less
 * node in a lower tier fed by dax is the typical CXL or PMEM expansion node.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "bus-ops.h"
#include "manager-devices.h"
#include "nodemask.h"
#include "strutil.h"

#define TIERING_DIR "sys/devices/virtual/memory_tiering"

static bool node_has_cpus(Manager *m, const NodeMask *has_cpu, bool mask_ok, unsigned node)
{
        char path[128], buf[4096];

        if (mask_ok)
                return nodemask_test(has_cpu, node);
        snprintf(path, sizeof(path), "sys/devices/system/node/node%u/cpulist", node);
        return sysfs_read_at(m->sysfs->root_fd, path, buf, sizeof(buf)) > 0;
}

/* memory_tierN/nodelist of every tier: the tier of each node listed there. */
static void read_tiers(Manager *m, NodeFacts *facts, size_t n)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (opendir_at(m->sysfs->root_fd, TIERING_DIR, &d) < 0)
                return; /* no tiering (an older kernel, or a fixture without it): no tiers */
        while ((de = readdir(d))) {
                char path[PATH_MAX], buf[4096];
                NodeMask nodes;
                unsigned tier;
                int len;

                if (sscanf(de->d_name, "memory_tier%u%n", &tier, &len) != 1 ||
                    de->d_name[len] != 0 || tier > INT32_MAX)
                        continue;
                snprintf(path, sizeof(path), TIERING_DIR "/%s/nodelist", de->d_name);
                if (sysfs_read_at(m->sysfs->root_fd, path, buf, sizeof(buf)) < 0 ||
                    nodemask_parse(buf, &nodes) < 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (nodemask_test(&nodes, facts[i].node))
                                facts[i].tier = (int32_t)tier;
        }
}

int manager_node_facts(Manager *m, NodeFacts **ret, size_t *ret_n)
{
        _cleanup_free_ NodeFacts *facts = NULL;
        NodeMask nodes, has_cpu;
        bool mask_ok;
        size_t n = 0;
        int hint = m->node_hint;

        bus_nodes(m, &nodes);
        mask_ok = m->numa && nodemask_read(m->sysfs, "has_cpu", &has_cpu) >= 0;
        for (unsigned node = 0; node < MEMHP_MAX_NODES; node++)
                n += nodemask_test(&nodes, node);
        facts = calloc(MAX(n, (size_t)1), sizeof(*facts));
        if (!facts)
                return -ENOMEM;
        n = 0;
        for (unsigned node = 0; node < MEMHP_MAX_NODES; node++)
                if (nodemask_test(&nodes, node))
                        facts[n++] = (NodeFacts){
                                .node = node,
                                /* Without NUMA the one node has every CPU. */
                                .has_cpus = !m->numa || node_has_cpus(m, &has_cpu, mask_ok, node),
                                .tier = -1,
                        };
        read_tiers(m, facts, n);

        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                const BlockEntry *e = blockmap_peek(&m->blocks, id);
                int node = e->node >= 0 ? e->node : bus_block_node(m, id, hint);
                MemSource s;
                size_t lo = 0, hi = n;

                if (node < 0)
                        continue;
                hint = node;
                s = manager_block_source(m, id, NULL);
                /* facts[] is sorted by node. */
                while (lo < hi) {
                        size_t mid = (lo + hi) / 2;
                        if (facts[mid].node < (uint32_t)node)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo < n && facts[lo].node == (uint32_t)node && s >= 0)
                        facts[lo].sources |= 1U << s;
        }
        *ret = TAKE_PTR(facts);
        *ret_n = n;
        return 0;
}

Policy manager_effective_policy(Manager *m, unsigned node, MemSource source, char *rule,
                                size_t rule_size)
{
        PolicyChoice ch = conf_policy_for(m->config, m->platform, (int)node, source);

        policy_choice_format(ch, (int)node, source, rule, rule_size);
        return ch.policy;
}
