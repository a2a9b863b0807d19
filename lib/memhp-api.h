/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The contract between memhpd and its clients, written once: the names, errors, limits and
 * special values of org.memhpd1, and the policy and zone names that both the API and
 * memhpd.conf take. memhpd, memhpctl and the C tests include it; the docs checker and the Python
 * tests read it (tests/memhp_api.py), so keep it to plain "#define NAME value" lines whose values
 * are string literals (or names defined above them, to be concatenated) and integer literals.
 *
 * Everything here is API that scripts depend on: change it only together with
 * conf/org.memhpd1.xml and man/org.memhpd1.5.scd. No D-Bus types here: lib/ does not link sd-bus.
 */
#pragma once

#include <stdint.h>

#define MEMHP_BUS_NAME "org.memhpd1"
#define MEMHP_BUS_PATH "/org/memhpd1"
#define MEMHP_BUS_INTERFACE "org.memhpd1.Manager"
/* Counters for monitoring, on the same object; readable by anyone, no change signals. */
#define MEMHP_METRICS_INTERFACE "org.memhpd1.Metrics"

/*
 * Besides root, members of this group may call the methods that change memory or the daemon.
 * conf/org.memhpd1.conf (the bus policy) and conf/memhpd.sysusers (which creates it) name it too.
 */
#define MEMHP_BUS_GROUP "memhp"

/*
 * Errors of our own. Bad input fails with org.freedesktop.DBus.Error.InvalidArgs, a refused
 * caller with AccessDenied, an unreadable block with IOError.
 */
/* An operation failed and every block it had changed is back in its prior state. */
#define MEMHP_ERROR_OPERATION_FAILED "org.memhpd1.Error.OperationFailed"
/* An operation failed and some blocks could not be restored: the message names them. */
#define MEMHP_ERROR_ROLLBACK_INCOMPLETE "org.memhpd1.Error.RollbackIncomplete"
/* Reload() found the configuration invalid and kept the running one. */
#define MEMHP_ERROR_INVALID_CONFIG "org.memhpd1.Error.InvalidConfig"

/* The most blocks one OnlineBlocks()/OfflineBlocks() call may name. */
#define MEMHP_MAX_BLOCKS_PER_CALL 65536U

/* The highest block id: memhpd reserves UINT32_MAX so that "id + 1" cannot wrap. */
#define MEMHP_BLOCK_ID_MAX 4294967294U

/* ListBlocks() reports this node (UINT32_MAX) for a block whose node link is missing. */
#define MEMHP_NODE_UNKNOWN 4294967295U

_Static_assert(MEMHP_BLOCK_ID_MAX == UINT32_MAX - 1 && MEMHP_NODE_UNKNOWN == UINT32_MAX,
               "the values the API documents");

/* Policies: [Policy] Default=, [Node N] Policy= and SetNodePolicy(). */
#define MEMHP_POLICY_ONLINE_MOVABLE "online_movable"
#define MEMHP_POLICY_ONLINE_KERNEL "online_kernel"
#define MEMHP_POLICY_ONLINE "online"
#define MEMHP_POLICY_AUTO_MOVABLE "auto-movable"
#define MEMHP_POLICY_IGNORE "ignore"
/* Only [Policy] Default= takes it: the source- and platform-aware table (memhpd.conf(5)).
 * ListNodes() reports it for a node without a policy of its own. */
#define MEMHP_POLICY_AUTO "auto"
/* For messages that list the valid policies. */
#define MEMHP_POLICY_CHOICES                                                                 \
        MEMHP_POLICY_ONLINE_MOVABLE ", " MEMHP_POLICY_ONLINE_KERNEL ", " MEMHP_POLICY_ONLINE \
                                    ", " MEMHP_POLICY_AUTO_MOVABLE " or " MEMHP_POLICY_IGNORE

/* The zone argument of OnlineBlocks(); "auto" does what the node's policy would do. */
#define MEMHP_ZONE_MOVABLE "movable"
#define MEMHP_ZONE_KERNEL "kernel"
#define MEMHP_ZONE_AUTO "auto"
#define MEMHP_ZONE_CHOICES MEMHP_ZONE_MOVABLE ", " MEMHP_ZONE_KERNEL " or " MEMHP_ZONE_AUTO

/* The state BlockChanged() reports for a block that is gone (others are the kernel's own). */
#define MEMHP_STATE_REMOVED "removed"

/*
 * Sources of memory: ListDevices(), GetBlockSources(), DescribeNodes() and
 * GetEffectivePolicies() report them, memhpd.conf's [Source NAME] takes them. lib/memsource.c
 * spells them the same (the docs checker compares).
 */
#define MEMHP_SOURCE_UNKNOWN "unknown"
#define MEMHP_SOURCE_BOOT "boot"
#define MEMHP_SOURCE_DIMM "dimm"
#define MEMHP_SOURCE_VIRTIO_MEM "virtio-mem"
#define MEMHP_SOURCE_DAX "dax"
#define MEMHP_SOURCE_HYPERV_BALLOON "hyperv-balloon"
#define MEMHP_SOURCE_XEN_BALLOON "xen-balloon"

/* What backs a dax device: ListDevices()'s backing, "" for every other source. */
#define MEMHP_BACKING_NVDIMM "nvdimm"
#define MEMHP_BACKING_CXL "cxl"
#define MEMHP_BACKING_SOFT_RESERVED "soft-reserved"
#define MEMHP_BACKING_UNKNOWN "unknown"

/* The change DeviceChanged() reports: a device's first block appeared, its count of online
 * blocks changed, its last block is gone. */
#define MEMHP_DEVICE_ADDED "added"
#define MEMHP_DEVICE_CHANGED "changed"
#define MEMHP_DEVICE_REMOVED "removed"
