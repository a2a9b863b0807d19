/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpd.conf's schema: sections, keys and their typed, bounded value parsers, defaults, the
 * error collector, and conf_format(). The line reader and file loading are in conf-file.c.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "alloc-util.h"
#include "conf-internal.h"
#include "conf.h"
#include "log.h"
#include "macro.h"
#include "memhp-api.h"
#include "strutil.h"

/*
 * Bounds. Values outside them are almost certainly typos, and the sec bound keeps "now + interval"
 * arithmetic in the daemon's timers far away from overflow.
 */
#define MOVABLE_RATIO_MAX 10000U
#define RCVBUF_MIN 4096ULL
#define RCVBUF_MAX (1ULL << 30) /* SO_RCVBUF takes an int, and the kernel doubles it */
#define SEC_MAX_USEC (365ULL * 24 * 3600 * 1000000)
#define RETRIES_MAX 10U

static const char *const event_source_table[_EVENT_SOURCE_MAX] = {
        [EVENT_SOURCE_AUTO] = "auto",
        [EVENT_SOURCE_UDEV] = "udev",
        [EVENT_SOURCE_KERNEL] = "kernel",
};

const char *event_source_to_string(EventSource s)
{
        if (s < 0 || s >= _EVENT_SOURCE_MAX)
                return NULL;
        return event_source_table[s];
}

EventSource event_source_from_string(const char *s)
{
        if (!s)
                return _EVENT_SOURCE_INVALID;
        return (EventSource)string_table_lookup(event_source_table, ELEMENTSOF(event_source_table),
                                                s);
}

void conf_init_defaults(MemhpConfig *c)
{
        *c = (MemhpConfig){
                .event_source = EVENT_SOURCE_AUTO,
                .coldplug = true,
                .kernel_online = true,
                .log_level = LOG_INFO,
                .rescan_interval_usec = 0,
                .receive_buffer_bytes = MEMHP_DEFAULT_RCVBUF,
                .default_auto = true,
                .default_policy = POLICY_ONLINE_MOVABLE,
                .movable_ratio = MEMHP_DEFAULT_MOVABLE_RATIO,
                .offline_timeout_usec = MEMHP_DEFAULT_OFFLINE_TIMEOUT_USEC,
                .offline_retries = MEMHP_DEFAULT_OFFLINE_RETRIES,
        };
        memset(c->node_policy, _POLICY_INVALID, sizeof(c->node_policy));
        memset(c->source_policy, _POLICY_INVALID, sizeof(c->source_policy));
        memset(c->node_source_policy, _POLICY_INVALID, sizeof(c->node_source_policy));
}

void conf_strbuf_done(StrBuf *b)
{
        free(b->s);
        *b = (StrBuf){};
}

_printf_(2, 3) void conf_strbuf_appendf(StrBuf *b, const char *format, ...)
{
        va_list ap;
        int n;

        if (b->error < 0)
                return;

        va_start(ap, format);
        n = vsnprintf(NULL, 0, format, ap);
        va_end(ap);
        if (n < 0) {
                b->error = -EINVAL;
                return;
        }

        if (GREEDY_REALLOC(b->s, b->alloc, b->len + (size_t)n + 1) < 0) {
                b->error = -ENOMEM;
                return;
        }

        va_start(ap, format);
        vsnprintf(b->s + b->len, b->alloc - b->len, format, ap);
        va_end(ap);
        b->len += (size_t)n;
}

_printf_(2, 3) void conf_parser_error(Parser *p, const char *format, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        conf_strbuf_appendf(&p->errors, "%s%s:%u: %s", p->n_errors > 0 ? "\n" : "", p->fname,
                            p->line, msg);
        p->n_errors++;
}

/* Value parsers: @v is the value, or NULL to restore the default (an empty assignment). */

