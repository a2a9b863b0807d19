/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory block uevents reduced to what memhpd acts on: an action and a block id. */
#pragma once

#include <errno.h>
#include <stdint.h>

typedef enum UeventAction {
        UEVENT_ADD,
        UEVENT_REMOVE,
        UEVENT_ONLINE,
        UEVENT_OFFLINE,
        UEVENT_CHANGE, /* "change" (udevadm trigger) and anything else: re-read the block */
        _UEVENT_ACTION_MAX,
        _UEVENT_ACTION_INVALID = -EINVAL,
} UeventAction;

typedef struct MemUevent {
        UeventAction action;
        uint32_t block;
} MemUevent;

const char *uevent_action_to_string(UeventAction a);

/**
 * uevent_parse() - turn a uevent's ACTION, DEVPATH and SUBSYSTEM into a MemUevent.
 *
 * Return: 0; -EINVAL for anything that is not a memory block event (the memory subsystem also
 * has "memory_tiers" and the like), or missing fields.
 */
int uevent_parse(const char *action, const char *devpath, const char *subsystem, MemUevent *ret);

/**
 * uevent_parse_message() - parse one kernel uevent netlink datagram.
 * @buf, @len: the datagram as the kernel sends it ("add@/devices/...\0ACTION=add\0..."), a
 *             stable ABI. udevd's re-broadcasts are in udev's internal format and are read
 *             through libudev (daemon/monitor.c), never here: they are rejected.
 *
 * Only ACTION, DEVPATH and SUBSYSTEM are read. Bounds come from @len alone: the datagram need
 * not be NUL-terminated and may be garbage (it is fuzzed).
 *
 * Return: 0 with *ret filled; -EINVAL for anything else, including other subsystems.
 */
int uevent_parse_message(const void *buf, size_t len, MemUevent *ret);
