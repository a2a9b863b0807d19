/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhpd.conf: INI (inih) with drop-ins "<path>.d/NAME.conf" read in name order, later wins.
 * Parsing produces a new MemhpConfig or an error text naming file:line; a running daemon
 * swaps configs only after a complete, valid parse.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memsource.h"
#include "nodemask.h"
#include "platform.h"
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
        bool default_auto;      /* Default=auto, the default: the table of autopolicy.h */
        Policy default_policy;  /* Default= when not auto (then always online_movable) */
        unsigned movable_ratio; /* MovableRatio=, percent, default 301 */
        bool kernel_online;     /* KernelOnline=, default yes: hand off to auto_online_blocks */

        /* [Offline] */
        uint64_t offline_timeout_usec; /* TimeoutSec=, default 30 */
        unsigned offline_retries;      /* Retries=, default 3 */

        /* Policy= of [Node N], [Source S] and [Node N Source S]; _POLICY_INVALID where unset */
        int8_t node_policy[MEMHP_MAX_NODES];
        int8_t source_policy[_MEM_SOURCE_MAX];
        int8_t node_source_policy[MEMHP_MAX_NODES][_MEM_SOURCE_MAX];
} MemhpConfig;

void conf_init_defaults(MemhpConfig *c);

/* Which rule decided a policy, most specific first (memhpd.conf(5), PRECEDENCE). */
typedef enum PolicyRule {
        POLICY_RULE_NODE_SOURCE, /* [Node N Source S] Policy= */
        POLICY_RULE_NODE,        /* [Node N] Policy= */
        POLICY_RULE_SOURCE,      /* [Source S] Policy= */
        POLICY_RULE_DEFAULT,     /* [Policy] Default=POLICY */
        POLICY_RULE_AUTO,        /* [Policy] Default=auto: autopolicy_lookup() */
        _POLICY_RULE_MAX,
        _POLICY_RULE_INVALID = -EINVAL,
} PolicyRule;

typedef struct PolicyChoice {
        Policy policy;
        PolicyRule rule;
        const char *reason; /* POLICY_RULE_AUTO: the table's reason (static); else NULL */
} PolicyChoice;

/**
 * conf_policy_for() - the policy for a block of @source on @node, and the rule that set it.
 * @node: the block's node; negative when it is not known, which counts as node 0 (as before
 *        sources existed: a system without NUMA has node 0 only)
 * @source: MEM_SOURCE_UNKNOWN while (or when) the source is not known
 *
 * Return: always a valid policy; invalid @platform or @source count as generic and unknown.
 */
PolicyChoice conf_policy_for(const MemhpConfig *c, Platform platform, int node, MemSource source);

#define POLICY_RULE_TEXT_MAX 320

/**
 * policy_choice_format() - the rule of @ch as memhpd.conf(5) spells it, for logs and the bus:
 * "[Node 1 Source dimm]", "[Node 1]", "[Source dimm]", "Default=online_movable" or
 * "Default=auto: <reason>". @node and @source are the ones passed to conf_policy_for().
 *
 * Return: @buf (truncated to @size - 1 characters).
 */
const char *policy_choice_format(PolicyChoice ch, int node, MemSource source, char *buf,
                                 size_t size);

/* "node-source", "node", "source", "default", "auto". */
const char *policy_rule_to_string(PolicyRule r);
PolicyRule policy_rule_from_string(const char *s);

/**
 * conf_format_policies() - the effective policy of every source on every node of @nodes, with
 * the rule that decides it, for --check-config: a "# Platform: P" line, then one comment line
 * per node and source ("# NODE SOURCE POLICY RULE" columns), so that no line of it reads as a
 * key of the dump before it.
 *
 * Return: the text (free()), NULL on ENOMEM.
 */
char *conf_format_policies(const MemhpConfig *c, Platform platform, const NodeMask *nodes);

/* What [Node N] Policy= says, else Default=: a policy name, or "auto" (for whole-node views). */
const char *conf_node_policy_to_string(const MemhpConfig *c, unsigned node);

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
