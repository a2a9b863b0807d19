/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where a memory block came from (its source) and which device it belongs to, from what the
 * kernel exports under the sysroot: memoryN/firmware_node for ACPI memory devices, the dax
 * bus's ranges for dax/kmem, /proc/iomem for virtio-mem, and the platform's balloon drivers.
 * Nothing here guesses: a block no evidence explains is MEM_SOURCE_UNKNOWN. The kernel creates
 * firmware_node only after the add uevents (and virtio-mem's iomem entry may trail them), so
 * callers resolve again once a block settles, as they do for its node link.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "sysfs.h"

typedef enum MemSource {
        MEM_SOURCE_UNKNOWN,
        MEM_SOURCE_BOOT,           /* online when memhpd started, no hotplug device covers it */
        MEM_SOURCE_DIMM,           /* ACPI memory device (PNP0C80): QEMU pc-dimm, a DIMM slot */
        MEM_SOURCE_VIRTIO_MEM,     /* a virtio-mem device */
        MEM_SOURCE_DAX,            /* dax/kmem: PMEM, CXL or soft-reserved memory as system RAM */
        MEM_SOURCE_HYPERV_BALLOON, /* hv_balloon's hot-add */
        MEM_SOURCE_XEN_BALLOON,    /* Xen's balloon hot-add */
        _MEM_SOURCE_MAX,
        _MEM_SOURCE_INVALID = -22,
} MemSource;

/* What backs a dax device: where the dax bus sits in the device tree. */
typedef enum DaxBacking {
        DAX_BACKING_NONE,          /* not a dax block */
        DAX_BACKING_NVDIMM,        /* a libnvdimm region (ndbusN/regionN) */
        DAX_BACKING_CXL,           /* a CXL region (decoder/region) */
        DAX_BACKING_SOFT_RESERVED, /* EFI soft-reserved memory claimed by dax_hmem */
        DAX_BACKING_UNKNOWN,
        _DAX_BACKING_MAX,
} DaxBacking;

#define MEMSOURCE_DEVICE_MAX 64

typedef struct MemSourceInfo {
        MemSource source;
        DaxBacking backing;
        char device[MEMSOURCE_DEVICE_MAX]; /* "PNP0C80:02", "virtio5", "dax0.0"; "" if none */
        uint64_t start, end;               /* the device's range (inclusive) when known, else 0 */
} MemSourceInfo;

/* "unknown", "boot", "dimm", "virtio-mem", "dax", "hyperv-balloon", "xen-balloon". */
const char *mem_source_to_string(MemSource s);
MemSource mem_source_from_string(const char *s);
/* "", "nvdimm", "cxl", "soft-reserved", "unknown". */
const char *dax_backing_to_string(DaxBacking b);

typedef struct SourceRange {
        uint64_t start, end;
        MemSource source;
        DaxBacking backing;
        char device[MEMSOURCE_DEVICE_MAX];
} SourceRange;

typedef struct IomemSpan {
        uint64_t start, end; /* inclusive */
} IomemSpan;

/* A snapshot of the devices that add memory, built once per pass and searched per block. */
typedef struct SourceMap {
        SourceRange *ranges; /* sorted by start */
        size_t n;
        bool iomem_hidden;   /* /proc/iomem showed no addresses: virtio-mem cannot be placed */
        bool iomem_missing;  /* no proc/iomem under the sysroot */
        bool hyperv_balloon; /* hv_balloon is bound to a device */
        bool xen_balloon;    /* a Xen guest with the balloon driver */
        /* An ACPI memory device (PNP0C80) exists: a block it does not cover yet may still turn
         * out to be its, as firmware_node appears after the add uevents. Without one, a block
         * no evidence explains now never will be a DIMM. */
        bool acpi_memory;
        /* Top-level "System RAM" of /proc/iomem, ascending: where boot memory can be (hot-added
         * memory that is not driver-managed shows the same way). */
        IomemSpan *system_ram;
        size_t n_system_ram;
        /* Top-level "virtioN" regions, ascending: a virtio-mem device's whole address space,
         * plugged or not. A block inside one is that device's even before a snapshot shows its
         * "System RAM (virtio_mem)", which the driver adds a block at a time as it grows. */
        SourceRange *virtio_regions;
        size_t n_virtio_regions;
} SourceMap;

/**
 * memsource_map_build() - snapshot the dax devices, /proc/iomem and the balloon drivers.
 * @iomem_fd: an fd of proc/iomem opened while the opener had CAP_SYS_ADMIN (the kernel shows
 *            addresses by the opener's credentials), or -1 to open <sysroot>/proc/iomem now.
 *
 * Return: 0 (a missing dax bus, iomem or driver is not an error), -ENOMEM, -EINVAL when
 * proc/iomem cannot be parsed.
 */
int memsource_map_build(const Sysfs *s, int iomem_fd, SourceMap **ret);
SourceMap *memsource_map_free(SourceMap *m);

/**
 * memsource_map_plain_ram() - whether @m saw block @id inside top-level plain "System RAM".
 *
 * A newer snapshot cannot explain such a block otherwise: its range would have to go, and the
 * block with it. Only its firmware_node may still appear, which no snapshot holds.
 */
bool memsource_map_plain_ram(const SourceMap *m, uint32_t id, uint64_t block_size);
DEFINE_TRIVIAL_CLEANUP_FUNC(SourceMap *, memsource_map_free);

typedef enum SourceFlags {
        SOURCE_ONLINE_AT_START = 1 << 0, /* the block was online when memhpd first saw it */
        /* Present and offline when memhpd started (found by its first scan, not added since):
         * boot memory someone offlined if /proc/iomem shows it as plain System RAM and no
         * balloon driver could have added it. */
        SOURCE_OFFLINE_AT_START = 1 << 1,
} SourceFlags;

/**
 * memsource_resolve() - the source and device of block @id.
 *
 * Reads at most the block's firmware_node link, and only when @m saw an ACPI memory device: a
 * block that is gone resolves like one no evidence explains.
 *
 * Return: 0 with @ret filled (source MEM_SOURCE_UNKNOWN when no evidence explains the block).
 */
int memsource_resolve(const SourceMap *m, const Sysfs *s, uint32_t id, uint64_t block_size,
                      SourceFlags flags, MemSourceInfo *ret);
