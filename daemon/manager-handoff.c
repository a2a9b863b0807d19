/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hand-off to the kernel's auto-online. A userspace write cannot online a block before the
 * hot-add releases device_hotplug_lock, and nothing tells userspace when it does: a write that
 * comes early sleeps and restarts (2 jiffies at least), one that comes late has waited. The
 * kernel onlines inside the add. So while memhpd's policy is one the kernel applies exactly
 * (handoff_kernel_online_type()), memhpd sets auto_online_blocks to it and keeps supervising:
 * each new block still passes through the policy pass, and one the kernel left offline (its
 * online failed) gets memhpd's own write, with memhpd's retries. Before changing the setting,
 * memhpd records the value it found in its runtime directory: a reload to a policy the kernel
 * cannot express, a stop, or the next start after a crash puts that value back. It only takes
 * over a setting that was "offline": one somebody else chose is left alone (and warned about).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic-file.h"
#include "fileio.h"
#include "handoff.h"
#include "log.h"
#include "manager.h"
#include "strutil.h"

#define HANDOFF_RECORD "kernel-online"
#define AUTO_ONLINE "auto_online_blocks"

static int read_setting(Manager *m, char *buf, size_t size)
{
        return sysfs_read_at(m->sysfs->memory_fd, AUTO_ONLINE, buf, size);
}

static int set_setting(Manager *m, const char *value)
{
        int r = sysfs_write_at(m->sysfs->memory_fd, AUTO_ONLINE, value);

        if (r < 0)
                log_warning_errno(r, "Failed to set auto_online_blocks=%s: %m", value);
        return r;
}

/* The hand-off is over: no pacing, no record. */
static void forget(Manager *m)
{
        int r;

        m->handoff_saved[0] = 0;
        m->handoff_type = NULL;
        if (m->monitor)
                (void)monitor_set_pace(m->monitor, 0);
        if (m->runtime_fd >= 0) {
                r = unlink_file_durable_at(m->runtime_fd, HANDOFF_RECORD);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to remove the hand-off record: %m");
        }
}

/*
 * Back to the value found before the hand-off, then the record goes. @set is what memhpd set
 * (NULL: not known): a value somebody changed since is theirs, and is left as it is.
 */
static void take_back(Manager *m, const char *set, const char *why)
{
        char now[32];
        int r;

        if (!m->handoff_saved[0])
                return;
        if (set && read_setting(m, now, sizeof(now)) >= 0 && !streq(now, set)) {
                log_notice("auto_online_blocks=%s, not %s as memhpd set it: somebody else changed "
                           "it, so it is left as it is (%s).",
                           now, set, why);
                forget(m);
                return;
        }
        r = set_setting(m, m->handoff_saved);
        if (r < 0)
                return; /* the record stays: the next start tries again */
        log_info("auto_online_blocks=%s again (%s): memhpd onlines new memory itself.",
                 m->handoff_saved, why);
        forget(m);
}

void manager_handoff_recover(Manager *m)
{
        _cleanup_free_ char *text = NULL;
        char *set;
        int fd, r;

        if (m->runtime_fd < 0)
                return;
        fd = openat(m->runtime_fd, HANDOFF_RECORD, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                if (errno != ENOENT)
                        log_warning_errno(-errno, "Failed to open the hand-off record: %m");
                return;
        }
        r = read_full_fd(fd, 64, &text, NULL);
        close(fd);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the hand-off record, ignoring it: %m");
                return;
        }
        /* "offline", then what memhpd set it to once it had: memhpd only takes over "offline". */
        text[strcspn(text, "\n")] = 0;
        set = strchr(text, ' ');
        if (set)
                *set++ = 0;
        if (!streq(text, "offline") || (set && !startswith(set, "online"))) {
                log_warning("Hand-off record holds no value memhpd writes, dropping it.");
                (void)unlink_file_durable_at(m->runtime_fd, HANDOFF_RECORD);
                return;
        }
        snprintf(m->handoff_saved, sizeof(m->handoff_saved), "%s", text);
        take_back(m, set, "restored after an unclean stop");
}

void manager_handoff_update(Manager *m)
{
        const char *want = handoff_kernel_online_type(m->config);
        char now[32], record[48];
        int r;

        if (!want) {
                take_back(m, m->handoff_type,
                          m->config->kernel_online ? "the policy is not one the kernel can apply"
                                                   : "KernelOnline=no");
                return;
        }
        if (m->handoff_type && streq(m->handoff_type, want))
                return;
        if (read_setting(m, now, sizeof(now)) < 0) {
                log_debug("No auto_online_blocks: memhpd onlines new memory itself.");
                return;
        }
        if (m->handoff_type && !streq(now, m->handoff_type)) {
                take_back(m, m->handoff_type, "a reload");
                return;
        }
        if (!m->handoff_saved[0]) {
                if (!streq(now, "offline"))
                        return; /* somebody else's choice; manager_check_other_onliners() said so */
                if (m->runtime_fd < 0)
                        return; /* without a record a crash could not undo it */
                r = write_file_atomic_at(m->runtime_fd, HANDOFF_RECORD, "offline\n", 0600);
                if (r < 0) {
                        log_warning_errno(r, "Failed to write the hand-off record, onlining new "
                                             "memory itself: %m");
                        return;
                }
                snprintf(m->handoff_saved, sizeof(m->handoff_saved), "%s", now);
        }
        if (set_setting(m, want) < 0) {
                take_back(m, m->handoff_type, "the kernel refused the setting");
                return;
        }
        m->handoff_type = want;
        /* What memhpd set, so that the next start after a crash can tell a change of another's. */
        snprintf(record, sizeof(record), "offline %s\n", want);
        r = write_file_atomic_at(m->runtime_fd, HANDOFF_RECORD, record, 0600);
        if (r < 0)
                log_debug_errno(r, "Failed to add the value set to the hand-off record: %m");
        r = m->monitor ? monitor_set_pace(m->monitor, HANDOFF_PACE_USEC) : 0;
        if (r == -ENOBUFS)
                log_debug("Receive buffer too small to read uevents in batches, reading each "
                          "at once.");
        else if (r < 0)
                log_warning_errno(r, "Failed to batch uevent reading, reading each at once: %m");
        log_info("Policy %s for every node: the kernel onlines new memory itself "
                 "(auto_online_blocks=%s, was %s); memhpd checks each new block and onlines any it "
                 "leaves offline.",
                 want, want, m->handoff_saved);
}

void manager_handoff_stop(Manager *m)
{
        if (m->sysfs)
                take_back(m, m->handoff_type, "memhpd stops");
}
