/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for conf_policy_for(): the precedence of [Node N Source S], [Node N], [Source S],
 * Default=POLICY and Default=auto in every combination, parsed from text; the rule texts; the
 * new sections' syntax and errors with file:line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-test.h"
#include "conf.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"

enum { L_NODE_SOURCE, L_NODE, L_SOURCE, L_DEFAULT, _L_MAX };

/* Each level names a policy of its own, so the result tells which one decided. */
static const Policy level_policy[_L_MAX] = {
        [L_NODE_SOURCE] = POLICY_ONLINE_KERNEL,
        [L_NODE] = POLICY_ONLINE,
        [L_SOURCE] = POLICY_IGNORE,
        [L_DEFAULT] = POLICY_ONLINE_MOVABLE,
};

static void append(char **text, const char *s)
{
        size_t n = *text ? strlen(*text) : 0;

        *text = realloc(*text, n + strlen(s) + 1);
        ASSERT_TRUE(*text);
        strcpy(*text + n, s);
}

TEST(precedence_every_combination)
{
        /* dimm on node 3, generic: auto gives auto-movable, a policy no level uses. */
        for (unsigned mask = 0; mask < (1U << _L_MAX); mask++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_free_ MemhpConfig *c = NULL;
                char rule[POLICY_RULE_TEXT_MAX];
                PolicyChoice ch;
                int want = -1;

                /* Neighbours that must never apply: other nodes, other sources. */
                append(&text, "[Node 2 Source dimm]\nPolicy=auto-movable\n"
                              "[Node 3 Source dax]\nPolicy=auto-movable\n"
                              "[Node 4]\nPolicy=auto-movable\n"
                              "[Source virtio-mem]\nPolicy=auto-movable\n");
                /* When the level is absent: Default=auto, explicit half of the time. */
                append(&text, mask & (1U << L_DEFAULT) ? "[Policy]\nDefault=online_movable\n"
                              : mask & 1U              ? "[Policy]\nDefault=auto\n"
                                                       : "");
                if (mask & (1U << L_SOURCE))
                        append(&text, "[Source dimm]\nPolicy=ignore\n");
                if (mask & (1U << L_NODE))
                        append(&text, "[Node 3]\nPolicy=online\n");
                if (mask & (1U << L_NODE_SOURCE))
                        append(&text, "[Node 3 Source dimm]\nPolicy=online_kernel\n");
                c = load_ok(text);

                for (int l = 0; l < _L_MAX; l++)
                        if (mask & (1U << l)) {
                                want = l;
                                break;
                        }
                ch = conf_policy_for(c, PLATFORM_GENERIC, 3, MEM_SOURCE_DIMM);
                policy_choice_format(ch, 3, MEM_SOURCE_DIMM, rule, sizeof(rule));
                if (want < 0) {
                        ASSERT_EQ(ch.policy, POLICY_AUTO_MOVABLE);
                        ASSERT_EQ(ch.rule, POLICY_RULE_AUTO);
                        ASSERT_TRUE(ch.reason);
                        ASSERT_TRUE(strncmp(rule, "Default=auto: ", 14) == 0);
                        ASSERT_STREQ(rule + 14, ch.reason);
                } else {
                        static const char *const texts[_L_MAX] = {
                                "[Node 3 Source dimm]",
                                "[Node 3]",
                                "[Source dimm]",
                                "Default=online_movable",
                        };

                        if (ch.policy != level_policy[want])
                                fprintf(stderr, "mask %u: %s\n", mask, text);
                        ASSERT_EQ(ch.policy, level_policy[want]);
                        ASSERT_EQ(ch.rule, (PolicyRule)want); /* the enum is in that order */
                        ASSERT_TRUE(!ch.reason);
                        ASSERT_STREQ(rule, texts[want]);
                }
                assert_round_trip(c);
        }
}

