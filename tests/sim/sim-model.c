/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated kernel: memory blocks, nodes, zones and the state machine behind
 * memoryN/state and memoryN/online. Semantics follow drivers/base/memory.c and
 * mm/memory_hotplug.c as summarised in shared/research/peers.md §3; where the sim
 * simplifies, the comment says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define DMA_END_PFN 4096ULL       /* 16 MiB */
#define DMA32_END_PFN 0x100000ULL /* 4 GiB */
#define CHUNK 256                 /* blocks per add_memory() call in a storm */

static const char *const zone_names[NR_ZONES] = {
        [ZONE_DMA] = "DMA",         [ZONE_DMA32] = "DMA32",   [ZONE_NORMAL] = "Normal",
        [ZONE_MOVABLE] = "Movable", [ZONE_DEVICE] = "Device",
};

const char *zone_name(unsigned z)
{
        if (z == ZONE_NONE)
                return "none";
        return z < NR_ZONES ? zone_names[z] : "?";
}

int zone_from_name(const char *name)
{
        for (unsigned z = 0; z < NR_ZONES; z++)
                if (strcasecmp(name, zone_names[z]) == 0)
                        return z;
        if (strcasecmp(name, "none") == 0)
                return ZONE_NONE;
        return -EINVAL;
}

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

/* ---- zones ---------------------------------------------------------------------------- */

static uint64_t block_start_pfn(const struct sim *s, const struct block *b)
{
        return (uint64_t)b->id * s->pages_per_block;
}

/* Pages of block b that sit in zone z while it is online. */
static void block_zone_range(const struct sim *s, const struct block *b, unsigned z,
                             uint64_t *ret_start, uint64_t *ret_end)
{
        uint64_t start = block_start_pfn(s, b), end = start + s->pages_per_block;
        uint64_t zs, ze;

        *ret_start = *ret_end = 0;
        if (b->state == BLOCK_OFFLINE)
                return;
        if (b->zone != ZONE_NONE) {
                if (b->zone == z) {
                        *ret_start = start;
                        *ret_end = end;
                }
                return;
        }
        /* A "none" boot block: split along the fixed x86-64 address boundaries. */
        switch (z) {
        case ZONE_DMA:
                zs = 0, ze = DMA_END_PFN;
                break;
        case ZONE_DMA32:
                zs = DMA_END_PFN, ze = DMA32_END_PFN;
                break;
        case ZONE_NORMAL:
                zs = DMA32_END_PFN, ze = UINT64_MAX;
                break;
        default:
                return;
        }
        zs = start > zs ? start : zs;
        ze = end < ze ? end : ze;
        if (zs < ze) {
                *ret_start = zs;
                *ret_end = ze;
        }
}

/* Adds (sign > 0) or removes block b's pages to/from its node's zone accounting. */
static void account_locked(struct sim *s, const struct block *b, int sign)
{
        struct node *n = &s->nodes[b->node];

        for (unsigned z = 0; z < NR_ZONES; z++) {
                struct zspan *zs = &n->zones[z];
                uint64_t start, end;

                block_zone_range(s, b, z, &start, &end);
                if (start == end)
                        continue;
                if (sign > 0) {
                        zs->present += end - start;
                        if (zs->dirty)
                                continue;
                        if (zs->start == zs->end) {
                                zs->start = start;
                                zs->end = end;
                        } else {
                                zs->start = start < zs->start ? start : zs->start;
                                zs->end = end > zs->end ? end : zs->end;
                        }
                } else {
                        zs->present -= end - start;
                        /* Like shrink_zone_span(): only edge blocks shrink the span. */
                        if (zs->present == 0) {
                                zs->start = zs->end = 0;
                                zs->dirty = false;
                        } else if (start <= zs->start || end >= zs->end) {
                                zs->dirty = true;
                        }
                }
        }
}

