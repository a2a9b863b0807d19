/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The platform memhpd runs on, as far as it changes what hot-added memory should become: bare
 * metal and most VMs (generic), Hyper-V and Xen guests (balloons that hot-add), and s390 (standby
 * memory that must stay offline unless asked). Detected from sysfs under the sysroot only.
 */
#pragma once

#include <errno.h>

typedef enum Platform {
        PLATFORM_GENERIC, /* bare metal, KVM and any other VM */
        PLATFORM_HYPERV,  /* sys/bus/vmbus exists */
        PLATFORM_XEN,     /* sys/hypervisor/type says "xen" */
        PLATFORM_S390,    /* sys/bus/ccw exists */
        _PLATFORM_MAX,
        _PLATFORM_INVALID = -EINVAL,
} Platform;

/* "generic", "hyperv", "xen", "s390". */
const char *platform_to_string(Platform p);
Platform platform_from_string(const char *s);

/**
 * platform_detect() - the platform of the system whose root is @root_fd.
 * @root_fd: the sysroot ("/" in production), as Sysfs.root_fd
 *
 * s390 is checked first (its channel subsystem is the machine itself), then Xen (its type file
 * is explicit, and a Xen guest may also offer Hyper-V enlightenments), then Hyper-V.
 *
 * Return: 0 with @ret set (PLATFORM_GENERIC when no evidence names another), or -errno when a
 * file could not be checked for another reason than its absence; @ret is then GENERIC too.
 */
int platform_detect(int root_fd, Platform *ret);