TEST(auto_follows_platform_and_source)
{
        _cleanup_free_ MemhpConfig *c = load_ok("[Policy]\nDefault=auto\n[Source dax]\n"
                                                "Policy=online_kernel\n");

        ASSERT_TRUE(c->default_auto);
        ASSERT_EQ(conf_policy_for(c, PLATFORM_GENERIC, 0, MEM_SOURCE_UNKNOWN).policy,
                  POLICY_AUTO_MOVABLE);
        ASSERT_EQ(conf_policy_for(c, PLATFORM_HYPERV, 0, MEM_SOURCE_UNKNOWN).policy, POLICY_ONLINE);
        ASSERT_EQ(conf_policy_for(c, PLATFORM_S390, 7, MEM_SOURCE_DIMM).policy, POLICY_IGNORE);
        ASSERT_EQ(conf_policy_for(c, PLATFORM_S390, 7, MEM_SOURCE_VIRTIO_MEM).policy,
                  POLICY_AUTO_MOVABLE);
        /* A [Source] rule wins over the table on every platform. */
        for (int p = 0; p < _PLATFORM_MAX; p++) {
                PolicyChoice ch = conf_policy_for(c, (Platform)p, 1, MEM_SOURCE_DAX);

                ASSERT_EQ(ch.policy, POLICY_ONLINE_KERNEL);
                ASSERT_EQ(ch.rule, POLICY_RULE_SOURCE);
        }
        /* Out of range: the unknown source on a generic platform, node 0's rules. */
        ASSERT_EQ(conf_policy_for(c, _PLATFORM_INVALID, -1, _MEM_SOURCE_INVALID).policy,
                  POLICY_AUTO_MOVABLE);
        c->node_policy[0] = POLICY_ONLINE;
        ASSERT_EQ(conf_policy_for(c, PLATFORM_GENERIC, -1, MEM_SOURCE_DAX).rule, POLICY_RULE_NODE);
        /* A node beyond the table has no rules of its own. */
        ASSERT_EQ(conf_policy_for(c, PLATFORM_GENERIC, (int)MEMHP_MAX_NODES, MEM_SOURCE_DAX).rule,
                  POLICY_RULE_SOURCE);
}

TEST(rule_texts)
{
        char buf[POLICY_RULE_TEXT_MAX], small[8];
        PolicyChoice ch = {POLICY_ONLINE, POLICY_RULE_NODE_SOURCE, NULL};

        ASSERT_STREQ(policy_choice_format(ch, 1023, MEM_SOURCE_HYPERV_BALLOON, buf, sizeof(buf)),
                     "[Node 1023 Source hyperv-balloon]");
        ch.rule = POLICY_RULE_NODE;
        ASSERT_STREQ(policy_choice_format(ch, -1, MEM_SOURCE_DAX, buf, sizeof(buf)), "[Node 0]");
        ch.rule = POLICY_RULE_SOURCE;
        ASSERT_STREQ(policy_choice_format(ch, 5, MEM_SOURCE_VIRTIO_MEM, buf, sizeof(buf)),
                     "[Source virtio-mem]");
        ch.rule = POLICY_RULE_DEFAULT;
        ASSERT_STREQ(policy_choice_format(ch, 5, MEM_SOURCE_VIRTIO_MEM, buf, sizeof(buf)),
                     "Default=online");
        ch = (PolicyChoice){POLICY_IGNORE, POLICY_RULE_AUTO, "why"};
        ASSERT_STREQ(policy_choice_format(ch, 5, MEM_SOURCE_BOOT, buf, sizeof(buf)),
                     "Default=auto: why");
        /* Truncated, still terminated. */
        ch.rule = POLICY_RULE_SOURCE;
        ASSERT_STREQ(policy_choice_format(ch, 5, MEM_SOURCE_BOOT, small, sizeof(small)), "[Source");

        for (int r = 0; r < _POLICY_RULE_MAX; r++)
                ASSERT_EQ(policy_rule_from_string(policy_rule_to_string(r)), r);
        ASSERT_STREQ(policy_rule_to_string(POLICY_RULE_NODE_SOURCE), "node-source");
        ASSERT_TRUE(!policy_rule_to_string(_POLICY_RULE_MAX));
        ASSERT_EQ(policy_rule_from_string("Node"), _POLICY_RULE_INVALID);
        ASSERT_EQ(policy_rule_from_string(NULL), _POLICY_RULE_INVALID);
}

TEST(node_policy_strings)
{
        _cleanup_free_ MemhpConfig *c = load_ok("[Policy]\nDefault=auto\n[Node 1]\nPolicy=online\n"
                                                "[Node 2 Source dax]\nPolicy=ignore\n");

        ASSERT_STREQ(conf_node_policy_to_string(c, 0), "auto");
        ASSERT_STREQ(conf_node_policy_to_string(c, 1), "online");
        /* A per-source rule does not make a node's own policy. */
        ASSERT_STREQ(conf_node_policy_to_string(c, 2), "auto");
        ASSERT_STREQ(conf_node_policy_to_string(c, MEMHP_MAX_NODES), "auto");
        c->default_auto = false;
        c->default_policy = POLICY_IGNORE;
        ASSERT_STREQ(conf_node_policy_to_string(c, 0), "ignore");
}

