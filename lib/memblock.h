/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memory block model: ids, states and zones as the kernel exports them under
 * sys/devices/system/memory (Documentation/admin-guide/mm/memory-hotplug.rst), read and
 * written through a Sysfs root.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "sysfs.h"

typedef enum MemState {
        MEM_STATE_OFFLINE,
        MEM_STATE_ONLINE,
        MEM_STATE_GOING_OFFLINE,
        _MEM_STATE_MAX,
        _MEM_STATE_INVALID = -EINVAL,
} MemState;

typedef enum MemZone {
        MEM_ZONE_UNKNOWN, /* offline, or not read */
        MEM_ZONE_DMA,
        MEM_ZONE_DMA32,
        MEM_ZONE_NORMAL,
        MEM_ZONE_MOVABLE,
        MEM_ZONE_DEVICE,
        MEM_ZONE_NONE, /* "none": spans zones or nodes, cannot be offlined */
        _MEM_ZONE_MAX,
        _MEM_ZONE_INVALID = -EINVAL,
} MemZone;

#define MEMBLOCK_NODE_NONE (-1)

const char *mem_state_to_string(MemState s);
MemState mem_state_from_string(const char *s);
/* "" for MEM_ZONE_UNKNOWN, else the kernel's spelling ("Normal", "Movable", ...). */
const char *mem_zone_to_string(MemZone z);
MemZone mem_zone_from_string(const char *s);
/* True for the zones the ratio guard counts as kernel memory. */
static inline int mem_zone_is_kernel(MemZone z)
{
        return z == MEM_ZONE_DMA || z == MEM_ZONE_DMA32 || z == MEM_ZONE_NORMAL;
}

/* The state an action leads to: online for every online_* action. */
MemState mem_action_target_state(MemAction a);
/* Whether a block online in @zone is where @a puts blocks (plain online: anywhere). */
bool mem_action_zone_matches(MemAction a, MemZone zone);

/* "memory123" -> 123. Rejects "memory_tiers", signs, leading zeros and ids >= UINT32_MAX. */
int memblock_parse_name(const char *name, uint32_t *ret_id);
/* "/devices/system/memory/memory123" -> 123 (the DEVPATH of a memory uevent). */
int memblock_parse_devpath(const char *devpath, uint32_t *ret_id);

/* block_size_bytes, hex without 0x. */
int memblock_read_block_size(const Sysfs *s, uint64_t *ret);
int memblock_read_state(const Sysfs *s, uint32_t id, MemState *ret);
/* Online: the block's zone. Offline: the zone plain "online" would choose now. */
int memblock_read_zone(const Sysfs *s, uint32_t id, MemZone *ret);

/**
 * memblock_read_node() - the node from the memoryN/nodeX link.
 * @hint: node to try first (the last one seen), or MEMBLOCK_NODE_NONE
 *
 * Return: 0; -ENODATA while the kernel has not created the link yet (it does so after the add
 * uevent); -ENOENT when the block is gone.
 */
int memblock_read_node(const Sysfs *s, uint32_t id, int hint, int *ret_node);

/* Sorted ids of all memoryN directories. */
int memblock_enumerate(const Sysfs *s, uint32_t **ret_ids, size_t *ret_n);

/**
 * memblock_apply() - write an action to memoryN/state.
 *
 * The kernel answers EINVAL when the block already is in the requested state (for example when
 * the kernel or another tool onlined it first); that counts as done.
 *
 * Return: 0 when this write changed the state, 1 when the block already was in the target
 * state, else the kernel's -errno. @ret_zone (optional) is the zone read back afterwards.
 */
int memblock_apply(const Sysfs *s, uint32_t id, MemAction a, MemZone *ret_zone);
