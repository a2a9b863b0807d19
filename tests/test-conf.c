/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the memhpd.conf parser: values, errors with file:line, drop-ins, dump. */
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

#include "conf.h"
#include "macro.h"
#include "strutil.h"
#include "test-util.h"

#ifndef MEMHP_SOURCE_ROOT
#error "MEMHP_SOURCE_ROOT must point at the source tree"
#endif
#define FIXTURES MEMHP_SOURCE_ROOT "/tests/fixtures/conf"

/* Parses @text, which must be valid, and returns the config. */
static MemhpConfig *load_ok(const char *text)
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

/* Parses @text, which must be invalid, and returns the error text (caller frees). */
static char *load_bad(const char *text)
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

static void assert_bad(const char *text, const char *expected)
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
        ASSERT_EQ(a->default_policy, b->default_policy);
        ASSERT_EQ(a->movable_ratio, b->movable_ratio);
        ASSERT_EQ(a->offline_timeout_usec, b->offline_timeout_usec);
        ASSERT_EQ(a->offline_retries, b->offline_retries);
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                ASSERT_EQ(a->node_policy[n], b->node_policy[n]);
}

static void assert_defaults(const MemhpConfig *c)
{
        ASSERT_EQ(c->event_source, EVENT_SOURCE_AUTO);
        ASSERT_EQ(c->coldplug, true);
        ASSERT_EQ(c->log_level, LOG_INFO);
        ASSERT_EQ(c->rescan_interval_usec, 0);
        ASSERT_EQ(c->receive_buffer_bytes, 128ULL * 1024 * 1024);
        ASSERT_EQ(c->default_policy, POLICY_ONLINE_MOVABLE);
        ASSERT_EQ(c->movable_ratio, 301);
        ASSERT_EQ(c->offline_timeout_usec, 30ULL * 1000000);
        ASSERT_EQ(c->offline_retries, 3);
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                ASSERT_EQ(c->node_policy[n], _POLICY_INVALID);
}

/* Parses the output of conf_format(@c) and checks that it gives @c back. */
static void assert_round_trip(const MemhpConfig *c)
{
        _cleanup_free_ char *text = conf_format(c);
        _cleanup_free_ MemhpConfig *back = NULL;

        ASSERT_TRUE(text);
        back = load_ok(text);
        assert_config_eq(c, back);
}

static void write_file(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *path = NULL;
        FILE *f;

        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_EQ(fclose(f), 0);
}

