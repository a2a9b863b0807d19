/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The precedence of memhpd.conf's policy rules, most specific first: [Node N Source S], [Node N],
 * [Source S], Default=POLICY, Default=auto. A node's own rule beats a source's so that every
 * [Node N] written before sources existed keeps its meaning, and a tenant's node-wide override
 * to the kernel zone wins over a tier's default for dax.
 */
#include <stdio.h>

#include "autopolicy.h"
#include "conf-internal.h"
#include "conf.h"
#include "macro.h"
#include "strutil.h"

static const char *const policy_rule_names[_POLICY_RULE_MAX] = {
        [POLICY_RULE_NODE_SOURCE] = "node-source",
        [POLICY_RULE_NODE] = "node",
        [POLICY_RULE_SOURCE] = "source",
        [POLICY_RULE_DEFAULT] = "default",
        [POLICY_RULE_AUTO] = "auto",
};

const char *policy_rule_to_string(PolicyRule r)
{
        return r >= 0 && r < _POLICY_RULE_MAX ? policy_rule_names[r] : NULL;
}

PolicyRule policy_rule_from_string(const char *s)
{
        int r;

        if (!s)
                return _POLICY_RULE_INVALID;
        r = string_table_lookup(policy_rule_names, ELEMENTSOF(policy_rule_names), s);
        return r < 0 ? _POLICY_RULE_INVALID : (PolicyRule)r;
}

static bool set(int8_t p)
{
        return p >= 0 && p < _POLICY_MAX;
}

PolicyChoice conf_policy_for(const MemhpConfig *c, Platform platform, int node, MemSource source)
{
        unsigned n = node < 0 ? 0 : (unsigned)node;
        bool known = source >= 0 && source < _MEM_SOURCE_MAX;
        AutoChoice a;

        if (!known)
                source = MEM_SOURCE_UNKNOWN;
        if (n < MEMHP_MAX_NODES) {
                if (set(c->node_source_policy[n][source]))
                        return (PolicyChoice){c->node_source_policy[n][source],
                                              POLICY_RULE_NODE_SOURCE, NULL};
                if (set(c->node_policy[n]))
                        return (PolicyChoice){c->node_policy[n], POLICY_RULE_NODE, NULL};
        }
        if (set(c->source_policy[source]))
                return (PolicyChoice){c->source_policy[source], POLICY_RULE_SOURCE, NULL};
        if (!c->default_auto)
                return (PolicyChoice){c->default_policy, POLICY_RULE_DEFAULT, NULL};
        a = autopolicy_lookup(platform, source);
        return (PolicyChoice){a.policy, POLICY_RULE_AUTO, a.reason};
}

const char *policy_choice_format(PolicyChoice ch, int node, MemSource source, char *buf,
                                 size_t size)
{
        const char *s = mem_source_to_string(source) ?: "unknown";
        unsigned n = node < 0 ? 0 : (unsigned)node;

        if (size == 0)
                return buf;
        switch (ch.rule) {
        case POLICY_RULE_NODE_SOURCE:
                snprintf(buf, size, "[Node %u Source %s]", n, s);
                break;
        case POLICY_RULE_NODE:
                snprintf(buf, size, "[Node %u]", n);
                break;
        case POLICY_RULE_SOURCE:
                snprintf(buf, size, "[Source %s]", s);
                break;
        case POLICY_RULE_DEFAULT:
                snprintf(buf, size, "Default=%s", policy_to_string(ch.policy) ?: "invalid");
                break;
        case POLICY_RULE_AUTO:
                snprintf(buf, size, "Default=auto: %s", ch.reason ?: "no reason");
                break;
        default:
                snprintf(buf, size, "invalid rule");
        }
        return buf;
}

const char *conf_node_policy_to_string(const MemhpConfig *c, unsigned node)
{
        if (node < MEMHP_MAX_NODES && set(c->node_policy[node]))
                return policy_to_string(c->node_policy[node]);
        return c->default_auto ? "auto" : policy_to_string(c->default_policy);
}

char *conf_format_policies(const MemhpConfig *c, Platform platform, const NodeMask *nodes)
{
        StrBuf b = {};

        conf_strbuf_appendf(&b, "# Platform: %s\n", platform_to_string(platform) ?: "invalid");
        conf_strbuf_appendf(&b, "# Effective policy per node and source, and the rule that "
                                "decides it (memhpd.conf(5), PRECEDENCE):\n");
        conf_strbuf_appendf(&b, "# %-4s %-15s %-15s %s\n", "NODE", "SOURCE", "POLICY", "RULE");
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++) {
                if (!nodemask_test(nodes, n))
                        continue;
                for (int s = 0; s < _MEM_SOURCE_MAX; s++) {
                        PolicyChoice ch = conf_policy_for(c, platform, (int)n, (MemSource)s);
                        char rule[POLICY_RULE_TEXT_MAX];

                        conf_strbuf_appendf(
                                &b, "# %-4u %-15s %-15s %s\n", n, mem_source_to_string(s),
                                policy_to_string(ch.policy),
                                policy_choice_format(ch, (int)n, (MemSource)s, rule, sizeof(rule)));
                }
        }
        if (b.error < 0) {
                conf_strbuf_done(&b);
                return NULL;
        }
        return b.s;
}
