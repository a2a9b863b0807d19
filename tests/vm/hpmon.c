/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hpmon: the VM tier's eyes inside the guest. It never writes sysfs.
 *
 *   hpmon log FILE [-s]                 log every kernel uevent to FILE
 *   hpmon now                           print CLOCK_BOOTTIME (s.us)
 *   hpmon wait [--go] ACTION N TMO_MS   print memory uevents until N had ACTION
 *   hpmon state STATE TMO_MS BLOCK...   wait until every block's state is STATE
 *   hpmon serve TTY                     the command channel: run each line read from TTY
 *                                       with sh -c, answer its output and "@@RC=<status>"
 *
 * Timestamps are CLOCK_BOOTTIME, the clock of /proc/uptime, taken when the
 * event is received, so the host can compare them with a "now" read in the
 * guest without any host/guest clock skew.
 *
 * "wait --go" binds its netlink socket first and only then prints
 * "@@GO <now>": the host issues the QMP hot-add after reading that line, so
 * no event can slip in before the listener exists (uevents are not replayed)
 * and the stamp is the latest guest time before the trigger. Waiting in
 * recv() rather than polling keeps this process off the guest's two vCPUs
 * while the onliner being measured runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct uevent {
        const char *action, *devpath, *subsys, *seqnum;
};

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int uevent_socket(void)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
        int fd, sz = 4 << 20;

        /* Group 1 is the raw kernel source: the guest runs no udevd. */
        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
        if (fd < 0) {
                perror("hpmon: socket");
                exit(2);
        }
        /* A virtio-mem resize is a burst of add+online events per block;
         * the default buffer drops some (ENOBUFS) under TCG. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("hpmon: bind");
                exit(2);
        }
        return fd;
}

/* Returns 1 with *ev filled, 0 on timeout, -1 on ENOBUFS (events lost). */
static int uevent_recv(int fd, char *buf, size_t len, int timeout_ms, struct uevent *ev)
{
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        for (;;) {
                int r = poll(&pfd, 1, timeout_ms);

                if (r == 0)
                        return 0;
                if (r < 0 && errno == EINTR)
                        continue;
                n = recv(fd, buf, len - 1, 0);
                if (n >= 0)
                        break;
                if (errno == ENOBUFS)
                        return -1;
                if (errno != EINTR) {
                        perror("hpmon: recv");
                        exit(2);
                }
        }
        buf[n] = 0;
        *ev = (struct uevent){"?", "?", "?", "?"};
        /* "ACTION@DEVPATH\0KEY=VALUE\0..." */
        for (char *p = buf + strlen(buf) + 1; p < buf + n; p += strlen(p) + 1) {
                if (!strncmp(p, "ACTION=", 7))
                        ev->action = p + 7;
                else if (!strncmp(p, "DEVPATH=", 8))
                        ev->devpath = p + 8;
                else if (!strncmp(p, "SUBSYSTEM=", 10))
                        ev->subsys = p + 10;
                else if (!strncmp(p, "SEQNUM=", 7))
                        ev->seqnum = p + 7;
        }
        return 1;
}

static const char *basename_of(const char *path)
{
        const char *s = strrchr(path, '/');

        return s ? s + 1 : path;
}

static void read_attr(const char *dir, const char *attr, char *out, size_t len)
{
        char path[512];
        int fd;
        ssize_t n;

        snprintf(out, len, "?");
        snprintf(path, sizeof(path), "%s/%s", dir, attr);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, out, len - 1);
        close(fd);
        if (n <= 0) {
                snprintf(out, len, "?");
                return;
        }
        out[n] = 0;
        out[strcspn(out, "\n")] = 0;
}

/* What a daemon reacting right now would see: the state, the nodeN link, which the kernel
 * creates only after it sent the block's "add", and the firmware_node link (an ACPI memory
 * device's, e.g. PNP0C80:01), which ACPI creates only after the whole add returned. */
static void sample_block(const char *devpath, char *out, size_t len)
{
        char dir[512], path[600], target[600], state[32], node[32] = "none", fw[64] = "none";
        struct dirent *de;
        ssize_t n;
        DIR *d;

        snprintf(dir, sizeof(dir), "/sys%s", devpath);
        read_attr(dir, "state", state, sizeof(state));
        snprintf(path, sizeof(path), "%s/firmware_node", dir);
        n = readlink(path, target, sizeof(target) - 1);
        if (n > 0) {
                target[n] = 0;
                snprintf(fw, sizeof(fw), "%.63s", basename_of(target));
        }
        d = opendir(dir);
        if (d) {
                while ((de = readdir(d)))
                        if (!strncmp(de->d_name, "node", 4) && de->d_name[4] >= '0' &&
                            de->d_name[4] <= '9')
                                snprintf(node, sizeof(node), "%.31s", de->d_name);
                closedir(d);
        }
        snprintf(out, len, " state=%s link=%s fw=%s", state, node, fw);
}

