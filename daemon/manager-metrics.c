/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counters for fleet monitoring (lib/metrics.h) and the org.memhpd1.Metrics interface that
 * exposes them. Reading them is unprivileged and cheap; they emit no change signals (a storm
 * would turn into a signal storm): clients read them when they want them.
 */
#include <errno.h>
#include <inttypes.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "manager.h"
#include "memhp-api.h"
#include "metrics.h"

void manager_record_failure(Manager *m, uint32_t block, int error, const char *action)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        metrics_record_failure(&m->metrics, block, error, action,
                               (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void manager_metrics_snapshot(const Manager *m, MemhpMetrics *ret)
{
        *ret = m->metrics;
        /* Policy onlines, overflows and rescans have always been counted for the logs. */
        ret->blocks_onlined += m->n_onlined;
        ret->overflows = m->n_overflows;
        ret->rescans = m->n_rescans;
}

#define COUNTER_GETTER(fn, field)                                                                 \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property, \
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)                 \
        {                                                                                         \
                MemhpMetrics s;                                                                   \
                (void)bus, (void)path, (void)interface, (void)property, (void)error;              \
                manager_metrics_snapshot(userdata, &s);                                           \
                return sd_bus_message_append(reply, "t", s.field);                                \
        }

COUNTER_GETTER(get_onlined, blocks_onlined)
COUNTER_GETTER(get_offlined, blocks_offlined)
COUNTER_GETTER(get_failed, failed_writes)
COUNTER_GETTER(get_retries, retries)
COUNTER_GETTER(get_overflows, overflows)
COUNTER_GETTER(get_rescans, rescans)
COUNTER_GETTER(get_ops_succeeded, ops_succeeded)
COUNTER_GETTER(get_ops_rolled_back, ops_rolled_back)
COUNTER_GETTER(get_ops_incomplete, ops_incomplete)
COUNTER_GETTER(get_held, held_blocks)

static int get_last_failure(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error)
{
        const MemhpMetrics *s = &((Manager *)userdata)->metrics;

        (void)bus, (void)path, (void)interface, (void)property, (void)error;
        return sd_bus_message_append(reply, "(tusi)", s->last_failure_usec, s->last_failure_block,
                                     s->last_failure_action, s->last_failure_errno);
}

static const sd_bus_vtable metrics_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("BlocksOnlined", "t", get_onlined, 0, 0),
        SD_BUS_PROPERTY("BlocksOfflined", "t", get_offlined, 0, 0),
        SD_BUS_PROPERTY("FailedWrites", "t", get_failed, 0, 0),
        SD_BUS_PROPERTY("WriteRetries", "t", get_retries, 0, 0),
        SD_BUS_PROPERTY("Overflows", "t", get_overflows, 0, 0),
        SD_BUS_PROPERTY("Rescans", "t", get_rescans, 0, 0),
        SD_BUS_PROPERTY("OperationsSucceeded", "t", get_ops_succeeded, 0, 0),
        SD_BUS_PROPERTY("OperationsRolledBack", "t", get_ops_rolled_back, 0, 0),
        SD_BUS_PROPERTY("OperationsIncomplete", "t", get_ops_incomplete, 0, 0),
        SD_BUS_PROPERTY("HeldBlockCount", "t", get_held, 0, 0),
        SD_BUS_PROPERTY("LastFailure", "(tusi)", get_last_failure, 0, 0),
        SD_BUS_VTABLE_END,
};

int manager_metrics_bus_add(Manager *m, sd_bus *bus, const char *path)
{
        return sd_bus_add_object_vtable(bus, NULL, path, MEMHP_METRICS_INTERFACE, metrics_vtable,
                                        m);
}
