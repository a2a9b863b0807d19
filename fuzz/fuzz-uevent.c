/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory block uevents: the input is split on NUL bytes into ACTION, DEVPATH and SUBSYSTEM
 * (missing fields are NULL), as libudev hands them to the monitor. If the first field is a raw
 * kernel uevent header ("add@/devices/...") or a "KEY=value" property instead, the fields are
 * looked up by key among all the NUL-separated properties, as the kernel sends them.
 *
 * Runs uevent_parse(), memblock_parse_devpath() and memblock_parse_name() (on the whole devpath
 * and on its last component). Invariants:
 *  - uevent_parse() accepts only SUBSYSTEM "memory" and a devpath memblock_parse_devpath() takes,
 *    with the same block id;
 *  - a known action string maps to its action and back; anything else is UEVENT_CHANGE;
 *  - an accepted name or devpath is exactly the canonical "memory<id>" spelling, so no two
 *    spellings can name one block, and never names the reserved id UINT32_MAX.
 */
#include <errno.h>
#include <inttypes.h>

#include "fuzz.h"
#include "memblock.h"
#include "uevent.h"

#define DEVPATH_PREFIX "/devices/system/memory/"

FUZZ_NO_COVERAGE static const char *property(char **fields, size_t n, const char *key)
{
        size_t l = strlen(key);

        for (size_t i = 0; i < n; i++)
                if (strncmp(fields[i], key, l) == 0 && fields[i][l] == '=')
                        return fields[i] + l + 1;
        return NULL;
}

static void check_name(const char *name)
{
        char canonical[32];
        uint32_t id;

        if (memblock_parse_name(name, &id) < 0)
                return;
        FUZZ_CHECK(id != UINT32_MAX); /* reserved: "id + 1" walks must not wrap */
        snprintf(canonical, sizeof(canonical), "memory%" PRIu32, id);
        FUZZ_CHECK_MSG(strcmp(name, canonical) == 0, "'%s' accepted as %s", name, canonical);
}

static void check_devpath(const char *devpath, uint32_t *ret_id, int *ret_ok)
{
        char canonical[64];
        uint32_t id;

        *ret_ok = 0;
        if (!devpath || memblock_parse_devpath(devpath, &id) < 0)
                return;
        FUZZ_CHECK(id != UINT32_MAX);
        snprintf(canonical, sizeof(canonical), DEVPATH_PREFIX "memory%" PRIu32, id);
        FUZZ_CHECK_MSG(strcmp(devpath, canonical) == 0, "'%s' accepted as %s", devpath, canonical);
        *ret_id = id;
        *ret_ok = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *action = NULL, *devpath = NULL, *subsystem = NULL;
        char *copy, *fields[64];
        size_t n = 0;
        MemUevent ev = {};
        uint32_t id = 0;
        int r, devpath_ok;

        /* A kernel uevent is at most 2048 bytes (UEVENT_BUFFER_SIZE). */
        if (size > 4096)
                return 0;

        /* The whole input as one kernel netlink datagram, not NUL-terminated. */
        if (uevent_parse_message(data, size, &ev) == 0) {
                FUZZ_CHECK(uevent_action_to_string(ev.action));
                FUZZ_CHECK(ev.block != UINT32_MAX);
        }
        ev = (MemUevent){};
        copy = malloc(size + 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = 0;
        for (size_t off = 0; off <= size && n < sizeof(fields) / sizeof(fields[0]); n++) {
                fields[n] = copy + off;
                off += strlen(copy + off) + 1;
        }

        if (n > 0 && (strchr(fields[0], '=') || strchr(fields[0], '@'))) {
                action = property(fields, n, "ACTION");
                devpath = property(fields, n, "DEVPATH");
                subsystem = property(fields, n, "SUBSYSTEM");
        } else {
                action = n > 0 ? fields[0] : NULL;
                devpath = n > 1 ? fields[1] : NULL;
                subsystem = n > 2 ? fields[2] : NULL;
        }

        for (size_t i = 0; i < n; i++)
                check_name(fields[i]);
        if (devpath) {
                const char *slash = strrchr(devpath, '/');
                check_name(slash ? slash + 1 : devpath);
        }
        check_devpath(devpath, &id, &devpath_ok);

        r = uevent_parse(action, devpath, subsystem, &ev);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL);
                FUZZ_CHECK(!action || !devpath || !subsystem || !devpath_ok ||
                           strcmp(subsystem, "memory") != 0);
        } else {
                FUZZ_CHECK(r == 0);
                FUZZ_CHECK(action && devpath && subsystem && strcmp(subsystem, "memory") == 0);
                FUZZ_CHECK(devpath_ok && ev.block == id);
                FUZZ_CHECK(ev.action >= 0 && ev.action < _UEVENT_ACTION_MAX);
                FUZZ_CHECK(uevent_action_to_string(ev.action));
                if (ev.action != UEVENT_CHANGE)
                        FUZZ_CHECK(strcmp(action, uevent_action_to_string(ev.action)) == 0);
                for (int a = 0; a < _UEVENT_ACTION_MAX; a++)
                        if (strcmp(action, uevent_action_to_string((UeventAction)a)) == 0)
                                FUZZ_CHECK((int)ev.action == a);
        }
        free(copy);
        return 0;
}
