/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of memory block uevent fields; fuzzed, so it trusts nothing. */
#include <string.h>

#include "memblock.h"
#include "strutil.h"
#include "uevent.h"

static const char *const action_table[_UEVENT_ACTION_MAX] = {
        [UEVENT_ADD] = "add",         [UEVENT_REMOVE] = "remove", [UEVENT_ONLINE] = "online",
        [UEVENT_OFFLINE] = "offline", [UEVENT_CHANGE] = "change",
};

const char *uevent_action_to_string(UeventAction a)
{
        return a >= 0 && a < _UEVENT_ACTION_MAX ? action_table[a] : NULL;
}

/* Finds KEY=value among NUL-separated properties in [p, end); returns value or NULL. */
static const char *find_property(const char *p, const char *end, const char *key, size_t key_len)
{
        while (p < end) {
                const char *nul = memchr(p, 0, (size_t)(end - p));

                if (!nul)
                        return NULL; /* an unterminated last entry is not trusted */
                if ((size_t)(nul - p) > key_len && memcmp(p, key, key_len) == 0 &&
                    p[key_len] == '=')
                        return p + key_len + 1;
                p = nul + 1;
        }
        return NULL;
}

int uevent_parse_message(const void *buf, size_t len, MemUevent *ret)
{
        const char *p = buf, *end = p + len, *nul, *action, *devpath, *subsystem;

        if (!buf || len == 0)
                return -EINVAL;
        /* "ACTION@DEVPATH" first, then the properties. */
        nul = memchr(p, 0, len);
        if (!nul || !memchr(p, '@', (size_t)(nul - p)))
                return -EINVAL;
        p = nul + 1;
        action = find_property(p, end, "ACTION", 6);
        devpath = find_property(p, end, "DEVPATH", 7);
        subsystem = find_property(p, end, "SUBSYSTEM", 9);
        return uevent_parse(action, devpath, subsystem, ret);
}

int uevent_parse(const char *action, const char *devpath, const char *subsystem, MemUevent *ret)
{
        UeventAction a = UEVENT_CHANGE;
        uint32_t id;

        if (!action || !devpath || !subsystem || !streq(subsystem, "memory"))
                return -EINVAL;
        if (memblock_parse_devpath(devpath, &id) < 0)
                return -EINVAL;
        for (int i = 0; i < _UEVENT_ACTION_MAX; i++)
                if (streq(action, action_table[i]))
                        a = (UeventAction)i;
        *ret = (MemUevent){.action = a, .block = id};
        return 0;
}
