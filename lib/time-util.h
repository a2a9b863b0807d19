/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CLOCK_MONOTONIC in microseconds, the clock of every deadline and backoff in memhpd. */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

static inline uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}