TEST(source_sections)
{
        static const char *const names[] = {
                "unknown", "boot", "dimm", "virtio-mem", "dax", "hyperv-balloon", "xen-balloon",
        };

        ASSERT_EQ(ELEMENTSOF(names), _MEM_SOURCE_MAX);
        for (int s = 0; s < _MEM_SOURCE_MAX; s++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_free_ MemhpConfig *c = NULL;

                ASSERT_TRUE(asprintf(&text,
                                     "[Source %s]\nPolicy=online_kernel\n"
                                     "[Node 1023 Source %s]\nPolicy=ignore\n",
                                     names[s], names[s]) > 0);
                c = load_ok(text);
                for (int o = 0; o < _MEM_SOURCE_MAX; o++) {
                        ASSERT_EQ(c->source_policy[o],
                                  o == s ? POLICY_ONLINE_KERNEL : _POLICY_INVALID);
                        ASSERT_EQ(c->node_source_policy[1023][o],
                                  o == s ? POLICY_IGNORE : _POLICY_INVALID);
                }
                assert_round_trip(c);
        }
}

TEST(later_wins_and_empty_restores)
{
        /* As for [Node N]: a repeated section or key overrides, which drop-ins rely on; an empty
         * assignment removes the rule. */
        _cleanup_free_ MemhpConfig *c =
                load_ok("[Source dax]\nPolicy=online\n[Node 1 Source dax]\nPolicy=online\n"
                        "[Policy]\nDefault=auto\nDefault=ignore\n"
                        "[Source dax]\nPolicy=ignore\n[Node 1 Source dax]\nPolicy=\n");

        ASSERT_EQ(c->source_policy[MEM_SOURCE_DAX], POLICY_IGNORE);
        ASSERT_EQ(c->node_source_policy[1][MEM_SOURCE_DAX], _POLICY_INVALID);
        ASSERT_TRUE(!c->default_auto);
        ASSERT_EQ(c->default_policy, POLICY_IGNORE);

        _cleanup_free_ MemhpConfig *d = load_ok("[Policy]\nDefault=auto\nDefault=\n");
        assert_defaults(d);
        _cleanup_free_ MemhpConfig *e = load_ok("[Policy]\nDefault=online\nDefault=auto\n");
        ASSERT_TRUE(e->default_auto);
        ASSERT_EQ(e->default_policy, POLICY_ONLINE_MOVABLE); /* one representation of auto */
        assert_round_trip(e);
}

#define SOURCES "unknown, boot, dimm, virtio-mem, dax, hyperv-balloon or xen-balloon"
#define NODE_ERR "expected [Node N] or [Node N Source NAME] with N a decimal integer 0 to 1023"
#define POLICIES "online_movable, online_kernel, online, auto-movable or ignore"

