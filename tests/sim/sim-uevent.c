/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Uevents as systemd-udevd re-broadcasts them: NETLINK_KOBJECT_UEVENT multicast group 2
 * ("udev"), a 40-byte "libudev" header followed by the properties as NUL-separated
 * KEY=value strings. Written from the layout systemd 252 documents in
 * src/libsystemd/sd-device/device-monitor.c; libudev's receiver checks:
 *   - SCM_CREDENTIALS uid 0 (the kernel attaches the sender's; we run as root),
 *   - prefix "libudev\0" and magic 0xfeedcafe in network order,
 *   - properties_off inside the datagram, and ACTION, DEVPATH, SUBSYSTEM, SEQNUM present,
 * and its BPF subsystem filter compares filter_subsystem_hash (MurmurHash2, seed 0,
 * network order) with the hash of the subscribed subsystem.
 *
 * With --kernel-group, each event also goes out first in the kernel's own format on the kernel
 * group (1), as the kernel sends it before udevd re-broadcasts: "ACTION@DEVPATH\0" and the
 * properties. (Off by default: it costs the storm rate a second send per event.) A reader
 * that trusts only the kernel (port id 0) drops these, since only the kernel sends from port 0:
 * tests of EventSource=kernel run memhpd under kernel-sender.so (see there).
 */
#include <endian.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define KERNEL_GROUP 1
#define UDEV_GROUP 2
#define UDEV_MAGIC 0xfeedcafeU

struct udev_header {
        char prefix[8];
        uint32_t magic; /* big endian */
        uint32_t header_size;
        uint32_t properties_off;
        uint32_t properties_len;
        uint32_t filter_subsystem_hash; /* big endian */
        uint32_t filter_devtype_hash;   /* big endian */
        uint32_t filter_tag_bloom_hi;   /* big endian */
        uint32_t filter_tag_bloom_lo;   /* big endian */
};

_Static_assert(sizeof(struct udev_header) == 40, "udev monitor header is 40 bytes");

/*
 * MurmurHash2 (Austin Appleby's public-domain algorithm), 32-bit, reading words in host
 * order as systemd does; the header then stores the result big endian.
 */
uint32_t murmur2(const void *data, size_t len, uint32_t seed)
{
        const uint32_t m = 0x5bd1e995;
        const unsigned char *p = data;
        uint32_t h = seed ^ (uint32_t)len;

        for (; len >= 4; p += 4, len -= 4) {
                uint32_t k;

                memcpy(&k, p, 4);
                k *= m;
                k ^= k >> 24;
                k *= m;
                h = h * m ^ k;
        }
        switch (len) {
        case 3:
                h ^= (uint32_t)p[2] << 16;
                /* fall through */
        case 2:
                h ^= (uint32_t)p[1] << 8;
                /* fall through */
        case 1:
                h ^= p[0];
                h *= m;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
}

int uevent_open(struct sim *s)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        socklen_t len;
        int fd;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
                return -errno;
        /* Port id 0 asks the kernel to pick one; we never receive on this socket. */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        len = sizeof(sa);
        if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
                s->uevent_port = sa.nl_pid;
        s->uevent_fd = fd;
        return 0;
}

static int append(char *buf, size_t size, size_t *pos, const char *fmt, ...) _printf_(4, 5);

static int append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n + 1 > size - *pos)
                return -ENOBUFS;
        *pos += (size_t)n + 1; /* keep the NUL: properties are a nulstr */
        return 0;
}

/* Builds header + properties into buf; returns the datagram length, 0 if it does not fit. */
size_t uevent_build(char *buf, size_t size, const char *action, const char *devpath,
                    const char *subsystem, uint64_t seqnum, uint64_t usec, bool synthetic)
{
        struct udev_header h = {
                .prefix = "libudev",
                .magic = htobe32(UDEV_MAGIC),
                .header_size = sizeof(h),
                .properties_off = sizeof(h),
                .filter_subsystem_hash = htobe32(murmur2(subsystem, strlen(subsystem), 0)),
        };
        size_t pos = sizeof(h);

        if (size < sizeof(h))
                return 0;
        if (append(buf, size, &pos, "ACTION=%s", action) < 0 ||
            append(buf, size, &pos, "DEVPATH=%s", devpath) < 0 ||
            append(buf, size, &pos, "SUBSYSTEM=%s", subsystem) < 0 ||
            (synthetic && append(buf, size, &pos, "SYNTH_UUID=0") < 0) ||
            append(buf, size, &pos, "SEQNUM=%llu", (unsigned long long)seqnum) < 0 ||
            append(buf, size, &pos, "USEC_INITIALIZED=%llu", (unsigned long long)usec) < 0)
                return 0;
        h.properties_len = (uint32_t)(pos - sizeof(h));
        memcpy(buf, &h, sizeof(h));
        return pos;
}

/* The kernel's format (lib/kobject_uevent.c): returns the datagram length, 0 if it does not fit. */
size_t uevent_build_kernel(char *buf, size_t size, const char *action, const char *devpath,
                           const char *subsystem, uint64_t seqnum, bool synthetic)
{
        size_t pos = 0;

        if (append(buf, size, &pos, "%s@%s", action, devpath) < 0 ||
            append(buf, size, &pos, "ACTION=%s", action) < 0 ||
            append(buf, size, &pos, "DEVPATH=%s", devpath) < 0 ||
            append(buf, size, &pos, "SUBSYSTEM=%s", subsystem) < 0 ||
            (synthetic && append(buf, size, &pos, "SYNTH_UUID=0") < 0) ||
            append(buf, size, &pos, "SEQNUM=%llu", (unsigned long long)seqnum) < 0)
                return 0;
        return pos;
}

/* ECONNREFUSED/ESRCH only mean that nobody listens right now. */
static int send_group(int fd, unsigned group, const char *buf, size_t len)
{
        struct sockaddr_nl dst = {.nl_family = AF_NETLINK, .nl_groups = group};

        if (sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
            errno != ECONNREFUSED && errno != ESRCH)
                return -errno;
        return 0;
}

/*
 * Sends one event for memory block id: on the kernel group (--kernel-group), then the udev group.
 * Seqnum allocation and send happen under one lock so listeners see seqnums in order, as the
 * kernel's uevent_sock_mutex ensures.
 */
int uevent_emit(struct sim *s, const char *action, uint32_t id, bool synthetic)
{
        char devpath[64], buf[512], kbuf[512];
        struct timespec ts;
        size_t len, klen;
        int r = 0;

        snprintf(devpath, sizeof(devpath), "/devices/system/memory/memory%u", id);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        pthread_mutex_lock(&s->uevent_lock);
        len = uevent_build(buf, sizeof(buf), action, devpath, "memory", ++s->seqnum,
                           (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, synthetic);
        if (len == 0)
                r = -ENOBUFS;
        if (r == 0 && s->kernel_group) {
                klen = uevent_build_kernel(kbuf, sizeof(kbuf), action, devpath, "memory", s->seqnum,
                                           synthetic);
                if (klen == 0)
                        r = -ENOBUFS;
                else if (s->uevent_fd >= 0)
                        r = send_group(s->uevent_fd, KERNEL_GROUP, kbuf, klen);
        }
        if (r == 0 && s->uevent_fd >= 0)
                r = send_group(s->uevent_fd, UDEV_GROUP, buf, len);
        if (r < 0)
                s->events_failed++;
        else
                s->events_sent++;
        pthread_mutex_unlock(&s->uevent_lock);
        return r;
}