static char *path_join(const char *dir, const char *name)
{
        char *p = NULL;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static char *make_tmpdir(void)
{
        const char *tmp = getenv("TMPDIR") ?: "/tmp";
        char *t = NULL;

        ASSERT_TRUE(asprintf(&t, "%s/test-conf-XXXXXX", tmp) > 0);
        ASSERT_TRUE(mkdtemp(t));
        return t;
}

/* Removes what the drop-in tests create: one level of files below @dir and one .d level. */
static void rm_tree(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                p = path_join(dir, de->d_name);
                ASSERT_EQ(lstat(p, &st), 0);
                if (S_ISDIR(st.st_mode))
                        rm_tree(p);
                else
                        ASSERT_EQ(unlink(p), 0);
        }
        ASSERT_EQ(rmdir(dir), 0);
}

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

        /* Without its own policy a node follows Default=, also beyond the table. */
        ASSERT_EQ(conf_node_policy(c, 0), POLICY_ONLINE_MOVABLE);
        ASSERT_EQ(conf_node_policy(c, MEMHP_MAX_NODES), POLICY_ONLINE_MOVABLE);
        ASSERT_EQ(conf_node_policy(c, UINT32_MAX), POLICY_ONLINE_MOVABLE);
        c->default_policy = POLICY_IGNORE;
        c->node_policy[7] = POLICY_ONLINE_KERNEL;
        ASSERT_EQ(conf_node_policy(c, 7), POLICY_ONLINE_KERNEL);
        ASSERT_EQ(conf_node_policy(c, 6), POLICY_IGNORE);
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
        ASSERT_EQ(conf_node_policy(c, 0), POLICY_ONLINE_KERNEL);
        ASSERT_EQ(conf_node_policy(c, 1), POLICY_AUTO_MOVABLE);
        ASSERT_EQ(conf_node_policy(c, 1023), POLICY_IGNORE);
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
                {"[Policy]\nMovableRatio=0\n", F(movable_ratio), 0},
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
                {"[Policy]\nDefault=movable\n",
                 "test.conf:2: invalid value 'movable' for Default=, expected online_movable, "
                 "online_kernel, online, auto-movable or ignore"},
                {"[Policy]\nDefault=auto_movable\n",
                 "test.conf:2: invalid value 'auto_movable' for Default=, expected "
                 "online_movable, online_kernel, online, auto-movable or ignore"},
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
                 "online_movable, online_kernel, online, auto-movable or ignore"},
                /* Terminal escapes and other bytes are quoted, not passed through. */
                {"[Policy]\nDefault=\x1b[31mred\\\xff\n",
                 "test.conf:2: invalid value '\\x1b[31mred\\x5c\\xff' for Default=, expected "
                 "online_movable, online_kernel, online, auto-movable or ignore"},
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
                                                "[Offline]\n"
                                                "TimeoutSec=9\nTimeoutSec=\n"
                                                "Retries=9\nRetries=\n"
                                                "[Node 4]\n"
                                                "Policy=online\nPolicy=\n");

        assert_defaults(c);
}

TEST(comments)
{
        _cleanup_free_ MemhpConfig *c = load_ok("# a comment\n"
                                                "; another\n"
                                                "   # indented\n"
                                                "\t; indented with a tab\n"
                                                "[Daemon] # after a header\n"
                                                "Coldplug=no   # why\n"
                                                "LogLevel=debug\t;why\n"
                                                "EventSource=udev #\n"
                                                "[Policy]   ; x\n"
                                                "Default=ignore # a # b ; c\n");

        ASSERT_EQ(c->coldplug, false);
        ASSERT_EQ(c->log_level, LOG_DEBUG);
        ASSERT_EQ(c->event_source, EVENT_SOURCE_UDEV);
        ASSERT_EQ(c->default_policy, POLICY_IGNORE);

        /* Without whitespace before it, '#' or ';' is part of the value. */
        assert_bad("[Daemon]\nColdplug=no#why\n",
                   "test.conf:2: invalid value 'no#why' for Coldplug=, expected a boolean");
        assert_bad("[Daemon]\nColdplug=no;why\n",
                   "test.conf:2: invalid value 'no;why' for Coldplug=, expected a boolean");
        assert_bad("[Daemon]#x\n",
                   "test.conf:1: invalid section header '[Daemon]#x', expected '[Name]' alone "
                   "on the line");
}

TEST(no_continuation_lines)
{
        /* inih would append an indented line to the previous value; here it stands alone. */
        assert_bad("[Policy]\nDefault=online\n    ignore\n",
                   "test.conf:3: missing '=' in 'ignore', expected Key=Value or [Section]");

        _cleanup_free_ MemhpConfig *c = load_ok("[Policy]\nDefault=online\n    MovableRatio=5\n");
        ASSERT_EQ(c->default_policy, POLICY_ONLINE);
        ASSERT_EQ(c->movable_ratio, 5);
}

