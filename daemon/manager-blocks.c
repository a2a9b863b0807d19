/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block work: uevents and rescans mark blocks dirty; one deferred pass per event-loop
 * iteration re-reads each dirty block and applies the node's policy. Uevents are hints, sysfs
 * is the truth: a burst of thousands of adds costs one pass, not thousands of scans.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "alloc-util.h"
#include "blocklog.h"
#include "log.h"
#include "time-util.h"
#include "manager.h"
#include "memblock.h"
#include "placement.h"
#include "retry.h"

/*
 * Handed off to the kernel's auto-online (manager-handoff.c), a new block is onlined by the
 * kernel before its add releases device_hotplug_lock. Node-link lookups and writes that bounce
 * off that lock meanwhile would only take CPU from the add. So a block the kernel announces is
 * left to it this long; its online uevent usually ends the wait, and one still offline then
 * gets the policy as always.
 */
#define HANDOFF_GRACE_USEC (1 * USEC_PER_SEC)

void manager_queue_block(Manager *m, uint32_t block)
{
        BlockEntry *e = blockmap_get(&m->blocks, block);

        if (!e) {
                log_oom();
                return;
        }
        if (e->flags & BLOCK_QUEUED)
                return;
        if (GREEDY_REALLOC(m->queue, m->queue_allocated, m->n_queue + 1) < 0) {
                log_oom();
                return;
        }
        m->queue[m->n_queue++] = block;
        e->flags |= BLOCK_QUEUED;
        sd_event_source_set_enabled(m->process_source, SD_EVENT_ONESHOT);
}

static void notify_changed(Manager *m, uint32_t block, BlockEntry *e)
{
        if (m->block_changed)
                m->block_changed(m, block, e);
}

void manager_block_gone(Manager *m, uint32_t block, BlockEntry *e)
{
        if (!(e->flags & BLOCK_PRESENT))
                return;
        manager_hold_release(m, block, e, "was removed");
        manager_block_source_forget(m, e);
        e->flags &= (uint16_t)~BLOCK_FRESH;
        blockmap_set_present(&m->blocks, e, false);
        notify_changed(m, block, e);
}

static void update_state(Manager *m, uint32_t block, BlockEntry *e, MemState st, MemZone zone)
{
        /* Offline on purpose, or online again: the hold record follows (manager-holds.c). */
        bool went_offline = e->state == MEM_STATE_ONLINE && st != MEM_STATE_ONLINE;
        bool changed = blockmap_observe(e, st, zone);

        if (went_offline)
                manager_hold_block(m, block, e);
        else if (st == MEM_STATE_ONLINE)
                manager_hold_release(m, block, e, "is online");
        if (changed)
                notify_changed(m, block, e);
}

static void delay_block(Manager *m, uint32_t block, uint64_t delay_usec)
{
        uint64_t due = now_usec() + delay_usec, armed = UINT64_MAX;
        int enabled = 0;

        if (GREEDY_REALLOC(m->delayed, m->delayed_allocated, m->n_delayed + 1) < 0) {
                log_oom();
                return;
        }
        m->delayed[m->n_delayed++] = (Delayed){.block = block, .due_usec = due};
        /* Only move the timer earlier: no walk over every waiting block per insertion. */
        if (sd_event_source_get_enabled(m->delay_timer, &enabled) < 0 || !enabled ||
            sd_event_source_get_time(m->delay_timer, &armed) < 0 || due < armed) {
                sd_event_source_set_time(m->delay_timer, due);
                sd_event_source_set_enabled(m->delay_timer, SD_EVENT_ONESHOT);
        }
}

