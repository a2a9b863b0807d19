/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpd.conf: conf_load_string() on the input as one file. Invariants:
 *  - success: every value is in its documented range, and conf_format()'s output parses again
 *    to the same config and formats to the same text (the dump is a valid, canonical config);
 *  - failure with -EINVAL: an error text with one "fuzz.conf:LINE: what" per line, LINE within
 *    the input, and nothing but printable ASCII in it (the parser quotes hostile input).
 */
#include <errno.h>
#include <syslog.h>

#include "conf.h"
#include "fuzz.h"

/* Big enough for every line-length and file-size path; bigger only slows the fuzzer down. */
#define CONF_INPUT_MAX (64U * 1024U)

FUZZ_NO_COVERAGE static void check_ranges(const MemhpConfig *c)
{
        FUZZ_CHECK(event_source_to_string(c->event_source));
        FUZZ_CHECK(c->log_level >= LOG_EMERG && c->log_level <= LOG_DEBUG);
        FUZZ_CHECK(c->rescan_interval_usec <= 365ULL * 24 * 3600 * 1000000);
        FUZZ_CHECK(c->receive_buffer_bytes >= 4096 && c->receive_buffer_bytes <= (1ULL << 30));
        FUZZ_CHECK(policy_to_string(c->default_policy));
        FUZZ_CHECK(c->movable_ratio <= 10000);
        FUZZ_CHECK(c->offline_timeout_usec > 0 &&
                   c->offline_timeout_usec <= 365ULL * 24 * 3600 * 1000000);
        FUZZ_CHECK(c->offline_retries <= 10);
        FUZZ_CHECK(!c->default_auto || c->default_policy == POLICY_ONLINE_MOVABLE);
        for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                FUZZ_CHECK(c->source_policy[s] == _POLICY_INVALID ||
                           policy_to_string((Policy)c->source_policy[s]));
        for (unsigned n = 0; n < MEMHP_MAX_NODES; n++) {
                FUZZ_CHECK(c->node_policy[n] == _POLICY_INVALID ||
                           policy_to_string((Policy)c->node_policy[n]));
                FUZZ_CHECK(conf_node_policy_to_string(c, n));
                for (int s = 0; s < _MEM_SOURCE_MAX; s++) {
                        PolicyChoice ch = conf_policy_for(c, (Platform)(n % _PLATFORM_MAX), (int)n,
                                                          (MemSource)s);
                        char rule[POLICY_RULE_TEXT_MAX];

                        FUZZ_CHECK(c->node_source_policy[n][s] == _POLICY_INVALID ||
                                   policy_to_string((Policy)c->node_source_policy[n][s]));
                        FUZZ_CHECK(policy_to_string(ch.policy));
                        FUZZ_CHECK(policy_rule_to_string(ch.rule));
                        FUZZ_CHECK(policy_choice_format(ch, (int)n, (MemSource)s, rule,
                                                        sizeof(rule))[0]);
                }
        }
}

FUZZ_NO_COVERAGE static void check_same(const MemhpConfig *a, const MemhpConfig *b)
{
        /* Field by field: the struct has padding. */
        FUZZ_CHECK(a->event_source == b->event_source);
        FUZZ_CHECK(a->coldplug == b->coldplug);
        FUZZ_CHECK(a->log_level == b->log_level);
        FUZZ_CHECK(a->rescan_interval_usec == b->rescan_interval_usec);
        FUZZ_CHECK(a->receive_buffer_bytes == b->receive_buffer_bytes);
        FUZZ_CHECK(a->default_auto == b->default_auto);
        FUZZ_CHECK(a->default_policy == b->default_policy);
        FUZZ_CHECK(a->movable_ratio == b->movable_ratio);
        FUZZ_CHECK(a->offline_timeout_usec == b->offline_timeout_usec);
        FUZZ_CHECK(a->offline_retries == b->offline_retries);
        FUZZ_CHECK(memcmp(a->node_policy, b->node_policy, sizeof(a->node_policy)) == 0);
        FUZZ_CHECK(memcmp(a->source_policy, b->source_policy, sizeof(a->source_policy)) == 0);
        FUZZ_CHECK(memcmp(a->node_source_policy, b->node_source_policy,
                          sizeof(a->node_source_policy)) == 0);
}

FUZZ_NO_COVERAGE static void check_errors(const char *text, const char *err)
{
        unsigned lines = 1;

        for (const char *c = text; *c; c++)
                lines += *c == '\n';

        FUZZ_CHECK(err && err[0]);
        FUZZ_CHECK_MSG(fuzz_printable(err, 1), "error text: %s", err);
        for (const char *l = err; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *p = l + strlen("fuzz.conf:");
                unsigned long n;
                char *end;

                FUZZ_CHECK_MSG(strncmp(l, "fuzz.conf:", strlen("fuzz.conf:")) == 0,
                               "error line: %.200s", l);
                n = strtoul(p, &end, 10);
                FUZZ_CHECK_MSG(end > p && end[0] == ':' && end[1] == ' ' && end[2] &&
                                       end[2] != '\n',
                               "error line: %.200s", l);
                FUZZ_CHECK_MSG(n >= 1 && n <= lines, "line %lu of %u", n, lines);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        MemhpConfig *c = NULL, *c2 = NULL;
        char *text, *err = NULL, *err2 = NULL, *dump, *dump2;
        int r;

        if (size > CONF_INPUT_MAX)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        r = conf_load_string(text, "fuzz.conf", &c, &err);
        if (r < 0) {
                FUZZ_CHECK_MSG(r == -EINVAL || r == -ENOMEM, "r=%d", r);
                FUZZ_CHECK(!c);
                if (r == -EINVAL)
                        check_errors(text, err);
                goto out;
        }
        FUZZ_CHECK(c && !err);
        check_ranges(c);

        dump = conf_format(c);
        FUZZ_CHECK(dump);
        r = conf_load_string(dump, "fuzz.conf", &c2, &err2);
        FUZZ_CHECK_MSG(r == 0, "conf_format() output does not parse (%d): %s\n--\n%s", r,
                       err2 ?: "", dump);
        check_same(c, c2);
        dump2 = conf_format(c2);
        FUZZ_CHECK(dump2);
        FUZZ_CHECK_MSG(strcmp(dump, dump2) == 0, "%s\n--\n%s", dump, dump2);
        free(dump);
        free(dump2);
        free(c2);
out:
        free(c);
        free(err);
        free(text);
        return 0;
}