TEST(syntax_errors)
{
        assert_bad("Coldplug=no\n", "test.conf:1: key 'Coldplug' outside of any section");
        assert_bad("\n\n[Daemon\nColdplug=no\n",
                   "test.conf:3: invalid section header '[Daemon', expected '[Name]' alone on the "
                   "line");
        assert_bad("[Daemon] [Policy]\n",
                   "test.conf:1: invalid section header '[Daemon] [Policy]', expected '[Name]' "
                   "alone on the line");
        assert_bad("[Daemon]\nColdplug\n",
                   "test.conf:2: missing '=' in 'Coldplug', expected Key=Value or [Section]");
        assert_bad("[Daemon]\n=yes\n", "test.conf:2: missing key name before '=yes'");
        /* inih would take "Key:Value" as an assignment; we do not. */
        assert_bad("[Daemon]\nColdplug:no\n",
                   "test.conf:2: missing '=' in 'Coldplug:no', expected Key=Value or [Section]");
        assert_bad("[Daemon]\nColdplug:x=no\n",
                   "test.conf:2: unknown key 'Coldplug:x' in section [Daemon]");
        assert_bad("[Daemon]\n\x01\x02\n",
                   "test.conf:2: missing '=' in '\\x01\\x02', expected Key=Value or [Section]");
}

TEST(unknown_sections_and_keys)
{
        assert_bad("[Policy]\nFoo=1\n", "test.conf:2: unknown key 'Foo' in section [Policy]");
        /* Case-sensitive, like systemd. */
        assert_bad("[Policy]\ndefault=ignore\n",
                   "test.conf:2: unknown key 'default' in section [Policy]");
        assert_bad("[policy]\n", "test.conf:1: unknown section [policy]");
        assert_bad("[ Policy ]\n", "test.conf:1: unknown section [ Policy ]");
        assert_bad("[]\n", "test.conf:1: unknown section []");
        /* A key valid elsewhere is unknown in the wrong section. */
        assert_bad("[Daemon]\nDefault=ignore\n",
                   "test.conf:2: unknown key 'Default' in section [Daemon]");
        assert_bad("[Node 1]\nDefault=ignore\n",
                   "test.conf:2: unknown key 'Default' in section [Node 1]");
        assert_bad("[Policy]\nPolicy=ignore\n",
                   "test.conf:2: unknown key 'Policy' in section [Policy]");
        /* The keys of an unknown section are not reported again, whatever they are. */
        assert_bad("[Foo]\nBar=1\nDefault=nonsense\n\n[Policy]\nDefault=ignore\n",
                   "test.conf:1: unknown section [Foo]");
}

TEST(node_bounds)
{
        static const char *const bad[] = {
                "Node 1024", "Node -1", "Node +1", "Node 0x1",  "Node 1 2",
                "Node ",     "Node",    "Node1",   "Node 01",   "Node 00",
                "Node 1a",   "Node  1", "Node 1 ", "Node 9999", "Node 99999999999999999999",
                "Node 1.0",  "node 1",  "Node\t1",
        };

        for (unsigned n = 0; n < MEMHP_MAX_NODES; n += 31) {
                _cleanup_free_ char *text = NULL;
                _cleanup_free_ MemhpConfig *c = NULL;

                ASSERT_TRUE(asprintf(&text, "[Node %u]\nPolicy=online_kernel\n", n) > 0);
                c = load_ok(text);
                ASSERT_EQ(c->node_policy[n], POLICY_ONLINE_KERNEL);
                ASSERT_EQ(conf_node_policy(c, n), POLICY_ONLINE_KERNEL);
        }

        _cleanup_free_ MemhpConfig *edges = load_ok("[Node 0]\nPolicy=online\n"
                                                    "[Node 1023]\nPolicy=ignore\n");
        ASSERT_EQ(edges->node_policy[0], POLICY_ONLINE);
        ASSERT_EQ(edges->node_policy[1023], POLICY_IGNORE);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL, *expected = NULL;

                /* The Policy= line under a bad header is skipped, not reported a second time. */
                ASSERT_TRUE(asprintf(&text, "[%s]\nPolicy=online\n", bad[i]) > 0);
                if (startswith(bad[i], "Node"))
                        ASSERT_TRUE(asprintf(&expected,
                                             "test.conf:1: invalid section [%s], expected [Node "
                                             "N] with N a decimal integer 0 to 1023",
                                             bad[i]) > 0);
                else
                        ASSERT_TRUE(asprintf(&expected, "test.conf:1: unknown section [%s]",
                                             bad[i]) > 0);
                /* The tab is quoted; the header itself is stripped only at its ends. */
                if (strchr(bad[i], '\t')) {
                        free(expected);
                        expected = strdup("test.conf:1: invalid section [Node\\x091], expected "
                                          "[Node N] with N a decimal integer 0 to 1023");
                }
                assert_bad(text, expected);
        }
}