static int set_event_source(Parser *p, const char *v)
{
        EventSource s = v ? event_source_from_string(v) : EVENT_SOURCE_AUTO;

        if (s < 0)
                return s;
        p->config->event_source = s;
        return 0;
}

static int set_coldplug(Parser *p, const char *v)
{
        int r = v ? parse_boolean(v) : 1;

        if (r < 0)
                return r;
        p->config->coldplug = r;
        return 0;
}

static int set_kernel_online(Parser *p, const char *v)
{
        int r = v ? parse_boolean(v) : 1;

        if (r < 0)
                return r;
        p->config->kernel_online = r;
        return 0;
}

static int set_log_level(Parser *p, const char *v)
{
        int l = v ? log_level_from_string(v) : LOG_INFO;

        if (l < 0)
                return l;
        p->config->log_level = l;
        return 0;
}

static int set_rescan_interval(Parser *p, const char *v)
{
        uint64_t u = 0;

        if (v) {
                int r = parse_sec(v, &u);
                if (r < 0)
                        return r;
                if (u > SEC_MAX_USEC)
                        return -ERANGE;
        }
        p->config->rescan_interval_usec = u;
        return 0;
}

static int set_receive_buffer(Parser *p, const char *v)
{
        uint64_t u = MEMHP_DEFAULT_RCVBUF;

        if (v) {
                int r = parse_size(v, &u);
                if (r < 0)
                        return r;
                if (u < RCVBUF_MIN || u > RCVBUF_MAX)
                        return -ERANGE;
        }
        p->config->receive_buffer_bytes = u;
        return 0;
}

static int set_default_policy(Parser *p, const char *v)
{
        MemhpConfig dflt;
        Policy pol;

        if (!v) {
                conf_init_defaults(&dflt);
                p->config->default_auto = dflt.default_auto;
                p->config->default_policy = dflt.default_policy;
                return 0;
        }
        if (streq(v, MEMHP_POLICY_AUTO)) {
                /* One representation of auto, so that equal configs compare equal. */
                p->config->default_auto = true;
                p->config->default_policy = POLICY_ONLINE_MOVABLE;
                return 0;
        }
        pol = policy_from_string(v);
        if (pol < 0)
                return pol;
        p->config->default_auto = false;
        p->config->default_policy = pol;
        return 0;
}

static int set_movable_ratio(Parser *p, const char *v)
{
        unsigned u = MEMHP_DEFAULT_MOVABLE_RATIO;

        if (v) {
                int r = safe_atou(v, &u);
                if (r < 0)
                        return r;
                if (u > MOVABLE_RATIO_MAX)
                        return -ERANGE;
        }
        p->config->movable_ratio = u;
        return 0;
}

static int set_offline_timeout(Parser *p, const char *v)
{
        uint64_t u = MEMHP_DEFAULT_OFFLINE_TIMEOUT_USEC;

        if (v) {
                int r = parse_sec(v, &u);
                if (r < 0)
                        return r;
                if (u == 0 || u > SEC_MAX_USEC)
                        return -ERANGE;
        }
        p->config->offline_timeout_usec = u;
        return 0;
}

static int set_offline_retries(Parser *p, const char *v)
{
        unsigned u = MEMHP_DEFAULT_OFFLINE_RETRIES;

        if (v) {
                int r = safe_atou(v, &u);
                if (r < 0)
                        return r;
                if (u > RETRIES_MAX)
                        return -ERANGE;
        }
        p->config->offline_retries = u;
        return 0;
}

static int set_node_policy(Parser *p, const char *v)
{
        Policy pol = v ? policy_from_string(v) : _POLICY_INVALID;

        if (v && pol < 0)
                return pol;
        p->config->node_policy[p->node] = (int8_t)pol;
        return 0;
}

static int set_source_policy(Parser *p, const char *v)
{
        Policy pol = v ? policy_from_string(v) : _POLICY_INVALID;

        if (v && pol < 0)
                return pol;
        p->config->source_policy[p->source] = (int8_t)pol;
        return 0;
}

