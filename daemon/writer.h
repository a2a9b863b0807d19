/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * State writes happen on one worker thread: an offline can run for minutes (the kernel retries
 * migration until a signal arrives) and must never stall the event loop. Each write has a
 * deadline; at the deadline, or on cancel, the thread is signalled (repeatedly, because the
 * kernel restarts some waits) so the write returns EINTR. One thread is enough: the kernel
 * serialises all memory hotplug writes on device_hotplug_lock anyway.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "memblock.h"
#include "sysfs.h"

typedef struct Writer Writer;

typedef struct WriteJob {
        uint32_t block;
        MemAction action;
        uint64_t cookie; /* the caller's tag: 0 for policy writes, an operation id otherwise */
        int result;      /* 0 changed, 1 already in that state, -errno (-ETIMEDOUT, -ECANCELED) */
        MemZone zone;    /* read back after an online */
        uint64_t usec;   /* how long the write took */
        struct WriteJob *next;
} WriteJob;

/* Called on the event loop thread for each finished job; the job is freed afterwards. */
typedef void (*writer_done_t)(const WriteJob *job, void *userdata);

int writer_new(sd_event *e, const Sysfs *s, writer_done_t done, void *userdata, Writer **ret);
Writer *writer_free(Writer *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Writer *, writer_free);

void writer_set_timeout(Writer *w, uint64_t usec);
int writer_submit(Writer *w, uint32_t block, MemAction action, uint64_t cookie);
/* Drops queued jobs with @cookie (completed with -ECANCELED) and interrupts the running one. */
void writer_cancel(Writer *w, uint64_t cookie);
unsigned writer_pending(const Writer *w);