static int on_delay_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        uint64_t now = now_usec(), first = UINT64_MAX;
        size_t j = 0;

        (void)usec;
        for (size_t i = 0; i < m->n_delayed; i++) {
                Delayed d = m->delayed[i];

                if (d.due_usec <= now) {
                        BlockEntry *e = blockmap_peek(&m->blocks, d.block);
                        if (e && (e->flags & BLOCK_PRESENT)) {
                                e->flags &= (uint16_t)~BLOCK_DELAYED;
                                manager_queue_block(m, d.block);
                        }
                        continue;
                }
                first = MIN(first, d.due_usec);
                m->delayed[j++] = d;
        }
        m->n_delayed = j;
        if (j > 0) {
                sd_event_source_set_time(s, first);
                sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

void manager_block_observed(Manager *m, uint32_t block, MemState st, MemZone zone)
{
        BlockEntry *e = blockmap_peek(&m->blocks, block);

        if (e && (e->flags & BLOCK_PRESENT)) {
                manager_block_decided(m, e);
                update_state(m, block, e, st, zone);
        }
}

void manager_check_startup_done(Manager *m)
{
        if (m->startup_done || m->rescan_pending || m->n_queue > 0 ||
            writer_pending(m->writer) > 0 || m->ops)
                return;
        m->startup_done = true;
        log_info("Startup scan complete: %zu memory blocks, %" PRIu64 " onlined, %" PRIu64
                 " failed writes.",
                 m->blocks.n_present, m->n_onlined, m->n_failed);
        (void)sd_notifyf(false, "READY=1\nSTATUS=Watching %zu memory blocks", m->blocks.n_present);
}

/* Zone sizes for the ratio guard, read at most once per pass (and only if a node needs them). */
static PlacementLedger *pass_ledger(Manager *m)
{
        int r;

        if (!m->ledger_loaded) {
                m->ledger_loaded = true;
                r = placement_ledger_load(&m->ledger, m->sysfs, &m->blocks, m->block_pages);
                if (r < 0)
                        log_oom();
                else if (r > 0)
                        log_debug("Cannot read proc/zoneinfo, counted zones from memory blocks.");
        }
        return &m->ledger;
}

static void apply_policy(Manager *m, uint32_t block, BlockEntry *e)
{
        PlacementLedger *ledger = NULL;
        MemAction action;
        Policy policy;
        uint64_t delay;
        int r, node = 0;

        if (m->numa && e->node < 0) {
                r = placement_block_node(m->sysfs, m->numa, block, e, m->node_hint, &node);
                if (r == -ENODATA) {
                        delay = retry_node_link_delay_usec(++e->attempts);
                        if (delay == 0) {
                                e->flags |= BLOCK_FAILED;
                                manager_block_decided(m, e);
                                log_block(LOG_ERR, SYNTHETIC_ERRNO(ENODATA), block, -1, NULL,
                                          "online",
                                          "memory%u has no node link after %u lookups over ~1 s, "
                                          "leaving it offline.",
                                          block, RETRY_NODE_LINK_TRIES);
                                return;
                        }
                        e->flags |= BLOCK_AWAIT_NODE;
                        delay_block(m, block, delay);
                        return;
                }
                if (r == -ENOENT)
                        return manager_block_gone(m, block, e);
                if (r < 0) {
                        log_warning_errno(r, "Failed to read the node of memory%u, skipping: %m",
                                          block);
                        return;
                }
                e->node = (int16_t)node;
                e->attempts = 0;
                m->node_hint = node;
        }
        node = e->node < 0 ? 0 : e->node;

        /* Waits only while the block's source is open and would change the policy. */
        if (manager_block_policy(m, block, e, node, &policy, &delay) == SOURCE_WAIT) {
                e->flags |= BLOCK_AWAIT_SOURCE;
                delay_block(m, block, delay);
                return;
        }
        if (policy == POLICY_AUTO_MOVABLE) {
                /* Exact sizes need every earlier online to have landed in zoneinfo. */
                if (writer_pending(m->writer) > 0) {
                        /* Once per block: rescans and events meanwhile must not grow the list. */
                        if (e->flags & BLOCK_DEFERRED)
                                return;
                        if (GREEDY_REALLOC(m->deferred, m->deferred_allocated, m->n_deferred + 1) <
                            0) {
                                log_oom();
                                return;
                        }
                        m->deferred[m->n_deferred++] = block;
                        e->flags |= BLOCK_DEFERRED;
                        return;
                }
                ledger = pass_ledger(m);
        }
        action = placement_place(policy, m->config->movable_ratio, ledger, node, m->block_pages, 0);
        if (action == MEM_ACTION_NONE) {
                manager_block_decided(m, e);
                log_debug("memory%u (node %d): policy %s, leaving it offline.", block, node,
                          policy_to_string(policy));
                return;
        }
        r = writer_submit(m->writer, block, action, 0);
        if (r < 0) {
                log_oom();
                return;
        }
        e->flags |= BLOCK_WRITING;
        m->policy_writes++;
}

static void process_block(Manager *m, uint32_t block)
{
        BlockEntry *e = blockmap_peek(&m->blocks, block);
        MemZone zone = MEM_ZONE_UNKNOWN;
        MemState st;
        int r;

        if (!e)
                return;
        e->flags &= (uint16_t)~BLOCK_QUEUED;
        if (!(e->flags & BLOCK_PRESENT) || (e->flags & (BLOCK_WRITING | BLOCK_BUSY)))
                return;

        r = memblock_read_state(m->sysfs, block, &st);
        if (r == -ENOENT)
                return manager_block_gone(m, block, e);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the state of memory%u, skipping: %m", block);
                return;
        }
        /* A block cannot change zones while it stays online: known zones need no read. */
        if (st == MEM_STATE_ONLINE && e->state == MEM_STATE_ONLINE && e->zone != MEM_ZONE_UNKNOWN)
                zone = (MemZone)e->zone;
        else if (st == MEM_STATE_ONLINE)
                (void)memblock_read_zone(m->sysfs, block, &zone);
        /* Before the observers hear of the block: its device is known by then. */
        manager_block_resolve(m, block, e, st);
        /*
         * Also when the pass comes after the grace, as a held one may (on_process()). Not for
         * one still offline after the hand-off was taken back: apply_policy() looks for its
         * source itself, with the policy that now decides it.
         */
        if (e->flags & BLOCK_HANDED_OFF) {
                if (m->handoff_type || st == MEM_STATE_ONLINE)
                        manager_block_handed_off(m, block, e);
                if (!(e->flags & BLOCK_AWAIT_KERNEL) || !m->handoff_type)
                        e->flags &= (uint16_t)~BLOCK_HANDED_OFF;
        }
        if (st == MEM_STATE_ONLINE)
                manager_block_foreign(m, block, e, zone, MEM_ACTION_NONE);
        update_state(m, block, e, st, zone);

        if (st == MEM_STATE_OFFLINE &&
            !(e->flags & (BLOCK_ADMIN_OFFLINE | BLOCK_DELAYED | BLOCK_FAILED)))
                apply_policy(m, block, e);
}

