/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dropping CAP_SYS_ADMIN once proc/iomem is open. The kernel decides whether /proc/iomem shows
 * real addresses by the credentials the file was opened with, so one open at start serves for
 * the daemon's lifetime and nothing afterwards needs the capability. No libcap: two system
 * calls and a prctl.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

static bool has(const struct __user_cap_data_struct d[2], unsigned cap, bool effective)
{
        uint32_t bit = 1U << (cap % 32);

        return (effective ? d[cap / 32].effective : d[cap / 32].permitted) & bit;
}

int caps_drop(unsigned cap, CapsDropped *ret)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {};
        CapsDropped out = {};
        uint32_t bit = 1U << (cap % 32);

        if (cap >= 64)
                return -EINVAL;
        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        /* The bounding set needs CAP_SETPCAP to shrink: a service bounded to the few it uses
         * lacks it, and with NoNewPrivileges= no exec could regain what is out of the
         * permitted set anyway. */
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) {
                if (has(d, CAP_SETPCAP, true) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
                        out.bounding = true;
                else
                        out.bounding_kept = true;
        }
        if (has(d, cap, false) || has(d, cap, true) || (d[cap / 32].inheritable & bit)) {
                d[cap / 32].effective &= ~bit;
                d[cap / 32].permitted &= ~bit;
                d[cap / 32].inheritable &= ~bit;
                if (syscall(SYS_capset, &h, d) < 0)
                        return -errno;
                out.permitted = true;
        }
        /* What the kernel now says, not what was asked. */
        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        if (has(d, cap, false) || has(d, cap, true))
                return -EPERM;
        out.no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
        *ret = out;
        return 0;
}
