/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhp-sim: entry point. Three modes:
 *   serve ROOT --ctl SOCK [options]   mount the simulated kernel at ROOT and serve it
 *   ctl SOCK COMMAND...               send one command to a running sim
 *   write [--timeout MS] [--hold MS] PATH VALUE
 *                                     write VALUE like memhpd does (one write(2) on an
 *                                     O_WRONLY|O_TRUNC fd) and print "ok" or the errno name;
 *                                     with --hold, "opened" goes to stderr once the fd is open
 *   bench ROOT FIRST N                time the least I/O any onliner needs for N offline
 *                                     node-0 blocks from FIRST (list them, read state, read
 *                                     the node link, write online_movable); prints seconds
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "sim.h"

static void usage(FILE *f)
{
        fputs("usage: memhp-sim serve ROOT --ctl SOCK [--nodes LIST] [--possible LIST]\n"
              "                 [--cpu-nodes LIST] [--boot nodeN:LO-HI[/ZONE],...]\n"
              "                 [--block-size HEX] [--auto-online VALUE] [--movable-node]\n"
              "                 [--late-link MS] [--late-firmware-node MS] [--extra DIR]\n"
              "                 [--kernel-group] [--die-with-parent] [--debug]\n"
              "       memhp-sim ctl SOCK COMMAND...   (COMMAND help lists the commands)\n"
              "       memhp-sim write [--timeout MS] [--hold MS] PATH VALUE\n"
              "       memhp-sim bench ROOT FIRST N\n"
              "ZONE: auto (by address, default), DMA32, Normal, Movable, none, offline\n",
              f);
}

/*
 * The sim must never shadow or serve the host's real sysfs/procfs: refuse anything but an
 * empty directory outside /sys, /proc and /dev, and never "/".
 */
static int check_mountpoint(const char *path)
{
        static const char *const forbidden[] = {"/sys", "/proc", "/dev"};
        char real[PATH_MAX];
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!realpath(path, real))
                return -errno;
        if (strcmp(real, "/") == 0)
                return -EPERM;
        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++) {
                size_t l = strlen(forbidden[i]);

                if (strncmp(real, forbidden[i], l) == 0 && (real[l] == 0 || real[l] == '/'))
                        return -EPERM;
        }
        d = opendir(real);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        r = -ENOTEMPTY;
        closedir(d);
        return r;
}

static int parse_boot(struct sim *s, const char *spec)
{
        char *copy = strdup(spec), *save = NULL, *item;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (item = strtok_r(copy, ",", &save); item && r == 0; item = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(item, ':'), *slash;
                uint32_t node, lo, hi;
                int zone = -1;

                if (strncmp(item, "node", 4) != 0 || !colon) {
                        r = -EINVAL;
                        break;
                }
                *colon = 0;
                slash = strchr(colon + 1, '/');
                if (slash) {
                        *slash = 0;
                        if (strcmp(slash + 1, "offline") == 0)
                                zone = -2;
                        else if (strcmp(slash + 1, "auto") != 0 &&
                                 (zone = zone_from_name(slash + 1)) < 0) {
                                r = -EINVAL;
                                break;
                        }
                }
                if (sim_parse_range(item + 4, &node, &hi, NULL) < 0 || node != hi ||
                    sim_parse_range(colon + 1, &lo, &hi, NULL) < 0) {
                        r = -EINVAL;
                        break;
                }
                for (uint64_t id = lo; id <= hi && r == 0; id++)
                        r = sim_boot_block(s, (uint32_t)id, node, zone);
        }
        free(copy);
        return r;
}

