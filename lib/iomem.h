/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/iomem: the kernel's tree of physical address ranges. Hot-added memory shows up there
 * under the driver that added it ("virtio5" > "System RAM (virtio_mem)", "dax0.0" > "System
 * RAM (kmem)"), which is the only place userspace can tell virtio-mem memory from other RAM.
 * The kernel shows real addresses only to readers that opened the file with CAP_SYS_ADMIN;
 * everyone else reads zeros.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct IomemRange {
        uint64_t start, end; /* inclusive, as the kernel prints them */
        unsigned depth;      /* 0 for top-level resources; the kernel indents 2 spaces a level */
        int parent;          /* index of the enclosing range, -1 at depth 0 */
        char *name;
} IomemRange;

typedef struct Iomem {
        IomemRange *ranges; /* in file order: parents before their children */
        size_t n;
        bool hidden; /* every address read as 0: the opener lacked CAP_SYS_ADMIN */
} Iomem;

/* Parses the text of /proc/iomem. Returns 0 or -EINVAL naming no line (the format is fixed). */
int iomem_parse(const char *text, Iomem **ret);
/* Reads and parses @fd from offset 0 (pread, so one fd opened with privilege serves for ever). */
int iomem_read_fd(int fd, Iomem **ret);
Iomem *iomem_free(Iomem *io);
DEFINE_TRIVIAL_CLEANUP_FUNC(Iomem *, iomem_free);
