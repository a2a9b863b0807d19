/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where each block came from (lib/memsource.h) and the devices that group blocks.
 *
 * A block is resolved when the daemon first sees it. The snapshot of dax devices, /proc/iomem
 * and balloon drivers (SourceMap) is kept while it explains the blocks that arrive, and rebuilt
 * at most once per pass when one it cannot explain comes (a new virtio-mem range, a new dax
 * device) or after a block went (its address may be reused by another device).
 *
 * The one answer that can change after the add is "no device covers it": an ACPI memory
 * device's firmware_node appears only after the add uevents. Such a block waits, bounded like
 * the node link, only when being a DIMM would change its policy; otherwise it is decided at once
 * and looked at once more a little later, so the DIMM still gets its device id.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "caps.h"
#include "log.h"
#include "manager.h"
#include "placement.h"
#include "retry.h"
#include "strutil.h"
#include "time-util.h"

#define RULE_MAX POLICY_RULE_TEXT_MAX
/* A decided block whose firmware_node may still appear is looked at again after 1, 4 and 16 s
 * (the kernel links it right after adding the device; a loaded machine may take longer). */
#define RECHECK_USEC (1 * USEC_PER_SEC)
#define RECHECK_ROUNDS 3

typedef struct Recheck {
        uint32_t block;
        uint8_t round;
        uint64_t due_usec;
} Recheck;

int manager_sources_setup(Manager *m)
{
        CapsDropped dropped = {};
        int r;

        /* The kernel shows real addresses to readers whose open had CAP_SYS_ADMIN: open now,
         * while memhpd may still have it, and re-read through this fd for ever after. */
        m->iomem_fd = openat(m->sysfs->root_fd, "proc/iomem", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (m->iomem_fd < 0) {
                m->iomem_fd = -EBADF;
                log_info("Cannot open %s/proc/iomem (%m): virtio-mem memory will count as "
                         "unknown.",
                         streq(m->sysroot, "/") ? "" : m->sysroot);
        }
        r = caps_drop(CAP_SYS_ADMIN, &dropped);
        if (r < 0)
                return log_error_errno(r, "Failed to drop CAP_SYS_ADMIN after opening "
                                          "proc/iomem: %m");
        if (dropped.permitted)
                log_info("Opened proc/iomem, then dropped CAP_SYS_ADMIN (%s).",
                         dropped.bounding ? "effective, permitted and bounding sets"
                         : dropped.no_new_privs
                                 ? "effective and permitted sets; no CAP_SETPCAP to shrink the "
                                   "bounding set, and NoNewPrivileges= keeps it out of reach"
                                 : "effective and permitted sets; no CAP_SETPCAP to shrink the "
                                   "bounding set");
        return 0;
}

void manager_sources_free(Manager *m)
{
        m->source_map = memsource_map_free(m->source_map);
        m->recheck_timer = sd_event_source_disable_unref(m->recheck_timer);
        free(m->recheck);
        m->recheck = NULL;
        m->n_recheck = m->recheck_allocated = 0;
        free(m->devices);
        m->devices = NULL;
        m->n_devices = m->devices_allocated = 0;
        if (m->iomem_fd >= 0)
                (void)close(m->iomem_fd);
        m->iomem_fd = -EBADF;
}

const Device *manager_device(const Manager *m, uint16_t device)
{
        if (device == 0 || device > m->n_devices || !m->devices[device - 1].id[0])
                return NULL;
        return &m->devices[device - 1];
}

const Device *manager_device_find(const Manager *m, const char *id)
{
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i].id[0] && streq(m->devices[i].id, id))
                        return &m->devices[i];
        return NULL;
}

static MemSource block_source(const BlockEntry *e)
{
        return (MemSource)(e->source & BLOCK_SOURCE_MASK);
}

/* A new answer for the same block: the BLOCK_SOURCE_* bits stay. */
static void set_source(BlockEntry *e, MemSource s)
{
        e->source = (uint8_t)((e->source & ~BLOCK_SOURCE_MASK) | (unsigned)s);
}

