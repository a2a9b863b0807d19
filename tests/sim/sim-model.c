/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated kernel: memory blocks, nodes, zones and the state machine behind
 * memoryN/state and memoryN/online. Semantics follow drivers/base/memory.c and
 * mm/memory_hotplug.c as summarised in shared/research/peers.md §3; where the sim
 * simplifies, the comment says so.
 *
 * This file holds the block table, the hotplug lock, state changes, boot blocks, hot-add and
 * hot-remove; zones are in sim-zone.c, stores into state/online and their faults in sim-write.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim-model-internal.h"
#include "sim.h"

#define CHUNK 256 /* blocks per add_memory() call in a storm */

static const struct {
        int err;
        const char *name;
} errno_table[] = {
        {EPERM, "EPERM"},           {ENOENT, "ENOENT"},
        {EINTR, "EINTR"},           {EIO, "EIO"},
        {ENXIO, "ENXIO"},           {E2BIG, "E2BIG"},
        {EAGAIN, "EAGAIN"},         {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"},         {EBUSY, "EBUSY"},
        {EEXIST, "EEXIST"},         {ENODEV, "ENODEV"},
        {EINVAL, "EINVAL"},         {ENOSPC, "ENOSPC"},
        {ERANGE, "ERANGE"},         {ENOSYS, "ENOSYS"},
        {ETIMEDOUT, "ETIMEDOUT"},   {ECANCELED, "ECANCELED"},
        {EROFS, "EROFS"},           {EHWPOISON, "EHWPOISON"},
        {EOPNOTSUPP, "EOPNOTSUPP"}, {ESHUTDOWN, "ESHUTDOWN"},
};

int errno_from_name(const char *name)
{
        char *end;
        long v;

        for (size_t i = 0; i < ELEMENTSOF(errno_table); i++)
                if (strcasecmp(name, errno_table[i].name) == 0)
                        return errno_table[i].err;
        errno = 0;
        v = strtol(name, &end, 10);
        if (errno || end == name || *end || v <= 0 || v > 4095)
                return -EINVAL;
        return (int)v;
}

const char *errno_name(int err)
{
        static __thread char buf[16];

        if (err < 0)
                err = -err;
        for (size_t i = 0; i < ELEMENTSOF(errno_table); i++)
                if (errno_table[i].err == err)
                        return errno_table[i].name;
        snprintf(buf, sizeof(buf), "E%d", err);
        return buf;
}

static struct timespec start_time;

static void start_time_init(void)
{
        clock_gettime(CLOCK_MONOTONIC, &start_time);
}

uint32_t sim_now_ms(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        struct timespec now;

        pthread_once(&once, start_time_init);
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint32_t)((now.tv_sec - start_time.tv_sec) * 1000 +
                          (now.tv_nsec - start_time.tv_nsec) / 1000000);
}