TEST(long_lines)
{
        char line[512];
        _cleanup_free_ char *err = NULL;

        /* 197 bytes is the longest line inih can hold with its "\r\n\0". */
        memset(line, '#', 197);
        strcpy(line + 197, "\n[Policy]\nDefault=ignore\n");
        _cleanup_free_ MemhpConfig *c = load_ok(line);
        ASSERT_EQ(c->default_policy, POLICY_IGNORE);

        /* Also with a CRLF ending: the '\r' does not count. */
        strcpy(line + 197, "\r\n[Policy]\r\nDefault=ignore\r\n");
        _cleanup_free_ MemhpConfig *crlf = load_ok(line);
        ASSERT_EQ(crlf->default_policy, POLICY_IGNORE);

        /* One byte more is reported, not split into a second line inih would parse. */
        memset(line, 'x', 198);
        strcpy(line + 198, "\n[Policy]\nDefault=ignore\n");
        assert_bad(line, "test.conf:1: line too long (198 bytes, at most 197): "
                         "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");

        /* A long value would have made the tail a line of its own: "Default=ignore". */
        strcpy(line, "[Policy]\nMovableRatio=");
        memset(line + strlen(line), '1', 200);
        strcpy(line + strlen("[Policy]\nMovableRatio=") + 200, "Default=ignore\n\n");
        err = load_bad(line);
        ASSERT_STREQ(err, "test.conf:2: line too long (227 bytes, at most 197): "
                          "'MovableRatio=111111111111111111111111111...'");
}

