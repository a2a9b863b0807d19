/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpd.conf: INI (inih) with drop-ins "<path>.d/NAME.conf" read in name order, later wins.
 * Parsing produces a new MemhpConfig or an error text naming file:line; a running daemon
 * swaps configs only after a complete, valid parse.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nodemask.h"
#include "policy.h"

#define MEMHP_DEFAULT_MOVABLE_RATIO 301U
#define MEMHP_DEFAULT_RCVBUF (128U * 1024 * 1024)
#define MEMHP_DEFAULT_OFFLINE_TIMEOUT_USEC (30ULL * 1000000)
#define MEMHP_DEFAULT_OFFLINE_RETRIES 3U

typedef enum EventSource {
        EVENT_SOURCE_AUTO,
        EVENT_SOURCE_UDEV,
        EVENT_SOURCE_KERNEL,
        _EVENT_SOURCE_MAX,
        _EVENT_SOURCE_INVALID = -22,
} EventSource;

typedef struct MemhpConfig {
        /* [Daemon] */
        EventSource event_source;      /* EventSource=, default auto */
        bool coldplug;                 /* Coldplug=, default yes */
        int log_level;                 /* LogLevel=, syslog level, default LOG_INFO */
        uint64_t rescan_interval_usec; /* RescanIntervalSec=, 0 = off (default) */
        uint64_t receive_buffer_bytes; /* ReceiveBufferSize=, default 128M */

        /* [Policy] */
        Policy default_policy;  /* Default=, default online_movable */
        unsigned movable_ratio; /* MovableRatio=, percent, default 301 */

        /* [Offline] */
        uint64_t offline_timeout_usec; /* TimeoutSec=, default 30 */
        unsigned offline_retries;      /* Retries=, default 3 */

        /* [Node N] Policy=; _POLICY_INVALID where the node has none of its own */
        int8_t node_policy[MEMHP_MAX_NODES];
} MemhpConfig;

void conf_init_defaults(MemhpConfig *c);

/* The policy that applies to @node: its own, else the default. */
Policy conf_node_policy(const MemhpConfig *c, unsigned node);

/**
 * conf_load() - parse @path, then "@path.d/NAME.conf" in name order.
 * @path: main file; when @missing_ok, a missing main file means "defaults"
 * @ret: the new config, owned by the caller (free())
 * @ret_error: on failure, every problem found, one "file:line: what" per line (free())
 *
 * Return: 0, or -EINVAL (bad content), -ENOENT (missing, !@missing_ok), other -errno.
 */
int conf_load(const char *path, bool missing_ok, MemhpConfig **ret, char **ret_error);

/* Parses one INI text as if it were file @name (for tests and fuzzing). Same contract. */
int conf_load_string(const char *text, const char *name, MemhpConfig **ret, char **ret_error);

/* Human-readable dump in INI form, every effective key (for --check-config). */
char *conf_format(const MemhpConfig *c);

const char *event_source_to_string(EventSource s);
EventSource event_source_from_string(const char *s);
