/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager lifecycle: event loop, signals, readiness, watchdog and transactional reload. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "autopolicy.h"
#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "numa-topology.h"

/* Stopping never leaves an operation half done: cancel, let the rollbacks finish, then exit. */
static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;
        unsigned n;

        (void)s;
        if (m->stopping || !m->ops) {
                if (m->ops)
                        log_warning("Second stop signal: exiting without waiting for rollbacks; "
                                    "the next start recovers them from their intent records.");
                return sd_event_exit(m->event, 0);
        }
        m->stopping = true;
        n = manager_ops_cancel_all(m);
        log_notice("Received %s: cancelling %u running operations and rolling them back first.",
                   strsignal((int)si->ssi_signo), n);
        (void)sd_notify(false, "STOPPING=1\nSTATUS=Rolling back operations before stopping");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)s;
        (void)si;
        (void)manager_reload(userdata);
        return 0;
}

int manager_new(const char *config_path, MemhpConfig *config, const char *sysroot, Manager **ret)
{
        Manager *m;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path);
        if (!m->config_path) {
                free(m);
                return -ENOMEM;
        }
        m->config = config;
        m->sysroot = sysroot;
        m->node_hint = MEMBLOCK_NODE_NONE;
        m->log_level_override = -1;
        m->runtime_fd = -EBADF;
        m->iomem_fd = -EBADF;
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        manager_handoff_stop(m);
        manager_bus_free(m);
        m->monitor = monitor_free(m->monitor);
        m->writer = writer_free(m->writer);
        manager_ops_free(m);
        manager_sources_free(m);
        manager_foreign_free(m);
        sd_event_source_disable_unref(m->process_source);
        sd_event_source_disable_unref(m->delay_timer);
        sd_event_source_disable_unref(m->held_pass_timer);
        sd_event_source_disable_unref(m->rescan_timer);
        sd_event_unref(m->event);
        sysfs_free(m->sysfs);
        blockmap_done(&m->blocks);
        free(m->queue);
        free(m->deferred);
        free(m->delayed);
        placement_ledger_clear(&m->ledger);
        free(m->config);
        free(m->config_path);
        free(m);
        return NULL;
}

static int setup_sysfs(Manager *m)
{
        struct stat st;
        int r;

        r = sysfs_open(m->sysroot, &m->sysfs);
        if (r == -EPERM)
                return log_error_errno(r,
                                       "Refusing sysroot '%s': it is this machine's real sysfs "
                                       "and MEMHP_TESTING=1 is set.",
                                       m->sysroot);
        if (r == -ENOENT)
                return log_error_errno(r,
                                       "'%s' has no sys/devices/system/memory: this kernel "
                                       "lacks memory hotplug support.",
                                       m->sysroot);
        if (r < 0)
                return log_error_errno(r, "Failed to open sysroot '%s': %m", m->sysroot);

        r = memblock_read_block_size(m->sysfs, &m->block_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read block_size_bytes under '%s': %m",
                                       m->sysroot);
        m->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
        m->block_pages = m->block_size / m->page_size;
        /* Without CONFIG_NUMA there are no node links: every block belongs to node 0. */
        m->numa = fstatat(m->sysfs->root_fd, "sys/devices/system/node", &st, 0) == 0;
        log_info("Memory block size %" PRIu64 " MiB, NUMA %s.", m->block_size >> 20,
                 m->numa ? "yes" : "no (all blocks are node 0)");
        return 0;
}

static int setup_monitor(Manager *m)
{
        static const MonitorCallbacks cb = {
                .event = manager_on_uevent,
                .overflow = manager_on_overflow,
                .settled = manager_on_settled,
        };
        uint64_t want = m->config->receive_buffer_bytes, got;
        int r;

        m->event_source = monitor_resolve_source(m->config->event_source);
        if (m->config->event_source == EVENT_SOURCE_UDEV && access("/run/udev/control", F_OK) < 0)
                log_warning("EventSource=udev but udevd is not running (no /run/udev/control): "
                            "no uevents will arrive; consider EventSource=kernel.");
        r = monitor_new(m->event, m->event_source, want, &cb, m, &m->monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to listen for %s uevents: %m",
                                       event_source_to_string(m->event_source));
        /* SO_RCVBUF reads back twice the size set (the kernel's bookkeeping share). */
        got = monitor_rcvbuf(m->monitor) / 2;
        if (got < want)
                log_warning("Uevent receive buffer: asked for %" PRIu64 " KiB, got %" PRIu64
                            " KiB (needs CAP_NET_ADMIN); overflows will be repaired by rescans.",
                            want >> 10, got >> 10);
        else
                log_info("Listening for %s uevents, receive buffer %" PRIu64 " KiB.",
                         event_source_to_string(m->event_source), got >> 10);
        return 0;
}

/* Detects the platform (at start and on reload), then logs what Default=auto (or the explicit
 * default) gives each source on it, and why. */