TEST(all_errors_collected)
{
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        assert_bad("[Daemon]\nColdplug=maybe\nLogLevel=info\nLogLevel=chatty\n",
                   "test.conf:2: invalid value 'maybe' for Coldplug=, expected a boolean\n"
                   "test.conf:4: invalid value 'chatty' for LogLevel=, expected debug, info, "
                   "notice, warning or err");

        err = load_bad("junk\n[Daemon]\nFoo=1\n[Bar]\n[Offline]\nRetries=99\nbad line\n");
        ASSERT_STREQ(err, "test.conf:1: missing '=' in 'junk', expected Key=Value or [Section]\n"
                          "test.conf:3: unknown key 'Foo' in section [Daemon]\n"
                          "test.conf:4: unknown section [Bar]\n"
                          "test.conf:6: invalid value '99' for Retries=, expected an integer 0 to "
                          "10\n"
                          "test.conf:7: missing '=' in 'bad line', expected Key=Value or "
                          "[Section]");

        /* A NULL name and a NULL ret_error are allowed. */
        MemhpConfig *c = NULL;
        ASSERT_ERROR(conf_load_string("[X]\n", NULL, &c, &err2), EINVAL);
        ASSERT_STREQ(err2, "(string):1: unknown section [X]");
        ASSERT_TRUE(!c);
        ASSERT_ERROR(conf_load_string("[X]\n", "x", &c, NULL), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_ERROR(conf_load_string(NULL, "x", &c, NULL), EINVAL);
}

TEST(errors_fixture)
{
        _cleanup_free_ char *err = NULL;
        MemhpConfig *c = NULL;
        const char *p = FIXTURES "/errors.conf";
        _cleanup_free_ char *expected = NULL;

        ASSERT_TRUE(asprintf(&expected,
                             "%1$s:3: invalid value 'sometimes' for Coldplug=, expected a boolean\n"
                             "%1$s:4: invalid value 'loud' for LogLevel=, expected debug, info, "
                             "notice, warning or err\n"
                             "%1$s:7: unknown key 'Foo' in section [Policy]\n"
                             "%1$s:8: invalid value '10001' for MovableRatio=, expected a "
                             "percentage, 0 to 10000\n"
                             "%1$s:9: invalid section [Nodes], expected [Node N] with N a "
                             "decimal integer 0 to 1023\n"
                             "%1$s:11: invalid section [Node 1024], expected [Node N] with N a "
                             "decimal integer 0 to 1023\n"
                             "%1$s:14: invalid value '0' for TimeoutSec=, expected seconds greater "
                             "than 0, at most 31536000 (one year)\n"
                             "%1$s:15: invalid value '11' for Retries=, expected an integer 0 to "
                             "10",
                             p) > 0);
        ASSERT_ERROR(conf_load(p, false, &c, &err), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_STREQ(err, expected);
}

TEST(missing_main_file)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *dropins = NULL, *err = NULL, *expected = NULL;
        _cleanup_free_ MemhpConfig *c = NULL;

        ASSERT_ERROR(conf_load(main_path, false, &c, &err), ENOENT);
        ASSERT_TRUE(!c);
        ASSERT_CONTAINS(err, main_path);
        ASSERT_CONTAINS(err, "No such file or directory");
        free(err);
        err = NULL;

        ASSERT_OK(conf_load(main_path, true, &c, &err));
        ASSERT_TRUE(!err);
        assert_defaults(c);
        free(c);
        c = NULL;

        /* Drop-ins still apply without a main file... */
        dropins = path_join(dir, "memhpd.conf.d");
        ASSERT_EQ(mkdir(dropins, 0755), 0);
        write_file(dropins, "50-x.conf", "[Policy]\nDefault=online\n");
        ASSERT_OK(conf_load(main_path, true, &c, &err));
        ASSERT_EQ(c->default_policy, POLICY_ONLINE);
        free(c);
        c = NULL;

        /* ...but are not read at all when the missing main file is an error. */
        write_file(dropins, "60-bad.conf", "[Bad]\n");
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), ENOENT);
        free(err);
        err = NULL;
        ASSERT_ERROR(conf_load(main_path, true, &c, &err), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_TRUE(asprintf(&expected, "%s/60-bad.conf:1: unknown section [Bad]", dropins) > 0);
        ASSERT_STREQ(err, expected);

        rm_tree(dir);
}