static int serve(int argc, char **argv)
{
        static const struct option opts[] = {
                {"ctl", required_argument, NULL, 'c'},
                {"nodes", required_argument, NULL, 'n'},
                {"possible", required_argument, NULL, 'p'},
                {"cpu-nodes", required_argument, NULL, 'C'},
                {"boot", required_argument, NULL, 'b'},
                {"block-size", required_argument, NULL, 's'},
                {"auto-online", required_argument, NULL, 'a'},
                {"movable-node", no_argument, NULL, 'm'},
                {"late-link", required_argument, NULL, 'l'},
                {"late-firmware-node", required_argument, NULL, 'F'},
                {"extra", required_argument, NULL, 'x'},
                {"kernel-group", no_argument, NULL, 'k'},
                {"die-with-parent", no_argument, NULL, 'P'},
                {"debug", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *ctl = NULL, *nodes = "0", *possible = NULL, *cpu_nodes = NULL, *boot = NULL;
        const char *auto_online = NULL;
        unsigned long long block_size = 0x8000000;
        uint64_t online_mask, possible_mask, cpu_mask;
        bool movable_node = false, debug = false, kernel_group = false;
        unsigned long late_link = 0, late_fw = 0;
        const char *extra = NULL;
        static struct sim s;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        ctl = optarg;
                        break;
                case 'n':
                        nodes = optarg;
                        break;
                case 'p':
                        possible = optarg;
                        break;
                case 'C':
                        cpu_nodes = optarg;
                        break;
                case 'b':
                        boot = optarg;
                        break;
                case 's':
                        errno = 0;
                        block_size = strtoull(optarg, &end, 16);
                        if (errno || *end || end == optarg) {
                                fprintf(stderr, "memhp-sim: bad --block-size (hex, no 0x)\n");
                                return 2;
                        }
                        break;
                case 'a':
                        auto_online = optarg;
                        break;
                case 'm':
                        movable_node = true;
                        break;
                case 'l':
                        late_link = strtoul(optarg, &end, 10);
                        break;
                case 'F':
                        late_fw = strtoul(optarg, &end, 10);
                        break;
                case 'x':
                        extra = optarg;
                        break;
                case 'k':
                        kernel_group = true;
                        break;
                case 'P':
                        /* A test killed hard must not leave its sim (and mount) behind. */
                        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1) {
                                fprintf(stderr, "memhp-sim: parent already gone\n");
                                return 1;
                        }
                        break;
                case 'd':
                        debug = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc - 1 || !ctl) {
                usage(stderr);
                return 2;
        }
        r = check_mountpoint(argv[optind]);
        if (r < 0) {
                fprintf(stderr, "memhp-sim: refusing mount point %s: %s\n", argv[optind],
                        strerror(-r));
                return 1;
        }
        if (sim_init(&s, block_size) < 0) {
                fprintf(stderr, "memhp-sim: bad block size %llx\n", block_size);
                return 2;
        }
        if (sim_parse_nodelist(nodes, &online_mask) < 0 ||
            sim_parse_nodelist(possible ? possible : nodes, &possible_mask) < 0 ||
            sim_parse_nodelist(cpu_nodes ? cpu_nodes : nodes, &cpu_mask) < 0 ||
            (online_mask & ~possible_mask)) {
                fprintf(stderr, "memhp-sim: bad node list\n");
                return 2;
        }
        for (unsigned n = 0; n < SIM_MAX_NODES; n++) {
                s.nodes[n].possible = possible_mask >> n & 1;
                s.nodes[n].online = online_mask >> n & 1;
                s.nodes[n].has_cpu = cpu_mask >> n & 1;
        }
        s.movable_node = movable_node;
        s.late_link_ms = (unsigned)late_link;
        s.late_fw_ms = (unsigned)late_fw;
        if (extra && (r = sim_extra_init(extra)) < 0) {
                fprintf(stderr, "memhp-sim: --extra %s: %s\n", extra, strerror(-r));
                return 2;
        }
        s.kernel_group = kernel_group;
        if (boot && (r = parse_boot(&s, boot)) < 0) {
                fprintf(stderr, "memhp-sim: bad --boot '%s': %s\n", boot, strerror(-r));
                return 2;
        }
        if (auto_online && sim_set_auto_online(&s, auto_online, strlen(auto_online)) < 0) {
                fprintf(stderr, "memhp-sim: bad --auto-online\n");
                return 2;
        }
        r = uevent_open(&s);
        if (r < 0) {
                fprintf(stderr, "memhp-sim: netlink socket: %s\n", strerror(-r));
                return 1;
        }
        r = ctl_listen(&s, ctl);
        if (r < 0) {
                fprintf(stderr, "memhp-sim: control socket %s: %s\n", ctl, strerror(-r));
                return 1;
        }
        r = sim_fuse_run(&s, argv[optind], debug);
        (void)unlink(ctl);
        if (r < 0) {
                fprintf(stderr, "memhp-sim: FUSE: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

/* Test helpers never touch the host's own sysfs or procfs. */
static bool under_host_fs(const char *path)
{
        static const char *const roots[] = {"/sys", "/proc"};
        char real[PATH_MAX];

        if (!realpath(path, real))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                size_t l = strlen(roots[i]);

                if (strncmp(real, roots[i], l) == 0 && (real[l] == 0 || real[l] == '/'))
                        return true;
        }
        return false;
}

static void on_alarm(int sig _unused_)
{
}

static int write_mode(int argc, char **argv)
{
        static const struct option opts[] = {
                {"timeout", required_argument, NULL, 't'},
                {"hold", required_argument, NULL, 'H'},
                {},
        };
        unsigned long timeout = 0, hold = 0;
        const char *value;
        ssize_t n;
        int c, fd;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                if (c == 't')
                        timeout = strtoul(optarg, NULL, 10);
                else if (c == 'H')
                        hold = strtoul(optarg, NULL, 10);
                else
                        return 2;
        }
        if (optind != argc - 2) {
                usage(stderr);
                return 2;
        }
        value = argv[optind + 1];
        if (under_host_fs(argv[optind])) {
                fprintf(stderr, "memhp-sim: refusing to write to %s\n", argv[optind]);
                return 2;
        }
        fd = open(argv[optind], O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) {
                printf("%s\n", errno_name(errno));
                return 1;
        }
        if (hold) {
                /* Tells a caller that runs this in the background that the fd now exists. */
                fprintf(stderr, "opened\n");
                usleep((useconds_t)hold * 1000);
        }
        if (timeout) {
                /* No SA_RESTART: the signal ends the write with EINTR, like a daemon's timer. */
                struct sigaction sa = {.sa_handler = on_alarm};
                struct itimerval it = {
                        .it_value = {.tv_sec = (time_t)(timeout / 1000),
                                     .tv_usec = (suseconds_t)(timeout % 1000) * 1000}};

                sigaction(SIGALRM, &sa, NULL);
                setitimer(ITIMER_REAL, &it, NULL);
        }
        n = write(fd, value, strlen(value));
        if (n < 0) {
                printf("%s\n", errno_name(errno));
                close(fd);
                return 1;
        }
        close(fd);
        printf("ok\n");
        return 0;
}

/*
 * The sim's floor: what the minimum work for N blocks costs through FUSE here. The sim
 * tier compares memhpd's time against this rather than against real sysfs, which is an
 * order of magnitude cheaper per access.
 */
static int bench_mode(int argc, char **argv)
{
        char path[PATH_MAX], buf[64];
        struct timespec t0, t1;
        unsigned long first, n;
        int dfd, r = 0;
        DIR *d;

        if (argc != 4) {
                usage(stderr);
                return 2;
        }
        first = strtoul(argv[2], NULL, 10);
        n = strtoul(argv[3], NULL, 10);
        snprintf(path, sizeof(path), "%s/sys/devices/system/memory", argv[1]);
        if (under_host_fs(path)) {
                fprintf(stderr, "memhp-sim: refusing to bench %s\n", path);
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                perror(path);
                return 1;
        }
        while (readdir(d))
                ;
        for (unsigned long id = first; id < first + n && r == 0; id++) {
                int fd;

                snprintf(path, sizeof(path), "memory%lu/state", id);
                fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
                        r = -errno;
                if (fd >= 0)
                        close(fd);
                snprintf(path, sizeof(path), "memory%lu/node0", id);
                if (r == 0 && readlinkat(dfd, path, buf, sizeof(buf)) < 0)
                        r = -errno;
                snprintf(path, sizeof(path), "memory%lu/state", id);
                fd = r == 0 ? openat(dfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC) : -1;
                if (r == 0 && (fd < 0 || write(fd, "online_movable", 14) != 14))
                        r = -errno;
                if (fd >= 0)
                        close(fd);
                if (r < 0)
                        fprintf(stderr, "memhp-sim: memory%lu: %s\n", id, strerror(-r));
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        closedir(d);
        if (r < 0)
                return 1;
        printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "serve") == 0)
                return serve(argc - 1, argv + 1);
        if (argc >= 4 && strcmp(argv[1], "ctl") == 0)
                return ctl_client(argv[2], argc - 3, argv + 3);
        if (argc >= 2 && strcmp(argv[1], "write") == 0)
                return write_mode(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "bench") == 0)
                return bench_mode(argc - 1, argv + 1);
        usage(stderr);
        return 2;
}
