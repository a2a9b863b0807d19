/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "iomem.h"
#include "macro.h"
#include "memblock.h"
#include "memsource.h"
#include "strutil.h"

static const char *const source_names[_MEM_SOURCE_MAX] = {
        [MEM_SOURCE_UNKNOWN] = "unknown",
        [MEM_SOURCE_BOOT] = "boot",
        [MEM_SOURCE_DIMM] = "dimm",
        [MEM_SOURCE_VIRTIO_MEM] = "virtio-mem",
        [MEM_SOURCE_DAX] = "dax",
        [MEM_SOURCE_HYPERV_BALLOON] = "hyperv-balloon",
        [MEM_SOURCE_XEN_BALLOON] = "xen-balloon",
};

static const char *const backing_names[_DAX_BACKING_MAX] = {
        [DAX_BACKING_NONE] = "",           [DAX_BACKING_NVDIMM] = "nvdimm",
        [DAX_BACKING_CXL] = "cxl",         [DAX_BACKING_SOFT_RESERVED] = "soft-reserved",
        [DAX_BACKING_UNKNOWN] = "unknown",
};

const char *mem_source_to_string(MemSource s)
{
        return s >= 0 && s < _MEM_SOURCE_MAX ? source_names[s] : NULL;
}

MemSource mem_source_from_string(const char *s)
{
        int r = string_table_lookup(source_names, ELEMENTSOF(source_names), s);
        return r < 0 ? _MEM_SOURCE_INVALID : (MemSource)r;
}

const char *dax_backing_to_string(DaxBacking b)
{
        return b >= 0 && b < _DAX_BACKING_MAX ? backing_names[b] : NULL;
}

/*
 * Joins @base and the relative link target @target and folds "." and "..", so attributes behind
 * a sysfs symlink can be opened from the root fd. -EXDEV when the result would leave the root.
 */
static int path_join_fold(const char *base, const char *target, char *buf, size_t size)
{
        char tmp[PATH_MAX];
        size_t len = 0;
        char *save = NULL;

        if (target[0] == '/')
                return -EXDEV;
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", base, target) >= sizeof(tmp))
                return -ENAMETOOLONG;
        for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        char *slash;

                        if (len == 0)
                                return -EXDEV;
                        buf[len] = 0;
                        slash = strrchr(buf, '/');
                        len = slash ? (size_t)(slash - buf) : 0;
                        continue;
                }
                if (len + !!len + strlen(c) + 1 > size)
                        return -ENAMETOOLONG;
                len += (size_t)sprintf(buf + len, "%s%s", len ? "/" : "", c);
        }
        buf[len] = 0;
        return len ? 0 : -EXDEV;
}

