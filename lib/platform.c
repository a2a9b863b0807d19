/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "macro.h"
#include "platform.h"
#include "strutil.h"
#include "sysfs.h"

static const char *const platform_names[_PLATFORM_MAX] = {
        [PLATFORM_GENERIC] = "generic",
        [PLATFORM_HYPERV] = "hyperv",
        [PLATFORM_XEN] = "xen",
        [PLATFORM_S390] = "s390",
};

const char *platform_to_string(Platform p)
{
        return p >= 0 && p < _PLATFORM_MAX ? platform_names[p] : NULL;
}

Platform platform_from_string(const char *s)
{
        int r;

        if (!s)
                return _PLATFORM_INVALID;
        r = string_table_lookup(platform_names, ELEMENTSOF(platform_names), s);
        return r < 0 ? _PLATFORM_INVALID : (Platform)r;
}

/* 1 if @path exists under @root_fd, 0 if not, -errno if that cannot be told. */
static int exists_at(int root_fd, const char *path)
{
        if (faccessat(root_fd, path, F_OK, 0) == 0)
                return 1;
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

int platform_detect(int root_fd, Platform *ret)
{
        char type[16];
        int r;

        *ret = PLATFORM_GENERIC;

        r = exists_at(root_fd, "sys/bus/ccw");
        if (r != 0) {
                if (r > 0)
                        *ret = PLATFORM_S390;
                return MIN(r, 0);
        }

        /* Only the Xen driver creates sys/hypervisor/type's content "xen"; other hypervisors
         * leave the directory empty or absent. */
        r = sysfs_read_at(root_fd, "sys/hypervisor/type", type, sizeof(type));
        if (r >= 0 && streq(type, "xen")) {
                *ret = PLATFORM_XEN;
                return 0;
        }
        if (r < 0 && r != -ENOENT && r != -ENOTDIR)
                return r;

        r = exists_at(root_fd, "sys/bus/vmbus");
        if (r > 0)
                *ret = PLATFORM_HYPERV;
        return MIN(r, 0);
}
