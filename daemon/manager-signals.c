/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BlockChanged with a bounded queue. sd-bus keeps every message it could not write yet, so a
 * subscriber that reads slower than blocks change (or not at all: a stopped memhpctl monitor,
 * a stalled dbus-daemon) would grow memhpd by a message per change, without bound, in a storm
 * of 65,536 blocks about 25 MiB. Past SIGNAL_QUEUE_MAX unsent messages, changed blocks wait in
 * a backlog that holds each block once, and a timer sends them, with the state they have by
 * then, as the queue drains: memory is bounded by the number of blocks, subscribers still see
 * every block's latest state, in the order the blocks first changed, and only intermediate
 * states of a block that changed again while it waited are skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "alloc-util.h"
#include "log.h"
#include "manager.h"
#include "memhp-api.h"
#include "memblock.h"
#include "time-util.h"

#define SIGNAL_QUEUE_MAX 1024U
#define SIGNAL_FLUSH_USEC (10 * USEC_PER_MSEC)

static void send_block_changed(Manager *m, uint32_t block, const BlockEntry *e)
{
        const char *st, *zone = "";

        if (!(e->flags & BLOCK_PRESENT))
                st = MEMHP_STATE_REMOVED;
        else if (e->state < 0)
                return;
        else {
                st = mem_state_to_string((MemState)e->state);
                if (e->state == MEM_STATE_ONLINE)
                        zone = mem_zone_to_string((MemZone)e->zone);
        }
        (void)sd_bus_emit_signal(m->bus, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE, "BlockChanged", "uss",
                                 block, st, zone);
}

static bool bus_up(Manager *m)
{
        return m->bus && sd_bus_is_ready(m->bus) > 0;
}

static bool queue_full(Manager *m)
{
        uint64_t n = 0;

        return sd_bus_get_n_queued_write(m->bus, &n) >= 0 && n >= SIGNAL_QUEUE_MAX;
}

static int on_signal_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        size_t i = 0;

        (void)s;
        (void)usec;
        for (; i < m->n_signal_backlog && bus_up(m) && !queue_full(m); i++) {
                uint32_t block = m->signal_backlog[i];
                BlockEntry *e = blockmap_peek(&m->blocks, block);

                /* A block forgotten and seen anew since it was queued has its own entry. */
                if (!e || !(e->flags & BLOCK_SIGNAL_PENDING))
                        continue;
                e->flags &= ~BLOCK_SIGNAL_PENDING;
                send_block_changed(m, block, e);
        }
        if (!bus_up(m)) {
                /* Nobody to tell: a new connection starts from ListBlocks, not from old news. */
                for (; i < m->n_signal_backlog; i++) {
                        BlockEntry *e = blockmap_peek(&m->blocks, m->signal_backlog[i]);
                        if (e)
                                e->flags &= ~BLOCK_SIGNAL_PENDING;
                }
        }
        memmove(m->signal_backlog, m->signal_backlog + i,
                (m->n_signal_backlog - i) * sizeof(*m->signal_backlog));
        m->n_signal_backlog -= i;
        if (m->n_signal_backlog == 0)
                return sd_event_source_set_enabled(m->signal_flush, SD_EVENT_OFF);
        return sd_event_source_set_time_relative(m->signal_flush, SIGNAL_FLUSH_USEC);
}

static int arm_flush(Manager *m)
{
        int r;

        if (m->signal_flush) {
                r = sd_event_source_set_time_relative(m->signal_flush, SIGNAL_FLUSH_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->signal_flush, SD_EVENT_ONESHOT);
                return r;
        }
        return sd_event_add_time_relative(m->event, &m->signal_flush, CLOCK_MONOTONIC,
                                          SIGNAL_FLUSH_USEC, 0, on_signal_flush, m);
}

void manager_emit_block_changed(Manager *m, uint32_t block, BlockEntry *e)
{
        /* Before the bus is up signals would pile up in its write queue: nobody can hear them. */
        if (!bus_up(m))
                return;
        if (e->flags & BLOCK_SIGNAL_PENDING)
                return; /* the flush sends the state the block has then */
        if (m->n_signal_backlog == 0 && !queue_full(m)) {
                send_block_changed(m, block, e);
                return;
        }
        if (GREEDY_REALLOC(m->signal_backlog, m->signal_backlog_allocated,
                           m->n_signal_backlog + 1) < 0) {
                log_warning("Out of memory: BlockChanged for memory%u not sent.", block);
                return;
        }
        if (m->n_signal_backlog == 0 && arm_flush(m) < 0) {
                log_warning("Failed to arm the BlockChanged timer: memory%u not sent.", block);
                return;
        }
        m->signal_backlog[m->n_signal_backlog++] = block;
        e->flags |= BLOCK_SIGNAL_PENDING;
}

void manager_signals_free(Manager *m)
{
        for (size_t i = 0; i < m->n_signal_backlog; i++) {
                BlockEntry *e = blockmap_peek(&m->blocks, m->signal_backlog[i]);
                if (e)
                        e->flags &= ~BLOCK_SIGNAL_PENDING;
        }
        m->signal_flush = sd_event_source_disable_unref(m->signal_flush);
        free(m->signal_backlog);
        m->signal_backlog = NULL;
        m->n_signal_backlog = m->signal_backlog_allocated = 0;
}
