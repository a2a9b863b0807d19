/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture of the memblock tests (memblock-test.h). */
#include <stdio.h>

#include "memblock-test.h"
#include "test-util.h"

Fixture *fixture;
Sysfs *sysfs;

void setup(void)
{
        ASSERT_OK(fixture_new(&fixture));
        ASSERT_OK(sysfs_open(fixture->root, &sysfs));
}

void teardown(void)
{
        sysfs = sysfs_free(sysfs);
        fixture_free(fixture);
        fixture = NULL;
}

void write_attr(uint32_t id, const char *attr, const char *value)
{
        char rel[128];

        snprintf(rel, sizeof(rel), "sys/devices/system/memory/memory%u/%s", id, attr);
        ASSERT_OK(fixture_write(fixture, rel, value));
}
