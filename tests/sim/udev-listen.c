/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * udev-listen: a libudev monitor on the "udev" source with a subsystem filter, as
 * memhpd uses it; proves that memhp-sim's uevents are accepted by the real libudev.
 *
 *   udev-listen [--subsystem NAME] [--rcvbuf BYTES] [--count N] [--idle-ms MS] [--quiet]
 *
 * Prints "READY" once receiving, then one line per device: ACTION DEVPATH SEQNUM SUBSYSTEM,
 * "ENOBUFS" when the receive buffer overflowed, and "TOTAL <n>" at the end. Exits after
 * N devices or after MS ms without any (default 2000).
 */
#include <errno.h>
#include <getopt.h>
#include <libudev.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"subsystem", required_argument, NULL, 's'},
                {"rcvbuf", required_argument, NULL, 'b'},
                {"count", required_argument, NULL, 'c'},
                {"idle-ms", required_argument, NULL, 'i'},
                {"quiet", no_argument, NULL, 'q'},
                {},
        };
        const char *subsystem = "memory";
        long rcvbuf = 0, count = -1, idle_ms = 2000, total = 0;
        bool quiet = false;
        struct udev *udev;
        struct udev_monitor *mon;
        struct pollfd pfd;
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        subsystem = optarg;
                        break;
                case 'b':
                        rcvbuf = strtol(optarg, NULL, 0);
                        break;
                case 'c':
                        count = strtol(optarg, NULL, 0);
                        break;
                case 'i':
                        idle_ms = strtol(optarg, NULL, 0);
                        break;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return 2;
                }
        }
        udev = udev_new();
        mon = udev ? udev_monitor_new_from_netlink(udev, "udev") : NULL;
        if (!mon) {
                perror("udev_monitor_new_from_netlink");
                return 1;
        }
        if (udev_monitor_filter_add_match_subsystem_devtype(mon, subsystem, NULL) < 0 ||
            (rcvbuf > 0 && udev_monitor_set_receive_buffer_size(mon, (int)rcvbuf) < 0) ||
            udev_monitor_enable_receiving(mon) < 0) {
                perror("udev monitor setup");
                return 1;
        }
        printf("READY\n");
        fflush(stdout);
        pfd = (struct pollfd){.fd = udev_monitor_get_fd(mon), .events = POLLIN};
        while (count < 0 || total < count) {
                struct udev_device *d;
                int r = poll(&pfd, 1, (int)idle_ms);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                d = udev_monitor_receive_device(mon);
                if (!d) {
                        if (errno == ENOBUFS) {
                                printf("ENOBUFS\n");
                                fflush(stdout);
                        }
                        continue;
                }
                total++;
                if (!quiet) {
                        printf("%s %s %llu %s\n", udev_device_get_action(d),
                               udev_device_get_devpath(d), udev_device_get_seqnum(d),
                               udev_device_get_subsystem(d));
                        fflush(stdout);
                }
                udev_device_unref(d);
        }
        printf("TOTAL %ld\n", total);
        udev_monitor_unref(mon);
        udev_unref(udev);
        return 0;
}