static int set_node_source_policy(Parser *p, const char *v)
{
        Policy pol = v ? policy_from_string(v) : _POLICY_INVALID;

        if (v && pol < 0)
                return pol;
        p->config->node_source_policy[p->node][p->source] = (int8_t)pol;
        return 0;
}

_Static_assert(MOVABLE_RATIO_MAX == 10000U && RETRIES_MAX == 10U, "update the messages below");
_Static_assert(SEC_MAX_USEC == 31536000ULL * 1000000, "update the messages below");

static const struct ConfKey {
        Section section;
        const char *name;
        int (*set)(Parser *p, const char *v);
        const char *expected;
} conf_keys[] = {
        {SECTION_DAEMON, "EventSource", set_event_source, "auto, udev or kernel"},
        {SECTION_DAEMON, "Coldplug", set_coldplug, "a boolean"},
        {SECTION_DAEMON, "LogLevel", set_log_level, "debug, info, notice, warning or err"},
        {SECTION_DAEMON, "RescanIntervalSec", set_rescan_interval,
         "seconds, 0 (off) to 31536000 (one year)"},
        {SECTION_DAEMON, "ReceiveBufferSize", set_receive_buffer,
         "a size in bytes with optional K, M or G suffix, 4K to 1G"},
        {SECTION_POLICY, "Default", set_default_policy,
         MEMHP_POLICY_AUTO ", " MEMHP_POLICY_CHOICES},
        {SECTION_POLICY, "MovableRatio", set_movable_ratio, "a percentage, 0 to 10000"},
        {SECTION_POLICY, "KernelOnline", set_kernel_online, "a boolean"},
        {SECTION_OFFLINE, "TimeoutSec", set_offline_timeout,
         "seconds greater than 0, at most 31536000 (one year)"},
        {SECTION_OFFLINE, "Retries", set_offline_retries, "an integer 0 to 10"},
        {SECTION_NODE, "Policy", set_node_policy, MEMHP_POLICY_CHOICES},
        {SECTION_SOURCE, "Policy", set_source_policy, MEMHP_POLICY_CHOICES},
        {SECTION_NODE_SOURCE, "Policy", set_node_source_policy, MEMHP_POLICY_CHOICES},
};

void conf_unknown_key(Parser *p, const char *name, size_t n)
{
        char q[QUOTE_BUF_SIZE];

        conf_parser_error(p, "unknown key '%s' in section [%s]", quote_untrusted(q, name, n),
                          p->section_name);
}

/* inih calls this right after our reader handed it the line, so p->line is still current. */
int conf_handler(void *user, const char *section, const char *name, const char *value)
{
        Parser *p = user;
        char q[QUOTE_BUF_SIZE];

        (void)section; /* inih truncates long ones; the reader keeps the real one in p */

        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++) {
                const struct ConfKey *k = &conf_keys[i];

                if (k->section != p->section || !streq(k->name, name))
                        continue;
                /* An empty assignment restores the default, as in systemd: lets a drop-in undo. */
                if (k->set(p, value[0] ? value : NULL) < 0)
                        conf_parser_error(p, "invalid value '%s' for %s=, expected %s",
                                          quote_untrusted(q, value, strlen(value)), name,
                                          k->expected);
                return 1;
        }

        conf_unknown_key(p, name, strlen(name));
        return 1;
}

#define SOURCE_NAMES "unknown, boot, dimm, virtio-mem, dax, hyperv-balloon or xen-balloon"
_Static_assert(_MEM_SOURCE_MAX == 7, "update SOURCE_NAMES");

/* "N" decimal, no sign, no leading zero, below MEMHP_MAX_NODES. */
static int parse_node(const char *s, size_t n, unsigned *ret)
{
        uint64_t v;
        int r;

        r = parse_uint(s, n, PARSE_UINT_NO_LEADING_ZERO, MEMHP_MAX_NODES - 1, &v);
        if (r < 0)
                return r;
        *ret = (unsigned)v;
        return 0;
}

