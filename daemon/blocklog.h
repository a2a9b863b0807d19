/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-block log messages with journal fields (MEMHP_BLOCK=, MEMHP_NODE=, MEMHP_ZONE=,
 * MEMHP_ACTION=, ERRNO=) and one MESSAGE_ID per kind of event, so that
 * "journalctl MESSAGE_ID=... MEMHP_NODE=1" finds every failed online on node 1.
 */
#pragma once

#include <stdint.h>

#include "log.h"

#define MEMHP_MESSAGE_BLOCK_ONLINED "5d3f8a1c9b2e4f60a7d1c3e5b9f20a41"
#define MEMHP_MESSAGE_BLOCK_OFFLINED "8e2b7c4d1a9f4e3b8c6d2a7f5e1b9c02"
#define MEMHP_MESSAGE_BLOCK_ALREADY "2c9e4a7f3b1d4c8e9a5f6b2d7c3e1a93"
#define MEMHP_MESSAGE_BLOCK_FAILED "b7a1e9c3d5f24b6a8e0c2d4f6a8b1c04"
#define MEMHP_MESSAGE_BLOCK_ROLLBACK "f1d3b5a7c9e24d6f8a0b2c4e6d8f1a05"

/**
 * log_block() - log one block action.
 * @node: -1 when unknown
 * @zone: NULL or "" when not known
 * @action: what was attempted ("online_movable", "offline", "already-online", "rollback", ...)
 *
 * Returns -|error| like log_*_errno().
 */
int log_block(int level, int error, uint32_t block, int node, const char *zone, const char *action,
              const char *format, ...) _printf_(7, 8);
