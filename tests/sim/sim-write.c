/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stores into the model: memoryN/state and memoryN/online with their fault injection (slow,
 * hang, vanish, fail, race), interrupts and the write log, and auto_online_blocks.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sim-model-internal.h"
#include "sim.h"

/* sysfs_streq(): equal, except that either side may end in one newline. */
static bool sysfs_streq(const char *buf, size_t len, const char *word)
{
        size_t wl = strlen(word);

        if (len > 0 && buf[len - 1] == '\n')
                len--;
        return len == wl && memcmp(buf, word, wl) == 0;
}

int sim_set_auto_online(struct sim *s, const char *buf, size_t len)
{
        static const char *const values[] = {"offline", "online", "online_kernel",
                                             "online_movable"};

        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (sysfs_streq(buf, len, values[i])) {
                        pthread_mutex_lock(&s->lock);
                        strcpy(s->auto_online, values[i]);
                        pthread_mutex_unlock(&s->lock);
                        return 0;
                }
        return -EINVAL;
}

/* ---- faults --------------------------------------------------------------------------- */

int sim_add_fault(struct sim *s, const struct fault *f)
{
        int r = 0;

        pthread_mutex_lock(&s->lock);
        /* One fault per block and kind: a new one replaces the old. */
        for (size_t i = 0; i < s->n_faults; i++)
                if (s->faults[i].id == f->id && s->faults[i].kind == f->kind) {
                        s->faults[i] = *f;
                        goto out;
                }
        if (s->n_faults == SIM_MAX_FAULTS)
                r = -ENOSPC;
        else
                s->faults[s->n_faults++] = *f;
out:
        pthread_mutex_unlock(&s->lock);
        return r;
}

void sim_clear_faults(struct sim *s, bool all, uint32_t id)
{
        size_t j = 0;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_faults; i++)
                if (!all && s->faults[i].id != id)
                        s->faults[j++] = s->faults[i];
        s->n_faults = j;
        pthread_mutex_unlock(&s->lock);
}

static bool has_fault_locked(const struct sim *s, uint32_t id)
{
        for (size_t i = 0; i < s->n_faults; i++)
                if (s->faults[i].id == id)
                        return true;
        return false;
}

/* Takes (consumes one firing of) each kind of fault armed for block id. */
static void take_faults_locked(struct sim *s, uint32_t id, struct fault out[_FAULT_KIND_MAX],
                               bool have[_FAULT_KIND_MAX])
{
        size_t j = 0;

        for (size_t i = 0; i < s->n_faults; i++) {
                struct fault *f = &s->faults[i];

                if (f->id == id && !have[f->kind]) {
                        have[f->kind] = true;
                        out[f->kind] = *f;
                        if (f->count > 0 && --f->count == 0)
                                continue; /* used up: drop it */
                }
                s->faults[j++] = *f;
        }
        s->n_faults = j;
}

