/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uevent source as an sd-event I/O source, with overflow detection.
 *
 * EventSource=udev reads through libudev: the messages udevd re-broadcasts are in udev's own
 * internal format, which only libudev (or sd-device) may interpret. Its subsystem filter
 * attaches a socket filter, so the kernel queues only memory events for us, and libudev checks
 * the sender (SCM_CREDENTIALS of uid 0; CVE-2009-1185). libudev reports the receive error, so
 * ENOBUFS reaches us (sd-device's own monitor swallows it).
 *
 * EventSource=kernel reads the netlink socket itself: the kernel's uevent format is a stable
 * ABI, parsed by lib/uevent.c (unit-tested, fuzzed), with the checks libudev would make:
 * messages on the kernel group must come from the kernel (port id 0) with root credentials
 * (CVE-2012-3520), and truncated datagrams are dropped.
 */
#include <libudev.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "monitor.h"
#include "time-util.h"

#define GROUP_KERNEL 1U
/* A kernel uevent's properties fit 2 KiB (UEVENT_BUFFER_SIZE); its "ACTION@DEVPATH" comes first. */
#define KERNEL_MESSAGE_MAX 8192
/*
 * Pacing leaves the socket unread for a batch's length, and an overflow then loses uevents that
 * are the only proof of what happened inside the burst (an online the admin undid). So it is
 * done only where the queue can hold far more than a batch: a kernel uevent takes about 4 KiB
 * of the socket's accounting (udev's fewer), so 16 MiB holds some 3,900, against about 200 in
 * a batch of the fastest hot-add (a few blocks per millisecond). Without CAP_NET_ADMIN
 * (rmem_max, 208 KiB by default) the monitor reads each uevent as it comes.
 */
#define PACE_MIN_RCVBUF (16U * 1024 * 1024)
/* After an overflow, uevents are read as they come until this long passes without one. */
#define UNPACED_AFTER_OVERFLOW_USEC (1 * USEC_PER_SEC)

struct Monitor {
        EventSource source;
        int fd;            /* EventSource=kernel: our socket */
        struct udev *udev; /* EventSource=udev */
        struct udev_monitor *umon;
        sd_event_source *io;
        sd_event_source *pace_timer; /* monitor_set_pace() */
        uint64_t pace_usec;
        uint64_t burst_start_usec;   /* 0: not in a paced burst */
        uint64_t unpaced_until_usec; /* no batches before this: a burst that overflowed */
        MonitorCallbacks cb;
        void *userdata;
        uint64_t rcvbuf;
};

EventSource monitor_resolve_source(EventSource s)
{
        if (s != EVENT_SOURCE_AUTO)
                return s;
        return access("/run/udev/control", F_OK) == 0 ? EVENT_SOURCE_UDEV : EVENT_SOURCE_KERNEL;
}

/* Returns true for a datagram we may trust: from the kernel, root credentials, not truncated. */
static bool kernel_trusted(const struct msghdr *msg, const struct sockaddr_nl *snl)
{
        const struct cmsghdr *c;

        if (msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                return false;
        if (snl->nl_family != AF_NETLINK || snl->nl_pid != 0)
                return false;
        for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, (struct cmsghdr *)c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        struct ucred cred;

                        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                        return cred.uid == 0;
                }
        return false;
}

/* One datagram from our own socket: 1 with *ret set, 0 for one to ignore, or -errno. */
static int kernel_receive(Monitor *m, MemUevent *ret)
{
        char buf[KERNEL_MESSAGE_MAX];
        union {
                struct cmsghdr align;
                char data[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct sockaddr_nl snl = {};
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr msg = {
                .msg_name = &snl,
                .msg_namelen = sizeof(snl),
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        ssize_t n;

        n = recvmsg(m->fd, &msg, MSG_DONTWAIT);
        if (n < 0)
                return -errno;
        if (!kernel_trusted(&msg, &snl))
                return 0;
        return uevent_parse_message(buf, (size_t)n, ret) == 0;
}

/*
 * One device from libudev: 1 with *ret set, 0 for one to ignore, or -errno. libudev returns
 * NULL with EAGAIN (or EINVAL) also for a message it dropped (untrusted, malformed), so EAGAIN
 * means "empty" only when the socket has nothing more.
 */
static int udev_receive(Monitor *m, MemUevent *ret)
{
        struct udev_device *d;
        int r;

        errno = 0;
        d = udev_monitor_receive_device(m->umon);
        if (!d) {
                r = errno > 0 ? -errno : -EAGAIN;
                if (r == -ENOBUFS || r == -EINTR)
                        return r;
                if (poll(&(struct pollfd){.fd = udev_monitor_get_fd(m->umon), .events = POLLIN}, 1,
                         0) > 0)
                        return 0;
                return r == -EINVAL ? -EAGAIN : r;
        }
        r = uevent_parse(udev_device_get_action(d), udev_device_get_devpath(d),
                         udev_device_get_subsystem(d), ret) == 0;
        udev_device_unref(d);
        return r;
}

static uint64_t loop_now(const Monitor *m)
{
        uint64_t now = 0;

        /* The loop's cached timestamp: no clock_gettime() per wake-up. */
        (void)sd_event_now(sd_event_source_get_event(m->io), CLOCK_MONOTONIC, &now);
        return now;
}

/*
 * Reads to EAGAIN; returns how many memory block events came. Other datagrams (other
 * subsystems' uevents on the kernel socket) do not count: they must not keep a paced burst
 * going.
 */
static size_t drain(Monitor *m)
{
        bool overflow = false;
        size_t n = 0;

        /*
         * Drain to EAGAIN. After an overflow the kernel reports ENOBUFS once and then drops new
         * messages until the queue is empty, so a rescan before the queue is drained could miss
         * blocks whose events are being dropped right now.
         */
        for (;;) {
                MemUevent ev;
                int r;

                r = m->source == EVENT_SOURCE_UDEV ? udev_receive(m, &ev) : kernel_receive(m, &ev);
                if (r > 0) {
                        n++;
                        m->cb.event(&ev, m->userdata);
                } else if (r == -ENOBUFS)
                        overflow = true;
                else if (r < 0 && r != -EINTR) {
                        if (r != -EAGAIN)
                                log_debug_errno(r, "Failed to read from the uevent socket: %m");
                        break;
                }
        }
        if (overflow) {
                m->unpaced_until_usec = loop_now(m) + UNPACED_AFTER_OVERFLOW_USEC;
                m->cb.overflow(m->userdata);
        }
        return n;
}

static void pace_arm(Monitor *m, uint64_t now)
{
        (void)sd_event_source_set_time(m->pace_timer, now + m->pace_usec);
        (void)sd_event_source_set_enabled(m->pace_timer, SD_EVENT_ONESHOT);
}

static void burst_end(Monitor *m)
{
        if (m->burst_start_usec == 0)
                return;
        m->burst_start_usec = 0;
        (void)sd_event_source_set_enabled(m->pace_timer, SD_EVENT_OFF);
        (void)sd_event_source_set_enabled(m->io, SD_EVENT_ON);
        if (m->cb.settled)
                m->cb.settled(m->userdata);
}

static int on_pace(sd_event_source *s, uint64_t usec, void *userdata)
{
        Monitor *m = userdata;

        (void)s;
        (void)usec;
        /* After an overflow the rest of the burst is read as it comes: no further loss. */
        if (drain(m) > 0 && m->pace_usec > 0 && loop_now(m) >= m->unpaced_until_usec)
                pace_arm(m, loop_now(m));
        else
                burst_end(m);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Monitor *m = userdata;
        uint64_t now;
        size_t n;

        (void)fd;
        (void)revents;
        n = drain(m);
        if (m->pace_usec == 0)
                return 0;
        now = loop_now(m);
        /* Unpaced after an overflow until a quiet second: each uevent meanwhile extends it. */
        if (n > 0 && now < m->unpaced_until_usec)
                m->unpaced_until_usec = now + UNPACED_AFTER_OVERFLOW_USEC;
        if (n == 0 || now < m->unpaced_until_usec)
                return 0;
        /* Not listening meanwhile: the kernel queues the burst without waking us per uevent. */
        m->burst_start_usec = now > 0 ? now : 1;
        (void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
        pace_arm(m, now);
        return 0;
}

int monitor_set_pace(Monitor *m, uint64_t usec)
{
        int r;

        if (usec > 0 && m->rcvbuf < PACE_MIN_RCVBUF)
                return -ENOBUFS;
        if (usec > 0 && !m->pace_timer) {
                r = sd_event_add_time(sd_event_source_get_event(m->io), &m->pace_timer,
                                      CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_pace, m);
                if (r < 0)
                        return r;
                (void)sd_event_source_set_description(m->pace_timer, "uevent-pace");
                (void)sd_event_source_set_enabled(m->pace_timer, SD_EVENT_OFF);
        }
        m->pace_usec = usec;
        if (usec == 0)
                burst_end(m); /* listening again: what queued meanwhile wakes us at once */
        return 0;
}

uint64_t monitor_burst_usec(const Monitor *m)
{
        uint64_t now;

        if (m->burst_start_usec == 0)
                return 0;
        now = loop_now(m);
        return now > m->burst_start_usec ? now - m->burst_start_usec : 1;
}

static int kernel_open(Monitor *m, int size)
{
        struct sockaddr_nl snl = {.nl_family = AF_NETLINK, .nl_groups = GROUP_KERNEL};
        int one = 1;

        m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (m->fd < 0)
                return -errno;
        /* SO_RCVBUF is capped at rmem_max; SO_RCVBUFFORCE (CAP_NET_ADMIN) is not. */
        if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (setsockopt(m->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
            bind(m->fd, (struct sockaddr *)&snl, sizeof(snl)) < 0)
                return -errno;
        return m->fd;
}

static int udev_open(Monitor *m, int size)
{
        int r;

        m->udev = udev_new();
        if (!m->udev)
                return errno > 0 ? -errno : -ENOMEM;
        m->umon = udev_monitor_new_from_netlink(m->udev, "udev");
        if (!m->umon)
                return errno > 0 ? -errno : -ENOMEM;
        /* Installed as a socket filter by enable_receiving(): other subsystems are never queued. */
        r = udev_monitor_filter_add_match_subsystem_devtype(m->umon, "memory", NULL);
        if (r < 0)
                return r;
        /* Tries SO_RCVBUF, then SO_RCVBUFFORCE; the caller reports what was granted. */
        r = udev_monitor_set_receive_buffer_size(m->umon, size);
        if (r < 0)
                log_debug_errno(r, "Could not set the uevent receive buffer to %d bytes: %m", size);
        r = udev_monitor_enable_receiving(m->umon);
        if (r < 0)
                return r;
        return udev_monitor_get_fd(m->umon);
}

int monitor_new(sd_event *e, EventSource source, uint64_t rcvbuf, const MonitorCallbacks *cb,
                void *userdata, Monitor **ret)
{
        int r, fd, size = (int)MIN(rcvbuf, (uint64_t)INT32_MAX / 2), granted = 0;
        socklen_t l = sizeof(granted);
        Monitor *m;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->fd = -EBADF;
        m->cb = *cb;
        m->userdata = userdata;
        m->source = source == EVENT_SOURCE_UDEV ? EVENT_SOURCE_UDEV : EVENT_SOURCE_KERNEL;

        fd = m->source == EVENT_SOURCE_UDEV ? udev_open(m, size) : kernel_open(m, size);
        if (fd < 0) {
                r = fd;
                goto fail;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &l) == 0)
                m->rcvbuf = (uint64_t)granted;
        r = sd_event_add_io(e, &m->io, fd, EPOLLIN, on_io, m);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_description(m->io, "uevent-monitor");
        *ret = m;
        return 0;
fail:
        monitor_free(m);
        return r;
}

Monitor *monitor_free(Monitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->pace_timer);
        sd_event_source_disable_unref(m->io);
        udev_monitor_unref(m->umon);
        udev_unref(m->udev);
        if (m->fd >= 0)
                close(m->fd);
        free(m);
        return NULL;
}

uint64_t monitor_rcvbuf(const Monitor *m)
{
        return m->rcvbuf;
}