static int on_held_pass(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        manager_on_settled(userdata);
        return 0;
}

static void held_pass_arm(Manager *m, uint64_t due)
{
        int enabled = 0;

        if (sd_event_source_get_enabled(m->held_pass_timer, &enabled) >= 0 && enabled)
                return; /* armed earlier: due no later than now asked, one pass either way */
        (void)sd_event_source_set_time(m->held_pass_timer, due);
        (void)sd_event_source_set_enabled(m->held_pass_timer, SD_EVENT_ONESHOT);
}

static int on_process(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        _cleanup_free_ uint32_t *batch = NULL;
        uint64_t t0 = 0;
        size_t n;

        (void)s;
        if (m->handoff_type) {
                uint64_t burst = monitor_burst_usec(m->monitor), now = 0;

                (void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                /*
                 * A burst longer than the grace gets a pass per grace, not one per new block.
                 * The burst's end (manager_on_settled()) or the timer brings the pass back:
                 * an endless stream of uevents must not hold it, or READY=1, forever.
                 */
                if (burst > 0 && MIN(burst, now - m->last_pass_usec) < HANDOFF_GRACE_USEC) {
                        held_pass_arm(m, MAX(now - burst, m->last_pass_usec) + HANDOFF_GRACE_USEC);
                        return 0;
                }
                m->last_pass_usec = now;
                (void)sd_event_source_set_enabled(m->held_pass_timer, SD_EVENT_OFF);
        }
        /*
         * While our own writes run, their online uevents are what overflows a small buffer: a
         * rescan now would re-read every block in competition with those writes, only to be
         * asked for again. One rescan once they are done covers every overflow meanwhile.
         */
        if (m->rescan_pending && m->policy_writes == 0) {
                m->rescan_pending = false;
                m->n_rescans++;
                log_notice("Rescanning all memory blocks: %s.", m->rescan_reason);
                t0 = now_usec();
                (void)manager_scan(m, 0);
        } else if (m->scan_started_usec > 0) {
                t0 = m->scan_started_usec;
        }
        m->scan_started_usec = 0;
        manager_sources_pass_begin(m);

        /* Take the batch: blocks queued while it runs (by completions) go to the next pass. */
        batch = TAKE_PTR(m->queue);
        n = m->n_queue;
        m->n_queue = m->queue_allocated = 0;
        m->ledger_loaded = false;
        for (size_t i = 0; i < n; i++)
                process_block(m, batch[i]);
        if (t0 > 0)
                log_info("Scanned %zu memory blocks in %.1f ms.", n,
                         (double)(now_usec() - t0) / 1000);
        manager_check_startup_done(m);
        return 0;
}

void manager_on_uevent(const MemUevent *ev, void *userdata)
{
        Manager *m = userdata;
        BlockEntry *e = blockmap_get(&m->blocks, ev->block);
        bool fresh, appeared;

        m->n_events++;
        if (!e) {
                log_oom();
                return;
        }
        log_debug("uevent %s memory%u", uevent_action_to_string(ev->action), ev->block);
        appeared = !(e->flags & BLOCK_PRESENT);
        /* Not while our own write is on it (then the verdict is READ of a present block). */
        fresh = ev->action == UEVENT_ADD && appeared;
        switch (blockmap_classify_uevent(e, ev->action)) {
        case BLOCK_EVENT_GONE:
                manager_block_gone(m, ev->block, e);
                return;
        case BLOCK_EVENT_IGNORE:
                return;
        case BLOCK_EVENT_NEW:
                manager_hold_release(m, ev->block, e, "was added anew");
                manager_block_source_forget(m, e);
                e->flags &= (uint16_t)~BLOCK_FRESH;
                blockmap_set_present(&m->blocks, e, false);
                fresh = appeared = true;
                break;
        case BLOCK_EVENT_READ:
                break;
        }
        blockmap_set_present(&m->blocks, e, true);
        /*
         * Handed off, the pass may come only after the burst (HANDOFF_PACE_USEC), when an
         * admin may already have offlined a block the kernel onlined: this uevent is the proof
         * that it was online, so the pass sees an offline on purpose, not a block to online.
         */
        if (ev->action == UEVENT_ONLINE && m->handoff_type && e->state != MEM_STATE_ONLINE)
                (void)blockmap_observe(e, MEM_STATE_ONLINE, MEM_ZONE_UNKNOWN);
        if (ev->action == UEVENT_ADD && m->handoff_type && !(e->flags & BLOCK_DELAYED)) {
                e->flags |= BLOCK_AWAIT_KERNEL | BLOCK_HANDED_OFF;
                delay_block(m, ev->block, HANDOFF_GRACE_USEC);
        } else if (appeared && m->handoff_type) {
                e->flags |= BLOCK_HANDED_OFF; /* its add was lost, its online came: the kernel's */
        } else if (fresh && !m->handoff_type) {
                /* Handed off, the kernel's online is memhpd's own decision, not another's. */
                manager_block_fresh(m, e);
        }
        manager_queue_block(m, ev->block);
}

void manager_on_settled(void *userdata)
{
        Manager *m = userdata;

        if (m->n_queue > 0 || m->rescan_pending)
                sd_event_source_set_enabled(m->process_source, SD_EVENT_ONESHOT);
}

void manager_on_write_done(const WriteJob *job, void *userdata)
{
        Manager *m = userdata;
        BlockEntry *e = blockmap_peek(&m->blocks, job->block);
        const char *want = mem_action_to_string(job->action);

        if (job->cookie != 0) {
                manager_ops_on_write_done(m, job);
                goto out;
        }
        if (--m->policy_writes == 0 && m->rescan_pending)
                sd_event_source_set_enabled(m->process_source, SD_EVENT_ONESHOT);
        if (!e)
                goto out;
        e->flags &= (uint16_t)~BLOCK_WRITING;
        manager_ops_schedule(m); /* an operation may be waiting for this block */
        if (!(e->flags & BLOCK_PRESENT)) {
                /* Its remove uevent was handled first; the write's answer still gets said. */
                if (job->result < 0)
                        log_block(LOG_INFO, job->result, job->block, e->node, NULL, want,
                                  "memory%u was removed while memhpd onlined it: %m.", job->block);
                goto out;
        }
        if (job->result == 1 && (e->flags & BLOCK_FRESH)) {
                manager_block_foreign(m, job->block, e, job->zone, job->action);
                update_state(m, job->block, e, MEM_STATE_ONLINE, job->zone);
                goto out;
        }
        manager_block_decided(m, e);
        if (job->result == 0) {
                m->n_onlined++;
                log_block(LOG_INFO, 0, job->block, e->node, mem_zone_to_string(job->zone), want,
                          "memory%u (node %d): online, zone %s (%s, %" PRIu64 " ms).", job->block,
                          e->node, mem_zone_to_string(job->zone), want, job->usec / 1000);
                update_state(m, job->block, e, MEM_STATE_ONLINE, job->zone);
        } else if (job->result == 1) {
                if (mem_action_zone_matches(job->action, job->zone))
                        log_block(LOG_INFO, 0, job->block, e->node, mem_zone_to_string(job->zone),
                                  "already-online",
                                  "memory%u (node %d): already online in zone %s.", job->block,
                                  e->node, mem_zone_to_string(job->zone));
                else
                        log_block(LOG_WARNING, 0, job->block, e->node,
                                  mem_zone_to_string(job->zone), "already-online",
                                  "memory%u (node %d) was already online in zone %s, not where "
                                  "%s would put it: another onliner came first (kernel "
                                  "auto_online_blocks, a udev rule or a tool).",
                                  job->block, e->node, mem_zone_to_string(job->zone), want);
                update_state(m, job->block, e, MEM_STATE_ONLINE, job->zone);
        } else if (retry_classify_write(job->result) == WRITE_FAILURE_GONE) {
                log_block(LOG_INFO, job->result, job->block, e->node, NULL, want,
                          "memory%u was removed before it could be onlined: %m.", job->block);
        } else {
                uint64_t delay = retry_write_delay_usec(job->result, e->attempts);

                m->n_failed++;
                manager_record_failure(m, job->block, job->result, want);
                e->flags |= BLOCK_FAILED;
                log_block(LOG_ERR, job->result, job->block, e->node, NULL, want,
                          "Failed to online memory%u (node %d) as %s: %s%m.", job->block, e->node,
                          want, job->result == -ETIMEDOUT ? "timed out, " : "");
                if (delay > 0) {
                        e->attempts++;
                        m->metrics.retries++;
                        log_info("Will retry memory%u in %" PRIu64 " s (attempt %u of %u).",
                                 job->block, delay / USEC_PER_SEC, e->attempts, RETRY_WRITE_MAX);
                        e->flags &= (uint16_t)~BLOCK_FAILED;
                        e->flags |= BLOCK_AWAIT_RETRY; /* keeps the pass away until the timer */
                        delay_block(m, job->block, delay);
                } else {
                        log_warning("Leaving memory%u offline until the next full scan or "
                                    "reload.",
                                    job->block);
                }
        }
out:
        if (writer_pending(m->writer) == 0 && m->n_deferred > 0) {
                uint32_t *d = TAKE_PTR(m->deferred);
                size_t n = m->n_deferred;

                m->n_deferred = m->deferred_allocated = 0;
                for (size_t i = 0; i < n; i++) {
                        BlockEntry *b = blockmap_peek(&m->blocks, d[i]);

                        if (b)
                                b->flags &= (uint16_t)~BLOCK_DEFERRED;
                        manager_queue_block(m, d[i]);
                }
                free(d);
        }
        manager_check_startup_done(m);
}

int manager_setup_blocks(Manager *m)
{
        int r;

        r = sd_event_add_defer(m->event, &m->process_source, on_process, m);
        if (r < 0)
                return r;
        /* After I/O: a whole burst of uevents is read before the pass that handles it. */
        (void)sd_event_source_set_priority(m->process_source, SD_EVENT_PRIORITY_NORMAL + 10);
        (void)sd_event_source_set_enabled(m->process_source, SD_EVENT_OFF);
        /* 1 ms accuracy: sd-event's default (accuracy 0) is 250 ms, which stretched the
         * ~1 s of node-link and source lookups (1, 2, 4, 8 ms, then 10 ms) to ~26 s. */
        r = sd_event_add_time(m->event, &m->delay_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                              on_delay_timer, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(m->delay_timer, SD_EVENT_OFF);
        r = sd_event_add_time(m->event, &m->held_pass_timer, CLOCK_MONOTONIC, UINT64_MAX,
                              USEC_PER_MSEC, on_held_pass, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(m->held_pass_timer, SD_EVENT_OFF);
        manager_arm_rescan_timer(m);
        return 0;
}
