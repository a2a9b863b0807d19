/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uevent.h: ACTION/DEVPATH/SUBSYSTEM of memory block uevents -> MemUevent. */
#include <stdio.h>

#include "macro.h"
#include "test-util.h"
#include "uevent.h"

#define POISON ((MemUevent){.action = (UeventAction)99, .block = 0xdeadbeef})

static void assert_event(const char *action, const char *devpath, UeventAction want_action,
                         uint32_t want_block)
{
        MemUevent ev = POISON;

        ASSERT_OK(uevent_parse(action, devpath, "memory", &ev));
        ASSERT_EQ(ev.action, want_action);
        ASSERT_EQ(ev.block, want_block);
}

static void assert_rejected(const char *action, const char *devpath, const char *subsystem)
{
        MemUevent ev = POISON;

        ASSERT_ERROR(uevent_parse(action, devpath, subsystem, &ev), EINVAL);
}

TEST(actions)
{
        assert_event("add", "/devices/system/memory/memory32", UEVENT_ADD, 32);
        assert_event("remove", "/devices/system/memory/memory32", UEVENT_REMOVE, 32);
        assert_event("online", "/devices/system/memory/memory0", UEVENT_ONLINE, 0);
        assert_event("offline", "/devices/system/memory/memory8192", UEVENT_OFFLINE, 8192);
        assert_event("change", "/devices/system/memory/memory4294967294", UEVENT_CHANGE,
                     UINT32_MAX - 1);
}

TEST(unknown_actions_are_change)
{
        /* Anything else means "re-read the block". */
        static const char *const others[] = {"move", "bind", "unbind", "",
                                             "ADD",  "add ", "onlin",  "offline2"};

        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                assert_event(others[i], "/devices/system/memory/memory7", UEVENT_CHANGE, 7);
}

TEST(wrong_subsystem)
{
        static const char *const subsystems[] = {"node", "cpu",    "memory_tiering", "dax",
                                                 "",     "Memory", "memory ",        "memoryx"};

        for (size_t i = 0; i < ELEMENTSOF(subsystems); i++)
                assert_rejected("add", "/devices/system/memory/memory7", subsystems[i]);
}

TEST(not_a_block)
{
        static const char *const devpaths[] = {
                /* The memory subsystem's other devices. */
                "/devices/system/memory/memory_tiers",
                "/devices/virtual/memory_tiering/memory_tier4",
                "/devices/system/memory",
                "/devices/system/memory/",
                "/devices/system/memory/memory",
                /* Nested or trailing components. */
                "/devices/system/memory/memory7/",
                "/devices/system/memory/memory7/node0",
                "/devices/system/memory/memory7/power",
                /* Other places. */
                "/devices/system/node/node0",
                "/devices/system/cpu/memory7",
                "devices/system/memory/memory7",
                "/sys/devices/system/memory/memory7",
                "//devices/system/memory/memory7",
                "/devices/system/memory//memory7",
                "",
                /* Bad ids. */
                "/devices/system/memory/memory4294967296",
                "/devices/system/memory/memory99999999999999999999999",
                "/devices/system/memory/memory007",
                "/devices/system/memory/memory-1",
                "/devices/system/memory/memory+1",
                "/devices/system/memory/memory 1",
                "/devices/system/memory/memory1 ",
                "/devices/system/memory/memory1\n",
                "/devices/system/memory/memory0x10",
                "/devices/system/memory/memory12a",
                "/devices/system/memory/Memory12",
        };

        for (size_t i = 0; i < ELEMENTSOF(devpaths); i++) {
                fprintf(stderr, "   bad devpath #%zu\n", i);
                assert_rejected("add", devpaths[i], "memory");
                assert_rejected("change", devpaths[i], "memory");
        }
}

TEST(missing_fields)
{
        assert_rejected(NULL, "/devices/system/memory/memory7", "memory");
        assert_rejected("add", NULL, "memory");
        assert_rejected("add", "/devices/system/memory/memory7", NULL);
        assert_rejected(NULL, NULL, NULL);
}

