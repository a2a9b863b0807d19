/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counters and their Prometheus text exposition. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "metrics.h"

void metrics_record_failure(MemhpMetrics *m, uint32_t block, int error, const char *action,
                            uint64_t realtime_usec)
{
        m->failed_writes++;
        m->last_failure_usec = realtime_usec ? realtime_usec : 1;
        m->last_failure_block = block;
        m->last_failure_errno = error < 0 ? -error : error;
        snprintf(m->last_failure_action, sizeof(m->last_failure_action), "%s",
                 action ? action : "");
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
        family(f, name, "counter", help);
        fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* Label values are our own names and numbers, but escape as the format demands anyway. */
static void label_value(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

int metrics_write_prometheus(const MemhpMetrics *m, bool up, FILE *f)
{
        const char *en;

        family(f, "memhpd_up", "gauge", "1 if memhpd answered on the system bus, else 0.");
        fprintf(f, "memhpd_up %d\n", up ? 1 : 0);
        if (!up)
                goto out;

        counter(f, "memhpd_blocks_onlined_total",
                "Memory blocks memhpd onlined (policy and operations).", m->blocks_onlined);
        counter(f, "memhpd_blocks_offlined_total",
                "Memory blocks memhpd offlined (operations and their rollbacks).",
                m->blocks_offlined);
        counter(f, "memhpd_write_failures_total",
                "Memory block state writes that failed or timed out.", m->failed_writes);
        counter(f, "memhpd_write_retries_total", "Memory block state writes tried again.",
                m->retries);
        counter(f, "memhpd_uevent_overflows_total",
                "Times the uevent receive queue overflowed and events were lost.", m->overflows);
        counter(f, "memhpd_rescans_total", "Full rescans of all memory blocks.", m->rescans);
        family(f, "memhpd_operations_total", "counter",
               "Finished online/offline operations by outcome.");
        fprintf(f, "memhpd_operations_total{outcome=\"succeeded\"} %" PRIu64 "\n",
                m->ops_succeeded);
        fprintf(f, "memhpd_operations_total{outcome=\"rolled_back\"} %" PRIu64 "\n",
                m->ops_rolled_back);
        fprintf(f, "memhpd_operations_total{outcome=\"incomplete\"} %" PRIu64 "\n",
                m->ops_incomplete);
        family(f, "memhpd_held_blocks", "gauge",
               "Memory blocks offlined on purpose, kept offline across restarts of memhpd.");
        fprintf(f, "memhpd_held_blocks %" PRIu64 "\n", m->held_blocks);
        family(f, "memhpd_last_failure_timestamp_seconds", "gauge",
               "When the last state write failed (Unix time), 0 if none has.");
        fprintf(f, "memhpd_last_failure_timestamp_seconds %" PRIu64 ".%03" PRIu64 "\n",
                m->last_failure_usec / 1000000, m->last_failure_usec % 1000000 / 1000);
        if (m->last_failure_usec > 0) {
                family(f, "memhpd_last_failure_info", "gauge",
                       "The block, action and errno of the last failed state write.");
                en = strerrorname_np(m->last_failure_errno);
                fprintf(f, "memhpd_last_failure_info{block=\"%" PRIu32 "\",action=\"",
                        m->last_failure_block);
                label_value(f, m->last_failure_action);
                fprintf(f, "\",errno=\"");
                if (en)
                        label_value(f, en);
                else
                        fprintf(f, "%" PRId32, m->last_failure_errno);
                fprintf(f, "\"} 1\n");
        }
out:
        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}
