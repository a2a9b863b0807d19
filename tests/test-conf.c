/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the memhpd.conf parser, its values: defaults, every key's good and bad values,
 * the shipped file, and conf_format()'s dump read back. Syntax and errors with file:line are in
 * test-conf-syntax.c, the main file and drop-ins in test-conf-files.c (the same binary).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf-test.h"
#include "conf.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"

TEST(defaults)
{
        _cleanup_free_ MemhpConfig *c = malloc(sizeof(MemhpConfig));
        _cleanup_free_ MemhpConfig *empty = NULL, *comments = NULL;

        ASSERT_TRUE(c);
        conf_init_defaults(c);
        assert_defaults(c);
        ASSERT_EQ(c->rescan_interval_usec, 0);
        ASSERT_EQ(c->receive_buffer_bytes, MEMHP_DEFAULT_RCVBUF);
        ASSERT_EQ(c->offline_timeout_usec, MEMHP_DEFAULT_OFFLINE_TIMEOUT_USEC);

        empty = load_ok("");
        assert_defaults(empty);
        comments = load_ok("# nothing\n; at all\n\n   \n[Daemon]\n[Policy]\n[Offline]\n[Node 5]\n");
        assert_defaults(comments);

        /* Without its own policy a node follows Default=, also beyond the table: auto, which
         * gives an unknown source on a generic platform the ratio guard. */
        ASSERT_EQ(node_policy(c, 0), POLICY_AUTO_MOVABLE);
        ASSERT_EQ(node_policy(c, MEMHP_MAX_NODES), POLICY_AUTO_MOVABLE);
        ASSERT_EQ(node_policy(c, INT32_MAX), POLICY_AUTO_MOVABLE);
        ASSERT_EQ(conf_policy_for(c, PLATFORM_GENERIC, 0, MEM_SOURCE_DIMM).rule, POLICY_RULE_AUTO);
        c->default_auto = false;
        c->default_policy = POLICY_IGNORE;
        c->node_policy[7] = POLICY_ONLINE_KERNEL;
        ASSERT_EQ(node_policy(c, 7), POLICY_ONLINE_KERNEL);
        ASSERT_EQ(node_policy(c, 6), POLICY_IGNORE);
}

TEST(event_source_strings)
{
        ASSERT_STREQ(event_source_to_string(EVENT_SOURCE_AUTO), "auto");
        ASSERT_STREQ(event_source_to_string(EVENT_SOURCE_UDEV), "udev");
        ASSERT_STREQ(event_source_to_string(EVENT_SOURCE_KERNEL), "kernel");
        ASSERT_TRUE(!event_source_to_string(_EVENT_SOURCE_MAX));
        ASSERT_TRUE(!event_source_to_string(_EVENT_SOURCE_INVALID));
        for (int i = 0; i < _EVENT_SOURCE_MAX; i++)
                ASSERT_EQ(event_source_from_string(event_source_to_string(i)), i);
        ASSERT_EQ(event_source_from_string("Auto"), _EVENT_SOURCE_INVALID);
        ASSERT_EQ(event_source_from_string(""), _EVENT_SOURCE_INVALID);
        ASSERT_EQ(event_source_from_string(NULL), _EVENT_SOURCE_INVALID);
}

TEST(full_fixture)
{
        _cleanup_free_ MemhpConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        /* No drop-in directory next to the fixture: that is fine. */
        ASSERT_OK(conf_load(FIXTURES "/full.conf", false, &c, &err));
        ASSERT_TRUE(!err);
        ASSERT_EQ(c->event_source, EVENT_SOURCE_UDEV);
        ASSERT_EQ(c->coldplug, false);
        ASSERT_EQ(c->log_level, LOG_DEBUG);
        ASSERT_EQ(c->rescan_interval_usec, 2500000);
        ASSERT_EQ(c->receive_buffer_bytes, 4ULL << 20);
        ASSERT_EQ(c->default_policy, POLICY_AUTO_MOVABLE);
        ASSERT_EQ(c->movable_ratio, 150);
        ASSERT_EQ(c->offline_timeout_usec, 250000);
        ASSERT_EQ(c->offline_retries, 0);
        ASSERT_EQ(c->node_policy[0], POLICY_ONLINE_KERNEL);
        ASSERT_EQ(c->node_policy[1023], POLICY_IGNORE);
        for (unsigned n = 1; n < 1023; n++)
                ASSERT_EQ(c->node_policy[n], _POLICY_INVALID);
        ASSERT_EQ(node_policy(c, 0), POLICY_ONLINE_KERNEL);
        ASSERT_EQ(node_policy(c, 1), POLICY_AUTO_MOVABLE);
        ASSERT_EQ(node_policy(c, 1023), POLICY_IGNORE);
        for (int s = 0; s < _MEM_SOURCE_MAX; s++) {
                ASSERT_EQ(c->source_policy[s],
                          s == MEM_SOURCE_DAX ? POLICY_ONLINE_KERNEL : _POLICY_INVALID);
                for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                        ASSERT_EQ(c->node_source_policy[n][s], n == 2 && s == MEM_SOURCE_VIRTIO_MEM
                                                                       ? POLICY_ONLINE
                                                                       : _POLICY_INVALID);
        }
        assert_round_trip(c);
}