/* "Source NAME" from @s (@n bytes): the source, or an error naming it. */
static int parse_source(Parser *p, const char *section, size_t section_len, const char *s, size_t n)
{
        char q[QUOTE_BUF_SIZE], q2[QUOTE_BUF_SIZE], name[32];
        int src = -EINVAL;

        if (n < sizeof(name)) {
                memcpy(name, s, n);
                name[n] = 0;
                src = mem_source_from_string(name);
        }
        if (src < 0) {
                conf_parser_error(p, "unknown source '%s' in section [%s], expected " SOURCE_NAMES,
                                  quote_untrusted(q, s, n),
                                  quote_untrusted(q2, section, section_len));
                return -EINVAL;
        }
        p->source = (MemSource)src;
        return 0;
}

/* [Node N] and [Node N Source NAME]. */
static Section parse_node_section(Parser *p, const char *name, size_t n)
{
        static const char source_word[] = " Source ";
        char q[QUOTE_BUF_SIZE];
        const char *digits = name + 5, *end = name + n, *sp;

        if (n < 6 || memcmp(name, "Node ", 5) != 0)
                goto invalid;
        sp = memchr(digits, ' ', (size_t)(end - digits));
        if (parse_node(digits, (size_t)((sp ?: end) - digits), &p->node) < 0)
                goto invalid;
        if (!sp)
                return SECTION_NODE;
        if ((size_t)(end - sp) < strlen(source_word) ||
            memcmp(sp, source_word, strlen(source_word)) != 0)
                goto invalid;
        sp += strlen(source_word);
        if (parse_source(p, name, n, sp, (size_t)(end - sp)) < 0)
                return SECTION_BAD;
        return SECTION_NODE_SOURCE;

invalid:
        conf_parser_error(p,
                          "invalid section [%s], expected [Node N] or [Node N Source NAME] with N "
                          "a decimal integer 0 to %u",
                          quote_untrusted(q, name, n), MEMHP_MAX_NODES - 1);
        return SECTION_BAD;
}

void conf_parse_section_header(Parser *p, const char *s, size_t n)
{
        char q[QUOTE_BUF_SIZE];
        const char *name = s + 1;
        size_t nn;

        p->section = SECTION_BAD;
        p->section_name[0] = 0;

        nn = n >= 2 ? n - 2 : 0;
        if (n < 2 || s[n - 1] != ']' || memchr(name, '[', nn) || memchr(name, ']', nn)) {
                conf_parser_error(
                        p, "invalid section header '%s', expected '[Name]' alone on the line",
                        quote_untrusted(q, s, n));
                return;
        }

        if (nn == 6 && memcmp(name, "Daemon", 6) == 0)
                p->section = SECTION_DAEMON;
        else if (nn == 6 && memcmp(name, "Policy", 6) == 0)
                p->section = SECTION_POLICY;
        else if (nn == 7 && memcmp(name, "Offline", 7) == 0)
                p->section = SECTION_OFFLINE;
        else if (nn >= 4 && memcmp(name, "Node", 4) == 0)
                p->section = parse_node_section(p, name, nn);
        else if (nn >= 6 && memcmp(name, "Source", 6) == 0) {
                if (nn < 7 || name[6] != ' ') {
                        conf_parser_error(p,
                                          "invalid section [%s], expected [Source NAME] with "
                                          "NAME one of " SOURCE_NAMES,
                                          quote_untrusted(q, name, nn));
                        return;
                }
                if (parse_source(p, name, nn, name + 7, nn - 7) >= 0)
                        p->section = SECTION_SOURCE;
        } else {
                conf_parser_error(p, "unknown section [%s]", quote_untrusted(q, name, nn));
                return;
        }
        if (p->section == SECTION_BAD)
                return;

        assert(nn < sizeof(p->section_name));
        memcpy(p->section_name, name, nn);
        p->section_name[nn] = 0;
}
/* "128M" rather than "134217728" where exact, so the dump reads like the file. */
static void format_size(StrBuf *b, const char *key, uint64_t v)
{
        static const char suffixes[] = "KMGT";
        int i = -1;

        while (v > 0 && i < 3 && v % 1024 == 0) {
                v /= 1024;
                i++;
        }
        if (i < 0)
                conf_strbuf_appendf(b, "%s=%" PRIu64 "\n", key, v);
        else
                conf_strbuf_appendf(b, "%s=%" PRIu64 "%c\n", key, v, suffixes[i]);
}

