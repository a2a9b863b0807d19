/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DeviceChanged(device, source, change). "added" and "removed" come from source resolution
 * (the device_changed observer) and are sent at once. "changed" means the device's count of
 * online blocks changed: a block of it went online or stopped being online. A device offline or
 * a virtio-mem resize changes hundreds of blocks in a row, so "changed" is coalesced: each
 * device is queued once and sent when the event loop is idle, or once the bus's write queue has
 * drained. The queue holds each device once, so memory is bounded by the number of devices
 * however slow the subscribers are.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "alloc-util.h"
#include "log.h"
#include "manager-devices.h"
#include "memhp-api.h"
#include "strutil.h"
#include "time-util.h"

#define DEVICE_QUEUE_MAX 1024U
#define DEVICE_FLUSH_RETRY_USEC (10 * USEC_PER_MSEC)

typedef struct PendingDevice {
        char id[MEMSOURCE_DEVICE_MAX];
        MemSource source;
} PendingDevice;

struct DeviceSignals {
        PendingDevice *pending;
        size_t n_pending, allocated;
        sd_event_source *flush;
};

static bool bus_up(Manager *m)
{
        return m->bus && sd_bus_is_ready(m->bus) > 0;
}

static bool queue_full(Manager *m)
{
        uint64_t n = 0;

        return sd_bus_get_n_queued_write(m->bus, &n) >= 0 && n >= DEVICE_QUEUE_MAX;
}

static void emit(Manager *m, const char *id, MemSource source, const char *change)
{
        (void)sd_bus_emit_signal(m->bus, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE, "DeviceChanged",
                                 "sss", id, mem_source_to_string(source), change);
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        DeviceSignals *ds = m->device_signals;
        size_t i = 0;

        (void)usec;
        for (; i < ds->n_pending && bus_up(m) && !queue_full(m); i++)
                emit(m, ds->pending[i].id, ds->pending[i].source, MEMHP_DEVICE_CHANGED);
        /* Nobody to tell: a new connection starts from ListDevices, not from old news. */
        if (!bus_up(m))
                i = ds->n_pending;
        memmove(ds->pending, ds->pending + i, (ds->n_pending - i) * sizeof(*ds->pending));
        ds->n_pending -= i;
        if (ds->n_pending == 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return sd_event_source_set_time_relative(s, DEVICE_FLUSH_RETRY_USEC);
}

static int arm_flush(Manager *m, DeviceSignals *ds)
{
        int r;

        if (!ds->flush) {
                /* Accuracy 1 us: the default 250 ms would delay every signal that long. */
                r = sd_event_add_time_relative(m->event, &ds->flush, CLOCK_MONOTONIC, 0, 1,
                                               on_flush, m);
                if (r < 0)
                        return r;
                /* After the pass that changed the blocks: one signal for all of them. */
                return sd_event_source_set_priority(ds->flush, SD_EVENT_PRIORITY_IDLE);
        }
        r = sd_event_source_set_time_relative(ds->flush, 0);
        if (r >= 0)
                r = sd_event_source_set_enabled(ds->flush, SD_EVENT_ONESHOT);
        return r;
}

static void queue_changed(Manager *m, const Device *dev)
{
        DeviceSignals *ds = m->device_signals;

        if (!ds || !bus_up(m))
                return;
        /* A burst changes one device's blocks in a row: its entry is usually the last one. */
        for (size_t i = ds->n_pending; i > 0; i--)
                if (streq(ds->pending[i - 1].id, dev->id))
                        return;
        if (GREEDY_REALLOC(ds->pending, ds->allocated, ds->n_pending + 1) < 0) {
                log_warning("Out of memory: DeviceChanged for %s not sent.", dev->id);
                return;
        }
        if (ds->n_pending == 0 && arm_flush(m, ds) < 0) {
                log_warning("Failed to arm the DeviceChanged timer: %s not sent.", dev->id);
                return;
        }
        ds->pending[ds->n_pending] = (PendingDevice){.source = dev->source};
        memcpy(ds->pending[ds->n_pending].id, dev->id, sizeof(dev->id));
        ds->n_pending++;
}

static void on_block_changed(Manager *m, uint32_t block, BlockEntry *e)
{
        bool online = (e->flags & BLOCK_PRESENT) && e->state == MEM_STATE_ONLINE;
        const Device *dev;

        manager_emit_block_changed(m, block, e);
        if (online == !!(e->flags & BLOCK_COUNTED_ONLINE))
                return;
        if (online)
                e->flags |= BLOCK_COUNTED_ONLINE;
        else
                e->flags &= (uint16_t)~BLOCK_COUNTED_ONLINE;
        (void)manager_block_source(m, block, &dev);
        if (dev)
                queue_changed(m, dev);
}

static void on_device_changed(Manager *m, const Device *dev, const char *change)
{
        DeviceSignals *ds = m->device_signals;

        if (!bus_up(m))
                return;
        /* A device that is gone has no count left to report. */
        if (ds && streq(change, MEMHP_DEVICE_REMOVED))
                for (size_t i = 0; i < ds->n_pending; i++)
                        if (streq(ds->pending[i].id, dev->id)) {
                                memmove(ds->pending + i, ds->pending + i + 1,
                                        (ds->n_pending - i - 1) * sizeof(*ds->pending));
                                ds->n_pending--;
                                break;
                        }
        emit(m, dev->id, dev->source, change);
}

void manager_device_signals_start(Manager *m)
{
        if (!m->device_signals) {
                m->device_signals = calloc(1, sizeof(*m->device_signals));
                if (!m->device_signals) {
                        log_warning("Out of memory: DeviceChanged is not sent.");
                        return;
                }
        }
        /* The count starts from what the table holds now. */
        for (uint32_t id = 0; blockmap_next(&m->blocks, &id); id++) {
                BlockEntry *e = blockmap_peek(&m->blocks, id);

                if (e->state == MEM_STATE_ONLINE)
                        e->flags |= BLOCK_COUNTED_ONLINE;
                else
                        e->flags &= (uint16_t)~BLOCK_COUNTED_ONLINE;
        }
        m->block_changed = on_block_changed;
        m->device_changed = on_device_changed;
}

void manager_device_signals_free(Manager *m)
{
        DeviceSignals *ds = m->device_signals;

        if (!ds)
                return;
        sd_event_source_disable_unref(ds->flush);
        free(ds->pending);
        free(ds);
        m->device_signals = NULL;
}
