/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table behind Default=auto (memhpd.conf(5) has it with the same reasons). Sources come
 * first: what the memory is decides whether it may be unplugged again and how fast it must be
 * onlined. The platform only matters where it changes that: s390 standby memory and the balloon
 * a Hyper-V or Xen guest could not identify.
 */
#include "autopolicy.h"
#include "macro.h"

#define AM POLICY_AUTO_MOVABLE
#define OM POLICY_ONLINE_MOVABLE
#define ON POLICY_ONLINE
#define IG POLICY_IGNORE

#define R_DIMM                                                                     \
        "a DIMM may be unplugged again, so Movable, but only up to MovableRatio: " \
        "all-Movable growth starves the kernel of memory for memmap and page tables"
#define R_VIRTIO_MEM                                                                     \
        "the kernel's documentation recommends auto-movable for virtio-mem "             \
        "(memory_hotplug.online_policy): it grows by many blocks, and Movable ones can " \
        "be unplugged again"
#define R_DAX                                                                                 \
        "a dax tier node usually has no CPUs and no kernel memory, where auto-movable would " \
        "pick the kernel zone; Movable keeps demotion and promotion working, as daxctl does " \
        "by default"
#define R_HYPERV_BALLOON                                                                        \
        "balloon memory is never unplugged, and Hyper-V gives up on memory not onlined within " \
        "5 s: online now, the kernel picks the zone"
#define R_XEN_BALLOON "balloon memory is never unplugged: online now, the kernel picks the zone"
#define R_BOOT "boot memory found offline was offlined by someone on purpose: leave it"
#define R_UNKNOWN                                                                             \
        "nothing tells where the block came from: the ratio guard is safe whether or not it " \
        "will be unplugged"
#define R_UNKNOWN_HYPERV                                                                         \
        "on Hyper-V an unidentified block is the balloon's, whose driver memhpd could not see: " \
        "online now"
#define R_UNKNOWN_XEN                                                                        \
        "on Xen an unidentified block is the balloon's, whose driver memhpd could not see: " \
        "online now"
#define R_S390                                                                                \
        "s390 standby memory stays offline unless an administrator asks for it (RHEL's udev " \
        "rules skip s390x, the systemd memhpd prototype leaves it offline)"

typedef struct AutoRow {
        Policy policy[_PLATFORM_MAX]; /* generic, hyperv, xen, s390 */
        const char *reason;
        const char *reason_for[_PLATFORM_MAX]; /* cells that differ for a reason of their own */
} AutoRow;

static const AutoRow auto_table[_MEM_SOURCE_MAX] = {
        [MEM_SOURCE_DIMM] = {{AM, AM, AM, IG}, R_DIMM, {[PLATFORM_S390] = R_S390}},
        [MEM_SOURCE_VIRTIO_MEM] = {{AM, AM, AM, AM}, R_VIRTIO_MEM, {}},
        [MEM_SOURCE_DAX] = {{OM, OM, OM, IG}, R_DAX, {[PLATFORM_S390] = R_S390}},
        [MEM_SOURCE_HYPERV_BALLOON] = {{ON, ON, ON, ON}, R_HYPERV_BALLOON, {}},
        [MEM_SOURCE_XEN_BALLOON] = {{ON, ON, ON, ON}, R_XEN_BALLOON, {}},
        [MEM_SOURCE_BOOT] = {{IG, IG, IG, IG}, R_BOOT, {}},
        [MEM_SOURCE_UNKNOWN] = {{AM, ON, ON, IG},
                                R_UNKNOWN,
                                {[PLATFORM_HYPERV] = R_UNKNOWN_HYPERV,
                                 [PLATFORM_XEN] = R_UNKNOWN_XEN,
                                 [PLATFORM_S390] = R_S390}},
};

AutoChoice autopolicy_lookup(Platform platform, MemSource source)
{
        const AutoRow *row;

        if (platform < 0 || platform >= _PLATFORM_MAX)
                platform = PLATFORM_GENERIC;
        if (source < 0 || source >= _MEM_SOURCE_MAX)
                source = MEM_SOURCE_UNKNOWN;
        row = &auto_table[source];
        return (AutoChoice){
                .policy = row->policy[platform],
                .reason = row->reason_for[platform] ?: row->reason,
        };
}
