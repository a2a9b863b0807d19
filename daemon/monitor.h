/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uevent source: udevd's events through libudev (EventSource=udev), or the kernel's own
 * netlink messages (EventSource=kernel), reduced to memory block events. It reports ENOBUFS
 * (overflow), which is how memhpd makes sure nothing is lost: sd-device's monitor swallows it.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "uevent.h"

typedef struct Monitor Monitor;

typedef struct MonitorCallbacks {
        void (*event)(const MemUevent *ev, void *userdata);
        /* Called once after a drain that saw ENOBUFS: events were lost. */
        void (*overflow)(void *userdata);
        /* Paced (monitor_set_pace()): a read found nothing new, the burst is over. */
        void (*settled)(void *userdata);
} MonitorCallbacks;

/* Resolves EVENT_SOURCE_AUTO: udev when udevd runs (/run/udev/control exists), else kernel. */
EventSource monitor_resolve_source(EventSource s);

int monitor_new(sd_event *e, EventSource source, uint64_t rcvbuf, const MonitorCallbacks *cb,
                void *userdata, Monitor **ret);
Monitor *monitor_free(Monitor *m);

/*
 * 0: every uevent is read as it comes. Otherwise the first uevent of a burst is read at once,
 * then the monitor stops listening and reads what has queued every @usec, until a read finds
 * nothing (or overflows): then settled() runs and it listens again. A burst of N uevents then
 * costs about (burst length / @usec) wake-ups instead of N. Returns -ENOBUFS, reading each
 * uevent at once, when the granted receive buffer is too small to leave unread that long.
 */
int monitor_set_pace(Monitor *m, uint64_t usec);
/* How long the current paced burst has lasted, 0 outside one. */
uint64_t monitor_burst_usec(const Monitor *m);

/* Receive buffer the kernel actually granted, in bytes. */
uint64_t monitor_rcvbuf(const Monitor *m);
