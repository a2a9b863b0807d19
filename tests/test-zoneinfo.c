/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zoneinfo.h: per-node kernel/Movable "present" sums from /proc/zoneinfo text. */
#include "conf.h"
#include "fixture.h"
#include "macro.h"
#include "strutil.h"
#include "sysfs.h"
#include "test-util.h"
#include "zoneinfo.h"

#define FIXTURES MEMHP_SOURCE_ROOT "/tests/fixtures/sysfs/"

static char *read_text(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t size = 0;
        FILE *m;

        ASSERT_TRUE(f);
        m = open_memstream(&text, &size);
        ASSERT_TRUE(m);
        for (int c; (c = fgetc(f)) != EOF;)
                fputc(c, m);
        ASSERT_EQ(fclose(m), 0);
        return text;
}

static void assert_node(const NodeZones *z, size_t n, size_t node, uint64_t kernel,
                        uint64_t movable)
{
        ASSERT_TRUE(node < n);
        ASSERT_EQ(z[node].kernel_pages, kernel);
        ASSERT_EQ(z[node].movable_pages, movable);
}

/*
 * 3 nodes, 8 CPUs, laid out like a real 6.x /proc/zoneinfo (per-node stats, pagesets,
 * unpopulated zones in short form): node 0 boot memory plus Movable, node 1 Normal + Movable,
 * node 2 Movable only. spanned and managed differ from present where the kernel's would.
 */
static void assert_3node(const NodeZones *z, size_t n)
{
        ASSERT_EQ(n, 3);
        /* DMA 3998 + DMA32 782336 + Normal 3407872; Device not counted. */
        assert_node(z, n, 0, 4194206, 1048576);
        assert_node(z, n, 1, 4194304, 8388608);
        assert_node(z, n, 2, 0, 2097152);
}

TEST(three_nodes)
{
        _cleanup_free_ char *text = read_text(FIXTURES "zoneinfo-3node");
        _cleanup_free_ NodeZones *z = NULL;
        size_t n = 0;

        ASSERT_OK(zoneinfo_parse(text, &z, &n));
        assert_3node(z, n);
}

TEST(sparse_nodes)
{
        _cleanup_free_ char *text = read_text(FIXTURES "zoneinfo-sparse");
        _cleanup_free_ NodeZones *z = NULL;
        size_t n = 0;

        /* Nodes 0 and 8: the ones in between are there, all zero. */
        ASSERT_OK(zoneinfo_parse(text, &z, &n));
        ASSERT_EQ(n, 9);
        assert_node(z, n, 0, 1044480 + 1048576, 0);
        for (size_t i = 1; i < 8; i++)
                assert_node(z, n, i, 0, 0);
        /* Device: spanned but not present, and never counted. */
        assert_node(z, n, 8, 262144, 524288);
}

TEST(read_from_sysroot)
{
        _cleanup_free_ char *text = read_text(FIXTURES "zoneinfo-3node");
        _cleanup_free_ NodeZones *z = NULL;
        Fixture *f;
        Sysfs *s;
        size_t n = 0;

        /* More than the 16 KiB first read buffer. */
        ASSERT_TRUE(strlen(text) > 16384);
        ASSERT_OK(fixture_new(&f));
        ASSERT_OK(sysfs_open(f->root, &s));
        ASSERT_ERROR(zoneinfo_read(s, &z, &n), ENOENT);
        ASSERT_OK(fixture_write_zoneinfo(f, text));
        ASSERT_OK(zoneinfo_read(s, &z, &n));
        assert_3node(z, n);
        free(z);
        z = NULL;
        ASSERT_OK(fixture_write_zoneinfo(f, "garbage\n"));
        ASSERT_ERROR(zoneinfo_read(s, &z, &n), EINVAL);
        sysfs_free(s);
        fixture_free(f);
}

TEST(zone_kinds)
{
        /* Minimal text: only headers and present lines matter. */
        static const char text[] = "Node 0, zone      DMA\n"
                                   "        spanned  4095\n"
                                   "        present  10\n"
                                   "        managed  9\n"
                                   "Node 0, zone    DMA32\n"
                                   "        present  200\n"
                                   "Node 0, zone   Normal\n"
                                   "      nr_present 77777\n"
                                   "        present  3000\n"
                                   "Node 0, zone  HighMem\n"
                                   "        present  40000\n"
                                   "Node 0, zone  Movable\n"
                                   "        present  500000\n"
                                   "Node 0, zone   Device\n"
                                   "        present  6000000\n"
                                   "Node 1, zone   Normal\n"
                                   "  pages free     12\n"
                                   "Node 1, zone  Movable\n"
                                   "        present  7\n";
        _cleanup_free_ NodeZones *z = NULL;
        size_t n = 0;

        ASSERT_OK(zoneinfo_parse(text, &z, &n));
        ASSERT_EQ(n, 2);
        /* DMA + DMA32 + Normal + HighMem; Device is not RAM the ratio is about. */
        assert_node(z, n, 0, 43210, 500000);
        /* A zone without a present line adds nothing. */
        assert_node(z, n, 1, 0, 7);
}

