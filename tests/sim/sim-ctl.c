/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Control socket: one command line per connection, answered with zero or more lines
 * of output and a final "OK" or "ERR <ERRNO> <message>". Each connection gets its own
 * thread because some commands wait (add-dimm behind a hung write holds the hotplug
 * lock, exactly as in the kernel) and the test must still be able to "release".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define MAX_ARGS 16
#define MAX_LINE 4096

static struct sim *ctl_sim;

static const char usage[] =
        "commands (BLOCKS: N, LO-HI or a comma list of those):\n"
        "  ping\n"
        "  add-dimm NODE NBLOCKS [START] [GAP_MS]   (or node=N blocks=N [start=S] [gap=MS])\n"
        "                                    GAP_MS: one block at a time, GAP_MS apart, as\n"
        "                                    virtio-mem grows; says the opens meanwhile\n"
        "  storm N [NODE] [START]            hot-add N blocks as fast as possible\n"
        "  remove BLOCKS [force]             EBUSY if one is online, unless force\n"
        "  online BLOCK [online|online_kernel|online_movable]   the kernel onlines it\n"
        "  offline BLOCK\n"
        "  fail BLOCKS ERRNO [COUNT|always]  fail the next write(s) with ERRNO\n"
        "  hang BLOCKS [COUNT|always] [nolock]   hang writes until signalled or released\n"
        "  release BLOCK                     let a hung write proceed\n"
        "  hung                              blocks with a write hanging right now\n"
        "  wait-hung BLOCK [TIMEOUT_MS]      wait until a write to BLOCK hangs\n"
        "  slow BLOCKS MS [COUNT|always]\n"
        "  vanish BLOCKS [ERRNO]             remove the block during its next write\n"
        "  race BLOCKS [online|online_kernel|online_movable] [COUNT|always]\n"
        "                                    another onliner wins: the block goes online\n"
        "                                    just before the next write is processed\n"
        "  late-link MS                      nodeN links of later hot-adds appear MS late\n"
        "  late-firmware-node MS             memoryN/firmware_node (--extra) MS after the links\n"
        "  clear [BLOCKS]                    drop faults\n"
        "  faults\n"
        "  state [BLOCKS]                    one line per block: id state zone node\n"
        "  zones                             node zone present_pages spanned_pages\n"
        "  writes [BLOCK]                    state/online writes per block, and total\n"
        "  wlog [N]                          the last N writes: id attr value result\n"
        "  reset-counters\n"
        "  events                            seqnum, events sent, send failures\n"
        "  fuse-stats                        FUSE requests served, by kind\n"
        "  quit\n";

struct reply {
        FILE *f;
        char *buf;
        size_t len;
        int err; /* positive errno, 0 = OK */
        char msg[128];
};

static int fail(struct reply *rp, int err, const char *fmt, ...) _printf_(3, 4);

static int fail(struct reply *rp, int err, const char *fmt, ...)
{
        va_list ap;

        rp->err = err < 0 ? -err : err;
        va_start(ap, fmt);
        vsnprintf(rp->msg, sizeof(rp->msg), fmt, ap);
        va_end(ap);
        return -rp->err;
}

static int parse_uint(const char *s, uint32_t *ret)
{
        const char *end;
        uint32_t lo, hi;
        int r = sim_parse_range(s, &lo, &hi, &end);

        if (r < 0 || lo != hi || *end)
                return -EINVAL;
        *ret = lo;
        return 0;
}

/* Accepts "42" and "key=42" for the positional argument named key. */
static const char *kv(const char *arg, const char *key)
{
        size_t kl = strlen(key);

        if (strncmp(arg, key, kl) == 0 && arg[kl] == '=')
                return arg + kl + 1;
        return arg;
}

