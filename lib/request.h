/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation of what callers ask for over D-Bus, before anything is written: pure, so it can be
 * fuzzed. Messages name the bad value.
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "memhp-api.h"

typedef enum RequestZone {
        REQUEST_ZONE_MOVABLE,
        REQUEST_ZONE_KERNEL,
        REQUEST_ZONE_AUTO, /* the node's policy decides */
        _REQUEST_ZONE_MAX,
        _REQUEST_ZONE_INVALID = -EINVAL,
} RequestZone;

RequestZone request_zone_from_string(const char *s);

/**
 * request_check_blocks() - a block list must be non-empty, at most MEMHP_MAX_BLOCKS_PER_CALL long
 * and free of duplicates.
 * @err: receives a message naming the problem (may be NULL)
 *
 * Return: 0, -EINVAL (bad list), -ENOMEM.
 */
int request_check_blocks(const uint32_t *ids, size_t n, char *err, size_t err_size);
