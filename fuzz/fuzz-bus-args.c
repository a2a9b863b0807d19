/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * D-Bus argument validation of org.memhpd1.Manager's mutating methods, on real sd-bus messages.
 *
 * The input is text, one argument per line, after the method name on the first line:
 *
 *   OnlineBlocks | OfflineBlocks | SetNodePolicy
 *   au 32 33 40-47        a block array; "a-b" expands to a..b (so 0-65536 is over the limit)
 *   s movable             a string: the rest of the line
 *   u 1                   a uint32
 *   possible 0-1,3        SetNodePolicy only: the node list sys/devices/system/node/possible
 *                         holds (absent: the daemon's no-NUMA fallback, node 0 only)
 *
 * The arguments are appended in order to a method call built with sd-bus and sealed, so that
 * what the checks read comes through sd_bus_message_read_array()/sd_bus_message_read() exactly
 * as in daemon/manager-bus.c. A message whose signature differs from the method's (aus, au, us)
 * is dropped, as sd-bus's object dispatch drops it before the handler runs.
 *
 * Then the pure checks the handlers use: request_check_blocks() and request_zone_from_string()
 * (lib/request.h), policy_from_string() and the possible-node test (nodemask_parse(),
 * nodemask_test()). Invariants: a block list is accepted exactly when it has 1..65536 distinct
 * ids, and every refusal has a printable message; a zone or policy is accepted exactly when it is
 * one of the documented names; an accepted node is below MEMHP_MAX_NODES, so the handler's
 * config->node_policy[node] store is in bounds.
 *
 * Not covered, because it lives in static functions of daemon/manager-bus.c that need sysfs or a
 * running bus: the unknown-block and going-offline checks (validate_blocks()) and the glue itself.
 *
 * sd_bus_message_new_method_call() refuses a bus that was never started (-ENOTCONN, libsystemd
 * 252), so the messages are made on a bus started over one end of a socketpair; nothing is sent.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "alloc-util.h"
#include "block-ids.h"
#include "fuzz.h"
#include "memhp-api.h"
#include "nodemask.h"
#include "policy.h"
#include "request.h"

#define MAX_IDS 70000U /* a little over the 65,536 limit */

static sd_bus *bus;

static sd_bus *get_bus(void)
{
        int fds[2];

        if (bus)
                return bus;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return NULL;
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 ||
            sd_bus_start(bus) < 0) {
                bus = sd_bus_unref(bus);
                close(fds[0]);
                close(fds[1]);
                return NULL;
        }
        /* The peer end stays open (and unread) for the life of the process. */
        return bus;
}

/* The reference answer for a block list: 1..65536 ids, no duplicates. */
FUZZ_NO_COVERAGE static int list_ok(const uint32_t *ids, size_t n)
{
        uint32_t *s;
        int ok = 1;

        if (n == 0 || n > MEMHP_MAX_BLOCKS_PER_CALL)
                return 0;
        s = malloc(n * sizeof(*s));
        if (!s)
                return -1;
        memcpy(s, ids, n * sizeof(*s));
        /* The verdict is computed here, not by block_ids_sort_check_unique(): it is the oracle. */
        block_ids_sort(s, n);
        for (size_t i = 1; i < n && ok; i++)
                ok = s[i] != s[i - 1];
        free(s);
        return ok;
}

/* "32 33 40-47": decimal ids and inclusive ranges; anything else ends the list. */
FUZZ_NO_COVERAGE static int parse_ids(const char *s, uint32_t **ret, size_t *ret_n)
{
        uint32_t *ids = NULL;
        size_t n = 0, allocated = 0;

        while (*s == ' ')
                s++;
        while (*s && n < MAX_IDS) {
                unsigned long long a, b;
                char *end;

                if (*s < '0' || *s > '9')
                        break;
                a = strtoull(s, &end, 10);
                b = a;
                if (*end == '-' && end[1] >= '0' && end[1] <= '9')
                        b = strtoull(end + 1, &end, 10);
                if (a > UINT32_MAX || b > UINT32_MAX || b < a)
                        break;
                for (unsigned long long v = a; v <= b && n < MAX_IDS; v++) {
                        if (GREEDY_REALLOC(ids, allocated, n + 1) < 0) {
                                free(ids);
                                return -ENOMEM;
                        }
                        ids[n++] = (uint32_t)v;
                }
                s = end;
                while (*s == ' ')
                        s++;
        }
        *ret = ids;
        *ret_n = n;
        return 0;
}

