/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/memsource.c: which source and device a block belongs to. */
#include <errno.h>

#include "fixture.h"
#include "memsource.h"
#include "sysfs.h"
#include "test-util.h"

#define DAX_DEVICES "sys/bus/dax/devices"

static Fixture *fixture(void)
{
        Fixture *f = NULL;

        ASSERT_OK(fixture_new(&f));
        return f;
}

static MemSourceInfo resolve(Fixture *f, uint32_t id, SourceFlags flags)
{
        Sysfs *s = NULL;
        SourceMap *m = NULL;
        MemSourceInfo info;

        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(memsource_map_build(s, -1, &m));
        ASSERT_OK(memsource_resolve(m, s, id, FIXTURE_BLOCK_SIZE, flags, &info));
        memsource_map_free(m);
        sysfs_free(s);
        return info;
}

static void add_offline_blocks(Fixture *f, int node, const uint32_t *ids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ASSERT_OK(fixture_add_block(f, ids[i], node, "offline", "Normal Movable"));
}
#define ADD_OFFLINE_BLOCKS(f, node, ...)                             \
        add_offline_blocks(f, node, (const uint32_t[]){__VA_ARGS__}, \
                           sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

/* A dax device as the kernel links it from the dax bus: <devdir>/<name> with resource+size. */
static void add_dax(Fixture *f, const char *devdir, const char *name, const char *resource,
                    const char *size)
{
        char path[512], target[600];

        snprintf(path, sizeof(path), "%s/%s", devdir, name);
        ASSERT_OK(fixture_mkdir(f, path));
        ASSERT_OK(fixture_mkdir(f, DAX_DEVICES));
        snprintf(target, sizeof(target), "../../../%s", path + strlen("sys/"));
        snprintf(path, sizeof(path), DAX_DEVICES "/%s", name);
        ASSERT_OK(fixture_symlink(f, target, path));
        if (resource) {
                snprintf(path, sizeof(path), "%s/%s/resource", devdir, name);
                ASSERT_OK(fixture_write(f, path, resource));
                snprintf(path, sizeof(path), "%s/%s/size", devdir, name);
                ASSERT_OK(fixture_write(f, path, size));
        }
}

TEST(names)
{
        for (int s = 0; s < _MEM_SOURCE_MAX; s++)
                ASSERT_EQ(mem_source_from_string(mem_source_to_string(s)), s);
        ASSERT_STREQ(mem_source_to_string(MEM_SOURCE_VIRTIO_MEM), "virtio-mem");
        ASSERT_EQ(mem_source_from_string("DIMM"), _MEM_SOURCE_INVALID);
        ASSERT_EQ(mem_source_from_string(NULL), _MEM_SOURCE_INVALID);
        ASSERT_TRUE(mem_source_to_string(_MEM_SOURCE_MAX) == NULL);
        ASSERT_STREQ(dax_backing_to_string(DAX_BACKING_SOFT_RESERVED), "soft-reserved");
}

TEST(dimm)
{
        Fixture *f = fixture();
        MemSourceInfo info;

        ASSERT_OK(fixture_add_block(f, 32, 1, "offline", "Normal Movable"));
        ASSERT_OK(fixture_add_block(f, 33, 1, "offline", "Normal Movable"));
        ASSERT_OK(fixture_add_block(f, 34, 1, "offline", "Normal Movable"));
        ASSERT_OK(fixture_symlink(f, "../../../../LNXSYSTM:00/LNXSYBUS:00/PNP0A06:00/PNP0C80:02",
                                  "sys/devices/system/memory/memory32/firmware_node"));
        /* Another ACPI device (not a memory device) says nothing about the source. */
        ASSERT_OK(fixture_symlink(f, "../../../../LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00",
                                  "sys/devices/system/memory/memory33/firmware_node"));

        /* The link alone is not looked at: the map says whether any ACPI memory device exists,
         * as the kernel registers PNP0C80:XX before it adds the device's memory. */
        ASSERT_EQ(resolve(f, 32, 0).source, MEM_SOURCE_UNKNOWN);
        ASSERT_OK(fixture_mkdir(f, "sys/bus/acpi/devices"));
        ASSERT_OK(fixture_symlink(f,
                                  "../../../devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A06:00/PNP0C80:02",
                                  "sys/bus/acpi/devices/PNP0C80:02"));
        info = resolve(f, 32, 0);
        ASSERT_EQ(info.source, MEM_SOURCE_DIMM);
        ASSERT_STREQ(info.device, "PNP0C80:02");
        ASSERT_EQ(info.backing, DAX_BACKING_NONE);
        /* Even a block online at start is the DIMM's: it can be removed with it. */
        ASSERT_EQ(resolve(f, 32, SOURCE_ONLINE_AT_START).source, MEM_SOURCE_DIMM);

        info = resolve(f, 33, 0);
        ASSERT_EQ(info.source, MEM_SOURCE_UNKNOWN);
        ASSERT_STREQ(info.device, "");
        /* firmware_node not created yet (the kernel links it after the add uevents). */
        ASSERT_EQ(resolve(f, 34, 0).source, MEM_SOURCE_UNKNOWN);
        fixture_free(f);
}

TEST(dax_backings)
{
        Fixture *f = fixture();
        MemSourceInfo info;

        /* 1 GiB NVDIMM-backed at 0x140000000 = block 40 (128 MiB blocks), blocks 40-47. */
        add_dax(f, "sys/devices/platform/ACPI0012:00/ndbus0/region0/dax0.0", "dax0.0",
                "0x140000000\n", "1073741824\n");
        /* CXL region with a mapping: blocks 64-65 (0x200000000-0x20fffffff). */
        add_dax(f, "sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0",
                "dax1.0", NULL, NULL);
        ASSERT_OK(fixture_mkdir(f, "sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/"
                                   "dax_region0/dax1.0/mapping0"));
        ASSERT_OK(fixture_write(f,
                                "sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/"
                                "dax_region0/dax1.0/mapping0/start",
                                "0x200000000\n"));
        ASSERT_OK(fixture_write(f,
                                "sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/"
                                "dax_region0/dax1.0/mapping0/end",
                                "0x20fffffff\n"));
        /* Soft-reserved memory through dax_hmem: blocks 80-81. */
        add_dax(f, "sys/devices/platform/hmem.0", "dax2.0", "0x280000000\n", "268435456\n");
        /* A dax link that points out of the tree is ignored, not followed. */
        ASSERT_OK(fixture_symlink(f, "/sys/devices/platform/evil/dax9.0", DAX_DEVICES "/dax9.0"));

        ADD_OFFLINE_BLOCKS(f, 3, 39, 40, 47, 48, 64, 65, 66, 80, 81, 82);

        info = resolve(f, 40, 0);
        ASSERT_EQ(info.source, MEM_SOURCE_DAX);
        ASSERT_STREQ(info.device, "dax0.0");
        ASSERT_EQ(info.backing, DAX_BACKING_NVDIMM);
        ASSERT_EQ(info.start, UINT64_C(0x140000000));
        ASSERT_EQ(info.end, UINT64_C(0x17fffffff));
        ASSERT_STREQ(resolve(f, 47, 0).device, "dax0.0");
        ASSERT_EQ(resolve(f, 39, 0).source, MEM_SOURCE_UNKNOWN);
        ASSERT_EQ(resolve(f, 48, 0).source, MEM_SOURCE_UNKNOWN);

        info = resolve(f, 65, 0);
        ASSERT_EQ(info.source, MEM_SOURCE_DAX);
        ASSERT_STREQ(info.device, "dax1.0");
        ASSERT_EQ(info.backing, DAX_BACKING_CXL);
        ASSERT_EQ(resolve(f, 66, 0).source, MEM_SOURCE_UNKNOWN);

        info = resolve(f, 81, 0);
        ASSERT_STREQ(info.device, "dax2.0");
        ASSERT_EQ(info.backing, DAX_BACKING_SOFT_RESERVED);
        ASSERT_EQ(resolve(f, 82, 0).source, MEM_SOURCE_UNKNOWN);
        fixture_free(f);
}

static const char iomem_virtio[] = "00000000-00000fff : Reserved\n"
                                   "00100000-3fffffff : System RAM\n"
                                   "180000000-1bfffffff : virtio5\n"
                                   "  180000000-18fffffff : System RAM (virtio_mem)\n"
                                   "1c0000000-1c7ffffff : dax7.0\n"
                                   "  1c0000000-1c7ffffff : System RAM (kmem)\n";

TEST(iomem_sources)
{
        Fixture *f = fixture();
        MemSourceInfo info;

        ASSERT_OK(fixture_write(f, "proc/iomem", iomem_virtio));
        ADD_OFFLINE_BLOCKS(f, 0, 7, 48, 49, 50, 55, 56);

        info = resolve(f, 48, 0); /* 0x180000000 */
        ASSERT_EQ(info.source, MEM_SOURCE_VIRTIO_MEM);
        ASSERT_STREQ(info.device, "virtio5");
        ASSERT_EQ(resolve(f, 49, 0).source, MEM_SOURCE_VIRTIO_MEM);
        /* Inside the device's region, plugged after this snapshot of iomem: still virtio5's,
         * as nothing else can add memory in the region it claimed; its range is the block. */
        info = resolve(f, 50, 0); /* 0x190000000 */
        ASSERT_EQ(info.source, MEM_SOURCE_VIRTIO_MEM);
        ASSERT_STREQ(info.device, "virtio5");
        ASSERT_EQ(info.start, 0x190000000ULL);
        ASSERT_EQ(info.end, 0x197ffffffULL);
        /* The region's last block; the next one (56) is dax7.0's, below. */
        ASSERT_STREQ(resolve(f, 55, 0).device, "virtio5");

        /* kmem that only iomem describes (no dax bus in the tree): dax, backing unknown. */
        info = resolve(f, 56, 0);
        ASSERT_EQ(info.source, MEM_SOURCE_DAX);
        ASSERT_STREQ(info.device, "dax7.0");
        ASSERT_EQ(info.backing, DAX_BACKING_UNKNOWN);

        /* Boot RAM: no device, online when memhpd started. */
        ASSERT_EQ(resolve(f, 7, SOURCE_ONLINE_AT_START).source, MEM_SOURCE_BOOT);
        ASSERT_EQ(resolve(f, 7, 0).source, MEM_SOURCE_UNKNOWN);
        /* Offline at start, plain System RAM, nothing else could have added it: boot memory
         * someone offlined. Outside System RAM it is not. A device's block stays the device's. */
        ASSERT_EQ(resolve(f, 7, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_BOOT);
        ASSERT_EQ(resolve(f, 0, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_BOOT);
        ASSERT_EQ(resolve(f, 8, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_UNKNOWN);
        ASSERT_EQ(resolve(f, 50, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_VIRTIO_MEM);
        ASSERT_EQ(resolve(f, 56, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_DAX);
        ASSERT_EQ(resolve(f, 48, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_VIRTIO_MEM);
        fixture_free(f);
}

TEST(plain_ram)
{
        Fixture *f = fixture();
        Sysfs *s = NULL;
        SourceMap *m = NULL;

        ASSERT_OK(fixture_write(f, "proc/iomem", iomem_virtio));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(memsource_map_build(s, -1, &m));
        /* Only top-level plain System RAM: a driver's ranges may still change hands. */
        ASSERT_TRUE(memsource_map_plain_ram(m, 0, FIXTURE_BLOCK_SIZE));
        ASSERT_TRUE(memsource_map_plain_ram(m, 7, FIXTURE_BLOCK_SIZE));
        ASSERT_TRUE(!memsource_map_plain_ram(m, 8, FIXTURE_BLOCK_SIZE));
        ASSERT_TRUE(!memsource_map_plain_ram(m, 48, FIXTURE_BLOCK_SIZE));
        ASSERT_TRUE(!memsource_map_plain_ram(m, 56, FIXTURE_BLOCK_SIZE));
        ASSERT_TRUE(!memsource_map_plain_ram(m, 7, 0));
        memsource_map_free(m);
        sysfs_free(s);
        fixture_free(f);
}

TEST(iomem_hidden_or_missing)
{
        Fixture *f = fixture();
        Sysfs *s = NULL;
        SourceMap *m = NULL;
        MemSourceInfo info;

        ASSERT_OK(fixture_add_block(f, 48, 0, "offline", "Normal Movable"));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(memsource_map_build(s, -1, &m));
        ASSERT_TRUE(m->iomem_missing && !m->iomem_hidden);
        /* Without iomem, offline at start may be virtio-mem: not called boot. */
        ASSERT_OK(memsource_resolve(m, s, 48, FIXTURE_BLOCK_SIZE, SOURCE_OFFLINE_AT_START, &info));
        ASSERT_EQ(info.source, MEM_SOURCE_UNKNOWN);
        memsource_map_free(m);

        ASSERT_OK(fixture_write(f, "proc/iomem",
                                "00000000-00000000 : virtio5\n"
                                "  00000000-00000000 : System RAM (virtio_mem)\n"));
        ASSERT_OK(memsource_map_build(s, -1, &m));
        ASSERT_TRUE(m->iomem_hidden && !m->iomem_missing);
        ASSERT_OK(memsource_resolve(m, s, 48, FIXTURE_BLOCK_SIZE, 0, &info));
        ASSERT_EQ(info.source, MEM_SOURCE_UNKNOWN);
        ASSERT_OK(memsource_resolve(m, s, 48, FIXTURE_BLOCK_SIZE, SOURCE_OFFLINE_AT_START, &info));
        ASSERT_EQ(info.source, MEM_SOURCE_UNKNOWN);
        memsource_map_free(m);

        ASSERT_OK(fixture_write(f, "proc/iomem", "garbage\n"));
        ASSERT_ERROR(memsource_map_build(s, -1, &m), EINVAL);
        sysfs_free(s);
        fixture_free(f);
}

TEST(balloons)
{
        Fixture *f = fixture();

        ASSERT_OK(fixture_add_block(f, 70, 0, "offline", "Normal Movable"));
        ASSERT_OK(fixture_add_block(f, 2, 0, "online", "Normal"));

        /* The driver directory alone (driver loaded, nothing bound) is no evidence. */
        ASSERT_OK(fixture_mkdir(f, "sys/bus/vmbus/drivers/hv_balloon"));
        ASSERT_OK(fixture_write(f, "sys/bus/vmbus/drivers/hv_balloon/bind", ""));
        ASSERT_OK(fixture_symlink(f, "../../../../module/hv_balloon",
                                  "sys/bus/vmbus/drivers/hv_balloon/module"));
        ASSERT_EQ(resolve(f, 70, 0).source, MEM_SOURCE_UNKNOWN);

        ASSERT_OK(fixture_symlink(f,
                                  "../../../../devices/LNXSYSTM:00/VMBUS:00/"
                                  "1eccfd72-4b41-45ef-b73a-4a6e44c12924",
                                  "sys/bus/vmbus/drivers/hv_balloon/"
                                  "1eccfd72-4b41-45ef-b73a-4a6e44c12924"));
        ASSERT_EQ(resolve(f, 70, 0).source, MEM_SOURCE_HYPERV_BALLOON);
        /* Offline at start with a balloon bound: the balloon's, which wants it online. */
        ASSERT_EQ(resolve(f, 70, SOURCE_OFFLINE_AT_START).source, MEM_SOURCE_HYPERV_BALLOON);
        ASSERT_EQ(resolve(f, 2, SOURCE_ONLINE_AT_START).source, MEM_SOURCE_BOOT);
        fixture_free(f);

        f = fixture();
        ASSERT_OK(fixture_add_block(f, 70, 0, "offline", "Normal Movable"));
        ASSERT_OK(fixture_mkdir(f, "sys/hypervisor"));
        ASSERT_OK(fixture_write(f, "sys/hypervisor/type", "xen\n"));
        ASSERT_EQ(resolve(f, 70, 0).source, MEM_SOURCE_UNKNOWN); /* no balloon driver */
        ASSERT_OK(fixture_mkdir(f, "sys/devices/system/xen_memory/xen_memory0"));
        ASSERT_EQ(resolve(f, 70, 0).source, MEM_SOURCE_XEN_BALLOON);
        fixture_free(f);
}

static bool map_acpi_memory(Fixture *f)
{
        Sysfs *s = NULL;
        SourceMap *m = NULL;
        bool acpi;

        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_OK(memsource_map_build(s, -1, &m));
        acpi = m->acpi_memory;
        memsource_map_free(m);
        sysfs_free(s);
        return acpi;
}

TEST(acpi_memory_devices)
{
        Fixture *f = fixture();

        /* No ACPI bus, then one without memory devices: an unexplained block is no DIMM. */
        ASSERT_TRUE(!map_acpi_memory(f));
        ASSERT_OK(fixture_mkdir(f, "sys/bus/acpi/devices"));
        ASSERT_OK(fixture_symlink(f, "../../../devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A06:00",
                                  "sys/bus/acpi/devices/PNP0A06:00"));
        ASSERT_TRUE(!map_acpi_memory(f));
        /* A memory device whose blocks have no firmware_node yet: they may still be its. */
        ASSERT_OK(fixture_symlink(f, "../../../devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C80:00",
                                  "sys/bus/acpi/devices/PNP0C80:00"));
        ASSERT_TRUE(map_acpi_memory(f));
        fixture_free(f);
}
