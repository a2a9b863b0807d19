/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for lib/autopolicy.c: Default=auto's table, row by row as DESIGN and memhpd.conf(5)
 * write it down (source x generic, hyperv, xen, s390), and a reason for every cell.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "autopolicy.h"
#include "conf.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"

#define AM POLICY_AUTO_MOVABLE
#define OM POLICY_ONLINE_MOVABLE
#define ON POLICY_ONLINE
#define IG POLICY_IGNORE

static const struct {
        MemSource source;
        Policy generic, hyperv, xen, s390;
} expected[] = {
        {MEM_SOURCE_DIMM, AM, AM, AM, IG},        {MEM_SOURCE_VIRTIO_MEM, AM, AM, AM, AM},
        {MEM_SOURCE_DAX, OM, OM, OM, IG},         {MEM_SOURCE_HYPERV_BALLOON, ON, ON, ON, ON},
        {MEM_SOURCE_XEN_BALLOON, ON, ON, ON, ON}, {MEM_SOURCE_BOOT, IG, IG, IG, IG},
        {MEM_SOURCE_UNKNOWN, AM, ON, ON, IG},
};

static void check_cell(MemSource s, Platform p, Policy want)
{
        AutoChoice c = autopolicy_lookup(p, s);

        if (c.policy != want)
                fprintf(stderr, "%s on %s: got %s, want %s\n", mem_source_to_string(s),
                        platform_to_string(p), policy_to_string(c.policy), policy_to_string(want));
        ASSERT_EQ(c.policy, want);
        ASSERT_TRUE(c.reason && strlen(c.reason) > 20);
        /* "Default=auto: REASON" fits the rule buffers of the bus and the logs. */
        ASSERT_TRUE(strlen("Default=auto: ") + strlen(c.reason) < POLICY_RULE_TEXT_MAX);
        /* Reasons end up after "Default=auto: " on one log line. */
        ASSERT_TRUE(!strchr(c.reason, '\n') && c.reason[strlen(c.reason) - 1] != '.');
}

TEST(table)
{
        ASSERT_EQ(ELEMENTSOF(expected), _MEM_SOURCE_MAX);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                check_cell(expected[i].source, PLATFORM_GENERIC, expected[i].generic);
                check_cell(expected[i].source, PLATFORM_HYPERV, expected[i].hyperv);
                check_cell(expected[i].source, PLATFORM_XEN, expected[i].xen);
                check_cell(expected[i].source, PLATFORM_S390, expected[i].s390);
        }
}

TEST(reasons)
{
        /* A cell that differs from its row says why in its own words. */
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_S390, MEM_SOURCE_DIMM).reason, "s390");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_S390, MEM_SOURCE_DAX).reason, "s390");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_S390, MEM_SOURCE_UNKNOWN).reason, "s390");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_HYPERV, MEM_SOURCE_UNKNOWN).reason, "Hyper-V");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_XEN, MEM_SOURCE_UNKNOWN).reason, "Xen");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_GENERIC, MEM_SOURCE_DIMM).reason, "unplugged");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_XEN, MEM_SOURCE_VIRTIO_MEM).reason,
                        "recommends auto-movable");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_GENERIC, MEM_SOURCE_DAX).reason, "daxctl");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_S390, MEM_SOURCE_HYPERV_BALLOON).reason, "5 s");
        ASSERT_CONTAINS(autopolicy_lookup(PLATFORM_HYPERV, MEM_SOURCE_BOOT).reason,
                        "offlined by someone");
        /* s390's virtio-mem is no standby memory: the row's reason. */
        ASSERT_STREQ(autopolicy_lookup(PLATFORM_S390, MEM_SOURCE_VIRTIO_MEM).reason,
                     autopolicy_lookup(PLATFORM_GENERIC, MEM_SOURCE_VIRTIO_MEM).reason);
}

TEST(out_of_range)
{
        AutoChoice u = autopolicy_lookup(PLATFORM_GENERIC, MEM_SOURCE_UNKNOWN);

        ASSERT_EQ(autopolicy_lookup(_PLATFORM_INVALID, _MEM_SOURCE_INVALID).policy, u.policy);
        ASSERT_EQ(autopolicy_lookup(_PLATFORM_MAX, _MEM_SOURCE_MAX).policy, u.policy);
        ASSERT_STREQ(autopolicy_lookup(_PLATFORM_MAX, _MEM_SOURCE_MAX).reason, u.reason);
        ASSERT_EQ(autopolicy_lookup(_PLATFORM_INVALID, MEM_SOURCE_DAX).policy, OM);
}

/* memhpd.conf(5) shows the table: it must be this one, cell by cell. */
TEST(man_page_table)
{
        FILE *f = fopen(MEMHP_SOURCE_ROOT "/man/memhpd.conf.5.scd", "re");
        char line[256];
        int source = -1, column = 0, rows = 0;
        bool in_table = false;

        ASSERT_TRUE(f);
        while (fgets(line, sizeof(line), f)) {
                char name[64];

                line[strcspn(line, "\n")] = 0;
                if (startswith(line, "[[ *source*")) {
                        in_table = true;
                        continue;
                }
                if (!in_table)
                        continue;
                if (line[0] == 0)
                        break;
                if (sscanf(line, "|  *%63[^*]*", name) == 1) {
                        ASSERT_EQ(source < 0 || column == _PLATFORM_MAX, true);
                        source = mem_source_from_string(name);
                        if (source < 0)
                                fprintf(stderr, "man page row '%s' is no source\n", name);
                        ASSERT_TRUE(source >= 0);
                        column = 0;
                        rows++;
                } else if (source >= 0 && startswith(line, ":  ")) {
                        Policy want;

                        ASSERT_TRUE(column < _PLATFORM_MAX);
                        want = autopolicy_lookup((Platform)column, (MemSource)source).policy;
                        if (policy_from_string(line + 3) != want)
                                fprintf(stderr, "man page: %s on %s says '%s', the table %s\n",
                                        mem_source_to_string(source), platform_to_string(column),
                                        line + 3, policy_to_string(want));
                        ASSERT_EQ(policy_from_string(line + 3), want);
                        column++;
                }
        }
        fclose(f);
        ASSERT_EQ(column, _PLATFORM_MAX);
        ASSERT_EQ(rows, _MEM_SOURCE_MAX);
}
