/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/platform.c: names, and detection from fixture trees shaped like each one. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "platform.h"
#include "test-util.h"

static Platform detect(Fixture *f)
{
        _cleanup_close_ int fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        Platform p = _PLATFORM_INVALID;

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(platform_detect(fd, &p));
        return p;
}

static Fixture *fixture(void)
{
        Fixture *f = NULL;

        ASSERT_OK(fixture_new(&f));
        return f;
}

TEST(strings)
{
        static const char *const names[] = {"generic", "hyperv", "xen", "s390"};

        ASSERT_EQ(ELEMENTSOF(names), _PLATFORM_MAX);
        for (int i = 0; i < _PLATFORM_MAX; i++) {
                ASSERT_STREQ(platform_to_string(i), names[i]);
                ASSERT_EQ(platform_from_string(names[i]), i);
        }
        ASSERT_TRUE(!platform_to_string(_PLATFORM_MAX));
        ASSERT_TRUE(!platform_to_string(_PLATFORM_INVALID));
        ASSERT_EQ(platform_from_string("Xen"), _PLATFORM_INVALID);
        ASSERT_EQ(platform_from_string(""), _PLATFORM_INVALID);
        ASSERT_EQ(platform_from_string(NULL), _PLATFORM_INVALID);
}

TEST(generic)
{
        Fixture *f = fixture();

        /* A bare fixture: no bus or hypervisor files at all. */
        ASSERT_EQ(detect(f), PLATFORM_GENERIC);
        /* KVM and others: an empty sys/hypervisor, other buses. */
        ASSERT_OK(fixture_mkdir(f, "sys/hypervisor"));
        ASSERT_OK(fixture_mkdir(f, "sys/bus/virtio/devices"));
        ASSERT_OK(fixture_mkdir(f, "sys/bus/acpi/devices"));
        ASSERT_EQ(detect(f), PLATFORM_GENERIC);
        /* Another hypervisor's name in the type file is not Xen. */
        ASSERT_OK(fixture_write(f, "sys/hypervisor/type", "kvm\n"));
        ASSERT_EQ(detect(f), PLATFORM_GENERIC);
        ASSERT_OK(fixture_write(f, "sys/hypervisor/type", "xenial\n"));
        ASSERT_EQ(detect(f), PLATFORM_GENERIC);
        fixture_free(f);
}

TEST(hyperv)
{
        Fixture *f = fixture();

        ASSERT_OK(fixture_mkdir(f, "sys/bus/vmbus/drivers"));
        ASSERT_EQ(detect(f), PLATFORM_HYPERV);
        fixture_free(f);
}

TEST(xen)
{
        Fixture *f = fixture();

        ASSERT_OK(fixture_mkdir(f, "sys/hypervisor"));
        ASSERT_OK(fixture_write(f, "sys/hypervisor/type", "xen\n"));
        ASSERT_EQ(detect(f), PLATFORM_XEN);
        /* Without the newline too; and a Xen guest with Hyper-V enlightenments is Xen. */
        ASSERT_OK(fixture_write(f, "sys/hypervisor/type", "xen"));
        ASSERT_OK(fixture_mkdir(f, "sys/bus/vmbus"));
        ASSERT_EQ(detect(f), PLATFORM_XEN);
        fixture_free(f);
}

TEST(s390)
{
        Fixture *f = fixture();

        ASSERT_OK(fixture_mkdir(f, "sys/bus/ccw/devices"));
        ASSERT_EQ(detect(f), PLATFORM_S390);
        /* s390 wins: the machine's own channel subsystem, whatever else is there. */
        ASSERT_OK(fixture_mkdir(f, "sys/hypervisor"));
        ASSERT_OK(fixture_write(f, "sys/hypervisor/type", "xen\n"));
        ASSERT_OK(fixture_mkdir(f, "sys/bus/vmbus"));
        ASSERT_EQ(detect(f), PLATFORM_S390);
        fixture_free(f);
}

TEST(unreadable)
{
        Fixture *f = fixture();
        _cleanup_close_ int fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        Platform p = _PLATFORM_INVALID;

        /* "sys/bus" a file: every path under it is ENOTDIR, which is absence, not an error. */
        ASSERT_OK(fixture_write(f, "sys/bus", ""));
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(platform_detect(fd, &p));
        ASSERT_EQ(p, PLATFORM_GENERIC);
        /* A type file that cannot be read (a directory) is an error, reported with generic. */
        ASSERT_OK(fixture_mkdir(f, "sys/hypervisor/type"));
        p = _PLATFORM_INVALID;
        ASSERT_ERROR(platform_detect(fd, &p), EISDIR);
        ASSERT_EQ(p, PLATFORM_GENERIC);
        fixture_free(f);
}
