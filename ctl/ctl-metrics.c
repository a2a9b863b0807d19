/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `memhpctl metrics`: memhpd's counters in the Prometheus text format, for node_exporter's
 * textfile collector. memhpd opens no network listener; this reads org.memhpd1.Metrics over the
 * bus. --output FILE replaces FILE atomically, so the collector never reads half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic-file.h"
#include "ctl.h"
#include "log.h"
#include "memhp-api.h"
#include "metrics.h"
#include "strutil.h"

static int read_counter(sd_bus_message *reply, const char *name, MemhpMetrics *m)
{
        static const struct {
                const char *name;
                size_t offset;
        } counters[] = {
                {"BlocksOnlined", offsetof(MemhpMetrics, blocks_onlined)},
                {"BlocksOfflined", offsetof(MemhpMetrics, blocks_offlined)},
                {"FailedWrites", offsetof(MemhpMetrics, failed_writes)},
                {"WriteRetries", offsetof(MemhpMetrics, retries)},
                {"Overflows", offsetof(MemhpMetrics, overflows)},
                {"Rescans", offsetof(MemhpMetrics, rescans)},
                {"OperationsSucceeded", offsetof(MemhpMetrics, ops_succeeded)},
                {"OperationsRolledBack", offsetof(MemhpMetrics, ops_rolled_back)},
                {"OperationsIncomplete", offsetof(MemhpMetrics, ops_incomplete)},
                {"HeldBlockCount", offsetof(MemhpMetrics, held_blocks)},
        };
        const char *action;

        for (size_t i = 0; i < ELEMENTSOF(counters); i++)
                if (streq(name, counters[i].name))
                        return sd_bus_message_read(reply, "v", "t",
                                                   (uint64_t *)((char *)m + counters[i].offset));
        if (streq(name, "LastFailure")) {
                int r = sd_bus_message_read(reply, "v", "(tusi)", &m->last_failure_usec,
                                            &m->last_failure_block, &action,
                                            &m->last_failure_errno);
                if (r >= 0)
                        snprintf(m->last_failure_action, sizeof(m->last_failure_action), "%s",
                                 action);
                return r;
        }
        /* A newer memhpd's counter this memhpctl does not know. */
        return sd_bus_message_skip(reply, "v");
}

int ctl_get_metrics(sd_bus *bus, MemhpMetrics *ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        MemhpMetrics m = {};
        const char *name;
        int r;

        r = sd_bus_call_method(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                               "org.freedesktop.DBus.Properties", "GetAll", &error, &reply, "s",
                               MEMHP_METRICS_INTERFACE);
        if (r < 0) {
                (void)ctl_log_bus_error(&error, r, MEMHP_METRICS_INTERFACE);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = read_counter(reply, name, &m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return log_error_errno(r, "Unexpected reply to GetAll(%s): %m",
                                       MEMHP_METRICS_INTERFACE);
        *ret = m;
        return 0;
}

static int write_output(const char *path, const char *text)
{
        _cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path);
        _cleanup_close_ int dirfd = -EBADF;
        int r;

        if (!dir_copy || !base_copy)
                return log_oom();
        dirfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return log_error_errno(errno, "Cannot open the directory of '%s': %m", path);
        /* World-readable: node_exporter reads it as its own user. */
        r = write_file_atomic_at(dirfd, basename(base_copy), text, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s': %m", path);
        return 0;
}

int verb_metrics(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *text = NULL;
        MemhpMetrics m = {};
        size_t len = 0;
        FILE *f;
        bool up;
        int r;

        (void)args;
        (void)n_args;
        up = ctl_bus_open(&bus) >= 0 && ctl_get_metrics(bus, &m) >= 0;
        f = open_memstream(&text, &len);
        if (!f)
                return log_oom(), CTL_EXIT_FAILURE;
        r = metrics_write_prometheus(&m, up, f);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                return log_error_errno(r, "Failed to format the metrics: %m"), CTL_EXIT_FAILURE;
        /* Even when memhpd did not answer: "memhpd_up 0" is what the fleet needs to see. */
        if (arg->output)
                r = write_output(arg->output, text);
        else if (fputs(text, stdout) < 0 || fflush(stdout) != 0)
                r = log_error_errno(negative_errno(), "Failed to write the output: %m");
        return r < 0 || !up ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
}
