/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When the policy tries a block again, and after how long. Two waits: for the kernel to create
 * the memoryN/nodeX link (it does so after the add uevents of the whole DIMM, so a missing link
 * is "not yet", not an error), and after a failed state write that may succeed later (EBUSY,
 * ENOMEM, a timeout) as opposed to one the kernel will refuse again (EINVAL, EPERM, poison).
 * Operations (txn.h) have their own retry rule: EBUSY on offline, Retries= times.
 */
#pragma once

#include <stdint.h>

/* Node-link lookups before the block is given up: 1, 2, 4, 8 ms, then every 10 ms, ~1 s. */
#define RETRY_NODE_LINK_TRIES 104U
/* Retries of a failed policy write: after 1, 2 and 4 s. */
#define RETRY_WRITE_MAX 3U

typedef enum WriteFailure {
        WRITE_FAILURE_GONE,      /* the block was removed: nothing to retry, nothing failed */
        WRITE_FAILURE_PERMANENT, /* the kernel refuses this write and would again */
        WRITE_FAILURE_TRANSIENT, /* another try may succeed */
} WriteFailure;

/* What a state write's -errno @error says about trying again. */
WriteFailure retry_classify_write(int error);

/**
 * retry_write_delay_usec() - the wait before trying a failed policy write again.
 * @retries: retries of this block's write so far
 *
 * Return: microseconds, or 0 when it is not to be retried (permanent, gone, or enough tries).
 */
uint64_t retry_write_delay_usec(int error, unsigned retries);

/**
 * retry_node_link_delay_usec() - the wait before looking for a block's node link again.
 * @lookups: lookups that found no link so far (1 after the first)
 *
 * Return: microseconds, or 0 after RETRY_NODE_LINK_TRIES lookups: give the block up.
 */
uint64_t retry_node_link_delay_usec(unsigned lookups);