static int parse_count(const char *s, int *ret)
{
        uint32_t v;

        if (strcmp(s, "always") == 0) {
                *ret = -1;
                return 0;
        }
        if (parse_uint(s, &v) < 0 || v == 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

/* Calls fn for each id of a BLOCKS list; stops at the first error. */
static int foreach_id(const char *spec, int (*fn)(uint32_t id, void *data), void *data)
{
        const char *p = spec;

        for (;;) {
                uint32_t lo, hi;
                int r = sim_parse_range(p, &lo, &hi, &p);

                if (r < 0)
                        return r;
                if (hi - lo >= 1u << 20)
                        return -E2BIG;
                for (uint64_t id = lo; id <= hi; id++) {
                        r = fn((uint32_t)id, data);
                        if (r < 0)
                                return r;
                }
                if (!*p)
                        return 0;
                p++;
        }
}

static int add_fault_cb(uint32_t id, void *data)
{
        struct fault f = *(struct fault *)data;

        f.id = id;
        return sim_add_fault(ctl_sim, &f);
}

static int clear_cb(uint32_t id, void *data _unused_)
{
        sim_clear_faults(ctl_sim, false, id);
        return 0;
}

static uint32_t next_free_id_locked(struct sim *s)
{
        return s->n_blocks ? s->blocks[s->n_blocks - 1].id + 1 : 0;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_add(struct sim *s, int argc, char **argv, bool storm, struct reply *rp)
{
        uint32_t node = 0, n, start, gap_ms = 0;
        uint64_t sent0, opens0, opens;
        double t0, dt;
        int r;

        if (argc < 2)
                return fail(rp, EINVAL, "usage: %s",
                            storm ? "storm N [NODE] [START]" : "add-dimm NODE NBLOCKS [START]");
        /* add-dimm NODE NBLOCKS [START], storm N [NODE] [START]; key=value also works. */
        if (storm) {
                if (parse_uint(kv(argv[1], "n"), &n) < 0 ||
                    (argc > 2 && parse_uint(kv(argv[2], "node"), &node) < 0))
                        return fail(rp, EINVAL, "bad number");
        } else {
                if (argc < 3 || parse_uint(kv(argv[1], "node"), &node) < 0 ||
                    parse_uint(kv(argv[2], "blocks"), &n) < 0)
                        return fail(rp, EINVAL, "usage: add-dimm NODE NBLOCKS [START]");
        }
        pthread_mutex_lock(&s->lock);
        start = next_free_id_locked(s);
        pthread_mutex_unlock(&s->lock);
        if (argc > 3 && parse_uint(kv(argv[3], "start"), &start) < 0)
                return fail(rp, EINVAL, "bad start");
        if (!storm && argc > 4 && parse_uint(kv(argv[4], "gap"), &gap_ms) < 0)
                return fail(rp, EINVAL, "bad gap");
        sent0 = s->events_sent;
        opens0 = __atomic_load_n(&s->ops[SIM_OP_OPEN], __ATOMIC_RELAXED);
        t0 = now_s();
        if (argc > 4 && !storm) {
                r = 0;
                for (uint32_t i = 0; i < n && r == 0; i++) {
                        if (i > 0)
                                usleep((useconds_t)gap_ms * 1000);
                        r = sim_add_blocks(s, node, start + i, 1, true);
                }
        } else {
                r = sim_add_blocks(s, node, start, n, true);
        }
        dt = now_s() - t0;
        opens = __atomic_load_n(&s->ops[SIM_OP_OPEN], __ATOMIC_RELAXED) - opens0;
        if (r < 0)
                return fail(rp, r, "hot-add of %u blocks at %u on node %u failed", n, start, node);
        fprintf(rp->f, "added %u-%u node %u\n", start, start + n - 1, node);
        if (argc > 4 && !storm)
                fprintf(rp->f, "opens during the add: %llu\n", (unsigned long long)opens);
        if (storm)
                fprintf(rp->f, "%llu events in %.3f s: %.0f events/s\n",
                        (unsigned long long)(s->events_sent - sent0), dt,
                        dt > 0 ? (double)(s->events_sent - sent0) / dt : 0.0);
        return 0;
}

static int cmd_remove(struct sim *s, int argc, char **argv, struct reply *rp)
{
        bool force = argc > 2 && strcmp(argv[2], "force") == 0;
        const char *p;
        int total = 0;

        if (argc < 2)
                return fail(rp, EINVAL, "usage: remove BLOCKS [force]");
        p = argv[1];
        for (;;) {
                uint32_t lo, hi;
                int r = sim_parse_range(p, &lo, &hi, &p);

                if (r < 0)
                        return fail(rp, r, "bad range");
                r = sim_remove_blocks(s, lo, hi, force);
                if (r < 0)
                        return fail(rp, r, "cannot remove %u-%u", lo, hi);
                total += r;
                if (!*p)
                        break;
                p++;
        }
        fprintf(rp->f, "removed %d\n", total);
        return 0;
}

static int cmd_fault(int argc, char **argv, enum fault_kind kind, struct reply *rp)
{
        struct fault f = {.kind = (uint8_t)kind, .count = 1};
        int i = 2, r;

        if (argc < 2)
                return fail(rp, EINVAL, "missing BLOCKS");
        switch (kind) {
        case FAULT_FAIL:
                if (argc < 3 || (f.err = errno_from_name(argv[2])) < 0)
                        return fail(rp, EINVAL, "usage: fail BLOCKS ERRNO [COUNT|always]");
                i = 3;
                break;
        case FAULT_SLOW: {
                uint32_t ms;

                if (argc < 3 || parse_uint(argv[2], &ms) < 0)
                        return fail(rp, EINVAL, "usage: slow BLOCKS MS [COUNT|always]");
                f.ms = ms;
                i = 3;
                break;
        }
        case FAULT_VANISH:
                f.err = ENOENT;
                if (argc > 2 && (f.err = errno_from_name(argv[2])) < 0)
                        return fail(rp, EINVAL, "usage: vanish BLOCKS [ERRNO]");
                i = argc;
                break;
        case FAULT_HANG:
        default:
                break;
        }
        f.op = OP_ONLINE;
        for (; i < argc; i++) {
                if (kind == FAULT_HANG && strcmp(argv[i], "nolock") == 0)
                        f.nolock = true;
                else if (kind == FAULT_RACE && strcmp(argv[i], "online") == 0)
                        f.op = OP_ONLINE;
                else if (kind == FAULT_RACE && strcmp(argv[i], "online_kernel") == 0)
                        f.op = OP_ONLINE_KERNEL;
                else if (kind == FAULT_RACE && strcmp(argv[i], "online_movable") == 0)
                        f.op = OP_ONLINE_MOVABLE;
                else if (parse_count(argv[i], &f.count) < 0)
                        return fail(rp, EINVAL, "bad count '%s'", argv[i]);
        }
        r = foreach_id(argv[1], add_fault_cb, &f);
        if (r < 0)
                return fail(rp, r, "cannot arm fault");
        return 0;
}

static int cmd_change(struct sim *s, int argc, char **argv, bool online, struct reply *rp)
{
        enum online_op op = online ? OP_ONLINE : OP_OFFLINE;
        uint32_t id;
        int r;

        if (argc < 2 || parse_uint(argv[1], &id) < 0)
                return fail(rp, EINVAL,
                            "usage: online BLOCK [online|online_kernel|online_movable]");
        if (online && argc > 2) {
                if (strcmp(argv[2], "online_kernel") == 0 || strcasecmp(argv[2], "Normal") == 0)
                        op = OP_ONLINE_KERNEL;
                else if (strcmp(argv[2], "online_movable") == 0 ||
                         strcasecmp(argv[2], "Movable") == 0)
                        op = OP_ONLINE_MOVABLE;
                else if (strcmp(argv[2], "online") != 0)
                        return fail(rp, EINVAL, "bad online type '%s'", argv[2]);
        }
        r = sim_ctl_change_state(s, id, op, false);
        if (r < 0)
                return fail(rp, r, "cannot change block %u", id);
        return 0;
}

int sim_status_dump(struct sim *s, FILE *f, uint32_t lo, uint32_t hi)
{
        static const char *const states[] = {"offline", "online", "going-offline"};

        for (size_t i = 0; i < s->n_blocks; i++) {
                const struct block *b = &s->blocks[i];

                if (b->id < lo || b->id > hi)
                        continue;
                fprintf(f, "%u %s %s %u\n", b->id, states[b->state],
                        b->state == BLOCK_OFFLINE ? "-" : zone_name(b->zone), b->node);
        }
        return 0;
}

static int cmd_state(struct sim *s, int argc, char **argv, struct reply *rp)
{
        const char *p = argc > 1 ? argv[1] : NULL;

        pthread_mutex_lock(&s->lock);
        if (!p)
                sim_status_dump(s, rp->f, 0, UINT32_MAX);
        while (p) {
                uint32_t lo, hi;

                if (sim_parse_range(p, &lo, &hi, &p) < 0) {
                        pthread_mutex_unlock(&s->lock);
                        return fail(rp, EINVAL, "bad range");
                }
                sim_status_dump(s, rp->f, lo, hi);
                p = *p ? p + 1 : NULL;
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static int cmd_hung(struct sim *s, int argc, char **argv, bool wait, struct reply *rp)
{
        struct timespec deadline;
        uint32_t id = 0, ms = 10000;
        bool found = false;

        if (wait && (argc < 2 || parse_uint(argv[1], &id) < 0 ||
                     (argc > 2 && parse_uint(argv[2], &ms) < 0)))
                return fail(rp, EINVAL, "usage: wait-hung BLOCK [TIMEOUT_MS]");
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        for (;;) {
                for (struct hang_wait *hw = s->hangs; hw; hw = hw->next) {
                        if (!wait)
                                fprintf(rp->f, "%u\n", hw->id);
                        else if (hw->id == id)
                                found = true;
                }
                if (!wait || found || s->quitting)
                        break;
                if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
                        break;
        }
        pthread_mutex_unlock(&s->lock);
        if (wait && !found)
                return fail(rp, ETIMEDOUT, "no write to block %u hung within %u ms", id, ms);
        return 0;
}

static int cmd_release(struct sim *s, int argc, char **argv, struct reply *rp)
{
        unsigned n = 0;
        uint32_t id;

        if (argc < 2 || parse_uint(argv[1], &id) < 0)
                return fail(rp, EINVAL, "usage: release BLOCK");
        pthread_mutex_lock(&s->lock);
        for (struct hang_wait *hw = s->hangs; hw; hw = hw->next)
                if (hw->id == id && !hw->released) {
                        hw->released = true;
                        n++;
                }
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        fprintf(rp->f, "released %u\n", n);
        return 0;
}

static int cmd_writes(struct sim *s, int argc, char **argv, struct reply *rp)
{
        uint32_t id;

        pthread_mutex_lock(&s->lock);
        if (argc > 1) {
                const struct block *b;

                if (parse_uint(argv[1], &id) < 0) {
                        pthread_mutex_unlock(&s->lock);
                        return fail(rp, EINVAL, "usage: writes [BLOCK]");
                }
                b = sim_find_locked(s, id);
                fprintf(rp->f, "%u\n", b ? b->writes : 0);
        } else {
                for (size_t i = 0; i < s->n_blocks; i++)
                        if (s->blocks[i].writes)
                                fprintf(rp->f, "%u %u\n", s->blocks[i].id, s->blocks[i].writes);
                fprintf(rp->f, "total %llu\n", (unsigned long long)s->wlog_total);
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static int cmd_wlog(struct sim *s, int argc, char **argv, struct reply *rp)
{
        uint32_t n = 100;
        uint64_t first;

        if (argc > 1 && parse_uint(argv[1], &n) < 0)
                return fail(rp, EINVAL, "usage: wlog [N]");
        pthread_mutex_lock(&s->lock);
        if (n > SIM_WLOG_SIZE)
                n = SIM_WLOG_SIZE;
        if (n > s->wlog_total)
                n = (uint32_t)s->wlog_total;
        first = s->wlog_total - n;
        for (uint64_t i = first; i < s->wlog_total; i++) {
                const struct wlog_entry *e = &s->wlog[i % SIM_WLOG_SIZE];

                fprintf(rp->f, "%u %s %s %s\n", e->id, e->attr ? "online" : "state",
                        e->value[0] ? e->value : "''", e->result ? errno_name(e->result) : "ok");
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static int cmd_faults(struct sim *s, struct reply *rp)
{
        static const char *const kinds[] = {"slow", "hang", "vanish", "fail", "race"};

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_faults; i++) {
                const struct fault *f = &s->faults[i];

                fprintf(rp->f, "%u %s", f->id, kinds[f->kind]);
                if (f->kind == FAULT_FAIL || f->kind == FAULT_VANISH)
                        fprintf(rp->f, " %s", errno_name(f->err));
                if (f->kind == FAULT_SLOW)
                        fprintf(rp->f, " %ums", f->ms);
                if (f->nolock)
                        fputs(" nolock", rp->f);
                if (f->count < 0)
                        fputs(" always\n", rp->f);
                else
                        fprintf(rp->f, " %d\n", f->count);
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static int cmd_zones(struct sim *s, struct reply *rp)
{
        pthread_mutex_lock(&s->lock);
        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                if (!s->nodes[n].online)
                        continue;
                for (unsigned z = 0; z < NR_ZONES; z++) {
                        uint64_t start, end;

                        sim_zone_span_locked(s, n, z, &start, &end);
                        fprintf(rp->f, "%u %s %llu %llu\n", n, zone_name(z),
                                (unsigned long long)s->nodes[n].zones[z].present,
                                (unsigned long long)(end - start));
                }
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

/* Returns true if the sim should stop after answering. */
static bool run_command(struct sim *s, char *line, struct reply *rp)
{
        char *argv[MAX_ARGS + 1], *save = NULL, *tok;
        int argc = 0;
        uint32_t v;

        for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < MAX_ARGS;
             tok = strtok_r(NULL, " \t\r\n", &save))
                argv[argc++] = tok;
        argv[argc] = NULL;
        if (argc == 0 || strcmp(argv[0], "help") == 0) {
                fputs(usage, rp->f);
                return false;
        }
        if (strcmp(argv[0], "ping") == 0)
                return false;
        if (strcmp(argv[0], "add-dimm") == 0)
                cmd_add(s, argc, argv, false, rp);
        else if (strcmp(argv[0], "storm") == 0)
                cmd_add(s, argc, argv, true, rp);
        else if (strcmp(argv[0], "remove") == 0)
                cmd_remove(s, argc, argv, rp);
        else if (strcmp(argv[0], "online") == 0)
                cmd_change(s, argc, argv, true, rp);
        else if (strcmp(argv[0], "offline") == 0)
                cmd_change(s, argc, argv, false, rp);
        else if (strcmp(argv[0], "fail") == 0)
                cmd_fault(argc, argv, FAULT_FAIL, rp);
        else if (strcmp(argv[0], "hang") == 0)
                cmd_fault(argc, argv, FAULT_HANG, rp);
        else if (strcmp(argv[0], "slow") == 0)
                cmd_fault(argc, argv, FAULT_SLOW, rp);
        else if (strcmp(argv[0], "vanish") == 0)
                cmd_fault(argc, argv, FAULT_VANISH, rp);
        else if (strcmp(argv[0], "race") == 0)
                cmd_fault(argc, argv, FAULT_RACE, rp);
        else if (strcmp(argv[0], "release") == 0)
                cmd_release(s, argc, argv, rp);
        else if (strcmp(argv[0], "hung") == 0)
                cmd_hung(s, argc, argv, false, rp);
        else if (strcmp(argv[0], "wait-hung") == 0)
                cmd_hung(s, argc, argv, true, rp);
        else if (strcmp(argv[0], "late-link") == 0) {
                if (argc < 2 || parse_uint(argv[1], &v) < 0)
                        fail(rp, EINVAL, "usage: late-link MS");
                else {
                        pthread_mutex_lock(&s->lock);
                        s->late_link_ms = v;
                        pthread_mutex_unlock(&s->lock);
                }
        } else if (strcmp(argv[0], "late-firmware-node") == 0) {
                if (argc < 2 || parse_uint(argv[1], &v) < 0)
                        fail(rp, EINVAL, "usage: late-firmware-node MS");
                else {
                        pthread_mutex_lock(&s->lock);
                        s->late_fw_ms = v;
                        pthread_mutex_unlock(&s->lock);
                }
        } else if (strcmp(argv[0], "clear") == 0) {
                if (argc < 2)
                        sim_clear_faults(s, true, 0);
                else if (foreach_id(argv[1], clear_cb, NULL) < 0)
                        fail(rp, EINVAL, "bad range");
        } else if (strcmp(argv[0], "faults") == 0)
                cmd_faults(s, rp);
        else if (strcmp(argv[0], "state") == 0)
                cmd_state(s, argc, argv, rp);
        else if (strcmp(argv[0], "zones") == 0)
                cmd_zones(s, rp);
        else if (strcmp(argv[0], "writes") == 0)
                cmd_writes(s, argc, argv, rp);
        else if (strcmp(argv[0], "wlog") == 0)
                cmd_wlog(s, argc, argv, rp);
        else if (strcmp(argv[0], "reset-counters") == 0) {
                pthread_mutex_lock(&s->lock);
                for (size_t i = 0; i < s->n_blocks; i++)
                        s->blocks[i].writes = 0;
                s->wlog_total = 0;
                pthread_mutex_unlock(&s->lock);
        } else if (strcmp(argv[0], "events") == 0) {
                pthread_mutex_lock(&s->uevent_lock);
                fprintf(rp->f, "seqnum %llu sent %llu failed %llu port %u\n",
                        (unsigned long long)s->seqnum, (unsigned long long)s->events_sent,
                        (unsigned long long)s->events_failed, s->uevent_port);
                pthread_mutex_unlock(&s->uevent_lock);
        } else if (strcmp(argv[0], "fuse-stats") == 0) {
                static const char *const names[SIM_OP_MAX] = {
                        "lookup", "getattr", "open",     "read",
                        "write",  "readdir", "readlink", "setattr",
                };

                for (unsigned i = 0; i < SIM_OP_MAX; i++)
                        fprintf(rp->f, "%s %llu\n", names[i],
                                (unsigned long long)__atomic_load_n(&s->ops[i], __ATOMIC_RELAXED));
        } else if (strcmp(argv[0], "quit") == 0)
                return true;
        else
                fail(rp, EINVAL, "unknown command '%s' (try help)", argv[0]);
        return false;
}

static void *conn_thread(void *arg)
{
        int fd = (int)(intptr_t)arg;
        char line[MAX_LINE];
        struct reply rp = {0};
        size_t n = 0;
        bool quit = false;

        /* One line, up to MAX_LINE bytes; the client half-closes or sends '\n'. */
        while (n < sizeof(line) - 1) {
                ssize_t k = read(fd, line + n, sizeof(line) - 1 - n);

                if (k <= 0)
                        break;
                n += (size_t)k;
                if (memchr(line, '\n', n))
                        break;
        }
        line[n] = 0;
        rp.f = open_memstream(&rp.buf, &rp.len);
        if (!rp.f) {
                close(fd);
                return NULL;
        }
        quit = run_command(ctl_sim, line, &rp);
        if (rp.err)
                fprintf(rp.f, "ERR %s %s\n", errno_name(rp.err), rp.msg);
        else
                fputs("OK\n", rp.f);
        fclose(rp.f);
        for (size_t off = 0; off < rp.len;) {
                ssize_t k = write(fd, rp.buf + off, rp.len - off);

                if (k <= 0)
                        break;
                off += (size_t)k;
        }
        free(rp.buf);
        close(fd);
        if (quit)
                sim_fuse_stop();
        return NULL;
}

static void *accept_thread(void *arg)
{
        int lfd = (int)(intptr_t)arg;

        for (;;) {
                pthread_t t;
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        return NULL;
                }
                if (pthread_create(&t, NULL, conn_thread, (void *)(intptr_t)fd) != 0) {
                        close(fd);
                        continue;
                }
                pthread_detach(t);
        }
}

int ctl_listen(struct sim *s, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        pthread_t t;
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        ctl_sim = s;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        if (pthread_create(&t, NULL, accept_thread, (void *)(intptr_t)fd) != 0) {
                close(fd);
                return -EAGAIN;
        }
        pthread_detach(t);
        return 0;
}

/* memhp-sim ctl SOCK WORDS...: prints the output; exit 0 on OK, 1 on ERR, 2 if unreachable. */
int ctl_client(const char *path, int argc, char **argv)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char *line = NULL, *resp = NULL, *last;
        size_t llen = 0, rlen = 0;
        FILE *lf = open_memstream(&line, &llen), *rf;
        char buf[65536];
        int fd, ret;

        if (!lf)
                return 2;
        for (int i = 0; i < argc; i++)
                fprintf(lf, "%s%s", i ? " " : "", argv[i]);
        fputc('\n', lf);
        fclose(lf);
        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "memhp-sim: socket path too long\n");
                free(line);
                return 2;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                fprintf(stderr, "memhp-sim: cannot connect to %s: %m\n", path);
                free(line);
                if (fd >= 0)
                        close(fd);
                return 2;
        }
        if (write(fd, line, llen) != (ssize_t)llen) {
                fprintf(stderr, "memhp-sim: write: %m\n");
                free(line);
                close(fd);
                return 2;
        }
        free(line);
        rf = open_memstream(&resp, &rlen);
        if (!rf) {
                close(fd);
                return 2;
        }
        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));

                if (k <= 0)
                        break;
                fwrite(buf, 1, (size_t)k, rf);
        }
        close(fd);
        fclose(rf);
        /* The status is the last line. */
        if (rlen == 0 || resp[rlen - 1] != '\n') {
                fprintf(stderr, "memhp-sim: truncated reply\n");
                free(resp);
                return 2;
        }
        resp[rlen - 1] = 0;
        last = strrchr(resp, '\n');
        last = last ? last + 1 : resp;
        fwrite(resp, 1, (size_t)(last - resp), stdout);
        if (strcmp(last, "OK") == 0)
                ret = 0;
        else {
                fprintf(stderr, "memhp-sim: %s\n", last);
                ret = 1;
        }
        free(resp);
        return ret;
}