/* Sources whose blocks an ACPI memory device may still claim once its firmware_node appears. */
static bool source_provisional(MemSource s)
{
        return s == MEM_SOURCE_UNKNOWN || s == MEM_SOURCE_HYPERV_BALLOON ||
               s == MEM_SOURCE_XEN_BALLOON;
}

static bool could_be_dimm(const Manager *m, const BlockEntry *e)
{
        return (e->source & BLOCK_SOURCE_KNOWN) && source_provisional(block_source(e)) &&
               m->source_map && m->source_map->acpi_memory;
}

void manager_sources_pass_begin(Manager *m)
{
        m->source_map_fresh = false;
}

static int build_map(Manager *m)
{
        SourceMap *map = NULL;
        int r;

        r = memsource_map_build(m->sysfs, m->iomem_fd, &map);
        if (r < 0)
                return log_debug_errno(r, "Failed to read the sources of memory: %m");
        memsource_map_free(m->source_map);
        m->source_map = map;
        m->source_map_fresh = true;
        if (map->iomem_hidden && !m->iomem_hidden_logged) {
                m->iomem_hidden_logged = true;
                log_notice("proc/iomem shows no addresses (memhpd lacked CAP_SYS_ADMIN when it "
                           "opened it): virtio-mem memory cannot be told from other memory and "
                           "counts as unknown.");
        }
        return 0;
}

static void device_changed(Manager *m, const Device *d, const char *change)
{
        log_debug("Device %s (%s) %s.", d->id, mem_source_to_string(d->source), change);
        if (m->device_changed)
                m->device_changed(m, d, change);
}

/* The slot of @info's device, interned on first use; 0 when the table is full. */
static uint16_t device_intern(Manager *m, const MemSourceInfo *info)
{
        size_t slot = SIZE_MAX;
        Device *d;

        /* Blocks come in address order: most are the last device's. */
        if (m->last_device > 0 && m->last_device <= m->n_devices &&
            streq(m->devices[m->last_device - 1].id, info->device))
                return m->last_device;
        for (size_t i = 0; i < m->n_devices; i++) {
                if (streq(m->devices[i].id, info->device))
                        return m->last_device = (uint16_t)(i + 1);
                if (slot == SIZE_MAX && !m->devices[i].id[0])
                        slot = i;
        }
        if (slot == SIZE_MAX) {
                if (m->n_devices >= UINT16_MAX)
                        return 0;
                if (GREEDY_REALLOC(m->devices, m->devices_allocated, m->n_devices + 1) < 0) {
                        log_oom();
                        return 0;
                }
                slot = m->n_devices++;
        }
        d = &m->devices[slot];
        *d = (Device){.source = info->source, .backing = info->backing};
        strcpy(d->id, info->device);
        return m->last_device = (uint16_t)(slot + 1);
}

void manager_block_source_forget(Manager *m, BlockEntry *e)
{
        Device *d = e->device ? (Device *)manager_device(m, e->device) : NULL;

        if (d)
                manager_foreign_detach(m, e, d, d->n_blocks == 1);
        if (d && d->n_blocks > 0 && --d->n_blocks == 0) {
                device_changed(m, d, "removed");
                d->id[0] = 0;
        }
        /* Its address may be another device's next: the snapshot is stale. */
        if (e->device || block_source(e) == MEM_SOURCE_VIRTIO_MEM ||
            block_source(e) == MEM_SOURCE_DAX)
                m->source_map = memsource_map_free(m->source_map);
        e->device = 0;
        /* Its place on the recheck list stays: the list skips blocks without the bit. */
        e->source = MEM_SOURCE_UNKNOWN;
}