static int read_link(int dirfd, const char *path, char *buf, size_t size)
{
        ssize_t n = readlinkat(dirfd, path, buf, size - 1);

        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

/* "0x140000000", as the dax bus prints addresses. */
static int read_hex(int dirfd, const char *path, uint64_t *ret)
{
        char buf[64];
        const char *digits;
        int r = sysfs_read_at(dirfd, path, buf, sizeof(buf));

        if (r < 0)
                return r;
        digits = startswith(buf, "0x");
        if (!digits)
                return -EINVAL;
        return parse_uint(digits, strlen(digits), PARSE_UINT_HEX, UINT64_MAX, ret);
}

static DaxBacking dax_backing_of(const char *devpath)
{
        if (strstr(devpath, "/ndbus"))
                return DAX_BACKING_NVDIMM;
        if (strstr(devpath, "/decoder") && strstr(devpath, "/region"))
                return DAX_BACKING_CXL;
        if (strstr(devpath, "/hmem"))
                return DAX_BACKING_SOFT_RESERVED;
        return DAX_BACKING_UNKNOWN;
}

static int add_range(SourceMap *m, size_t *allocated, const SourceRange *r)
{
        if (GREEDY_REALLOC(m->ranges, *allocated, m->n + 1) < 0)
                return -ENOMEM;
        m->ranges[m->n++] = *r;
        return 0;
}

/*
 * A dax device's memory: its mappingN ranges where the region hands out pieces (dynamic
 * regions), else resource + size, which daxctl itself matches blocks against.
 */
/* Reads <devpath>/<attr> as hex ("0x..."), as the dax bus prints addresses. */
static int read_dev_hex(const Sysfs *s, const char *devpath, const char *attr, uint64_t *ret)
{
        char path[PATH_MAX];

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", devpath, attr) >= sizeof(path))
                return -ENAMETOOLONG;
        return read_hex(s->root_fd, path, ret);
}

static int scan_dax_device(SourceMap *m, size_t *allocated, const Sysfs *s, const char *name,
                           const char *devpath)
{
        SourceRange range = {.source = MEM_SOURCE_DAX, .backing = dax_backing_of(devpath)};
        char attr[32], path[PATH_MAX];
        unsigned found = 0;
        uint64_t size;
        int r;

        if (strlen(name) >= sizeof(range.device))
                return 0;
        strcpy(range.device, name);
        for (unsigned i = 0;; i++) {
                snprintf(attr, sizeof(attr), "mapping%u/start", i);
                if (read_dev_hex(s, devpath, attr, &range.start) < 0)
                        break;
                snprintf(attr, sizeof(attr), "mapping%u/end", i);
                if (read_dev_hex(s, devpath, attr, &range.end) < 0 || range.end < range.start)
                        break;
                r = add_range(m, allocated, &range);
                if (r < 0)
                        return r;
                found++;
        }
        if (found > 0 || read_dev_hex(s, devpath, "resource", &range.start) < 0)
                return 0;
        if ((size_t)snprintf(path, sizeof(path), "%s/size", devpath) >= sizeof(path) ||
            sysfs_read_at(s->root_fd, path, attr, sizeof(attr)) < 0 ||
            safe_atou64(attr, &size) < 0 || size == 0 || range.start + size < range.start)
                return 0;
        range.end = range.start + size - 1;
        return add_range(m, allocated, &range);
}

static int scan_dax(SourceMap *m, size_t *allocated, const Sysfs *s)
{
        static const char base[] = "sys/bus/dax/devices";
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        if (opendir_at(s->root_fd, base, &d) < 0)
                return 0; /* no dax bus: no dax memory */
        while ((de = readdir(d))) {
                char target[PATH_MAX], devpath[PATH_MAX];

                if (!startswith(de->d_name, "dax"))
                        continue;
                if (read_link(dirfd(d), de->d_name, target, sizeof(target)) < 0 ||
                    path_join_fold(base, target, devpath, sizeof(devpath)) < 0)
                        continue;
                r = scan_dax_device(m, allocated, s, de->d_name, devpath);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "virtioN", as virtio-mem names the region it claims (after its device); other virtio
 * devices' regions are PCI BARs, nested below a bridge window and named otherwise. */
static bool is_virtio_device_name(const char *name)
{
        const char *p = startswith(name, "virtio");

        if (!p || !*p || strlen(name) >= MEMSOURCE_DEVICE_MAX)
                return false;
        for (; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

/* Driver-managed RAM in /proc/iomem: "System RAM (virtio_mem)" under "virtioN", and kmem's
 * "System RAM (kmem)" under "daxX.Y" for dax devices the dax bus did not describe. */
static int scan_iomem(SourceMap *m, size_t *allocated, const Sysfs *s, int iomem_fd)
{
        Iomem *io = NULL;
        size_t n_dax = m->n, ram_allocated = 0, regions_allocated = 0;
        int r;

        if (iomem_fd >= 0)
                r = iomem_read_fd(iomem_fd, &io);
        else {
                _cleanup_free_ char *text = NULL;
                size_t len;

                r = sysfs_read_file_at(s->root_fd, "proc/iomem", &text, &len);
                if (r == -ENOENT) {
                        m->iomem_missing = true;
                        return 0;
                }
                if (r >= 0)
                        r = iomem_parse(text, &io);
        }
        if (r < 0)
                return r;
        m->iomem_hidden = io->hidden;
        for (size_t i = 0; i < io->n && !io->hidden; i++) {
                const IomemRange *ir = &io->ranges[i];
                const char *parent = ir->parent >= 0 ? io->ranges[ir->parent].name : NULL;
                SourceRange range = {.start = ir->start, .end = ir->end};

                if (ir->depth == 0 && streq(ir->name, "System RAM")) {
                        if (GREEDY_REALLOC(m->system_ram, ram_allocated, m->n_system_ram + 1) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        m->system_ram[m->n_system_ram++] = (IomemSpan){ir->start, ir->end};
                        continue;
                }
                if (ir->depth == 0 && is_virtio_device_name(ir->name)) {
                        if (GREEDY_REALLOC(m->virtio_regions, regions_allocated,
                                           m->n_virtio_regions + 1) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        range.source = MEM_SOURCE_VIRTIO_MEM;
                        strcpy(range.device, ir->name);
                        m->virtio_regions[m->n_virtio_regions++] = range;
                        continue;
                }

                if (!parent || strlen(parent) >= sizeof(range.device))
                        continue;
                if (streq(ir->name, "System RAM (virtio_mem)") && startswith(parent, "virtio"))
                        range.source = MEM_SOURCE_VIRTIO_MEM;
                else if (streq(ir->name, "System RAM (kmem)") && startswith(parent, "dax")) {
                        bool known = false;

                        for (size_t j = 0; j < n_dax; j++)
                                known = known || streq(m->ranges[j].device, parent);
                        if (known)
                                continue;
                        range.source = MEM_SOURCE_DAX;
                        range.backing = DAX_BACKING_UNKNOWN;
                } else
                        continue;
                strcpy(range.device, parent);
                r = add_range(m, allocated, &range);
                if (r < 0)
                        break;
        }
        iomem_free(io);
        return r < 0 ? r : 0;
}

static bool driver_bound(const Sysfs *s, const char *driver_dir)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (opendir_at(s->root_fd, driver_dir, &d) < 0)
                return false;
        /* A driver directory links each bound device; "module" is its only other link. */
        while ((de = readdir(d)))
                if (de->d_type == DT_LNK && !streq(de->d_name, "module"))
                        return true;
        return false;
}

static bool xen_balloon_present(const Sysfs *s)
{
        char type[16];

        return sysfs_read_at(s->root_fd, "sys/hypervisor/type", type, sizeof(type)) >= 0 &&
               streq(type, "xen") &&
               faccessat(s->root_fd, "sys/devices/system/xen_memory/xen_memory0", F_OK, 0) == 0;
}

/* The ACPI core registers PNP0C80:XX before its memory is added: the device is there when the
 * blocks' add uevents arrive, only the firmware_node links are not. */
static bool acpi_memory_present(const Sysfs *s)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (opendir_at(s->root_fd, "sys/bus/acpi/devices", &d) < 0)
                return false;
        while ((de = readdir(d)))
                if (startswith(de->d_name, "PNP0C80:"))
                        return true;
        return false;
}

static int range_cmp(const void *a, const void *b)
{
        const SourceRange *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

int memsource_map_build(const Sysfs *s, int iomem_fd, SourceMap **ret)
{
        SourceMap *m = calloc(1, sizeof(*m));
        size_t allocated = 0;
        int r;

        if (!m)
                return -ENOMEM;
        r = scan_dax(m, &allocated, s);
        if (r >= 0)
                r = scan_iomem(m, &allocated, s, iomem_fd);
        if (r < 0) {
                memsource_map_free(m);
                return r;
        }
        if (m->n > 1)
                qsort(m->ranges, m->n, sizeof(*m->ranges), range_cmp);
        m->hyperv_balloon = driver_bound(s, "sys/bus/vmbus/drivers/hv_balloon");
        m->xen_balloon = xen_balloon_present(s);
        m->acpi_memory = acpi_memory_present(s);
        *ret = m;
        return 0;
}

SourceMap *memsource_map_free(SourceMap *m)
{
        if (m) {
                free(m->ranges);
                free(m->system_ram);
                free(m->virtio_regions);
                free(m);
        }
        return NULL;
}

static const SourceRange *range_lookup(const SourceRange *ranges, size_t n, uint64_t addr)
{
        size_t lo = 0, hi = n;

        /* The last range starting at or below @addr; device ranges do not overlap. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ranges[mid].start <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0 || addr > ranges[lo - 1].end)
                return NULL;
        return &ranges[lo - 1];
}

/* Some top-level System RAM overlaps the block (boot RAM has holes: any part counts). */
static bool in_system_ram(const SourceMap *m, uint64_t start, uint64_t size)
{
        size_t lo = 0, hi = m->n_system_ram;

        if (size == 0 || start > UINT64_MAX - size)
                return false;
        /* The first span ending at or after @start; iomem lists them in ascending order. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (m->system_ram[mid].end < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < m->n_system_ram && m->system_ram[lo].start <= start + size - 1;
}

/* Block @id's first address. memoryN's phys_index is N (the kernel names the device by it),
 * so the address needs no read. False when no such block can exist. */
static bool block_start(uint32_t id, uint64_t block_size, uint64_t *ret)
{
        if (!block_size || id > UINT64_MAX / block_size - 1)
                return false;
        *ret = (uint64_t)id * block_size;
        return true;
}

bool memsource_map_plain_ram(const SourceMap *m, uint32_t id, uint64_t block_size)
{
        uint64_t start;

        return block_start(id, block_size, &start) && in_system_ram(m, start, block_size);
}

int memsource_resolve(const SourceMap *m, const Sysfs *s, uint32_t id, uint64_t block_size,
                      SourceFlags flags, MemSourceInfo *ret)
{
        MemSourceInfo info = {};
        char path[64], target[PATH_MAX];
        const SourceRange *range = NULL, *region = NULL;
        uint64_t start = 0;

        /* An ACPI memory device covers the block (on some firmware, boot RAM too: such a block
         * is still that device's, and can be removed with it). Without one on the machine
         * there is no link to look up, which saves a sysfs lookup per block in a storm. */
        snprintf(path, sizeof(path), "memory%" PRIu32 "/firmware_node", id);
        if (m->acpi_memory && read_link(s->memory_fd, path, target, sizeof(target)) >= 0) {
                const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;

                if (startswith(base, "PNP0C80:") && strlen(base) < sizeof(info.device)) {
                        info.source = MEM_SOURCE_DIMM;
                        strcpy(info.device, base);
                        *ret = info;
                        return 0;
                }
        }

        if (block_start(id, block_size, &start)) {
                range = range_lookup(m->ranges, m->n, start);
                /* Plugged since the snapshot: the block is its own part of the device. */
                if (!range)
                        region = range_lookup(m->virtio_regions, m->n_virtio_regions, start);
        }
        if (range || region) {
                const SourceRange *r = range ? range : region;

                info.source = r->source;
                info.backing = r->backing;
                info.start = range ? range->start : start;
                info.end = range ? range->end : start + block_size - 1;
                strcpy(info.device, r->device);
        } else if ((flags & SOURCE_ONLINE_AT_START) ||
                   ((flags & SOURCE_OFFLINE_AT_START) && !m->hyperv_balloon && !m->xen_balloon &&
                    memsource_map_plain_ram(m, id, block_size)))
                info.source = MEM_SOURCE_BOOT;
        else if (m->hyperv_balloon)
                info.source = MEM_SOURCE_HYPERV_BALLOON;
        else if (m->xen_balloon)
                info.source = MEM_SOURCE_XEN_BALLOON;
        *ret = info;
        return 0;
}