TEST(bad_sections)
{
        static const struct {
                const char *text;
                const char *error;
        } cases[] = {
                {"[Source foo]\nPolicy=online\n",
                 "test.conf:1: unknown source 'foo' in section [Source foo], expected " SOURCES},
                {"[Source DIMM]\n", "test.conf:1: unknown source 'DIMM' in section [Source DIMM], "
                                    "expected " SOURCES},
                {"[Source virtio_mem]\n", "test.conf:1: unknown source 'virtio_mem' in section "
                                          "[Source virtio_mem], expected " SOURCES},
                {"[Source dimm dax]\n", "test.conf:1: unknown source 'dimm dax' in section "
                                        "[Source dimm dax], expected " SOURCES},
                {"[Source  dimm]\n", "test.conf:1: unknown source ' dimm' in section "
                                     "[Source  dimm], expected " SOURCES},
                {"[Source ]\n",
                 "test.conf:1: unknown source '' in section [Source ], expected " SOURCES},
                {"[Source]\n", "test.conf:1: invalid section [Source], expected [Source NAME] "
                               "with NAME one of " SOURCES},
                {"[Sources dimm]\n", "test.conf:1: invalid section [Sources dimm], expected "
                                     "[Source NAME] with NAME one of " SOURCES},
                {"[Source \x1b[0m]\n", "test.conf:1: invalid section header '[Source \\x1b[0m]', "
                                       "expected '[Name]' alone on the line"},
                {"[Source dimm\xff]\n", "test.conf:1: unknown source 'dimm\\xff' in section "
                                        "[Source dimm\\xff], expected " SOURCES},
                {"[Source aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
                 "test.conf:1: unknown source 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
                 " in section [Source aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa], "
                 "expected " SOURCES},
                {"[Node 1 Source foo]\n", "test.conf:1: unknown source 'foo' in section [Node 1 "
                                          "Source foo], expected " SOURCES},
                {"[Node 1 Source]\n", "test.conf:1: invalid section [Node 1 Source], " NODE_ERR},
                {"[Node 1 Source ]\n",
                 "test.conf:1: unknown source '' in section [Node 1 Source ], "
                 "expected " SOURCES},
                {"[Node 1024 Source dimm]\n",
                 "test.conf:1: invalid section [Node 1024 Source dimm], " NODE_ERR},
                {"[Node 01 Source dimm]\n",
                 "test.conf:1: invalid section [Node 01 Source dimm], " NODE_ERR},
                {"[Node 1  Source dimm]\n",
                 "test.conf:1: invalid section [Node 1  Source dimm], " NODE_ERR},
                {"[Node 1 source dimm]\n",
                 "test.conf:1: invalid section [Node 1 source dimm], " NODE_ERR},
                {"[Node 1 Source dimm Node 2]\n", "test.conf:1: unknown source 'dimm Node 2' in "
                                                  "section [Node 1 Source dimm Node 2], "
                                                  "expected " SOURCES},
                {"[Source dimm Node 1]\n", "test.conf:1: unknown source 'dimm Node 1' in section "
                                           "[Source dimm Node 1], expected " SOURCES},
                /* Keys: Policy= only, policies only (auto is Default='s alone). */
                {"[Source dimm]\nPolicy=auto\n",
                 "test.conf:2: invalid value 'auto' for Policy=, expected " POLICIES},
                {"[Node 3 Source dax]\nPolicy=movable\n",
                 "test.conf:2: invalid value 'movable' for Policy=, expected " POLICIES},
                {"[Node 3]\nPolicy=auto\n",
                 "test.conf:2: invalid value 'auto' for Policy=, expected " POLICIES},
                {"[Source dimm]\nDefault=ignore\n",
                 "test.conf:2: unknown key 'Default' in section [Source dimm]"},
                {"[Node 1023 Source hyperv-balloon]\nMovableRatio=5\n",
                 "test.conf:2: unknown key 'MovableRatio' in section [Node 1023 Source "
                 "hyperv-balloon]"},
                /* The keys of a bad section are not reported again. */
                {"[Source foo]\nPolicy=nonsense\n[Source dax]\nPolicy=bad\n",
                 "test.conf:1: unknown source 'foo' in section [Source foo], expected " SOURCES
                 "\ntest.conf:4: invalid value 'bad' for Policy=, expected " POLICIES},
                {"[Policy]\nDefault=Auto\n", "test.conf:2: invalid value 'Auto' for Default=, "
                                             "expected auto, " POLICIES},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_bad(cases[i].text, cases[i].error);
}

TEST(format_policies)
{
        _cleanup_free_ MemhpConfig *c = load_ok("[Policy]\nDefault=auto\n[Node 1]\nPolicy=online\n"
                                                "[Node 3 Source dax]\nPolicy=online_kernel\n");
        _cleanup_free_ char *text = NULL;
        NodeMask nodes = {};
        const char *l;
        unsigned lines = 0;

        nodes.bits[0] = (1U << 1) | (1U << 3);
        text = conf_format_policies(c, PLATFORM_HYPERV, &nodes);
        ASSERT_TRUE(text);
        ASSERT_TRUE(startswith(text, "# Platform: hyperv\n"));
        ASSERT_CONTAINS(text, "\n# 1    dax             online          [Node 1]\n");
        ASSERT_CONTAINS(text, "\n# 3    dax             online_kernel   [Node 3 Source dax]\n");
        ASSERT_CONTAINS(text, "\n# 3    unknown         online          Default=auto: on Hyper-V");
        ASSERT_CONTAINS(text, "\n# 3    dimm            auto-movable    Default=auto: a DIMM");
        ASSERT_TRUE(!strstr(text, "# 0 ") && !strstr(text, "# 2 "));
        /* Every line a comment, so that nothing reads it as a Key= of the dump before it. */
        for (l = text; *l; l = strchr(l, '\n') + 1) {
                ASSERT_TRUE(l[0] == '#');
                ASSERT_TRUE(strchr(l, '\n'));
                lines++;
        }
        ASSERT_EQ(lines, 3 + 2 * _MEM_SOURCE_MAX);
}