TEST(dropins)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *dropins = path_join(dir, "memhpd.conf.d"), *sub = NULL;
        _cleanup_free_ char *err = NULL, *fifo = NULL, *expected = NULL;
        _cleanup_free_ MemhpConfig *c = NULL;

        write_file(dir, "memhpd.conf",
                   "[Daemon]\nColdplug=no\nLogLevel=notice\n"
                   "[Policy]\nDefault=online_kernel\nMovableRatio=10\n"
                   "[Node 1]\nPolicy=online\n");
        ASSERT_EQ(mkdir(dropins, 0755), 0);
        /* Written out of order: name order decides, byte-wise ('C' < 'a'), later wins. */
        write_file(dropins, "20-b.conf", "[Policy]\nMovableRatio=20\n[Node 2]\nPolicy=ignore\n");
        write_file(dropins, "10-a.conf", "[Policy]\nMovableRatio=99\nDefault=ignore\n");
        write_file(dropins, "30-C.conf", "[Policy]\nMovableRatio=30\n");
        write_file(dropins, "30-a.conf", "[Policy]\nMovableRatio=31\n");
        write_file(dropins, "15-reset.conf", "[Daemon]\nColdplug=\n[Node 1]\nPolicy=\n");
        /* None of these are drop-ins. */
        write_file(dropins, "99-z.conf.bak", "[Bad\n");
        write_file(dropins, "99-z.conf~", "[Bad\n");
        write_file(dropins, "README", "[Bad\n");
        write_file(dropins, ".hidden.conf", "[Bad\n");
        write_file(dropins, "conf", "[Bad\n");
        write_file(dropins, "99.CONF", "[Bad\n");
        sub = path_join(dropins, "98-dir.conf");
        ASSERT_EQ(mkdir(sub, 0755), 0);
        write_file(sub, "inner.conf", "[Bad\n");
        fifo = path_join(dropins, "97-fifo.conf");
        ASSERT_EQ(mkfifo(fifo, 0644), 0);

        ASSERT_OK(conf_load(main_path, false, &c, &err));
        ASSERT_TRUE(!err);
        ASSERT_EQ(c->coldplug, true);        /* reset by 15-reset.conf */
        ASSERT_EQ(c->log_level, LOG_NOTICE); /* main file only */
        ASSERT_EQ(c->default_policy, POLICY_IGNORE);
        ASSERT_EQ(c->movable_ratio, 31);
        ASSERT_EQ(c->node_policy[1], _POLICY_INVALID);
        ASSERT_EQ(c->node_policy[2], POLICY_IGNORE);
        ASSERT_EQ(conf_node_policy(c, 1), POLICY_IGNORE);
        free(c);
        c = NULL;

        /* Errors from the main file and from drop-ins are all reported, each with its path. */
        write_file(dir, "memhpd.conf", "[Daemon]\nColdplug=perhaps\n");
        write_file(dropins, "40-bad.conf", "\n[Offline]\nRetries=100\n");
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_TRUE(asprintf(&expected,
                             "%s:2: invalid value 'perhaps' for Coldplug=, expected a boolean\n"
                             "%s/40-bad.conf:3: invalid value '100' for Retries=, expected an "
                             "integer 0 to 10",
                             main_path, dropins) > 0);
        ASSERT_STREQ(err, expected);

        rm_tree(dir);
}

TEST(dropin_symlinks)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *dropins = path_join(dir, "memhpd.conf.d"), *target = NULL;
        _cleanup_free_ char *link = NULL, *dangling = NULL;
        _cleanup_free_ MemhpConfig *c = NULL;

        ASSERT_EQ(mkdir(dropins, 0755), 0);
        write_file(dir, "shared.txt", "[Offline]\nRetries=7\n");
        target = path_join(dir, "shared.txt");
        link = path_join(dropins, "50-link.conf");
        ASSERT_EQ(symlink(target, link), 0);
        /* A dangling link is skipped, as if the file had gone between readdir() and open(). */
        dangling = path_join(dropins, "60-dangling.conf");
        ASSERT_EQ(symlink("/nonexistent/memhpd-test", dangling), 0);

        ASSERT_OK(conf_load(main_path, true, &c, NULL));
        ASSERT_EQ(c->offline_retries, 7);

        rm_tree(dir);
}