static int parse_u32(const char *p, const char **end, uint32_t *ret)
{
        char *e;
        unsigned long v;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(p, &e, 10);
        if (errno || v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        *end = e;
        return 0;
}

/* "N" or "LO-HI"; *ret_next points after the range (at ',' or the end). */
int sim_parse_range(const char *spec, uint32_t *ret_lo, uint32_t *ret_hi, const char **ret_next)
{
        const char *p;
        uint32_t lo, hi;
        int r;

        r = parse_u32(spec, &p, &lo);
        if (r < 0)
                return r;
        hi = lo;
        if (*p == '-') {
                r = parse_u32(p + 1, &p, &hi);
                if (r < 0)
                        return r;
        }
        if (hi < lo || (*p && *p != ','))
                return -EINVAL;
        *ret_lo = lo;
        *ret_hi = hi;
        if (ret_next)
                *ret_next = p;
        else if (*p)
                return -EINVAL;
        return 0;
}

/* The kernel's node list format: "0-2,4". */
int sim_parse_nodelist(const char *spec, uint64_t *ret_mask)
{
        uint64_t mask = 0;
        const char *p = spec;

        if (!*p)
                return -EINVAL;
        for (;;) {
                uint32_t lo, hi;
                int r = sim_parse_range(p, &lo, &hi, &p);

                if (r < 0)
                        return r;
                if (hi >= SIM_MAX_NODES)
                        return -ERANGE;
                for (uint32_t n = lo; n <= hi; n++)
                        mask |= UINT64_C(1) << n;
                if (!*p)
                        break;
                p++;
        }
        *ret_mask = mask;
        return 0;
}

int sim_init(struct sim *s, uint64_t block_size)
{
        memset(s, 0, sizeof(*s));
        if (block_size < SIM_PAGE_SIZE || block_size % SIM_PAGE_SIZE ||
            (block_size & (block_size - 1)))
                return -EINVAL;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        pthread_mutex_init(&s->uevent_lock, NULL);
        s->block_size = block_size;
        s->pages_per_block = block_size / SIM_PAGE_SIZE;
        strcpy(s->auto_online, "offline");
        s->next_gen = 1;
        s->uevent_fd = -1;
        s->seqnum = 1000; /* boot events happened before the sim "booted" */
        s->wlog = calloc(SIM_WLOG_SIZE, sizeof(*s->wlog));
        if (!s->wlog)
                return -ENOMEM;
        (void)sim_now_ms();
        return 0;
}

void sim_done(struct sim *s)
{
        free(s->blocks);
        free(s->wlog);
        s->blocks = NULL;
        s->wlog = NULL;
}

/* Index of the first block with id >= id. */
static size_t lower_bound(const struct sim *s, uint32_t id)
{
        size_t lo = 0, hi = s->n_blocks;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (s->blocks[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

struct block *sim_find_locked(struct sim *s, uint32_t id)
{
        size_t i = lower_bound(s, id);

        return i < s->n_blocks && s->blocks[i].id == id ? &s->blocks[i] : NULL;
}

bool sim_link_visible(const struct block *b, uint32_t now)
{
        return (int32_t)(now - b->link_at) >= 0;
}

static struct block *insert_locked(struct sim *s, uint32_t id, unsigned node)
{
        size_t i = lower_bound(s, id);

        if (i < s->n_blocks && s->blocks[i].id == id)
                return NULL;
        if (s->n_blocks == s->cap_blocks) {
                size_t cap = s->cap_blocks ? s->cap_blocks * 2 : 256;
                struct block *n = realloc(s->blocks, cap * sizeof(*n));

                if (!n)
                        return NULL;
                s->blocks = n;
                s->cap_blocks = cap;
        }
        memmove(&s->blocks[i + 1], &s->blocks[i], (s->n_blocks - i) * sizeof(*s->blocks));
        s->n_blocks++;
        s->blocks[i] = (struct block){
                .id = id,
                .gen = s->next_gen++,
                .node = (uint16_t)node,
                .state = BLOCK_OFFLINE,
                .zone = ZONE_NONE,
        };
        return &s->blocks[i];
}

int sim_node_online_locked(struct sim *s, unsigned node)
{
        if (node >= SIM_MAX_NODES || !s->nodes[node].possible)
                return -ENODEV;
        s->nodes[node].online = true;
        return 0;
}

/* ---- hotplug lock, uevents ------------------------------------------------------------ */

/* The kernel's device_hotplug_lock. Called and returns with s->lock held. */
int hotplug_lock(struct sim *s)
{
        while (s->hotplug_busy && !s->quitting)
                pthread_cond_wait(&s->cond, &s->lock);
        if (s->quitting)
                return -ESHUTDOWN;
        s->hotplug_busy = true;
        return 0;
}

void hotplug_unlock(struct sim *s)
{
        s->hotplug_busy = false;
        pthread_cond_broadcast(&s->cond);
}

/* memory_block_change_state() plus the uevent device_online()/device_offline() send. */
int change_state_locked(struct sim *s, struct block *b, enum online_op op, bool noop_ok)
{
        if (op == OP_OFFLINE) {
                if (b->state == BLOCK_OFFLINE)
                        return noop_ok ? 0 : -EINVAL;
                if (b->zone == ZONE_NONE) {
                        /* memory_block_offline(): a block spanning zones cannot go. */
                        b->state = BLOCK_ONLINE;
                        return -EINVAL;
                }
                account_locked(s, b, -1);
                b->state = BLOCK_OFFLINE;
                (void)uevent_emit(s, "offline", b->id, false);
                return 0;
        }
        if (b->state != BLOCK_OFFLINE)
                return noop_ok ? 0 : -EINVAL;
        b->zone = (uint8_t)zone_for_op(s, b, op);
        b->state = BLOCK_ONLINE;
        account_locked(s, b, +1);
        (void)uevent_emit(s, "online", b->id, false);
        return 0;
}

static int auto_online_op(const struct sim *s)
{
        if (strcmp(s->auto_online, "online") == 0)
                return OP_ONLINE;
        if (strcmp(s->auto_online, "online_kernel") == 0)
                return OP_ONLINE_KERNEL;
        if (strcmp(s->auto_online, "online_movable") == 0)
                return OP_ONLINE_MOVABLE;
        return -1;
}

/* ---- boot, hot-add, hot-remove -------------------------------------------------------- */

/* A block present at boot: online (zone < 0: by address) or offline, no uevent. */
int sim_boot_block(struct sim *s, uint32_t id, unsigned node, int zone)
{
        struct block *b;
        uint64_t start, end;

        if (node >= SIM_MAX_NODES || !s->nodes[node].possible)
                return -ENODEV;
        s->nodes[node].online = true;
        b = insert_locked(s, id, node);
        if (!b)
                return sim_find_locked(s, id) ? -EEXIST : -ENOMEM;
        if (zone == -2) /* "offline" */
                return 0;
        start = block_start_pfn(s, b);
        end = start + s->pages_per_block;
        if (zone < 0) {
                /* x86-64 boot memory: DMA below 16 MiB, DMA32 below 4 GiB, Normal above. */
                if (end <= DMA_END_PFN)
                        zone = ZONE_DMA;
                else if (start < DMA_END_PFN)
                        zone = ZONE_NONE;
                else if (end <= DMA32_END_PFN)
                        zone = ZONE_DMA32;
                else if (start < DMA32_END_PFN)
                        zone = ZONE_NONE;
                else
                        zone = ZONE_NORMAL;
        }
        b->zone = (uint8_t)zone;
        b->state = BLOCK_ONLINE;
        account_locked(s, b, +1);
        return 0;
}

/*
 * Hot-add n blocks from start on node, like add_memory(): every block's "add" uevent
 * first, then (per late-link) the node links, then auto-online. Blocks are added in
 * chunks of CHUNK, each holding the hotplug lock like one add_memory() call, so a
 * storm does not starve writers for its whole duration.
 */
int sim_add_blocks(struct sim *s, unsigned node, uint32_t start, uint32_t n, bool emit)
{
        int r = 0;

        if (n == 0 || (uint64_t)start + n - 1 > UINT32_MAX)
                return -EINVAL;
        pthread_mutex_lock(&s->lock);
        if (node >= SIM_MAX_NODES || !s->nodes[node].possible) {
                pthread_mutex_unlock(&s->lock);
                return -ENODEV;
        }
        {
                size_t i = lower_bound(s, start);

                if (i < s->n_blocks && s->blocks[i].id - start < n) {
                        pthread_mutex_unlock(&s->lock);
                        return -EEXIST; /* add_memory() of a registered range */
                }
        }
        for (uint32_t done = 0; done < n && r == 0;) {
                uint32_t m = n - done < CHUNK ? n - done : CHUNK;
                uint32_t link_at;
                int op;

                r = hotplug_lock(s);
                if (r < 0)
                        break;
                link_at = sim_now_ms() + s->late_link_ms;
                (void)sim_node_online_locked(s, node);
                for (uint32_t i = 0; i < m; i++) {
                        struct block *b = insert_locked(s, start + done + i, node);

                        if (!b) {
                                /* Raced with another add of the same range; keep what we have. */
                                r = sim_find_locked(s, start + done + i) ? -EEXIST : -ENOMEM;
                                m = i;
                                break;
                        }
                        b->link_at = link_at;
                }
                /* Send without the data lock so readers are not stalled by netlink. */
                pthread_mutex_unlock(&s->lock);
                if (emit)
                        for (uint32_t i = 0; i < m; i++)
                                (void)uevent_emit(s, "add", start + done + i, false);
                pthread_mutex_lock(&s->lock);
                op = auto_online_op(s);
                if (op >= 0)
                        for (uint32_t i = 0; i < m; i++) {
                                struct block *b = sim_find_locked(s, start + done + i);

                                if (b)
                                        (void)change_state_locked(s, b, op, false);
                        }
                hotplug_unlock(s);
                done += m;
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}

/*
 * Unregisters blocks [first, last) of the table, like remove_memory_block_devices(): gone
 * from the table first (new lookups fail), then cached dentries are dropped, then the
 * "remove" uevents go out, so a listener never finds a stale path behind the event.
 * Called with s->lock and the hotplug lock held; drops s->lock meanwhile.
 */
int unregister_locked(struct sim *s, size_t first, size_t last)
{
        size_t n = last - first;
        struct block *gone = malloc(n * sizeof(*gone));

        if (!gone)
                return -ENOMEM;
        memcpy(gone, &s->blocks[first], n * sizeof(*gone));
        memmove(&s->blocks[first], &s->blocks[last], (s->n_blocks - last) * sizeof(*s->blocks));
        s->n_blocks -= n;
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < n; i++) {
                if (s->invalidate)
                        s->invalidate(s, gone[i].id, gone[i].node);
                (void)uevent_emit(s, "remove", gone[i].id, false);
        }
        pthread_mutex_lock(&s->lock);
        free(gone);
        return (int)n;
}

/*
 * Hot-remove [lo, hi]. Like try_remove_memory(), refuses (EBUSY) while any block is
 * online; with force it first offlines them the way an ACPI eject does (offline
 * uevents), failing with EBUSY if one cannot be offlined. Nothing in range: ENOENT.
 */
int sim_remove_blocks(struct sim *s, uint32_t lo, uint32_t hi, bool force)
{
        size_t first, last;
        int r;

        pthread_mutex_lock(&s->lock);
        r = hotplug_lock(s);
        if (r < 0)
                goto out;
        first = lower_bound(s, lo);
        last = first;
        while (last < s->n_blocks && s->blocks[last].id <= hi)
                last++;
        if (first == last) {
                r = -ENOENT;
                goto unlock;
        }
        for (size_t i = first; i < last; i++) {
                struct block *b = &s->blocks[i];

                if (b->state == BLOCK_OFFLINE)
                        continue;
                if (!force || b->zone == ZONE_NONE) {
                        r = -EBUSY;
                        goto unlock;
                }
        }
        for (size_t i = first; i < last; i++)
                if (s->blocks[i].state != BLOCK_OFFLINE)
                        (void)change_state_locked(s, &s->blocks[i], OP_OFFLINE, false);
        r = unregister_locked(s, first, last);
unlock:
        hotplug_unlock(s);
out:
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* The control socket's "online"/"offline": the kernel (or another onliner) acting itself. */
int sim_ctl_change_state(struct sim *s, uint32_t id, enum online_op op, bool noop_ok)
{
        struct block *b;
        int r;

        pthread_mutex_lock(&s->lock);
        r = hotplug_lock(s);
        if (r < 0)
                goto out;
        b = sim_find_locked(s, id);
        r = b ? change_state_locked(s, b, op, noop_ok) : -ENOENT;
        hotplug_unlock(s);
out:
        pthread_mutex_unlock(&s->lock);
        return r;
}