static int cmd_log(int argc, char **argv)
{
        static char buf[16384];
        int sample = argc > 3 && !strcmp(argv[3], "-s");
        FILE *out;
        int fd;

        if (argc < 3)
                return 64;
        out = fopen(argv[2], "a");
        if (!out) {
                perror(argv[2]);
                return 2;
        }
        setvbuf(out, NULL, _IOLBF, 0);
        fd = uevent_socket();
        fprintf(out, "hpmon: listening\n");
        for (;;) {
                char extra[160] = "";
                struct uevent ev;
                int r = uevent_recv(fd, buf, sizeof(buf), -1, &ev);

                if (r < 0) {
                        fprintf(out, "hpmon: ENOBUFS, events lost\n");
                        continue;
                }
                if (sample && !strcmp(ev.subsys, "memory") && strcmp(ev.action, "remove"))
                        sample_block(ev.devpath, extra, sizeof(extra));
                fprintf(out, "%.6f seq=%s %s %s subsys=%s%s\n", now_s(), ev.seqnum, ev.action,
                        ev.devpath, ev.subsys, extra);
        }
}

static int cmd_wait(int argc, char **argv)
{
        static char buf[16384];
        int go = 0, fd, seen = 0, count, timeout_ms, lost = 0;
        const char *action;
        double deadline;

        if (argc > 2 && !strcmp(argv[2], "--go")) {
                go = 1;
                argv++;
                argc--;
        }
        if (argc != 5)
                return 64;
        action = argv[2];
        count = atoi(argv[3]);
        timeout_ms = atoi(argv[4]);
        fd = uevent_socket();
        deadline = now_s() + timeout_ms / 1000.0;
        if (go) {
                printf("@@GO %.6f\n", now_s());
                fflush(stdout);
        }
        while (seen < count) {
                int left = (int)((deadline - now_s()) * 1000);
                struct uevent ev;
                int r;

                if (left <= 0)
                        break;
                r = uevent_recv(fd, buf, sizeof(buf), left, &ev);
                if (r == 0)
                        break;
                if (r < 0) {
                        lost = 1;
                        continue;
                }
                if (strcmp(ev.subsys, "memory"))
                        continue;
                /* Every memory event is printed (the benchmark wants the
                 * "add" times too); only ACTION counts. */
                printf("%.6f %s %s\n", now_s(), ev.action, basename_of(ev.devpath));
                seen += !strcmp(ev.action, action);
        }
        if (lost)
                printf("lost events (ENOBUFS)\n");
        if (seen < count) {
                printf("timeout %d/%d %s\n", seen, count, action);
                return 1;
        }
        return 0;
}

static int cmd_state(int argc, char **argv)
{
        double deadline;
        const char *want;
        int ok;

        if (argc < 4)
                return 64;
        want = argv[2];
        deadline = now_s() + atoi(argv[3]) / 1000.0;
        for (;;) {
                ok = 1;
                for (int i = 4; i < argc && ok; i++) {
                        char dir[256], state[32];

                        snprintf(dir, sizeof(dir), "/sys/devices/system/memory/%s", argv[i]);
                        read_attr(dir, "state", state, sizeof(state));
                        ok = !strcmp(state, want);
                }
                if (ok || now_s() > deadline)
                        break;
                usleep(10000);
        }
        printf("%.6f %s\n", now_s(), ok ? "ok" : "timeout");
        return ok ? 0 : 1;
}

/*
 * Why not a shell loop: busybox's `read` gives up on EINTR and drops what it
 * had read of the line, so a SIGCHLD from any background child of init
 * (every daemon gt starts ends up one) arriving mid-line made the tail of a
 * command run on its own. Here a signal costs nothing: reads are retried.
 */
static int cmd_serve(const char *tty)
{
        static char line[65536];
        struct termios t;
        size_t len = 0;
        int fd;

        /* O_NOCTTY: the port must not become the controlling tty of whoever
         * runs us, or a hangup there would reach every daemon started here. */
        fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || tcgetattr(fd, &t) < 0) {
                perror(tty);
                return 2;
        }
        cfmakeraw(&t); /* no echo, no CR/LF rewriting: the host sees exact output */
        tcsetattr(fd, TCSANOW, &t);
        /* Only now: bytes that reach a port nobody has open are lost. */
        printf("@@READY %.6f\n", now_s());
        fflush(stdout);
        for (;;) {
                ssize_t n = read(fd, line + len, 1);
                int status;
                pid_t pid;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 2;
                if (line[len] != '\n') {
                        if (len < sizeof(line) - 1)
                                len++;
                        continue;
                }
                line[len] = 0;
                len = 0;
                pid = fork();
                if (pid == 0) {
                        int null = open("/dev/null", O_RDONLY);

                        dup2(null, 0);
                        dup2(fd, 1);
                        dup2(fd, 2);
                        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
                        _exit(127);
                }
                status = 127 << 8;
                while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                dprintf(fd, "@@RC=%d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
}

int main(int argc, char **argv)
{
        int r = 64;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc > 1 && !strcmp(argv[1], "log"))
                r = cmd_log(argc, argv);
        else if (argc > 1 && !strcmp(argv[1], "now"))
                r = printf("%.6f\n", now_s()) < 0;
        else if (argc > 1 && !strcmp(argv[1], "wait"))
                r = cmd_wait(argc, argv);
        else if (argc > 1 && !strcmp(argv[1], "state"))
                r = cmd_state(argc, argv);
        else if (argc == 3 && !strcmp(argv[1], "serve"))
                r = cmd_serve(argv[2]);
        if (r == 64)
                fprintf(stderr, "usage: hpmon log FILE [-s] | now | wait [--go] ACTION N TMO_MS"
                                " | state STATE TMO_MS BLOCK... | serve TTY\n");
        return r;
}
