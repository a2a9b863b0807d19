/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NUMA node lists as the kernel prints them ("0-2,4"), e.g. sys/devices/system/node/possible. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sysfs.h"

/* CONFIG_NODES_SHIFT=10 on Debian and most distributions: node numbers are below 1024. */
#define MEMHP_MAX_NODES 1024U

typedef struct NodeMask {
        uint64_t bits[MEMHP_MAX_NODES / 64];
} NodeMask;

/* Parses a kernel node list; nodes at or above MEMHP_MAX_NODES are -ERANGE. */
int nodemask_parse(const char *s, NodeMask *ret);
bool nodemask_test(const NodeMask *m, unsigned node);

/* Reads sys/devices/system/node/<name> ("possible", "online", "has_memory", ...). */
int nodemask_read(const Sysfs *s, const char *name, NodeMask *ret);
