/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/iomem.c: the /proc/iomem tree. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iomem.h"
#include "macro.h"
#include "test-util.h"

static const char sample[] = "00000000-00000fff : Reserved\n"
                             "00001000-0009fbff : System RAM\n"
                             "000a0000-000bffff : PCI Bus 0000:00\n"
                             "00100000-3ffdffff : System RAM\n"
                             "  0e000000-0f0fffff : Kernel code\n"
                             "    0e100000-0e1fffff : inner\n"
                             "  0f200000-0f5fffff : Kernel data\n"
                             "140000000-17fffffff : virtio5\n"
                             "  140000000-147ffffff : System RAM (virtio_mem)\n"
                             "fffc0000-ffffffff : Reserved\n";

TEST(parse_tree)
{
        Iomem *io = NULL;

        ASSERT_OK(iomem_parse(sample, &io));
        ASSERT_EQ(io->n, 10);
        ASSERT_TRUE(!io->hidden);
        ASSERT_STREQ(io->ranges[3].name, "System RAM");
        ASSERT_EQ(io->ranges[3].start, 0x100000);
        ASSERT_EQ(io->ranges[3].end, 0x3ffdffff);
        ASSERT_EQ(io->ranges[4].depth, 1);
        ASSERT_EQ(io->ranges[4].parent, 3);
        ASSERT_EQ(io->ranges[5].depth, 2);
        ASSERT_EQ(io->ranges[5].parent, 4);
        ASSERT_EQ(io->ranges[6].parent, 3); /* back up one level */
        ASSERT_STREQ(io->ranges[8].name, "System RAM (virtio_mem)");
        ASSERT_EQ(io->ranges[8].start, UINT64_C(0x140000000));
        ASSERT_STREQ(io->ranges[io->ranges[8].parent].name, "virtio5");
        ASSERT_EQ(io->ranges[9].parent, -1);
        iomem_free(io);
}

/* Without CAP_SYS_ADMIN at open, the kernel prints every address as zeros. */
TEST(hidden)
{
        Iomem *io = NULL;

        ASSERT_OK(iomem_parse("00000000-00000000 : Reserved\n"
                              "00000000-00000000 : virtio5\n"
                              "  00000000-00000000 : System RAM (virtio_mem)\n",
                              &io));
        ASSERT_TRUE(io->hidden);
        ASSERT_EQ(io->n, 3);
        iomem_free(io);

        ASSERT_OK(iomem_parse("", &io));
        ASSERT_EQ(io->n, 0);
        iomem_free(io);
}

TEST(malformed)
{
        static const char *const bad[] = {
                "zzz\n",
                "0-1 Reserved\n",                        /* no " : " */
                "0-1 : \n",                              /* no name */
                "10-1 : backwards\n",                    /* end before start */
                " 0-1 : odd indentation\n",              /* one space */
                "  0-1 : child of nothing\n",            /* depth 1 first */
                "0-ff : a\n    0-1 : skipped a level\n", /* depth 0 -> 2 */
                "g-1 : not hex\n",
                "0-10000000000000000 : overflow\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Iomem *io = NULL;
                fprintf(stderr, "  %s", bad[i]);
                ASSERT_ERROR(iomem_parse(bad[i], &io), EINVAL);
                ASSERT_TRUE(io == NULL);
        }
}

/* One fd serves for ever: every read starts at offset 0, whatever was read before. */
TEST(read_fd_rereads)
{
        int fd = memfd_create("iomem", MFD_CLOEXEC);
        Iomem *io = NULL;

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, sample, sizeof(sample) - 1), (ssize_t)(sizeof(sample) - 1));
        ASSERT_OK(iomem_read_fd(fd, &io));
        ASSERT_EQ(io->n, 10);
        iomem_free(io);
        ASSERT_OK(iomem_read_fd(fd, &io));
        ASSERT_EQ(io->n, 10);
        iomem_free(io);
        close(fd);
}
