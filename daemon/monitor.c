/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libudev monitor as an sd-event I/O source, with overflow detection. */
#include <inttypes.h>
#include <libudev.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "monitor.h"

struct Monitor {
        struct udev *udev;
        struct udev_monitor *mon;
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

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Monitor *m = userdata;
        bool overflow = false;

        (void)s;
        (void)fd;
        (void)revents;

        /*
         * Drain to EAGAIN. After an overflow the kernel reports ENOBUFS once and then drops new
         * messages until the queue is empty, so a rescan before the queue is drained could miss
         * blocks whose events are being dropped right now.
         */
        for (;;) {
                struct udev_device *d;
                MemUevent ev;

                errno = 0;
                d = udev_monitor_receive_device(m->mon);
                if (!d) {
                        if (errno == ENOBUFS) {
                                overflow = true;
                                continue;
                        }
                        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == 0)
                                break;
                        if (errno == EINTR)
                                continue;
                        /* A malformed or foreign message: libudev drops it; keep reading. */
                        log_debug_errno(errno, "Ignoring unreadable uevent: %m");
                        continue;
                }
                if (uevent_parse(udev_device_get_action(d), udev_device_get_devpath(d),
                                 udev_device_get_subsystem(d), &ev) == 0)
                        m->cb.event(&ev, m->userdata);
                udev_device_unref(d);
        }
        if (overflow)
                m->cb.overflow(m->userdata);
        return 0;
}

int monitor_new(sd_event *e, EventSource source, uint64_t rcvbuf, const MonitorCallbacks *cb,
                void *userdata, Monitor **ret)
{
        Monitor *m;
        int r, fd, granted = 0;
        socklen_t l = sizeof(granted);

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cb = *cb;
        m->userdata = userdata;

        m->udev = udev_new();
        if (!m->udev) {
                r = negative_errno();
                goto fail;
        }
        m->mon = udev_monitor_new_from_netlink(m->udev,
                                               source == EVENT_SOURCE_UDEV ? "udev" : "kernel");
        if (!m->mon) {
                r = negative_errno();
                goto fail;
        }
        r = udev_monitor_filter_add_match_subsystem_devtype(m->mon, "memory", NULL);
        if (r < 0)
                goto fail;
        /* Tries SO_RCVBUF, then SO_RCVBUFFORCE (needs CAP_NET_ADMIN); we report what we got. */
        if (rcvbuf > INT32_MAX)
                rcvbuf = INT32_MAX;
        r = udev_monitor_set_receive_buffer_size(m->mon, (int)rcvbuf);
        if (r < 0)
                log_debug_errno(r, "Could not set the receive buffer to %" PRIu64 " bytes: %m",
                                rcvbuf);
        r = udev_monitor_enable_receiving(m->mon);
        if (r < 0)
                goto fail;
        fd = udev_monitor_get_fd(m->mon);
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &l) == 0)
                m->rcvbuf = (uint64_t)granted;

        r = sd_event_add_io(e, &m->source, fd, EPOLLIN, on_io, m);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_description(m->source, "uevent-monitor");
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
        sd_event_source_disable_unref(m->source);
        udev_monitor_unref(m->mon);
        udev_unref(m->udev);
        free(m);
        return NULL;
}

uint64_t monitor_rcvbuf(const Monitor *m)
{
        return m->rcvbuf;
}