/* Ends every wait (hotplug lock, slow, hang): the sim is shutting down. */
void sim_quit(struct sim *s)
{
        pthread_mutex_lock(&s->lock);
        s->quitting = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

void sim_interrupt(struct sim *s, struct hang_wait *hw)
{
        pthread_mutex_lock(&s->lock);
        hw->interrupted = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

/* Waits until the writer is signalled (EINTR) or the test says "release" (0). */
static int hang_locked(struct sim *s, struct hang_wait *hw, uint32_t id)
{
        struct hang_wait local = {0}, **pp;
        int r;

        if (!hw)
                hw = &local; /* cannot be interrupted, only released */
        hw->id = id;
        hw->released = false;
        hw->next = s->hangs;
        s->hangs = hw;
        pthread_cond_broadcast(&s->cond); /* "hung" waiters in the control socket */
        while (!hw->interrupted && !hw->released && !s->quitting)
                pthread_cond_wait(&s->cond, &s->lock);
        r = hw->released ? 0 : -EINTR;
        for (pp = &s->hangs; *pp; pp = &(*pp)->next)
                if (*pp == hw) {
                        *pp = hw->next;
                        break;
                }
        return r;
}

/* Sleeps ms; an offline in progress gives up with EINTR when the writer is signalled. */
static int slow_locked(struct sim *s, struct hang_wait *hw, unsigned ms, bool interruptible)
{
        struct timespec deadline;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        while (!s->quitting) {
                if (interruptible && hw && hw->interrupted)
                        return -EINTR;
                if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
                        break;
        }
        return 0;
}

static void wlog_locked(struct sim *s, uint32_t id, unsigned attr, const char *buf, size_t len,
                        int result)
{
        struct wlog_entry *e = &s->wlog[s->wlog_total++ % SIM_WLOG_SIZE];
        size_t n = len < sizeof(e->value) - 1 ? len : sizeof(e->value) - 1;

        e->id = id;
        e->attr = (uint8_t)attr;
        memcpy(e->value, buf, n);
        e->value[n] = 0;
        for (size_t i = 0; i < n; i++)
                if (e->value[i] == '\n' || e->value[i] == ' ')
                        e->value[i] = e->value[i] == '\n' ? 0 : '_';
        e->result = result;
}

/* kstrtobool() as online_store() uses it. */
static int parse_bool(const char *buf, size_t len)
{
        if (len == 0)
                return -EINVAL;
        switch (buf[0]) {
        case 'y':
        case 'Y':
        case 't':
        case 'T':
        case '1':
                return 1;
        case 'n':
        case 'N':
        case 'f':
        case 'F':
        case '0':
                return 0;
        case 'o':
        case 'O':
                if (len < 2)
                        return -EINVAL;
                if (buf[1] == 'n' || buf[1] == 'N')
                        return 1;
                if (buf[1] == 'f' || buf[1] == 'F')
                        return 0;
                return -EINVAL;
        default:
                return -EINVAL;
        }
}

static int parse_state(const char *buf, size_t len)
{
        if (sysfs_streq(buf, len, "offline"))
                return OP_OFFLINE;
        if (sysfs_streq(buf, len, "online"))
                return OP_ONLINE;
        if (sysfs_streq(buf, len, "online_kernel"))
                return OP_ONLINE_KERNEL;
        if (sysfs_streq(buf, len, "online_movable"))
                return OP_ONLINE_MOVABLE;
        return -EINVAL;
}

/*
 * A write to memoryN/state (attr 0) or memoryN/online (attr 1) through an fd opened
 * on incarnation gen of block id. Returns 0 or -errno. Faults fire on every
 * syntactically valid write to the block, in the order race, slow, hang, vanish, fail.
 *
 * With nowait, returns -EWOULDBLOCK, having changed nothing, if the write could have to
 * wait (a fault is armed for the block, or the hotplug lock is taken); otherwise it never
 * waits. The FUSE loop uses that to answer plain writes itself and hand the rest to a
 * thread.
 */
int sim_write_attr(struct sim *s, uint32_t id, uint32_t gen, unsigned attr, const char *buf,
                   size_t len, struct hang_wait *hw, bool nowait)
{
        struct fault f[_FAULT_KIND_MAX];
        bool have[_FAULT_KIND_MAX] = {false};
        bool locked = false, going_offline = false;
        struct block *b;
        int op, r;

        if (attr == 0)
                op = parse_state(buf, len);
        else {
                op = parse_bool(buf, len);
                if (op >= 0)
                        op = op ? OP_ONLINE : OP_OFFLINE;
        }

        pthread_mutex_lock(&s->lock);
        b = sim_find_locked(s, id);
        if (!b || b->gen != gen) {
                /* kernfs: an open file whose node was removed answers ENODEV. */
                r = -ENODEV;
                goto out;
        }
        if (nowait && op >= 0 && (s->hotplug_busy || has_fault_locked(s, id))) {
                pthread_mutex_unlock(&s->lock);
                return -EWOULDBLOCK;
        }
        b->writes++;
        if (op < 0) {
                r = op;
                goto out;
        }
        take_faults_locked(s, id, f, have);

        if (have[FAULT_HANG] && f[FAULT_HANG].nolock) {
                r = hang_locked(s, hw, id);
                if (r < 0)
                        goto out;
        }
        r = hotplug_lock(s);
        if (r < 0)
                goto out;
        locked = true;
        /* The block may have gone while we waited for the lock. */
        b = sim_find_locked(s, id);
        if (!b || b->gen != gen) {
                r = -ENODEV;
                goto out;
        }
        /* Someone else held the hotplug lock just before us and onlined the block. */
        if (have[FAULT_RACE] && b->state == BLOCK_OFFLINE)
                (void)change_state_locked(s, b, (enum online_op)f[FAULT_RACE].op, false);
        going_offline = op == OP_OFFLINE && b->state == BLOCK_ONLINE && b->zone != ZONE_NONE;
        if (going_offline)
                b->state = BLOCK_GOING_OFFLINE;
        if (have[FAULT_SLOW]) {
                r = slow_locked(s, hw, f[FAULT_SLOW].ms, going_offline);
                if (r < 0)
                        goto revert;
        }
        if (have[FAULT_HANG] && !f[FAULT_HANG].nolock) {
                r = hang_locked(s, hw, id);
                if (r < 0)
                        goto revert;
        }
        /* Nothing can add or remove blocks while we hold the hotplug lock: b stays valid. */
        if (have[FAULT_VANISH]) {
                r = -f[FAULT_VANISH].err;
                if (going_offline)
                        b->state = BLOCK_ONLINE;
                if (b->state != BLOCK_OFFLINE)
                        (void)change_state_locked(s, b, OP_OFFLINE, false);
                (void)unregister_locked(s, (size_t)(b - s->blocks), (size_t)(b - s->blocks) + 1);
                goto out;
        }
        if (have[FAULT_FAIL]) {
                r = -f[FAULT_FAIL].err;
                goto revert;
        }
        if (going_offline)
                b->state = BLOCK_ONLINE;
        r = change_state_locked(s, b, (enum online_op)op, attr == 1);
        goto out;
revert:
        if (going_offline)
                b->state = BLOCK_ONLINE;
out:
        if (locked)
                hotplug_unlock(s);
        wlog_locked(s, id, attr, buf, len, r);
        pthread_mutex_unlock(&s->lock);
        return r;
}
