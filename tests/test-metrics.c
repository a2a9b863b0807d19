/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counters and their Prometheus text exposition: what node_exporter's parser needs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test-util.h"

static char *render(const MemhpMetrics *m, bool up)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        ASSERT_TRUE(f);
        ASSERT_OK(metrics_write_prometheus(m, up, f));
        ASSERT_TRUE(fclose(f) == 0);
        return text;
}

static void assert_line(const char *text, const char *line)
{
        size_t l = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[l] == '\n')
                        return;
        fprintf(stderr, "no line '%s' in:\n%s", line, text);
        abort();
}

/* Every sample's family has exactly one HELP and one TYPE line, both before its samples. */
static void assert_well_formed(char *text)
{
        char *copy = strdup(text), *save = NULL, families[64][64];
        size_t n = 0;

        ASSERT_TRUE(copy);
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[64];

                if (strncmp(line, "# HELP ", 7) == 0)
                        continue;
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        ASSERT_TRUE(sscanf(line + 7, "%63s", name) == 1);
                        for (size_t i = 0; i < n; i++)
                                ASSERT_TRUE(strcmp(families[i], name) != 0);
                        ASSERT_TRUE(strstr(text, "# HELP ") != NULL);
                        ASSERT_TRUE(n < 64);
                        snprintf(families[n++], sizeof(families[0]), "%s", name);
                        continue;
                }
                ASSERT_TRUE(line[0] != '#');
                ASSERT_TRUE(strncmp(line, "memhpd_", 7) == 0);
                ASSERT_TRUE(sscanf(line, "%63[a-z_]", name) == 1);
                ASSERT_TRUE(n > 0 && strcmp(families[n - 1], name) == 0);
        }
        free(copy);
}

TEST(down)
{
        MemhpMetrics m = {.blocks_onlined = 5};
        char *text = render(&m, false);

        assert_line(text, "memhpd_up 0");
        ASSERT_TRUE(strstr(text, "onlined") == NULL);
        assert_well_formed(text);
        free(text);
}

TEST(up)
{
        MemhpMetrics m = {
                .blocks_onlined = 16,
                .blocks_offlined = 4,
                .retries = 2,
                .overflows = 1,
                .rescans = 3,
                .ops_succeeded = 7,
                .ops_rolled_back = 1,
                .ops_incomplete = 0,
                .held_blocks = 4,
        };
        char *text = render(&m, true);

        assert_well_formed(text);
        assert_line(text, "memhpd_up 1");
        assert_line(text, "# TYPE memhpd_blocks_onlined_total counter");
        assert_line(text, "memhpd_blocks_onlined_total 16");
        assert_line(text, "memhpd_blocks_offlined_total 4");
        assert_line(text, "memhpd_write_failures_total 0");
        assert_line(text, "memhpd_write_retries_total 2");
        assert_line(text, "memhpd_uevent_overflows_total 1");
        assert_line(text, "memhpd_rescans_total 3");
        assert_line(text, "memhpd_operations_total{outcome=\"succeeded\"} 7");
        assert_line(text, "memhpd_operations_total{outcome=\"rolled_back\"} 1");
        assert_line(text, "memhpd_operations_total{outcome=\"incomplete\"} 0");
        assert_line(text, "# TYPE memhpd_held_blocks gauge");
        assert_line(text, "memhpd_held_blocks 4");
        assert_line(text, "memhpd_last_failure_timestamp_seconds 0.000");
        /* No failure, no info sample (an info metric of nothing would be a lie). */
        ASSERT_TRUE(strstr(text, "memhpd_last_failure_info") == NULL);
        free(text);

        metrics_record_failure(&m, 130, -EBUSY, "online_movable", 1700000000123456ULL);
        ASSERT_EQ(m.failed_writes, 1);
        ASSERT_EQ(m.last_failure_errno, EBUSY);
        ASSERT_EQ(m.last_failure_block, 130);
        metrics_record_failure(&m, 7, EIO, "offline", 1700000001500000ULL);
        ASSERT_EQ(m.failed_writes, 2);
        ASSERT_EQ(m.last_failure_errno, EIO);
        text = render(&m, true);
        assert_well_formed(text);
        assert_line(text, "memhpd_write_failures_total 2");
        assert_line(text, "memhpd_last_failure_timestamp_seconds 1700000001.500");
        assert_line(text,
                    "memhpd_last_failure_info{block=\"7\",action=\"offline\",errno=\"EIO\"} 1");
        free(text);

        /* Label values are escaped as the format demands; an unknown errno is a number. */
        metrics_record_failure(&m, 1, 4000, "a\"b\\c\nd", 1);
        text = render(&m, true);
        assert_line(text, "memhpd_last_failure_info{block=\"1\",action=\"a\\\"b\\\\c\\nd\",errno="
                          "\"4000\"} 1");
        free(text);

        /* A failure at time 0 still reads as a failure. */
        m = (MemhpMetrics){};
        metrics_record_failure(&m, 2, -EIO, NULL, 0);
        ASSERT_TRUE(m.last_failure_usec > 0);
        ASSERT_TRUE(strcmp(m.last_failure_action, "") == 0);
}
