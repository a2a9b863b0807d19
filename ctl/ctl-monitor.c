/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor: one timestamped line per BlockChanged and DeviceChanged signal, until Ctrl-C. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"

/* "2026-11-25 13:54:42.123": local time, to the millisecond, sortable. */
static void print_line(const char *fmt, ...) _printf_(1, 2);
static void print_line(const char *fmt, ...)
{
        struct timespec ts;
        struct tm tm;
        char when[32] = "";
        va_list ap;

        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s.%03ld ", when, ts.tv_nsec / 1000000);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        /* Lines go out as they happen, also into a pipe or a file. */
        fflush(stdout);
}

static int on_block_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *state, *zone;
        uint32_t block;

        (void)userdata;
        (void)error;
        if (sd_bus_message_read(m, "uss", &block, &state, &zone) < 0) {
                log_warning("Ignoring a malformed BlockChanged signal.");
                return 0;
        }
        if (*zone)
                print_line("memory%" PRIu32 ": %s (%s)", block, state, zone);
        else
                print_line("memory%" PRIu32 ": %s", block, state);
        return 0;
}

/* "device dax0.0 (dax): added", "changed" (its count of online blocks did) or "removed". */
static int on_device_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *device, *source, *change;

        (void)userdata;
        (void)error;
        if (sd_bus_message_read(m, "sss", &device, &source, &change) < 0) {
                log_warning("Ignoring a malformed DeviceChanged signal.");
                return 0;
        }
        print_line("device %s (%s): %s", device, source, change);
        return 0;
}

/* Says when memhpd comes and goes: a silent monitor should mean "nothing changed". */
static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *name, *old_owner, *new_owner;

        (void)userdata;
        (void)error;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
            !streq(name, MEMHP_BUS_NAME))
                return 0;
        if (!*new_owner)
                print_line("memhpd stopped");
        else if (!*old_owner)
                print_line("memhpd started");
        else
                print_line("memhpd restarted");
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        (void)userdata;
        (void)error;
        log_error("Lost the connection to the system bus.");
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), -ECONNRESET);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)si;
        (void)userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int verb_monitor(char **args, size_t n_args, const CtlArgs *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        (void)args;
        (void)n_args;
        (void)arg;
        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal,
                                        NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal,
                                        NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        /*
         * Matched by the well-known name: the bus daemon delivers signals from whoever owns it
         * now, so the monitor carries on across memhpd restarts.
         */
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                                        MEMHP_BUS_INTERFACE, "BlockChanged", on_block_changed,
                                        NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, MEMHP_BUS_NAME, MEMHP_BUS_PATH,
                                        MEMHP_BUS_INTERFACE, "DeviceChanged", on_device_changed,
                                        NULL);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                     "arg0='" MEMHP_BUS_NAME "'",
                                     on_owner_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", NULL,
                                        "org.freedesktop.DBus.Local", "Disconnected",
                                        on_disconnected, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to subscribe to memhpd's signals: %m");
                return CTL_EXIT_FAILURE;
        }

        /* Only after subscribing, so that a memhpd starting in between is not missed. */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetNameOwner", &error, NULL, "s",
                               MEMHP_BUS_NAME);
        if (r < 0)
                log_notice("memhpd is not running; waiting for it to start.");

        r = sd_event_loop(event);
        (void)sd_bus_detach_event(bus);
        return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
}
