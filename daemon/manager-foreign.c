/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocks that another onliner put online before memhpd decided them: plain `daxctl
 * reconfigure-device -m system-ram`, the kernel's auto_online_blocks, a udev rule, a script.
 * memhpd leaves them where they are (no fight) and says so once per device and burst, not
 * once per block: a dax device of 64 GiB is 512 blocks.
 *
 * A block is "fresh" from its add until memhpd decides it (writes it, leaves it offline, gives
 * up) or finds it online (another onliner came first). A device's burst is over when none of
 * its blocks is fresh any more: then its count is reported. The report waits a few
 * milliseconds more, at a lower priority than the uevent socket and the pass, so that adds
 * already queued for the same device are read first; no timer runs while nothing is pending.
 * Blocks without a device (no firmware_node yet, boot memory, balloons) are reported one by
 * one, as they come. Memory: a few counters per device, nothing per block beyond one flag.
 */
#include <inttypes.h>

#include "blocklog.h"
#include "log.h"
#include "manager.h"
#include "placement.h"
#include "time-util.h"

#define FOREIGN_REPORT_DELAY_USEC (10 * USEC_PER_MSEC)
#define FOREIGN_NODE_MIXED (-2)

static Device *block_device(Manager *m, const BlockEntry *e)
{
        return e->device ? (Device *)manager_device(m, e->device) : NULL;
}

/* Who usually does this, for the log: daxctl onlines its own devices unless --no-online. */
static const char *other_onliner(MemSource source)
{
        return source == MEM_SOURCE_DAX ? "daxctl?"
                                        : "kernel auto_online_blocks, a udev rule or a tool?";
}

static void zones_text(uint8_t zones, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = 0;
        for (int z = MEM_ZONE_UNKNOWN + 1; z < _MEM_ZONE_MAX && z < 8; z++)
                if (zones & (1U << z)) {
                        int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                                         mem_zone_to_string((MemZone)z));
                        if (w < 0 || (size_t)w >= size - n)
                                return;
                        n += (size_t)w;
                }
}

static void report(Device *d)
{
        char zones[64], node[24] = "";
        const char *backing = dax_backing_to_string(d->backing);

        if (d->n_foreign == 0)
                return;
        zones_text(d->foreign_zones, zones, sizeof(zones));
        if (d->foreign_node >= 0)
                (void)snprintf(node, sizeof(node), ", node %d", d->foreign_node);
        log_full(d->n_misplaced ? LOG_WARNING : LOG_NOTICE,
                 "%s (%s%s%s%s): %" PRIu32 " of its %" PRIu32 " blocks onlined by another onliner "
                 "(%s) before memhpd, zone %s; left as they are%s%s.",
                 d->id, mem_source_to_string(d->source), d->backing != DAX_BACKING_NONE ? ", " : "",
                 d->backing != DAX_BACKING_NONE ? backing : "", node, d->n_foreign, d->n_blocks,
                 other_onliner(d->source), zones[0] ? zones : "unknown",
                 d->n_misplaced ? ", though not where its policy puts them: " : "",
                 d->n_misplaced ? "change the other onliner or memhpd's policy" : "");
        d->n_foreign = d->n_misplaced = 0;
        d->foreign_zones = 0;
}

static int on_report(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s;
        (void)usec;
        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];

                /* Still undecided blocks: the burst goes on, their settling re-arms. */
                if (d->id[0] && d->n_foreign > 0 && d->n_fresh == 0)
                        report(d);
        }
        return 0;
}