TEST(shipped_config_is_defaults)
{
        _cleanup_free_ MemhpConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        /* The installed file documents the defaults: with everything commented out, it is them. */
        ASSERT_OK(conf_load(MEMHP_SOURCE_ROOT "/memhpd.conf", false, &c, &err));
        ASSERT_TRUE(!err);
        assert_defaults(c);
}

TEST(good_values)
{
        static const struct {
                const char *text;
                size_t offset;
                size_t size;
                uint64_t expected;
        } cases[] = {
#define F(field) offsetof(MemhpConfig, field), sizeof(((MemhpConfig *)0)->field)
                {"[Daemon]\nEventSource=auto\n", F(event_source), EVENT_SOURCE_AUTO},
                {"[Daemon]\nEventSource=udev\n", F(event_source), EVENT_SOURCE_UDEV},
                {"[Daemon]\nEventSource=kernel\n", F(event_source), EVENT_SOURCE_KERNEL},
                {"[Daemon]\nColdplug=no\n", F(coldplug), 0},
                {"[Daemon]\nColdplug=yes\n", F(coldplug), 1},
                {"[Daemon]\nColdplug=false\n", F(coldplug), 0},
                {"[Daemon]\nColdplug=on\n", F(coldplug), 1},
                {"[Daemon]\nColdplug=0\n", F(coldplug), 0},
                {"[Daemon]\nLogLevel=debug\n", F(log_level), LOG_DEBUG},
                {"[Daemon]\nLogLevel=info\n", F(log_level), LOG_INFO},
                {"[Daemon]\nLogLevel=notice\n", F(log_level), LOG_NOTICE},
                {"[Daemon]\nLogLevel=warning\n", F(log_level), LOG_WARNING},
                {"[Daemon]\nLogLevel=err\n", F(log_level), LOG_ERR},
                {"[Daemon]\nRescanIntervalSec=0\n", F(rescan_interval_usec), 0},
                {"[Daemon]\nRescanIntervalSec=60\n", F(rescan_interval_usec), 60000000},
                {"[Daemon]\nRescanIntervalSec=0.000001\n", F(rescan_interval_usec), 1},
                {"[Daemon]\nRescanIntervalSec=31536000\n", F(rescan_interval_usec),
                 31536000ULL * 1000000},
                {"[Daemon]\nReceiveBufferSize=4K\n", F(receive_buffer_bytes), 4096},
                {"[Daemon]\nReceiveBufferSize=4096\n", F(receive_buffer_bytes), 4096},
                {"[Daemon]\nReceiveBufferSize=64M\n", F(receive_buffer_bytes), 64ULL << 20},
                {"[Daemon]\nReceiveBufferSize=16MiB\n", F(receive_buffer_bytes), 16ULL << 20},
                {"[Daemon]\nReceiveBufferSize=1G\n", F(receive_buffer_bytes), 1ULL << 30},
                {"[Daemon]\nReceiveBufferSize=5000\n", F(receive_buffer_bytes), 5000},
                {"[Policy]\nDefault=online_movable\n", F(default_policy), POLICY_ONLINE_MOVABLE},
                {"[Policy]\nDefault=online_kernel\n", F(default_policy), POLICY_ONLINE_KERNEL},
                {"[Policy]\nDefault=online\n", F(default_policy), POLICY_ONLINE},
                {"[Policy]\nDefault=auto-movable\n", F(default_policy), POLICY_AUTO_MOVABLE},
                {"[Policy]\nDefault=ignore\n", F(default_policy), POLICY_IGNORE},
                {"[Policy]\nDefault=auto\n", F(default_auto), true},
                {"[Policy]\nDefault=auto\n", F(default_policy), POLICY_ONLINE_MOVABLE},
                {"[Policy]\nDefault=auto\nDefault=online\n", F(default_auto), false},
                {"[Source boot]\nPolicy=online\n", F(source_policy[MEM_SOURCE_BOOT]),
                 POLICY_ONLINE},
                {"[Source xen-balloon]\nPolicy=ignore\n", F(source_policy[MEM_SOURCE_XEN_BALLOON]),
                 POLICY_IGNORE},
                {"[Node 0 Source unknown]\nPolicy=auto-movable\n",
                 F(node_source_policy[0][MEM_SOURCE_UNKNOWN]), POLICY_AUTO_MOVABLE},
                {"[Node 17 Source dax]\nPolicy=online_kernel\n",
                 F(node_source_policy[17][MEM_SOURCE_DAX]), POLICY_ONLINE_KERNEL},
                {"[Policy]\nMovableRatio=0\n", F(movable_ratio), 0},
                {"[Policy]\nKernelOnline=no\n", F(kernel_online), 0},
                {"[Policy]\nKernelOnline=yes\n", F(kernel_online), 1},
                {"[Policy]\nMovableRatio=100\n", F(movable_ratio), 100},
                {"[Policy]\nMovableRatio=10000\n", F(movable_ratio), 10000},
                {"[Offline]\nTimeoutSec=1\n", F(offline_timeout_usec), 1000000},
                {"[Offline]\nTimeoutSec=0.5\n", F(offline_timeout_usec), 500000},
                {"[Offline]\nTimeoutSec=0.000001\n", F(offline_timeout_usec), 1},
                {"[Offline]\nTimeoutSec=31536000\n", F(offline_timeout_usec),
                 31536000ULL * 1000000},
                {"[Offline]\nRetries=0\n", F(offline_retries), 0},
                {"[Offline]\nRetries=10\n", F(offline_retries), 10},
                {"[Node 0]\nPolicy=online\n", F(node_policy[0]), POLICY_ONLINE},
                {"[Node 1]\nPolicy=online_kernel\n", F(node_policy[1]), POLICY_ONLINE_KERNEL},
                {"[Node 1023]\nPolicy=ignore\n", F(node_policy[1023]), POLICY_IGNORE},
                {"[Node 9]\nPolicy=auto-movable\n", F(node_policy[9]), POLICY_AUTO_MOVABLE},
                {"[Node 10]\nPolicy=online_movable\n", F(node_policy[10]), POLICY_ONLINE_MOVABLE},
                /* Whitespace around '=' and the value, CRLF, no final newline. */
                {"[Policy]\n  Default =  ignore  \n", F(default_policy), POLICY_IGNORE},
                {"[Policy]\r\nDefault=ignore\r\n", F(default_policy), POLICY_IGNORE},
                {"[Policy]\nDefault=ignore", F(default_policy), POLICY_IGNORE},
                {"\xef\xbb\xbf[Policy]\nDefault=ignore\n", F(default_policy), POLICY_IGNORE},
                /* Later assignments win, within a file and across repeated sections. */
                {"[Offline]\nRetries=1\nRetries=2\n", F(offline_retries), 2},
                {"[Node 3]\nPolicy=online\n[Policy]\n[Node 3]\nPolicy=ignore\n", F(node_policy[3]),
                 POLICY_IGNORE},
#undef F
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ MemhpConfig *c = load_ok(cases[i].text);
                const char *field = (const char *)c + cases[i].offset;
                int64_t v;

                switch (cases[i].size) {
                case 1:
                        v = *(const int8_t *)field;
                        break;
                case 4:
                        v = *(const int32_t *)field;
                        break;
                case 8:
                        v = (int64_t) * (const uint64_t *)field;
                        break;
                default:
                        ASSERT_TRUE(!"unexpected field size");
                        return;
                }
                if (v != (int64_t)cases[i].expected)
                        fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
                ASSERT_EQ(v, cases[i].expected);
                assert_round_trip(c);
        }
}