static void format_sec(StrBuf *b, const char *key, uint64_t usec)
{
        uint64_t frac = usec % 1000000;
        int digits = 6;

        if (frac == 0) {
                conf_strbuf_appendf(b, "%s=%" PRIu64 "\n", key, usec / 1000000);
                return;
        }
        while (frac % 10 == 0) {
                frac /= 10;
                digits--;
        }
        conf_strbuf_appendf(b, "%s=%" PRIu64 ".%0*" PRIu64 "\n", key, usec / 1000000, digits, frac);
}

static const char *str_or_invalid(const char *s)
{
        return s ?: "invalid";
}

char *conf_format(const MemhpConfig *c)
{
        StrBuf b = {};

        if (!c)
                return NULL;

        conf_strbuf_appendf(&b, "[Daemon]\n");
        conf_strbuf_appendf(&b, "EventSource=%s\n",
                            str_or_invalid(event_source_to_string(c->event_source)));
        conf_strbuf_appendf(&b, "Coldplug=%s\n", c->coldplug ? "yes" : "no");
        conf_strbuf_appendf(&b, "LogLevel=%s\n", str_or_invalid(log_level_to_string(c->log_level)));
        format_sec(&b, "RescanIntervalSec", c->rescan_interval_usec);
        format_size(&b, "ReceiveBufferSize", c->receive_buffer_bytes);

        conf_strbuf_appendf(&b, "\n[Policy]\n");
        conf_strbuf_appendf(&b, "Default=%s\n",
                            c->default_auto ? MEMHP_POLICY_AUTO
                                            : str_or_invalid(policy_to_string(c->default_policy)));
        conf_strbuf_appendf(&b, "MovableRatio=%u\n", c->movable_ratio);
        conf_strbuf_appendf(&b, "KernelOnline=%s\n", c->kernel_online ? "yes" : "no");

        conf_strbuf_appendf(&b, "\n[Offline]\n");
        format_sec(&b, "TimeoutSec", c->offline_timeout_usec);
        conf_strbuf_appendf(&b, "Retries=%u\n", c->offline_retries);

        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                if (c->node_policy[n] != _POLICY_INVALID)
                        conf_strbuf_appendf(&b, "\n[Node %u]\nPolicy=%s\n", n,
                                            str_or_invalid(policy_to_string(c->node_policy[n])));
        for (int src = 0; src < _MEM_SOURCE_MAX; src++)
                if (c->source_policy[src] != _POLICY_INVALID)
                        conf_strbuf_appendf(
                                &b, "\n[Source %s]\nPolicy=%s\n", mem_source_to_string(src),
                                str_or_invalid(policy_to_string(c->source_policy[src])));
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++)
                for (int src = 0; src < _MEM_SOURCE_MAX; src++)
                        if (c->node_source_policy[n][src] != _POLICY_INVALID)
                                conf_strbuf_appendf(&b, "\n[Node %u Source %s]\nPolicy=%s\n", n,
                                                    mem_source_to_string(src),
                                                    str_or_invalid(policy_to_string(
                                                            c->node_source_policy[n][src])));

        if (b.error < 0) {
                conf_strbuf_done(&b);
                return NULL;
        }
        return b.s;
}
