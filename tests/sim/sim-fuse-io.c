/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The contents of sim-fuse.c's files: rendering on read (/proc/zoneinfo, the node lists,
 * nodeN/meminfo, memoryN attributes) and writes (state and online, handed to a thread when
 * they may wait and then interruptible; uevent; auto_online_blocks).
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>

#include "sim-fuse-internal.h"
#include "sim.h"

static void nodelist(FILE *f, uint64_t mask)
{
        bool first = true;

        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                unsigned m = n;

                if (!(mask & (UINT64_C(1) << n)))
                        continue;
                while (m + 1 < SIM_MAX_NODES && (mask & (UINT64_C(1) << (m + 1))))
                        m++;
                fprintf(f, "%s%u", first ? "" : ",", n);
                if (m > n)
                        fprintf(f, "-%u", m);
                first = false;
                n = m;
        }
        fputc('\n', f);
}

static uint64_t node_mask_locked(unsigned which)
{
        uint64_t mask = 0;

        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                const struct node *nd = &sim->nodes[n];
                uint64_t kernel = nd->zones[ZONE_DMA].present + nd->zones[ZONE_DMA32].present +
                                  nd->zones[ZONE_NORMAL].present;
                bool set;

                switch (which) {
                case S_N_POSSIBLE:
                        set = nd->possible;
                        break;
                case S_N_ONLINE:
                        set = nd->online;
                        break;
                case S_N_HAS_MEMORY:
                        set = kernel + nd->zones[ZONE_MOVABLE].present > 0;
                        break;
                case S_N_HAS_NORMAL:
                        set = kernel > 0;
                        break;
                default:
                        set = nd->online && nd->has_cpu;
                }
                if (set)
                        mask |= UINT64_C(1) << n;
        }
        return mask;
}

static void zoneinfo(FILE *f)
{
        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                bool first_populated = true;

                if (!sim->nodes[n].online)
                        continue;
                for (unsigned z = 0; z < NR_ZONES; z++) {
                        const struct zspan *zs = &sim->nodes[n].zones[z];
                        uint64_t start, end, wmark = zs->present / 1024;

                        sim_zone_span_locked(sim, n, z, &start, &end);
                        fprintf(f, "Node %u, zone %8s", n, zone_name(z));
                        if (zs->present && first_populated) {
                                first_populated = false;
                                fputs("\n  per-node stats"
                                      "\n      nr_inactive_anon 0"
                                      "\n      nr_active_anon 0"
                                      "\n      nr_inactive_file 0"
                                      "\n      nr_active_file 0"
                                      "\n      nr_unevictable 0",
                                      f);
                        }
                        fprintf(f,
                                "\n  pages free     %llu"
                                "\n        boost    0"
                                "\n        min      %llu"
                                "\n        low      %llu"
                                "\n        high     %llu"
                                "\n        spanned  %llu"
                                "\n        present  %llu"
                                "\n        managed  %llu"
                                "\n        cma      0"
                                "\n        protection: (0, 0, 0, 0, 0)",
                                (unsigned long long)zs->present, (unsigned long long)wmark,
                                (unsigned long long)wmark * 5 / 4,
                                (unsigned long long)wmark * 3 / 2,
                                (unsigned long long)(end - start), (unsigned long long)zs->present,
                                (unsigned long long)zs->present);
                        if (!zs->present) {
                                fputc('\n', f);
                                continue;
                        }
                        fprintf(f,
                                "\n      nr_free_pages %llu"
                                "\n      nr_zone_inactive_anon 0"
                                "\n      nr_zone_active_anon 0"
                                "\n      nr_mlock     0"
                                "\n  pagesets"
                                "\n    cpu: 0"
                                "\n              count:    0"
                                "\n              high:     0"
                                "\n              batch:    1"
                                "\n  vm stats threshold: 4"
                                "\n  node_unreclaimable:  0"
                                "\n  start_pfn:           %llu\n",
                                (unsigned long long)zs->present, (unsigned long long)start);
                }
        }
}