TEST(garbage)
{
        /* Bytes a fuzzer would send: high bytes, control characters, very long strings. */
        char longpath[4096], longaction[4096];

        assert_rejected("add", "\xff\xfe/devices/system/memory/memory7", "memory");
        assert_rejected("add", "/devices/system/memory/memory\x01", "memory");
        assert_rejected("add", "/devices/system/memory/memory7\xff", "memory");
        assert_rejected("add", "/devices/system/memory/memory7", "memory\n");

        memset(longpath, '9', sizeof(longpath) - 1);
        longpath[sizeof(longpath) - 1] = 0;
        memcpy(longpath, "/devices/system/memory/memory", strlen("/devices/system/memory/memory"));
        assert_rejected("add", longpath, "memory");

        memset(longaction, 'a', sizeof(longaction) - 1);
        longaction[sizeof(longaction) - 1] = 0;
        assert_event(longaction, "/devices/system/memory/memory7", UEVENT_CHANGE, 7);
        assert_event("\xff\x01", "/devices/system/memory/memory7", UEVENT_CHANGE, 7);
}

TEST(action_strings)
{
        static const char *const names[_UEVENT_ACTION_MAX] = {
                [UEVENT_ADD] = "add",       [UEVENT_REMOVE] = "remove",
                [UEVENT_ONLINE] = "online", [UEVENT_OFFLINE] = "offline",
                [UEVENT_CHANGE] = "change",
        };

        for (int a = 0; a < _UEVENT_ACTION_MAX; a++) {
                MemUevent ev = POISON;

                ASSERT_STREQ(uevent_action_to_string((UeventAction)a), names[a]);
                /* Round trip through the parser. */
                ASSERT_OK(uevent_parse(uevent_action_to_string((UeventAction)a),
                                       "/devices/system/memory/memory1", "memory", &ev));
                ASSERT_EQ(ev.action, a);
        }
        ASSERT_TRUE(uevent_action_to_string(_UEVENT_ACTION_MAX) == NULL);
        ASSERT_TRUE(uevent_action_to_string(_UEVENT_ACTION_INVALID) == NULL);
        ASSERT_TRUE(uevent_action_to_string((UeventAction)-1) == NULL);
}

/* A kernel datagram: "ACTION@DEVPATH\0" then NUL-separated properties. */
static size_t kernel_msg(char *buf, const char *action, const char *devpath, const char *subsys)
{
        return (size_t)snprintf(buf, 1024, "%s@%s%cACTION=%s%cDEVPATH=%s%cSUBSYSTEM=%s%cSEQNUM=7%c",
                                action, devpath, 0, action, 0, devpath, 0, subsys, 0, 0);
}

/* Something shaped like udevd's re-broadcast: a "libudev" prefix, a header, the properties. */
static size_t udev_msg(char *buf, const char *props, size_t props_len)
{
        memset(buf, 0, 40);
        memcpy(buf, "libudev", 8);
        memcpy(buf + 40, props, props_len);
        return 40 + props_len;
}

TEST(messages)
{
        static const char props[] = "ACTION=online\0DEVPATH=/devices/system/memory/memory48\0"
                                    "SUBSYSTEM=memory\0SEQNUM=9\0USEC_INITIALIZED=1\0";
        char buf[1024];
        MemUevent ev;
        size_t n;

        n = kernel_msg(buf, "add", "/devices/system/memory/memory32", "memory");
        ASSERT_OK(uevent_parse_message(buf, n, &ev));
        ASSERT_EQ(ev.action, UEVENT_ADD);
        ASSERT_EQ(ev.block, 32);

        /* udev's internal format is libudev's to read: the kernel parser does not guess at it. */
        n = udev_msg(buf, props, sizeof(props) - 1);
        ASSERT_ERROR(uevent_parse_message(buf, n, &ev), EINVAL);

        /* Other subsystems, truncation, garbage. */
        n = kernel_msg(buf, "add", "/devices/pci0000:00/0000:00:01.0", "pci");
        ASSERT_ERROR(uevent_parse_message(buf, n, &ev), EINVAL);
        n = kernel_msg(buf, "add", "/devices/system/memory/memory32", "memory");
        /* Cut inside SUBSYSTEM's value: the unterminated last property is not trusted. */
        ASSERT_ERROR(uevent_parse_message(buf, n - 12, &ev), EINVAL);
        ASSERT_ERROR(uevent_parse_message("add", 3, &ev), EINVAL);
        ASSERT_ERROR(uevent_parse_message("", 0, &ev), EINVAL);
        ASSERT_ERROR(uevent_parse_message(NULL, 10, &ev), EINVAL);
        memset(buf, 0xff, sizeof(buf));
        ASSERT_ERROR(uevent_parse_message(buf, sizeof(buf), &ev), EINVAL);
        /* A header without '@' is not the kernel's. */
        n = kernel_msg(buf, "add", "/devices/system/memory/memory32", "memory");
        buf[3] = '#';
        ASSERT_ERROR(uevent_parse_message(buf, n, &ev), EINVAL);
}