static void block_attach(Manager *m, uint32_t block, BlockEntry *e, const MemSourceInfo *info)
{
        uint16_t slot = info->device[0] ? device_intern(m, info) : 0;
        uint64_t start, end;
        uint8_t bits;
        Device *d;

        if (slot != 0 && slot == e->device) {
                set_source(e, info->source);
                return;
        }
        bits = (uint8_t)(e->source & ~BLOCK_SOURCE_MASK);
        manager_block_source_forget(m, e);
        e->source = (uint8_t)(bits | BLOCK_SOURCE_KNOWN | (unsigned)info->source);
        if (slot == 0)
                return;
        d = &m->devices[slot - 1];
        e->device = slot;
        manager_foreign_attach(m, e, d);
        /* A DIMM's range is its blocks: ACPI memory devices are added block by block. */
        start = info->start;
        end = info->end;
        if (!start && !end && m->block_size && (uint64_t)block <= UINT64_MAX / m->block_size - 1) {
                start = (uint64_t)block * m->block_size;
                end = start + m->block_size - 1;
        }
        if (start || end) {
                d->start = d->n_blocks ? MIN(d->start, start) : start;
                d->end = d->n_blocks ? MAX(d->end, end) : end;
        }
        if (d->n_blocks++ == 0)
                device_changed(m, d, "added");
}

static int resolve_with_map(Manager *m, uint32_t block, SourceFlags flags, MemSourceInfo *ret)
{
        int r;

        if (!m->source_map) {
                r = build_map(m);
                if (r < 0)
                        return r;
        }
        r = memsource_resolve(m->source_map, m->sysfs, block, m->block_size, flags, ret);
        /* Unexplained by an old snapshot: it may be a range that came since, unless the old
         * one already had it as plain System RAM (a DIMM whose firmware_node is late: each
         * of its blocks' passes would read all of proc/iomem and the buses again). */
        if (r >= 0 && source_provisional(ret->source) && !m->source_map_fresh &&
            !memsource_map_plain_ram(m->source_map, block, m->block_size) && build_map(m) >= 0)
                r = memsource_resolve(m->source_map, m->sysfs, block, m->block_size, flags, ret);
        return r;
}

void manager_block_resolve(Manager *m, uint32_t block, BlockEntry *e, MemState st)
{
        MemSourceInfo info;
        SourceFlags flags = 0;
        int r;

        if ((e->source & BLOCK_SOURCE_KNOWN) && !could_be_dimm(m, e))
                return;
        /* Found by the coldplug scan (not added since: no add uevent made it fresh), and
         * nothing else claims it: boot memory, online, or offlined by someone on purpose. */
        if (!(e->source & BLOCK_SOURCE_KNOWN) && !m->startup_done && st == MEM_STATE_ONLINE)
                flags |= SOURCE_ONLINE_AT_START;
        else if (!(e->source & BLOCK_SOURCE_KNOWN) && !m->startup_done && st == MEM_STATE_OFFLINE &&
                 !(e->flags & BLOCK_FRESH))
                flags |= SOURCE_OFFLINE_AT_START;
        r = resolve_with_map(m, block, flags, &info);
        if (r < 0) {
                if (r != -ENOENT)
                        log_debug_errno(r, "Failed to resolve the source of memory%u: %m", block);
                return;
        }
        if (!(e->source & BLOCK_SOURCE_KNOWN) || info.source != block_source(e))
                log_debug("memory%u: source %s%s%s.", block, mem_source_to_string(info.source),
                          info.device[0] ? ", device " : "", info.device);
        block_attach(m, block, e, &info);
}

MemSource manager_block_source(Manager *m, uint32_t block, const Device **ret_device)
{
        BlockEntry *e = blockmap_peek(&m->blocks, block);

        if (e && (e->flags & BLOCK_PRESENT) && could_be_dimm(m, e))
                manager_block_resolve(m, block, e, (MemState)e->state);
        if (ret_device)
                *ret_device = e ? manager_device(m, e->device) : NULL;
        return e && (e->source & BLOCK_SOURCE_KNOWN) ? block_source(e) : MEM_SOURCE_UNKNOWN;
}

/* The policy of @source on @node and the rule that gave it, as memhpd.conf(5) spells it. */
static Policy source_policy(const Manager *m, int node, MemSource source, char *rule, size_t size)
{
        PolicyChoice ch = conf_policy_for(m->config, m->platform, node, source);

        policy_choice_format(ch, node, source, rule, size);
        return ch.policy;
}