TEST(load_failures)
{
        _cleanup_free_ char *dir = make_tmpdir(), *main_path = path_join(dir, "memhpd.conf");
        _cleanup_free_ char *err = NULL, *big = NULL, *dropins = path_join(dir, "memhpd.conf.d");
        _cleanup_free_ MemhpConfig *c = NULL;
        FILE *f;

        /* A directory as main file. */
        ASSERT_EQ(mkdir(main_path, 0755), 0);
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EISDIR);
        ASSERT_CONTAINS(err, main_path);
        ASSERT_TRUE(!c);
        free(err);
        err = NULL;
        ASSERT_EQ(rmdir(main_path), 0);

        /* A file as drop-in directory. */
        write_file(dir, "memhpd.conf", "[Daemon]\n");
        write_file(dir, "memhpd.conf.d", "[Daemon]\n");
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), ENOTDIR);
        ASSERT_CONTAINS(err, dropins);
        free(err);
        err = NULL;
        ASSERT_EQ(unlink(dropins), 0);

        /* Far too large to be a config file. */
        big = malloc(1024 * 1024 + 1);
        ASSERT_TRUE(big);
        memset(big, '\n', 1024 * 1024 + 1);
        f = fopen(main_path, "we");
        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite(big, 1, 1024 * 1024 + 1, f), 1024 * 1024 + 1);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EFBIG);
        ASSERT_CONTAINS(err, "file too large");
        free(err);
        err = NULL;

        /* Exactly 1 MiB of blank lines is still a (silly) config. */
        ASSERT_EQ(truncate(main_path, 1024 * 1024), 0);
        ASSERT_OK(conf_load(main_path, false, &c, &err));
        assert_defaults(c);
        free(c);
        c = NULL;

        /* NUL bytes cannot come through conf_load_string(), but a file can have them. */
        f = fopen(main_path, "we");
        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite("[Daemon]\nColdplug=no\0yes\n", 1, 25, f), 25);
        ASSERT_EQ(fclose(f), 0);
        ASSERT_ERROR(conf_load(main_path, false, &c, &err), EINVAL);
        free(big);
        ASSERT_TRUE(asprintf(&big, "%s:2: line contains a NUL byte", main_path) > 0);
        ASSERT_STREQ(err, big);

        rm_tree(dir);
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
                           "Default=online_movable\n"
                           "MovableRatio=301\n"
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
        c->default_policy = POLICY_AUTO_MOVABLE;
        c->movable_ratio = 0;
        c->offline_timeout_usec = 1;
        c->offline_retries = 10;
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                c->node_policy[n] = (int8_t)(n % _POLICY_MAX);
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

/* Garbage must never crash, leak or read out of bounds (ASan/valgrind run this too). */
TEST(garbage)
{
        static const char *const pieces[] = {
                "[",        "]",        "=",         "\n",      "\r",       " ",
                "\t",       "#",        ";",         ":",       "\\",       "\xef\xbb\xbf",
                "[Daemon]", "[Policy]", "[Offline]", "[Node ",  "1023",     "1024",
                "Coldplug", "Default",  "Policy",    "Retries", "yes",      "ignore",
                "\x01",     "\xff",     "0.5",       "128M",    "LogLevel", "x",
        };
        uint64_t seed = 0x9e3779b97f4a7c15ULL;
        unsigned n_ok = 0, n_bad = 0;
        char text[1024];

        for (unsigned iter = 0; iter < 3000; iter++) {
                size_t len = 0;
                MemhpConfig *c = NULL;
                char *err = NULL;
                int r;

                for (;;) {
                        const char *p;

                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        if (seed % 97 == 0)
                                break;
                        if (seed % 5 == 0) {
                                /* A run of one byte, to reach and pass the line limit. */
                                size_t run = (size_t)(seed >> 8) % 260;
                                if (len + run + 1 >= sizeof(text))
                                        break;
                                memset(text + len, (int)((seed >> 20) % 255) + 1, run);
                                len += run;
                                continue;
                        }
                        p = pieces[(seed >> 8) % ELEMENTSOF(pieces)];
                        if (len + strlen(p) + 1 >= sizeof(text))
                                break;
                        memcpy(text + len, p, strlen(p));
                        len += strlen(p);
                }
                text[len] = 0;

                r = conf_load_string(text, "garbage.conf", &c, &err);
                if (r >= 0) {
                        n_ok++;
                        ASSERT_TRUE(c && !err);
                        assert_round_trip(c);
                } else {
                        n_bad++;
                        ASSERT_ERROR(r, EINVAL);
                        ASSERT_TRUE(!c && err);
                        ASSERT_TRUE(startswith(err, "garbage.conf:"));
                        /* Error text is always printable: no bytes from the input leak raw. */
                        for (const char *e = err; *e; e++)
                                ASSERT_TRUE(*e == '\n' || (*e >= 0x20 && *e < 0x7f));
                }
                free(c);
                free(err);
        }
        fprintf(stderr, "%u valid, %u invalid\n", n_ok, n_bad);
        ASSERT_TRUE(n_ok > 0 && n_bad > 0);
}