static void check_blocks(sd_bus_message *m)
{
        const void *p;
        size_t size;
        char text[128];
        int r, ok;

        r = sd_bus_message_read_array(m, 'u', &p, &size);
        FUZZ_CHECK_MSG(r >= 0, "read_array: %d", r);
        FUZZ_CHECK(size % sizeof(uint32_t) == 0);
        size /= sizeof(uint32_t);
        text[0] = 0;
        r = request_check_blocks(p, size, text, sizeof(text));
        ok = list_ok(p, size);
        if (r == -ENOMEM || ok < 0)
                return;
        FUZZ_CHECK_MSG((r == 0) == ok, "request_check_blocks() = %d for %zu ids", r, size);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL);
                FUZZ_CHECK(text[0] && memchr(text, 0, sizeof(text)));
                FUZZ_CHECK_MSG(fuzz_printable(text, 0), "message: %s", text);
        }
        /* Without a message buffer, the same answer. */
        FUZZ_CHECK(request_check_blocks(p, size, NULL, 0) == r);
}

static void check_zone(sd_bus_message *m)
{
        static const char *const names[] = {"movable", "kernel", "auto"};
        const char *zone;
        int r, known = 0;

        r = sd_bus_message_read(m, "s", &zone);
        FUZZ_CHECK_MSG(r > 0, "read s: %d", r);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(zone, names[i]) == 0)
                        known = 1;
        r = request_zone_from_string(zone);
        FUZZ_CHECK_MSG((r >= 0) == known, "zone '%s': %d", zone, r);
        FUZZ_CHECK(r < 0 || r < _REQUEST_ZONE_MAX);
}

static void check_node_policy(sd_bus_message *m, const char *possible_text)
{
        NodeMask possible = {};
        const char *policy;
        uint32_t node;
        Policy p;
        int r;

        r = sd_bus_message_read(m, "us", &node, &policy);
        FUZZ_CHECK_MSG(r > 0, "read us: %d", r);
        p = policy_from_string(policy);
        if (p >= 0)
                FUZZ_CHECK(p < _POLICY_MAX && strcmp(policy_to_string(p), policy) == 0);
        else
                FUZZ_CHECK(p == _POLICY_INVALID);
        /* The daemon's fallback when the possible mask cannot be read: node 0 only. */
        if (!possible_text || nodemask_parse(possible_text, &possible) < 0) {
                possible = (NodeMask){};
                possible.bits[0] = 1;
        }
        if (nodemask_test(&possible, node))
                FUZZ_CHECK_MSG(node < MEMHP_MAX_NODES, "node %" PRIu32 " accepted", node);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        sd_bus_message *m = NULL;
        const char *member, *want, *possible = NULL;
        char *text, *line, *next;
        int r;

        if (size > 16384)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text || !get_bus())
                goto out;

        next = strchr(text, '\n');
        if (next)
                *next++ = 0;
        member = text;
        if (strcmp(member, "OnlineBlocks") == 0)
                want = "aus";
        else if (strcmp(member, "OfflineBlocks") == 0)
                want = "au";
        else if (strcmp(member, "SetNodePolicy") == 0)
                want = "us";
        else
                goto out;

        r = sd_bus_message_new_method_call(bus, &m, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                                           MEMHP_BUS_INTERFACE, member);
        FUZZ_CHECK_MSG(r >= 0, "new_method_call: %d", r);

        for (line = next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;

                if (strncmp(line, "au", 2) == 0 && (line[2] == ' ' || line[2] == 0)) {
                        uint32_t *ids;
                        size_t n;

                        if (parse_ids(line + 2, &ids, &n) < 0)
                                goto out;
                        r = sd_bus_message_append_array(m, 'u', ids, n * sizeof(*ids));
                        free(ids);
                } else if (strncmp(line, "s", 1) == 0 && (line[1] == ' ' || line[1] == 0)) {
                        /* sd-bus refuses what is not UTF-8; such a message never arrives. */
                        r = sd_bus_message_append(m, "s", line[1] ? line + 2 : "");
                } else if (strncmp(line, "u ", 2) == 0) {
                        r = sd_bus_message_append(m, "u", (uint32_t)strtoull(line + 2, NULL, 10));
                } else if (strncmp(line, "possible", 8) == 0 && (line[8] == ' ' || line[8] == 0)) {
                        possible = line[8] ? line + 9 : "";
                        r = 0;
                } else
                        r = 0; /* anything else is a comment */
                if (r < 0)
                        goto out;
        }

        /* A message sd-bus refuses to seal (a signature over 255 characters, ...) is never sent. */
        r = sd_bus_message_seal(m, 1, 0);
        if (r < 0 || strcmp(sd_bus_message_get_signature(m, true), want) != 0)
                goto out;

        if (strcmp(member, "SetNodePolicy") == 0)
                check_node_policy(m, possible);
        else {
                check_blocks(m);
                if (strcmp(member, "OnlineBlocks") == 0)
                        check_zone(m);
        }
out:
        sd_bus_message_unref(m);
        free(text);
        return 0;
}
