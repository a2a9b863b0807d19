/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of memory block uevent fields; fuzzed, so it trusts nothing. */
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
