/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the memhpd.conf tests (conf-test.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-test.h"
#include "macro.h"
#include "test-util.h"

Policy node_policy(const MemhpConfig *c, int node)
{
        return conf_policy_for(c, PLATFORM_GENERIC, node, MEM_SOURCE_UNKNOWN).policy;
}

MemhpConfig *load_ok(const char *text)
{
        MemhpConfig *c = NULL;
        char *err = NULL;
        int r = conf_load_string(text, "test.conf", &c, &err);

        if (r < 0)
                fprintf(stderr, "unexpected failure %d parsing:\n%s\nerrors:\n%s\n", r, text,
                        err ?: "(none)");
        ASSERT_OK(r);
        ASSERT_TRUE(c);
        ASSERT_TRUE(!err);
        return c;
}

char *load_bad(const char *text)
{
        MemhpConfig *c = (MemhpConfig *)(uintptr_t)1; /* must stay untouched on failure */
        char *err = NULL;
        int r = conf_load_string(text, "test.conf", &c, &err);

        if (r != -EINVAL)
                fprintf(stderr, "expected -EINVAL, got %d, parsing:\n%s\n", r, text);
        ASSERT_ERROR(r, EINVAL);
        ASSERT_TRUE(c == (MemhpConfig *)(uintptr_t)1);
        ASSERT_TRUE(err);
        return err;
}

void assert_bad(const char *text, const char *expected)
{
        _cleanup_free_ char *err = load_bad(text);

        ASSERT_STREQ(err, expected);
}

static void assert_config_eq(const MemhpConfig *a, const MemhpConfig *b)
{
        ASSERT_EQ(a->event_source, b->event_source);
        ASSERT_EQ(a->coldplug, b->coldplug);
        ASSERT_EQ(a->log_level, b->log_level);
        ASSERT_EQ(a->rescan_interval_usec, b->rescan_interval_usec);
        ASSERT_EQ(a->receive_buffer_bytes, b->receive_buffer_bytes);
        ASSERT_EQ(a->default_auto, b->default_auto);
        ASSERT_EQ(a->default_policy, b->default_policy);
        ASSERT_EQ(a->movable_ratio, b->movable_ratio);
        ASSERT_EQ(a->kernel_online, b->kernel_online);
        ASSERT_EQ(a->offline_timeout_usec, b->offline_timeout_usec);
        ASSERT_EQ(a->offline_retries, b->offline_retries);
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                ASSERT_EQ(a->node_policy[n], b->node_policy[n]);
        ASSERT_TRUE(memcmp(a->source_policy, b->source_policy, sizeof(a->source_policy)) == 0);
        ASSERT_TRUE(memcmp(a->node_source_policy, b->node_source_policy,
                           sizeof(a->node_source_policy)) == 0);
}

void assert_defaults(const MemhpConfig *c)
{
        ASSERT_EQ(c->event_source, EVENT_SOURCE_AUTO);
        ASSERT_EQ(c->coldplug, true);
        ASSERT_EQ(c->log_level, LOG_INFO);
        ASSERT_EQ(c->rescan_interval_usec, 0);
        ASSERT_EQ(c->receive_buffer_bytes, 128ULL * 1024 * 1024);
        ASSERT_EQ(c->default_auto, true);
        ASSERT_EQ(c->default_policy, POLICY_ONLINE_MOVABLE);
        ASSERT_EQ(c->movable_ratio, 301);
        ASSERT_EQ(c->kernel_online, true);
        ASSERT_EQ(c->offline_timeout_usec, 30ULL * 1000000);
        ASSERT_EQ(c->offline_retries, 3);
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++) {
                ASSERT_EQ(c->node_policy[n], _POLICY_INVALID);
                for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                        ASSERT_EQ(c->node_source_policy[n][s], _POLICY_INVALID);
        }
        for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                ASSERT_EQ(c->source_policy[s], _POLICY_INVALID);
}

void assert_round_trip(const MemhpConfig *c)
{
        _cleanup_free_ char *text = conf_format(c);
        _cleanup_free_ MemhpConfig *back = NULL;

        ASSERT_TRUE(text);
        back = load_ok(text);
        assert_config_eq(c, back);
}
