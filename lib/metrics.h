/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpd's counters for fleet monitoring: what the daemon keeps, what org.memhpd1.Metrics
 * exposes, and their Prometheus text exposition (for node_exporter's textfile collector).
 * Counters start at zero when memhpd starts; Prometheus' rate() handles the reset.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct MemhpMetrics {
        uint64_t blocks_onlined;  /* successful online writes: policy and operations */
        uint64_t blocks_offlined; /* successful offline writes: operations and rollbacks */
        uint64_t failed_writes;   /* state writes the kernel refused or that timed out */
        uint64_t retries;         /* writes tried again after a failure */
        uint64_t overflows;       /* uevent receive queue overflows */
        uint64_t rescans;         /* full rescans (overflows, reloads, requests, timer) */
        uint64_t ops_succeeded;
        uint64_t ops_rolled_back;
        uint64_t ops_incomplete; /* rollback incomplete: blocks left changed */
        uint64_t held_blocks;    /* offline on purpose, kept so across restarts (a gauge) */
        /* The last failed write; last_failure_usec == 0 when there was none. */
        uint64_t last_failure_usec; /* CLOCK_REALTIME */
        uint32_t last_failure_block;
        int32_t last_failure_errno;   /* positive */
        char last_failure_action[16]; /* "online_movable", "offline", ... */
} MemhpMetrics;

/* Records a failed write (@error negative or positive) at @realtime_usec. */
void metrics_record_failure(MemhpMetrics *m, uint32_t block, int error, const char *action,
                            uint64_t realtime_usec);

/*
 * Writes the text exposition format (version 0.0.4): HELP and TYPE once per family, names
 * "memhpd_*", counters ending in "_total". @up false writes only memhpd_up 0 (memhpd did not
 * answer), so a stale file is never mistaken for a healthy daemon. Returns 0 or -errno.
 */
int metrics_write_prometheus(const MemhpMetrics *m, bool up, FILE *f);
