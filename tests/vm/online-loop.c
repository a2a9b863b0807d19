/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * online-loop: the benchmark's floor. The least a userspace onliner can do:
 * one netlink socket, and on every memory "add" one write of
 * "online_movable" to the block's state file. No config, no node lookup,
 * no retries. memhpd's latency is reported relative to this.
 *
 * Only ever runs inside the test VM: it refuses to start without the
 * guest marker file, so a stray run on a host cannot online its memory.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
        static char buf[8192];
        int fd, sz = 4 << 20;

        if (access("/etc/memhpd-vm-guest", F_OK) != 0) {
                fprintf(stderr, "online-loop: not in the memhpd test VM, refusing\n");
                return 2;
        }
        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
                return 1;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return 1;
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
                const char *devpath = NULL;
                int add = 0, memory = 0;
                char path[512];
                int state;

                if (n <= 0)
                        continue;
                buf[n] = 0;
                for (char *p = buf + strlen(buf) + 1; p < buf + n; p += strlen(p) + 1) {
                        if (!strcmp(p, "ACTION=add"))
                                add = 1;
                        else if (!strcmp(p, "SUBSYSTEM=memory"))
                                memory = 1;
                        else if (!strncmp(p, "DEVPATH=", 8))
                                devpath = p + 8;
                }
                if (!add || !memory || !devpath)
                        continue;
                snprintf(path, sizeof(path), "/sys%s/state", devpath);
                state = open(path, O_WRONLY | O_CLOEXEC);
                if (state >= 0) {
                        if (write(state, "online_movable", 14) < 0)
                                perror(path);
                        close(state);
                }
        }
}
