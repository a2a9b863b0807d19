/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Holds: a block that went offline without memhpd's policy asking for it (an operation, or an
 * admin writing sysfs) gets a record in the runtime directory, so the start-up coldplug after a
 * restart leaves it offline as the running daemon did. The record goes when the block is onlined
 * or removed. A reboot empties the runtime directory, and with it every hold.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "hold.h"
#include "log.h"
#include "manager.h"

void manager_hold_block(Manager *m, uint32_t block, BlockEntry *e)
{
        HoldRecord h = {.block = block};
        int r;

        if (e->held)
                return;
        e->held = 1;
        m->metrics.held_blocks++;
        if (m->runtime_fd < 0)
                return;
        r = hold_block_inode(m->sysfs, block, &h.inode);
        if (r >= 0)
                r = hold_save(m->runtime_fd, &h);
        if (r < 0)
                log_warning_errno(r,
                                  "Failed to record that memory%u is offline on purpose; a "
                                  "restart of memhpd would online it again: %m",
                                  block);
        else
                log_debug("memory%u is offline on purpose: held across restarts.", block);
}

void manager_hold_release(Manager *m, uint32_t block, BlockEntry *e, const char *why)
{
        int r;

        if (!e->held)
                return;
        e->held = 0;
        m->metrics.held_blocks--;
        if (m->runtime_fd < 0)
                return;
        r = hold_remove(m->runtime_fd, block);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the hold record of memory%u: %m", block);
        else
                log_debug("memory%u %s: hold released.", block, why);
}

/* After the start-up scan has marked present blocks, before the first pass applies policy. */
void manager_holds_restore(Manager *m)
{
        _cleanup_free_ HoldRecord *l = NULL;
        size_t n = 0, n_bad = 0, kept = 0;
        int r;

        if (m->runtime_fd < 0)
                return;
        r = hold_load_all(m->runtime_fd, &l, &n, &n_bad);
        if (r < 0) {
                log_warning_errno(r, "Failed to read hold records; blocks offlined on purpose "
                                     "before the restart get the policy: %m");
                return;
        }
        if (n_bad > 0)
                log_warning("Removed %zu damaged hold records.", n_bad);
        for (size_t i = 0; i < n; i++) {
                uint32_t block = l[i].block;
                BlockEntry *e = blockmap_peek(&m->blocks, block);
                bool present = e && (e->flags & BLOCK_PRESENT);
                MemState st = MEM_STATE_OFFLINE;
                uint64_t inode = 0;
                HoldVerdict v;

                if (present && (memblock_read_state(m->sysfs, block, &st) < 0 ||
                                hold_block_inode(m->sysfs, block, &inode) < 0))
                        present = false;
                v = hold_check(&l[i], present, st, inode);
                if (v == HOLD_KEEP) {
                        e->held = 1;
                        e->flags |= BLOCK_ADMIN_OFFLINE;
                        m->metrics.held_blocks++;
                        kept++;
                        log_debug("memory%u stays offline: held since before the restart.", block);
                        continue;
                }
                if (v == HOLD_ONLINE)
                        log_info("memory%u was onlined while memhpd was stopped: its hold is "
                                 "released.",
                                 block);
                else if (v == HOLD_REPLACED)
                        log_info("memory%u was removed and added again while memhpd was stopped: "
                                 "its hold no longer applies.",
                                 block);
                r = hold_remove(m->runtime_fd, block);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the hold record of memory%u: %m",
                                          block);
        }
        if (kept > 0)
                log_info("%zu memory blocks offlined on purpose before the restart stay offline "
                         "('memhpctl list' marks them held).",
                         kept);
}

int manager_bus_get_held_blocks(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        (void)bus, (void)path, (void)interface, (void)property, (void)error;
        r = sd_bus_message_open_container(reply, 'a', "u");
        for (uint32_t id = 0; r >= 0 && blockmap_next(&m->blocks, &id); id++)
                if (blockmap_peek(&m->blocks, id)->held)
                        r = sd_bus_message_append(reply, "u", id);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}