static void setup_platform(Manager *m)
{
        const MemhpConfig *c = m->config;
        const char *platform;
        char sources[256] = "";
        size_t len = 0;
        int r;

        r = platform_detect(m->sysfs->root_fd, &m->platform);
        if (r < 0)
                log_warning_errno(r, "Cannot tell the platform from sysfs, assuming generic: %m");
        platform = platform_to_string(m->platform);

        if (!c->default_auto) {
                for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                        if (c->source_policy[s] >= 0 && len < sizeof(sources))
                                len += (size_t)snprintf(sources + len, sizeof(sources) - len,
                                                        "%s%s for %s", len > 0 ? ", " : " but ",
                                                        policy_to_string(c->source_policy[s]),
                                                        mem_source_to_string(s));
                log_info("Platform %s; Default=%s for every source%s.", platform,
                         policy_to_string(c->default_policy), sources);
                return;
        }
        for (int s = 0; s < _MEM_SOURCE_MAX; s++) {
                AutoChoice a = autopolicy_lookup(m->platform, s);

                if (c->source_policy[s] >= 0)
                        log_info("Platform %s: %s memory gets %s from [Source %s] (Default=auto "
                                 "would give %s).",
                                 platform, mem_source_to_string(s),
                                 policy_to_string(c->source_policy[s]), mem_source_to_string(s),
                                 policy_to_string(a.policy));
                else
                        log_info("Platform %s: %s memory gets %s from Default=auto: %s.", platform,
                                 mem_source_to_string(s), policy_to_string(a.policy), a.reason);
        }
}

int manager_start(Manager *m)
{
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        r = setup_sysfs(m);
        if (r < 0)
                return r;
        /* Before anything is listened to or served: CAP_SYS_ADMIN is gone after this. */
        r = manager_sources_setup(m);
        if (r < 0)
                return r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_stop_signal,
                                m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK,
                                        on_stop_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK,
                                        on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signal handling: %m");
        /* Pings the watchdog when WATCHDOG_USEC is set; a no-op otherwise. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

        r = writer_new(m->event, m->sysfs, manager_on_write_done, m, &m->writer);
        if (r < 0)
                return log_error_errno(r, "Failed to start the writer thread: %m");
        writer_set_timeout(m->writer, m->config->offline_timeout_usec);

        r = manager_setup_blocks(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up block processing: %m");

        manager_log_numa_topology(m);
        setup_platform(m);

        /* Listen first, then scan: a block added in between shows up in one or the other. */
        r = setup_monitor(m);
        if (r < 0)
                return r;
        /* Operations a crash interrupted claim their blocks before coldplug can touch them. */
        r = manager_ops_setup(m);
        if (r < 0)
                return r;
        /* A hand-off a crash left in place is undone before anyone judges the setting. */
        manager_handoff_recover(m);
        manager_check_other_onliners(m);
        (void)manager_ops_recover(m);
        r = manager_coldplug(m);
        if (r < 0)
                return r;
        manager_holds_restore(m);
        manager_handoff_update(m);
        /* Optional: without a bus memhpd still onlines memory. */
        (void)manager_bus_connect(m);
        return 0;
}

int manager_run(Manager *m)
{
        int r = sd_event_loop(m->event);

        /* The counters also go to the service manager: they are there at any LogLevel=. */
        (void)sd_notifyf(false,
                         "STOPPING=1\nSTATUS=Stopped after %" PRIu64 " uevents, %" PRIu64
                         " blocks onlined, %" PRIu64 " failed writes, %" PRIu64 " rescans",
                         m->n_events, m->n_onlined, m->n_failed, m->n_rescans);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        log_info("Stopped after %" PRIu64 " uevents, %" PRIu64 " blocks onlined, %" PRIu64
                 " failed writes, %" PRIu64 " rescans.",
                 m->n_events, m->n_onlined, m->n_failed, m->n_rescans);
        return 0;
}

int manager_reload(Manager *m)
{
        _cleanup_free_ char *error = NULL;
        MemhpConfig *c = NULL;
        struct timespec ts;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        (void)sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=Reloading",
                         (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
        r = conf_load(m->config_path, m->config_missing_ok, &c, &error);
        if (r < 0) {
                log_error("Reload failed, keeping the running configuration:\n%s",
                          error ? error : strerror(-r));
        } else {
                if (c->event_source != m->config->event_source ||
                    c->receive_buffer_bytes != m->config->receive_buffer_bytes ||
                    c->coldplug != m->config->coldplug)
                        log_notice("EventSource=, ReceiveBufferSize= and Coldplug= changes take "
                                   "effect at the next start.");
                free(m->config);
                m->config = c;
                log_set_max_level(m->log_level_override >= 0 ? m->log_level_override
                                                             : c->log_level);
                writer_set_timeout(m->writer, c->offline_timeout_usec);
                manager_arm_rescan_timer(m);
                manager_sources_reset_announced(m);
                manager_handoff_update(m);
                log_info("Configuration reloaded from '%s'.", m->config_path);
                setup_platform(m);
                /* Offline blocks that the old policy ignored may be wanted now. */
                manager_request_rescan(m, "configuration reloaded");
        }
        (void)sd_notify(false, "READY=1\nSTATUS=Watching memory blocks");
        return r;
}
