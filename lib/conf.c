/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpd.conf parser: inih driven by a line reader that knows file:line, plus drop-ins. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "macro.h"

static const char *const event_source_table[_EVENT_SOURCE_MAX] = {
        [EVENT_SOURCE_AUTO] = "auto",
        [EVENT_SOURCE_UDEV] = "udev",
        [EVENT_SOURCE_KERNEL] = "kernel",
};

const char *event_source_to_string(EventSource s)
{
        if (s < 0 || s >= _EVENT_SOURCE_MAX)
                return NULL;
        return event_source_table[s];
}

EventSource event_source_from_string(const char *s)
{
        if (!s)
                return _EVENT_SOURCE_INVALID;
        for (int i = 0; i < _EVENT_SOURCE_MAX; i++)
                if (strcmp(s, event_source_table[i]) == 0)
                        return (EventSource)i;
        return _EVENT_SOURCE_INVALID;
}

void conf_init_defaults(MemhpConfig *c)
{
        *c = (MemhpConfig){
                .event_source = EVENT_SOURCE_AUTO,
                .coldplug = true,
                .log_level = LOG_INFO,
                .rescan_interval_usec = 0,
                .receive_buffer_bytes = MEMHP_DEFAULT_RCVBUF,
                .default_policy = POLICY_ONLINE_MOVABLE,
                .movable_ratio = MEMHP_DEFAULT_MOVABLE_RATIO,
                .offline_timeout_usec = MEMHP_DEFAULT_OFFLINE_TIMEOUT_USEC,
                .offline_retries = MEMHP_DEFAULT_OFFLINE_RETRIES,
        };
        memset(c->node_policy, _POLICY_INVALID, sizeof(c->node_policy));
}

Policy conf_node_policy(const MemhpConfig *c, unsigned node)
{
        if (node < MEMHP_MAX_NODES && c->node_policy[node] >= 0)
                return (Policy)c->node_policy[node];
        return c->default_policy;
}

/* Placeholder until the parser lands: keeps everyone's build linking. */
int conf_load(const char *path, bool missing_ok, MemhpConfig **ret, char **ret_error)
{
        (void)path;
        (void)missing_ok;
        (void)ret;
        if (ret_error)
                *ret_error = NULL;
        return -EOPNOTSUPP;
}

int conf_load_string(const char *text, const char *name, MemhpConfig **ret, char **ret_error)
{
        (void)text;
        (void)name;
        (void)ret;
        if (ret_error)
                *ret_error = NULL;
        return -EOPNOTSUPP;
}

char *conf_format(const MemhpConfig *c)
{
        (void)c;
        return NULL;
}