static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata);
static void announce(Manager *m, uint32_t block, const BlockEntry *e, int node, Policy policy,
                     const char *rule);

static void recheck_arm(Manager *m, uint64_t due)
{
        uint64_t armed = UINT64_MAX;
        int enabled = 0;

        if (!m->recheck_timer) {
                if (sd_event_add_time(m->event, &m->recheck_timer, CLOCK_MONOTONIC, due,
                                      USEC_PER_SEC / 10, on_recheck, m) < 0)
                        log_debug("Failed to arm the device recheck timer.");
                return;
        }
        if (sd_event_source_get_enabled(m->recheck_timer, &enabled) < 0 || !enabled ||
            sd_event_source_get_time(m->recheck_timer, &armed) < 0 || due < armed) {
                (void)sd_event_source_set_time(m->recheck_timer, due);
                (void)sd_event_source_set_enabled(m->recheck_timer, SD_EVENT_ONESHOT);
        }
}

static void recheck_push(Manager *m, uint32_t block, uint8_t round)
{
        uint64_t due = now_usec() + (RECHECK_USEC << (2 * round));

        if (GREEDY_REALLOC(m->recheck, m->recheck_allocated, m->n_recheck + 1) < 0)
                return (void)log_oom();
        m->recheck[m->n_recheck++] = (Recheck){.block = block, .round = round, .due_usec = due};
        recheck_arm(m, due);
}

static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        uint64_t now = now_usec(), next = UINT64_MAX;
        size_t n = m->n_recheck, j = 0;

        (void)s;
        (void)usec;
        manager_sources_pass_begin(m);
        for (size_t i = 0; i < n; i++) {
                Recheck rc = m->recheck[i];
                BlockEntry *e = blockmap_peek(&m->blocks, rc.block);
                const Device *d;

                if (rc.due_usec > now) {
                        next = MIN(next, rc.due_usec);
                        m->recheck[j++] = rc;
                        continue;
                }
                if (!e || !(e->source & BLOCK_SOURCE_RECHECK))
                        continue;
                e->source &= (uint8_t)~BLOCK_SOURCE_RECHECK;
                if (!(e->flags & BLOCK_PRESENT))
                        continue;
                manager_block_resolve(m, rc.block, e, (MemState)e->state);
                d = manager_device(m, e->device);
                if (d && !d->announced) {
                        int node;

                        /* Onlined by the kernel (handed off), the block was never placed. */
                        if (e->node < 0 && placement_block_node(m->sysfs, m->numa, rc.block, e,
                                                                m->node_hint, &node) >= 0)
                                e->node = (int16_t)node;
                        ((Device *)d)->announced = true;
                        log_info("%s (%s, node %d): its blocks were decided before its "
                                 "firmware_node appeared, by a policy that is the same for a "
                                 "DIMM.",
                                 d->id, mem_source_to_string(d->source), e->node);
                } else if (could_be_dimm(m, e) && rc.round + 1 < RECHECK_ROUNDS) {
                        /* Kept in the list (j only grows): m->recheck may move in push. */
                        e->source |= BLOCK_SOURCE_RECHECK;
                        rc.round++;
                        rc.due_usec = now + (RECHECK_USEC << (2 * rc.round));
                        next = MIN(next, rc.due_usec);
                        m->recheck[j++] = rc;
                } else if (!d && could_be_dimm(m, e)) {
                        /* No DIMM after all: now its source may be said (announce()). */
                        char rule[RULE_MAX];
                        int node = e->node < 0 ? 0 : e->node;
                        Policy policy = source_policy(m, node, block_source(e), rule, sizeof(rule));

                        e->source |= BLOCK_SOURCE_GAVE_UP;
                        announce(m, rc.block, e, node, policy, rule);
                }
        }
        m->n_recheck = j;
        if (j > 0)
                recheck_arm(m, next);
        return 0;
}

static void recheck_later(Manager *m, uint32_t block, BlockEntry *e)
{
        if (e->source & BLOCK_SOURCE_RECHECK)
                return;
        e->source |= BLOCK_SOURCE_RECHECK;
        recheck_push(m, block, 0);
}

