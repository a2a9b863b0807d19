/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Full scans: the coldplug scan at start, and rescans after lost uevents (receive queue
 * overflow), reloads, D-Bus requests and the optional RescanIntervalSec= timer. A scan
 * re-reads the directory listing, forgets blocks that are gone and queues every block for the
 * next pass; blocks whose policy write failed get another try.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "time-util.h"
#include "manager.h"
#include "memblock.h"

void manager_request_rescan(Manager *m, const char *reason)
{
        m->rescan_pending = true;
        m->rescan_reason = reason;
        sd_event_source_set_enabled(m->process_source, SD_EVENT_ONESHOT);
}

int manager_scan(Manager *m, ScanFlags flags)
{
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0, k = 0;
        int r;

        r = memblock_enumerate(m->sysfs, &ids, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate memory blocks: %m");

        /* Blocks we know that are gone: their remove uevents were lost. */
        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                while (k < n && ids[k] < id)
                        k++;
                if (k >= n || ids[k] != id)
                        manager_block_gone(m, id, blockmap_peek(&m->blocks, id));
        }
        for (size_t i = 0; i < n; i++) {
                BlockEntry *e = blockmap_get(&m->blocks, ids[i]);

                if (!e)
                        return log_oom();
                if (!(e->flags & BLOCK_PRESENT)) {
                        blockmap_set_present(&m->blocks, e, true);
                        /* Its add was lost in an overflow: as new as if it had come. */
                        if (m->startup_done && !m->handoff_type)
                                manager_block_fresh(m, e);
                        else if (m->startup_done)
                                e->flags |= BLOCK_HANDED_OFF; /* the kernel onlined it */
                        if (flags & SCAN_LEAVE_OFFLINE_ALONE) {
                                MemState st;
                                if (memblock_read_state(m->sysfs, ids[i], &st) >= 0 &&
                                    st == MEM_STATE_OFFLINE)
                                        e->flags |= BLOCK_ADMIN_OFFLINE;
                        }
                }
                /* A rescan is also the retry point for blocks whose policy write failed. */
                e->flags &= (uint16_t)~BLOCK_FAILED;
                manager_queue_block(m, ids[i]);
        }
        return (int)MIN(n, (size_t)INT32_MAX);
}

int manager_coldplug(Manager *m)
{
        bool coldplug = m->config->coldplug;
        int r;

        m->scan_started_usec = now_usec();
        r = manager_scan(m, coldplug ? 0 : SCAN_LEAVE_OFFLINE_ALONE);
        if (r >= 0)
                log_info("Coldplug: found %d memory blocks%s.", r,
                         coldplug ? "" : " (Coldplug=no: offline blocks are left alone)");
        return r;
}

void manager_on_overflow(void *userdata)
{
        Manager *m = userdata;

        /* Events lost before a pending rescan has run are covered by that rescan. */
        if (m->rescan_pending) {
                log_debug("Uevent receive queue overflowed again; the pending rescan covers it.");
                return;
        }
        m->n_overflows++;
        log_warning("Uevent receive queue overflowed (%" PRIu64 " times so far); events were lost.",
                    m->n_overflows);
        manager_request_rescan(m, "uevents were lost (receive queue overflow)");
}

static int on_rescan_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        (void)usec;
        manager_request_rescan(m, "periodic rescan (RescanIntervalSec=)");
        manager_arm_rescan_timer(m);
        return 0;
}

void manager_arm_rescan_timer(Manager *m)
{
        uint64_t interval = m->config->rescan_interval_usec;

        m->rescan_timer = sd_event_source_disable_unref(m->rescan_timer);
        if (interval == 0)
                return;
        if (sd_event_add_time_relative(m->event, &m->rescan_timer, CLOCK_MONOTONIC, interval,
                                       USEC_PER_SEC, on_rescan_timer, m) < 0)
                log_warning("Failed to arm the rescan timer, periodic rescans are off.");
}