TEST(edge_nodes)
{
        _cleanup_free_ NodeZones *z = NULL;
        size_t n = 0;
        char text[128];

        /* Only node 5 present: 6 entries. No trailing newline. */
        ASSERT_OK(zoneinfo_parse("Node 5, zone Movable\n present 4", &z, &n));
        ASSERT_EQ(n, 6);
        assert_node(z, n, 5, 0, 4);
        assert_node(z, n, 0, 0, 0);
        free(z);
        z = NULL;

        /* The highest node id memhpd supports. */
        snprintf(text, sizeof(text), "Node %u, zone Normal\n present 1\n", MEMHP_MAX_NODES - 1);
        ASSERT_OK(zoneinfo_parse(text, &z, &n));
        ASSERT_EQ(n, MEMHP_MAX_NODES);
        assert_node(z, n, MEMHP_MAX_NODES - 1, 1, 0);
        free(z);
        z = NULL;
        snprintf(text, sizeof(text), "Node %u, zone Normal\n present 1\n", MEMHP_MAX_NODES);
        ASSERT_ERROR(zoneinfo_parse(text, &z, &n), EINVAL);

        /* Large page counts are summed exactly. */
        ASSERT_OK(zoneinfo_parse("Node 0, zone DMA32\n present 4294967296\n"
                                 "Node 0, zone Normal\n present 1099511627776\n",
                                 &z, &n));
        assert_node(z, n, 0, UINT64_C(4294967296) + UINT64_C(1099511627776), 0);
}

TEST(garbage)
{
        static const char *const bad[] = {
                "",
                "\n",
                "garbage",
                "hello\nworld\n",
                /* present without any zone header */
                "        present  3998\n",
                /* broken headers */
                "Node x, zone DMA\n present 1\n",
                "Node 0 zone DMA\n present 1\n",
                "Node 0, DMA\n present 1\n",
                "Node 0, zone\n present 1\n",
                "Node -1, zone DMA\n present 1\n",
                "Node , zone DMA\n present 1\n",
                "Node 99999999999, zone DMA\n present 1\n",
                /* broken present lines */
                "Node 0, zone Normal\n        present\n",
                "Node 0, zone Normal\n        present abc\n",
                "Node 0, zone Normal\n        present -5\n",
                "Node 0, zone Normal\n        present 0x10\n",
                "Node 0, zone Normal\n        present 99999999999999999999999\n",
                /* a broken header after good text */
                "Node 0, zone Normal\n present 5\nNode 1 zone Normal\n present 5\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                NodeZones *z = NULL;
                size_t n = 42;

                fprintf(stderr, "   bad zoneinfo #%zu\n", i);
                ASSERT_ERROR(zoneinfo_parse(bad[i], &z, &n), EINVAL);
                ASSERT_TRUE(z == NULL);
                ASSERT_EQ(n, 42);
        }
}

/* An independent reading of the same text: sscanf per line. */
static void sum_independently(const char *text, NodeZones *z, size_t max, size_t *ret_n)
{
        int node = -1;
        char zone[32] = "";
        size_t n = 0;

        memset(z, 0, max * sizeof(*z));
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                unsigned long long v;
                int nd;

                if (sscanf(l, "Node %d, zone %31s", &nd, zone) == 2) {
                        ASSERT_TRUE(nd >= 0 && (size_t)nd < max);
                        node = nd;
                        n = MAX(n, (size_t)nd + 1);
                } else if (node >= 0 && sscanf(l, " present %llu", &v) == 1) {
                        if (streq(zone, "Movable"))
                                z[node].movable_pages += v;
                        else if (!streq(zone, "Device"))
                                z[node].kernel_pages += v;
                }
        }
        *ret_n = n;
}

TEST(host)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ NodeZones *z = NULL;
        NodeZones want[MEMHP_MAX_NODES];
        size_t n = 0, n_want;
        FILE *f;

        /* Read-only smoke check against this machine's kernel. */
        f = fopen("/proc/zoneinfo", "re");
        if (!f) {
                fprintf(stderr, "   no /proc/zoneinfo, skipped\n");
                return;
        }
        fclose(f);
        text = read_text("/proc/zoneinfo");
        ASSERT_OK(zoneinfo_parse(text, &z, &n));
        sum_independently(text, want, ELEMENTSOF(want), &n_want);
        ASSERT_EQ(n, n_want);
        ASSERT_TRUE(n >= 1);
        for (size_t i = 0; i < n; i++) {
                fprintf(stderr, "   node %zu: kernel %" PRIu64 " movable %" PRIu64 "\n", i,
                        z[i].kernel_pages, z[i].movable_pages);
                assert_node(z, n, i, want[i].kernel_pages, want[i].movable_pages);
        }
        /* A running system has kernel memory somewhere. */
        uint64_t kernel = 0;
        for (size_t i = 0; i < n; i++)
                kernel += z[i].kernel_pages;
        ASSERT_TRUE(kernel > 0);
}