void manager_block_handed_off(Manager *m, uint32_t block, BlockEntry *e)
{
        /* The kernel's one setting is every source's policy (lib/handoff.h), a DIMM's too: the
         * block is decided without waiting, and its device is looked for later, as after a
         * decision of memhpd's own (which a block the kernel onlined never reaches). */
        if (could_be_dimm(m, e))
                recheck_later(m, block, e);
}

static void announce(Manager *m, uint32_t block, const BlockEntry *e, int node, Policy policy,
                     const char *rule)
{
        Device *d = e->device ? (Device *)manager_device(m, e->device) : NULL;
        const char *source = mem_source_to_string(block_source(e));
        uint8_t bit = (uint8_t)(1U << block_source(e));

        log_debug("memory%u (%s, node %d): %s from %s.", block, source, node,
                  policy_to_string(policy), rule);
        if (d) {
                if (d->announced)
                        return;
                d->announced = true;
                log_info("%s (%s%s%s, node %d): %s from %s.", d->id, source,
                         d->backing != DAX_BACKING_NONE ? ", " : "",
                         dax_backing_to_string(d->backing), node, policy_to_string(policy), rule);
                return;
        }
        /*
         * A DIMM's blocks are decided before its firmware_node exists when both policies agree:
         * "source unknown" would be wrong for them. on_recheck() says it if no DIMM shows up.
         */
        if (could_be_dimm(m, e) && !(e->source & BLOCK_SOURCE_GAVE_UP))
                return;
        if (m->announced[node] & bit)
                return;
        m->announced[node] |= bit;
        if (block_source(e) == MEM_SOURCE_UNKNOWN)
                log_info("memory%u (node %d): no ACPI memory device, virtio-mem or dax range "
                         "covers it, source unknown: %s from %s (further such blocks of node %d "
                         "are logged at debug).",
                         block, node, policy_to_string(policy), rule, node);
        else
                log_info("%s memory on node %d (memory%u first): %s from %s.", source, node, block,
                         policy_to_string(policy), rule);
}

SourceVerdict manager_block_policy(Manager *m, uint32_t block, BlockEntry *e, int node,
                                   Policy *ret_policy, uint64_t *ret_delay_usec)
{
        char rule[RULE_MAX], dimm_rule[RULE_MAX];
        Policy policy, dimm;

        if (node < 0 || (unsigned)node >= MEMHP_MAX_NODES)
                node = 0;
        policy = source_policy(m, node, block_source(e), rule, sizeof(rule));
        if (could_be_dimm(m, e) && !(e->source & BLOCK_SOURCE_GAVE_UP)) {
                dimm = source_policy(m, node, MEM_SOURCE_DIMM, dimm_rule, sizeof(dimm_rule));
                if (dimm != policy) {
                        uint64_t delay = retry_node_link_delay_usec(++e->attempts);

                        if (delay > 0) {
                                e->source |= BLOCK_SOURCE_SETTLING;
                                *ret_delay_usec = delay;
                                return SOURCE_WAIT;
                        }
                        e->source |= BLOCK_SOURCE_GAVE_UP;
                        log_notice("memory%u (node %d): no firmware_node after %u lookups over "
                                   "~1 s, so no ACPI memory device claims it: as %s it gets %s "
                                   "from %s (a DIMM would get %s from %s).",
                                   block, node, RETRY_NODE_LINK_TRIES,
                                   mem_source_to_string(block_source(e)), policy_to_string(policy),
                                   rule, policy_to_string(dimm), dimm_rule);
                } else
                        recheck_later(m, block, e);
        }
        if (e->source & BLOCK_SOURCE_SETTLING) {
                e->source &= (uint8_t)~BLOCK_SOURCE_SETTLING;
                e->attempts = 0;
        }
        announce(m, block, e, node, policy, rule);
        *ret_policy = policy;
        return SOURCE_DECIDED;
}

void manager_sources_reset_announced(Manager *m)
{
        memset(m->announced, 0, sizeof(m->announced));
        for (size_t i = 0; i < m->n_devices; i++)
                m->devices[i].announced = false;
}
