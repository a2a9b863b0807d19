/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uevent netlink socket as an sd-event I/O source, with overflow detection. memhpd reads
 * the socket itself rather than through libudev: per hot-added block libudev cost ~49,000 of
 * the daemon's ~64,600 instructions (two events per block, each turned into a full device
 * object only to be dropped), measured with callgrind on a 65,536-block storm. The parsing is
 * lib/uevent.c's, unit-tested and fuzzed. The checks libudev made are kept: messages on the
 * kernel group must come from the kernel (port id 0), every message must carry SCM_CREDENTIALS
 * of uid 0 (CVE-2009-1185, CVE-2012-3520).
 */
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "monitor.h"

#define GROUP_KERNEL 1U
#define GROUP_UDEV 2U
/* Kernel uevents are at most 2 KiB; udev adds its header and properties. */
#define MESSAGE_MAX (16 * 1024)

struct Monitor {
        int fd;
        unsigned group;
        sd_event_source *source;
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

/* Returns true for a datagram we may trust: right sender, root credentials, not truncated. */
static bool trusted(const Monitor *m, const struct msghdr *msg, const struct sockaddr_nl *snl)
{
        const struct cmsghdr *c;

        if (msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                return false;
        if (snl->nl_family != AF_NETLINK || (m->group == GROUP_KERNEL && snl->nl_pid != 0))
                return false;
        for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, (struct cmsghdr *)c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        struct ucred cred;

                        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                        return cred.uid == 0;
                }
        return false;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Monitor *m = userdata;
        bool overflow = false;
        char buf[MESSAGE_MAX];
        union {
                struct cmsghdr align;
                char data[CMSG_SPACE(sizeof(struct ucred))];
        } control;

        (void)s;
        (void)revents;

        /*
         * Drain to EAGAIN. After an overflow the kernel reports ENOBUFS once and then drops new
         * messages until the queue is empty, so a rescan before the queue is drained could miss
         * blocks whose events are being dropped right now.
         */
        for (;;) {
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
                MemUevent ev;
                ssize_t n;

                n = recvmsg(fd, &msg, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == ENOBUFS) {
                                overflow = true;
                                continue;
                        }
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                log_debug_errno(errno, "Failed to read from the uevent socket: %m");
                        break;
                }
                if (!trusted(m, &msg, &snl))
                        continue;
                if (uevent_parse_message(buf, (size_t)n, &ev) == 0)
                        m->cb.event(&ev, m->userdata);
        }
        if (overflow)
                m->cb.overflow(m->userdata);
        return 0;
}

int monitor_new(sd_event *e, EventSource source, uint64_t rcvbuf, const MonitorCallbacks *cb,
                void *userdata, Monitor **ret)
{
        struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
        int r, one = 1, size = (int)MIN(rcvbuf, (uint64_t)INT32_MAX / 2), granted = 0;
        socklen_t l = sizeof(granted);
        Monitor *m;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cb = *cb;
        m->userdata = userdata;
        m->group = source == EVENT_SOURCE_UDEV ? GROUP_UDEV : GROUP_KERNEL;

        m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (m->fd < 0) {
                r = -errno;
                free(m);
                return r;
        }
        /* SO_RCVBUF is capped at rmem_max; SO_RCVBUFFORCE (CAP_NET_ADMIN) is not. */
        if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (getsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &granted, &l) == 0)
                m->rcvbuf = (uint64_t)granted;
        snl.nl_groups = m->group;
        if (setsockopt(m->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
            bind(m->fd, (struct sockaddr *)&snl, sizeof(snl)) < 0) {
                r = -errno;
                monitor_free(m);
                return r;
        }
        r = sd_event_add_io(e, &m->source, m->fd, EPOLLIN, on_io, m);
        if (r < 0) {
                monitor_free(m);
                return r;
        }
        (void)sd_event_source_set_description(m->source, "uevent-monitor");
        *ret = m;
        return 0;
}

Monitor *monitor_free(Monitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        if (m->fd >= 0)
                close(m->fd);
        free(m);
        return NULL;
}

uint64_t monitor_rcvbuf(const Monitor *m)
{
        return m->rcvbuf;
}