static void arm_report(Manager *m)
{
        int enabled = 0;

        if (!m->foreign_timer) {
                if (sd_event_add_time_relative(m->event, &m->foreign_timer, CLOCK_MONOTONIC,
                                               FOREIGN_REPORT_DELAY_USEC, USEC_PER_MSEC, on_report,
                                               m) < 0) {
                        log_debug("Failed to arm the timer that reports other onliners.");
                        return;
                }
                /* After the uevent socket and the pass: what is queued is read first. */
                (void)sd_event_source_set_priority(m->foreign_timer, SD_EVENT_PRIORITY_NORMAL + 20);
                (void)sd_event_source_set_enabled(m->foreign_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_source_get_enabled(m->foreign_timer, &enabled) >= 0 && enabled)
                return;
        (void)sd_event_source_set_time_relative(m->foreign_timer, FOREIGN_REPORT_DELAY_USEC);
        (void)sd_event_source_set_enabled(m->foreign_timer, SD_EVENT_ONESHOT);
}

void manager_block_fresh(Manager *m, BlockEntry *e)
{
        Device *d = block_device(m, e);

        if (e->flags & BLOCK_FRESH)
                return;
        e->flags |= BLOCK_FRESH;
        if (d)
                d->n_fresh++;
}

/* Clears the flag; true if it was set. */
static bool unfresh(Manager *m, BlockEntry *e)
{
        Device *d = block_device(m, e);

        if (!(e->flags & BLOCK_FRESH))
                return false;
        e->flags &= (uint16_t)~BLOCK_FRESH;
        if (d && d->n_fresh > 0 && --d->n_fresh == 0 && d->n_foreign > 0)
                arm_report(m);
        return true;
}

void manager_block_decided(Manager *m, BlockEntry *e)
{
        (void)unfresh(m, e);
}

void manager_block_foreign(Manager *m, uint32_t block, BlockEntry *e, MemZone zone, MemAction want)
{
        bool misplaced = !mem_action_zone_matches(want, zone); /* NONE: not known */
        const char *z = zone == MEM_ZONE_UNKNOWN ? "unknown" : mem_zone_to_string(zone);
        MemSource source = (MemSource)(e->source & BLOCK_SOURCE_MASK);
        Device *d = block_device(m, e);
        int node;

        if (!(e->flags & BLOCK_FRESH))
                return;
        /* Found online, the pass never looked for its node: the log says where it went. */
        if (e->node < 0 &&
            placement_block_node(m->sysfs, m->numa, block, e, m->node_hint, &node) >= 0)
                e->node = (int16_t)node;
        if (!d) {
                (void)unfresh(m, e);
                if (misplaced)
                        log_block(LOG_WARNING, 0, block, e->node, z, "already-online",
                                  "memory%u (node %d) was already online in zone %s, not where "
                                  "%s would put it: another onliner (%s) came first; left as it "
                                  "is.",
                                  block, e->node, z, mem_action_to_string(want),
                                  other_onliner(source));
                else
                        log_block(LOG_INFO, 0, block, e->node, z, "already-online",
                                  "memory%u (node %d): already online in zone %s, onlined by "
                                  "another onliner (%s) before memhpd; left as it is.",
                                  block, e->node, z, other_onliner(source));
                return;
        }
        /* Counted before the flag goes, so that the report includes it. */
        d->n_foreign++;
        d->n_misplaced += misplaced;
        if (zone > MEM_ZONE_UNKNOWN && zone < 8)
                d->foreign_zones |= (uint8_t)(1U << zone);
        if (d->n_foreign == 1 || d->foreign_node == MEMBLOCK_NODE_NONE)
                d->foreign_node = e->node;
        else if (e->node >= 0 && d->foreign_node != e->node)
                d->foreign_node = FOREIGN_NODE_MIXED;
        log_debug("memory%u (%s): online in zone %s before memhpd decided it.", block, d->id, z);
        (void)unfresh(m, e);
}

void manager_foreign_attach(Manager *m, BlockEntry *e, Device *d)
{
        (void)m;
        if (e->flags & BLOCK_FRESH)
                d->n_fresh++;
}

void manager_foreign_detach(Manager *m, BlockEntry *e, Device *d, bool last)
{
        if ((e->flags & BLOCK_FRESH) && d->n_fresh > 0 && --d->n_fresh == 0 && d->n_foreign > 0)
                arm_report(m);
        /* Its last block goes: say what there is to say before the device is forgotten. */
        if (last)
                report(d);
}

void manager_foreign_free(Manager *m)
{
        m->foreign_timer = sd_event_source_disable_unref(m->foreign_timer);
}