TEST(bad_values)
{
        static const struct {
                const char *text;
                const char *error;
        } cases[] = {
                {"[Daemon]\nEventSource=netlink\n",
                 "test.conf:2: invalid value 'netlink' for EventSource=, expected auto, udev or "
                 "kernel"},
                {"[Daemon]\nEventSource=AUTO\n",
                 "test.conf:2: invalid value 'AUTO' for EventSource=, expected auto, udev or "
                 "kernel"},
                {"[Daemon]\nColdplug=sometimes\n",
                 "test.conf:2: invalid value 'sometimes' for Coldplug=, expected a boolean"},
                {"[Daemon]\nColdplug=2\n",
                 "test.conf:2: invalid value '2' for Coldplug=, expected a boolean"},
                {"[Daemon]\nLogLevel=verbose\n",
                 "test.conf:2: invalid value 'verbose' for LogLevel=, expected debug, info, "
                 "notice, warning or err"},
                {"[Daemon]\nLogLevel=7\n",
                 "test.conf:2: invalid value '7' for LogLevel=, expected debug, info, notice, "
                 "warning or err"},
                {"[Daemon]\nRescanIntervalSec=-1\n",
                 "test.conf:2: invalid value '-1' for RescanIntervalSec=, expected seconds, 0 "
                 "(off) to 31536000 (one year)"},
                {"[Daemon]\nRescanIntervalSec=5min\n",
                 "test.conf:2: invalid value '5min' for RescanIntervalSec=, expected seconds, 0 "
                 "(off) to 31536000 (one year)"},
                {"[Daemon]\nRescanIntervalSec=31536000.000001\n",
                 "test.conf:2: invalid value '31536000.000001' for RescanIntervalSec=, expected "
                 "seconds, 0 (off) to 31536000 (one year)"},
                {"[Daemon]\nRescanIntervalSec=infinity\n",
                 "test.conf:2: invalid value 'infinity' for RescanIntervalSec=, expected "
                 "seconds, 0 (off) to 31536000 (one year)"},
                {"[Daemon]\nReceiveBufferSize=4095\n",
                 "test.conf:2: invalid value '4095' for ReceiveBufferSize=, expected a size in "
                 "bytes with optional K, M or G suffix, 4K to 1G"},
                {"[Daemon]\nReceiveBufferSize=1025M\n",
                 "test.conf:2: invalid value '1025M' for ReceiveBufferSize=, expected a size in "
                 "bytes with optional K, M or G suffix, 4K to 1G"},
                {"[Daemon]\nReceiveBufferSize=128X\n",
                 "test.conf:2: invalid value '128X' for ReceiveBufferSize=, expected a size in "
                 "bytes with optional K, M or G suffix, 4K to 1G"},
                {"[Daemon]\nReceiveBufferSize=99999999999999999999\n",
                 "test.conf:2: invalid value '99999999999999999999' for ReceiveBufferSize=, "
                 "expected a size in bytes with optional K, M or G suffix, 4K to 1G"},
                {"[Policy]\nDefault=movable\n", "test.conf:2: invalid value 'movable' for "
                                                "Default=, expected auto, online_movable, "
                                                "online_kernel, online, auto-movable or ignore"},
                {"[Policy]\nDefault=auto_movable\n",
                 "test.conf:2: invalid value 'auto_movable' for Default=, expected "
                 "auto, online_movable, online_kernel, online, auto-movable or ignore"},
                {"[Policy]\nMovableRatio=10001\n",
                 "test.conf:2: invalid value '10001' for MovableRatio=, expected a percentage, 0 "
                 "to 10000"},
                {"[Policy]\nMovableRatio=30%\n",
                 "test.conf:2: invalid value '30%' for MovableRatio=, expected a percentage, 0 to "
                 "10000"},
                {"[Policy]\nMovableRatio=+5\n",
                 "test.conf:2: invalid value '+5' for MovableRatio=, expected a percentage, 0 to "
                 "10000"},
                {"[Policy]\nMovableRatio=4294967296\n",
                 "test.conf:2: invalid value '4294967296' for MovableRatio=, expected a "
                 "percentage, 0 to 10000"},
                {"[Offline]\nTimeoutSec=0\n",
                 "test.conf:2: invalid value '0' for TimeoutSec=, expected seconds greater than "
                 "0, at most 31536000 (one year)"},
                {"[Offline]\nTimeoutSec=0.0\n",
                 "test.conf:2: invalid value '0.0' for TimeoutSec=, expected seconds greater "
                 "than 0, at most 31536000 (one year)"},
                {"[Offline]\nTimeoutSec=1.0000001\n",
                 "test.conf:2: invalid value '1.0000001' for TimeoutSec=, expected seconds "
                 "greater than 0, at most 31536000 (one year)"},
                {"[Offline]\nTimeoutSec=30s\n",
                 "test.conf:2: invalid value '30s' for TimeoutSec=, expected seconds greater "
                 "than 0, at most 31536000 (one year)"},
                {"[Policy]\nKernelOnline=auto\n",
                 "test.conf:2: invalid value 'auto' for KernelOnline=, expected a boolean"},
                {"[Offline]\nRetries=11\n",
                 "test.conf:2: invalid value '11' for Retries=, expected an integer 0 to 10"},
                {"[Offline]\nRetries=-1\n",
                 "test.conf:2: invalid value '-1' for Retries=, expected an integer 0 to 10"},
                {"[Offline]\nRetries=three\n",
                 "test.conf:2: invalid value 'three' for Retries=, expected an integer 0 to 10"},
                {"[Node 2]\nPolicy=yes\n",
                 "test.conf:2: invalid value 'yes' for Policy=, expected online_movable, "
                 "online_kernel, online, auto-movable or ignore"},
                /* Internal whitespace is part of the value. */
                {"[Policy]\nDefault=online movable\n",
                 "test.conf:2: invalid value 'online movable' for Default=, expected "
                 "auto, online_movable, online_kernel, online, auto-movable or ignore"},
                /* Terminal escapes and other bytes are quoted, not passed through. */
                {"[Policy]\nDefault=\x1b[31mred\\\xff\n",
                 "test.conf:2: invalid value '\\x1b[31mred\\x5c\\xff' for Default=, expected "
                 "auto, online_movable, online_kernel, online, auto-movable or ignore"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_bad(cases[i].text, cases[i].error);
}

TEST(empty_value_restores_default)
{
        _cleanup_free_ MemhpConfig *c = load_ok("[Daemon]\n"
                                                "EventSource=kernel\nEventSource=\n"
                                                "Coldplug=no\nColdplug=\n"
                                                "LogLevel=err\nLogLevel=\n"
                                                "RescanIntervalSec=5\nRescanIntervalSec=\n"
                                                "ReceiveBufferSize=8K\nReceiveBufferSize=\n"
                                                "[Policy]\n"
                                                "Default=ignore\nDefault=\n"
                                                "MovableRatio=7\nMovableRatio=   # comment\n"
                                                "KernelOnline=no\nKernelOnline=\n"
                                                "[Offline]\n"
                                                "TimeoutSec=9\nTimeoutSec=\n"
                                                "Retries=9\nRetries=\n"
                                                "[Node 4]\n"
                                                "Policy=online\nPolicy=\n");

        assert_defaults(c);
}

TEST(format_round_trip)
{
        _cleanup_free_ MemhpConfig *c = malloc(sizeof(MemhpConfig));
        _cleanup_free_ char *text = NULL, *dflt = NULL;

        ASSERT_TRUE(c);
        conf_init_defaults(c);
        dflt = conf_format(c);
        ASSERT_STREQ(dflt, "[Daemon]\n"
                           "EventSource=auto\n"
                           "Coldplug=yes\n"
                           "LogLevel=info\n"
                           "RescanIntervalSec=0\n"
                           "ReceiveBufferSize=128M\n"
                           "\n"
                           "[Policy]\n"
                           "Default=auto\n"
                           "MovableRatio=301\n"
                           "KernelOnline=yes\n"
                           "\n"
                           "[Offline]\n"
                           "TimeoutSec=30\n"
                           "Retries=3\n");
        assert_round_trip(c);

        /* Values that do not print as round numbers. */
        c->event_source = EVENT_SOURCE_KERNEL;
        c->coldplug = false;
        c->log_level = LOG_WARNING;
        c->rescan_interval_usec = 1000001;
        c->receive_buffer_bytes = 4097;
        c->default_auto = false;
        c->default_policy = POLICY_AUTO_MOVABLE;
        c->movable_ratio = 0;
        c->kernel_online = false;
        c->offline_timeout_usec = 1;
        c->offline_retries = 10;
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++) {
                c->node_policy[n] = (int8_t)(n % _POLICY_MAX);
                for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                        c->node_source_policy[n][s] = (int8_t)((n + (unsigned)s) % _POLICY_MAX);
        }
        for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                c->source_policy[s] = (int8_t)(s % _POLICY_MAX);
        assert_round_trip(c);

        c->receive_buffer_bytes = 3ULL << 20;
        c->rescan_interval_usec = 120500000;
        c->offline_timeout_usec = 100000;
        conf_init_defaults(c);
        c->receive_buffer_bytes = 3ULL << 20;
        c->rescan_interval_usec = 120500000;
        c->offline_timeout_usec = 100000;
        c->node_policy[1] = POLICY_ONLINE_KERNEL;
        c->node_policy[1023] = POLICY_ONLINE_MOVABLE;
        text = conf_format(c);
        ASSERT_CONTAINS(text, "RescanIntervalSec=120.5\n");
        ASSERT_CONTAINS(text, "ReceiveBufferSize=3M\n");
        ASSERT_CONTAINS(text, "TimeoutSec=0.1\n");
        ASSERT_CONTAINS(text, "\n[Node 1]\nPolicy=online_kernel\n");
        ASSERT_CONTAINS(text, "\n[Node 1023]\nPolicy=online_movable\n");
        ASSERT_TRUE(!strstr(text, "[Node 0]"));
        assert_round_trip(c);

        ASSERT_TRUE(!conf_format(NULL));
}
