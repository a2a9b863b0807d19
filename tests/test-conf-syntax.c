/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memhpd.conf syntax: comments, continuation lines, sections and keys, node bounds, long
 * lines, every error collected with its file:line, and garbage that must never crash the parser.
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
                ASSERT_EQ(node_policy(c, n), POLICY_ONLINE_KERNEL);
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
                                             "N] or [Node N Source NAME] with N a decimal integer "
                                             "0 to 1023",
                                             bad[i]) > 0);
                else
                        ASSERT_TRUE(asprintf(&expected, "test.conf:1: unknown section [%s]",
                                             bad[i]) > 0);
                /* The tab is quoted; the header itself is stripped only at its ends. */
                if (strchr(bad[i], '\t')) {
                        free(expected);
                        expected = strdup("test.conf:1: invalid section [Node\\x091], expected "
                                          "[Node N] or [Node N Source NAME] with N a decimal "
                                          "integer 0 to 1023");
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
                             "%1$s:9: invalid section [Nodes], expected [Node N] or [Node N "
                             "Source NAME] with N a decimal integer 0 to 1023\n"
                             "%1$s:11: invalid section [Node 1024], expected [Node N] or [Node N "
                             "Source NAME] with N a decimal integer 0 to 1023\n"
                             "%1$s:14: invalid value '0' for TimeoutSec=, expected seconds greater "
                             "than 0, at most 31536000 (one year)\n"
                             "%1$s:15: invalid value '11' for Retries=, expected an integer 0 to "
                             "10",
                             p) > 0);
        ASSERT_ERROR(conf_load(p, false, &c, &err), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_STREQ(err, expected);
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
                "[Source ", " Source ", "dax",       "auto",    "dimm]",    "xen-balloon",
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