void sim_zone_span_locked(struct sim *s, unsigned node, unsigned z, uint64_t *ret_start,
                          uint64_t *ret_end)
{
        struct zspan *zs = &s->nodes[node].zones[z];

        if (zs->dirty) {
                uint64_t lo = UINT64_MAX, hi = 0;

                for (size_t i = 0; i < s->n_blocks; i++) {
                        uint64_t start, end;

                        if (s->blocks[i].node != node)
                                continue;
                        block_zone_range(s, &s->blocks[i], z, &start, &end);
                        if (start == end)
                                continue;
                        lo = start < lo ? start : lo;
                        hi = end > hi ? end : hi;
                }
                zs->start = lo == UINT64_MAX ? 0 : lo;
                zs->end = lo == UINT64_MAX ? 0 : hi;
                zs->dirty = false;
        }
        *ret_start = zs->start;
        *ret_end = zs->end;
}

static bool zone_intersects(struct sim *s, unsigned node, unsigned z, uint64_t start, uint64_t end)
{
        uint64_t zs, ze;

        sim_zone_span_locked(s, node, z, &zs, &ze);
        if (zs == ze)
                return false;
        return start < ze && end > zs;
}

/* default_kernel_zone_for_pfn(): the first kernel zone that already spans the range. */
static unsigned default_kernel_zone(struct sim *s, unsigned node, uint64_t start, uint64_t end)
{
        for (unsigned z = ZONE_DMA; z <= ZONE_NORMAL; z++)
                if (zone_intersects(s, node, z, start, end))
                        return z;
        return ZONE_NORMAL;
}

/* zone_for_pfn_range() with the default online_policy "contig-zones". */
static unsigned zone_for_op(struct sim *s, const struct block *b, enum online_op op)
{
        uint64_t start = block_start_pfn(s, b), end = start + s->pages_per_block;
        unsigned kz = default_kernel_zone(s, b->node, start, end);
        bool in_kernel, in_movable;

        if (op == OP_ONLINE_KERNEL)
                return kz;
        if (op == OP_ONLINE_MOVABLE)
                return ZONE_MOVABLE;
        /* Inherit the zone when exactly one of them already spans the block. */
        in_kernel = zone_intersects(s, b->node, kz, start, end);
        in_movable = zone_intersects(s, b->node, ZONE_MOVABLE, start, end);
        if (in_kernel != in_movable)
                return in_kernel ? kz : ZONE_MOVABLE;
        return s->movable_node ? ZONE_MOVABLE : kz;
}

int sim_valid_zones_locked(struct sim *s, const struct block *b, char *buf, size_t len)
{
        unsigned def, kz;

        /* valid_zones_show() tests MEM_ONLINE, so going-offline prints the offline form. */
        if (b->state == BLOCK_ONLINE)
                return snprintf(buf, len, "%s\n", zone_name(b->zone));
        def = zone_for_op(s, b, OP_ONLINE);
        kz = zone_for_op(s, b, OP_ONLINE_KERNEL);
        return snprintf(buf, len, "%s%s%s%s%s\n", zone_name(def), kz != def ? " " : "",
                        kz != def ? zone_name(kz) : "", def != ZONE_MOVABLE ? " " : "",
                        def != ZONE_MOVABLE ? "Movable" : "");
}

/* ---- hotplug lock, uevents ------------------------------------------------------------ */

/* The kernel's device_hotplug_lock. Called and returns with s->lock held. */
static int hotplug_lock(struct sim *s)
{
        while (s->hotplug_busy && !s->quitting)
                pthread_cond_wait(&s->cond, &s->lock);
        if (s->quitting)
                return -ESHUTDOWN;
        s->hotplug_busy = true;
        return 0;
}

static void hotplug_unlock(struct sim *s)
{
        s->hotplug_busy = false;
        pthread_cond_broadcast(&s->cond);
}

/* memory_block_change_state() plus the uevent device_online()/device_offline() send. */
static int change_state_locked(struct sim *s, struct block *b, enum online_op op, bool noop_ok)
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
static int unregister_locked(struct sim *s, size_t first, size_t last)
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