/* Renders a file's content. Returns -errno; *ret is malloc'd. Called with sim->lock held. */
static int render_locked(fuse_ino_t ino, char **ret, size_t *ret_len)
{
        unsigned kind = INO_KIND(ino);
        uint64_t v = INO_VAL(ino);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        if (kind == K_STATIC) {
                switch (v) {
                case S_ZONEINFO:
                        zoneinfo(f);
                        break;
                case S_CMDLINE:
                        fprintf(f, "BOOT_IMAGE=/vmlinuz-memhp-sim ro%s\n",
                                sim->movable_node ? " movable_node" : "");
                        break;
                case S_BLOCK_SIZE:
                        fprintf(f, "%llx\n", (unsigned long long)sim->block_size);
                        break;
                case S_AUTO_ONLINE:
                        fprintf(f, "%s\n", sim->auto_online);
                        break;
                case S_N_POSSIBLE:
                case S_N_ONLINE:
                case S_N_HAS_MEMORY:
                case S_N_HAS_NORMAL:
                case S_N_HAS_CPU:
                        nodelist(f, node_mask_locked((unsigned)v));
                        break;
                case S_P_ONLINE_POLICY:
                        fputs("contig-zones\n", f);
                        break;
                case S_P_RATIO:
                        fputs("301\n", f);
                        break;
                case S_P_NUMA_AWARE:
                        fputs("Y\n", f);
                        break;
                case S_P_MEMMAP:
                        fputs("N\n", f);
                        break;
                }
        } else if (kind == K_MEMATTR) {
                const struct block *b = ino_block_locked(ino);
                char zbuf[64];

                if (!b) {
                        fclose(f);
                        free(buf);
                        return -ENODEV;
                }
                switch (INO_ATTR(ino)) {
                case A_STATE:
                        fputs(b->state == BLOCK_ONLINE    ? "online\n"
                              : b->state == BLOCK_OFFLINE ? "offline\n"
                                                          : "going-offline\n",
                              f);
                        break;
                case A_ONLINE:
                        fputs(b->state == BLOCK_OFFLINE ? "0\n" : "1\n", f);
                        break;
                case A_VALID_ZONES:
                        sim_valid_zones_locked(sim, b, zbuf, sizeof(zbuf));
                        fputs(zbuf, f);
                        break;
                case A_PHYS_INDEX:
                        fprintf(f, "%08x\n", b->id);
                        break;
                case A_PHYS_DEVICE:
                        fputs("0\n", f);
                        break;
                case A_REMOVABLE:
                        fputs("1\n", f);
                        break;
                case A_UEVENT:
                        break;
                }
        } else if (kind == K_NODEATTR) {
                unsigned n = (unsigned)(v >> 8);
                uint64_t kb = 0;

                for (unsigned z = 0; z < NR_ZONES; z++)
                        kb += sim->nodes[n].zones[z].present * (SIM_PAGE_SIZE / 1024);
                fprintf(f,
                        "Node %u MemTotal:       %8llu kB\n"
                        "Node %u MemFree:        %8llu kB\n"
                        "Node %u MemUsed:        %8llu kB\n",
                        n, (unsigned long long)kb, n, (unsigned long long)kb, n, 0ULL);
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
        char *buf = NULL;
        size_t len = 0;
        int r = 0;

        COUNT(SIM_OP_READ);
        pthread_mutex_lock(&sim->lock);
        if (INO_KIND(ino) == K_MEMATTR) {
                const struct block *b = ino_block_locked(ino);

                if (!b || b->gen != fi->fh)
                        r = -ENODEV; /* kernfs: the attribute's device is gone */
        }
        if (r == 0 && INO_KIND(ino) == K_EXTRA)
                r = extra_read_locked(ino, &buf, &len);
        else if (r == 0)
                r = render_locked(ino, &buf, &len);
        pthread_mutex_unlock(&sim->lock);
        if (r < 0)
                fuse_reply_err(req, -r);
        else if ((size_t)off >= len)
                fuse_reply_buf(req, NULL, 0);
        else
                fuse_reply_buf(req, buf + off, len - (size_t)off < size ? len - (size_t)off : size);
        free(buf);
}

static void on_interrupt(fuse_req_t req _unused_, void *data)
{
        sim_interrupt(sim, data);
}

static int uevent_write(uint32_t id, uint32_t gen, const char *buf, size_t len)
{
        static const char *const actions[] = {"add",    "remove",  "change", "move",
                                              "online", "offline", "bind",   "unbind"};
        char word[16];
        size_t n = 0;
        const struct block *b;
        bool alive;

        /* kobject_synth_uevent(): an action word, optionally followed by arguments. */
        while (n < len && n < sizeof(word) - 1 && buf[n] != ' ' && buf[n] != '\n') {
                word[n] = buf[n];
                n++;
        }
        word[n] = 0;
        pthread_mutex_lock(&sim->lock);
        b = sim_find_locked(sim, id);
        alive = b && b->gen == gen;
        pthread_mutex_unlock(&sim->lock);
        if (!alive)
                return -ENODEV;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (strcmp(word, actions[i]) == 0)
                        return uevent_emit(sim, word, id, true);
        return -EINVAL;
}

/* A state/online write that may wait (hotplug lock, slow, hang): runs on its own thread. */
struct slow_write {
        fuse_req_t req;
        uint32_t id, gen;
        unsigned attr;
        size_t size;
        struct hang_wait hw;
        char buf[];
};

pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
unsigned slow_running;

static void *slow_write_thread(void *p)
{
        struct slow_write *w = p;
        int r = sim_write_attr(sim, w->id, w->gen, w->attr, w->buf, w->size, &w->hw, false);

        /* After this returns on_interrupt can no longer touch w->hw. */
        fuse_req_interrupt_func(w->req, NULL, NULL);
        if (r < 0)
                fuse_reply_err(w->req, -r);
        else
                fuse_reply_write(w->req, w->size);
        free(w);
        pthread_mutex_lock(&slow_lock);
        slow_running--;
        pthread_cond_broadcast(&slow_cond);
        pthread_mutex_unlock(&slow_lock);
        return NULL;
}

/*
 * The loop is single-threaded (a FUSE round trip is most of the sim's cost, and thread
 * hand-offs make it 40% dearer), so a write that may wait must not wait here: the loop
 * has to stay free to deliver the INTERRUPT that ends a hang.
 */
static int state_write(fuse_req_t req, uint32_t id, uint32_t gen, unsigned attr, const char *buf,
                       size_t size)
{
        struct slow_write *w;
        pthread_t t;
        int r;

        r = sim_write_attr(sim, id, gen, attr, buf, size, NULL, true);
        if (r != -EWOULDBLOCK)
                return r;
        w = calloc(1, sizeof(*w) + size);
        if (!w)
                return -ENOMEM;
        *w = (struct slow_write){.req = req, .id = id, .gen = gen, .attr = attr, .size = size};
        memcpy(w->buf, buf, size);
        fuse_req_interrupt_func(req, on_interrupt, &w->hw);
        pthread_mutex_lock(&slow_lock);
        slow_running++;
        pthread_mutex_unlock(&slow_lock);
        if (pthread_create(&t, NULL, slow_write_thread, w) != 0) {
                fuse_req_interrupt_func(req, NULL, NULL);
                free(w);
                pthread_mutex_lock(&slow_lock);
                slow_running--;
                pthread_mutex_unlock(&slow_lock);
                return -EAGAIN;
        }
        pthread_detach(t);
        return 1; /* the thread replies */
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off _unused_,
              struct fuse_file_info *fi)
{
        int r;

        COUNT(SIM_OP_WRITE);
        if (INO_KIND(ino) == K_MEMATTR && (INO_ATTR(ino) == A_STATE || INO_ATTR(ino) == A_ONLINE)) {
                r = state_write(req, INO_BLOCK_ID(ino), (uint32_t)fi->fh, INO_ATTR(ino) == A_ONLINE,
                                buf, size);
                if (r > 0)
                        return;
        } else if (INO_KIND(ino) == K_MEMATTR && INO_ATTR(ino) == A_UEVENT) {
                r = uevent_write(INO_BLOCK_ID(ino), (uint32_t)fi->fh, buf, size);
        } else if (ino == INO(K_STATIC, S_AUTO_ONLINE)) {
                r = sim_set_auto_online(sim, buf, size);
        } else {
                r = -EIO;
        }
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_write(req, size);
}
