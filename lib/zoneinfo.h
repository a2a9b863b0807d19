/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-node zone sizes from /proc/zoneinfo ("present" pages), for the auto-movable ratio guard. */
#pragma once

#include <stddef.h>

#include "policy.h"
#include "sysfs.h"

/**
 * zoneinfo_parse() - sum present pages per node into kernel (DMA, DMA32, Normal, HighMem) and
 * Movable.
 * @ret: array indexed by node id, *ret_n entries (nodes absent from the text are zero)
 *
 * Return: 0, -EINVAL on text that is not zoneinfo, -ENOMEM.
 */
int zoneinfo_parse(const char *text, NodeZones **ret, size_t *ret_n);

/* Reads proc/zoneinfo relative to the sysroot and parses it. */
int zoneinfo_read(const Sysfs *s, NodeZones **ret, size_t *ret_n);
