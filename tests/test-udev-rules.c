/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* udev-rules.h: which rule lines online memory, and udev's directory search with overrides. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "macro.h"
#include "udev-rules.h"
#include "test-util.h"

TEST(lines)
{
        static const char *const onlining[] = {
                /* Debian's and SUSE's 40-*.rules, RHEL's memory hotplug rule. */
                "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}==\"offline\", "
                "ATTR{state}=\"online\"\n",
                "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}=\"online_movable\"",
                "ACTION==\"add\", SUBSYSTEM==\"memory\", RUN+=\"/bin/sh -c 'echo online > "
                "/sys$devpath/state'\"",
                "  SUBSYSTEM==\"memory\", ATTR{state}=\"online\"",
                "SUBSYSTEM==\"memory\", RUN+=\"/usr/bin/chmem-online /sys$devpath/state\"",
        };
        static const char *const harmless[] = {
                "# SUBSYSTEM==\"memory\", ATTR{state}=\"online\"",
                "   \t# SUBSYSTEM==\"memory\", ATTR{state}=\"online\"",
                /* Matching the state is not writing it. */
                "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}==\"offline\", "
                "TAG+=\"systemd\"",
                /* Not about memory blocks. */
                "SUBSYSTEM==\"cpu\", ACTION==\"add\", ATTR{online}=\"1\"",
                "SUBSYSTEM==\"cpu\", ATTR{state}=\"online\"",
                "SUBSYSTEM==\"memory\", ACTION==\"add\", TAG+=\"systemd\"",
                "",
                "\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(onlining); i++)
                ASSERT_TRUE(udev_rules_line_onlines_memory(onlining[i]));
        for (size_t i = 0; i < ELEMENTSOF(harmless); i++)
                ASSERT_TRUE(!udev_rules_line_onlines_memory(harmless[i]));
}

typedef struct Found {
        char text[1024];
        size_t n;
} Found;

static void collect(const char *dir, const char *name, void *userdata)
{
        Found *f = userdata;
        size_t len = strlen(f->text);

        snprintf(f->text + len, sizeof(f->text) - len, "%s/%s;", dir, name);
        f->n++;
}

static const char ONLINE[] =
        "# comment\nSUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}=\"online\"\n";
static const char MASK[] = "";
static const char OTHER[] = "SUBSYSTEM==\"net\", ACTION==\"add\", NAME=\"eth0\"\n";

static void mkdirs(Fixture *fx, const char *rel)
{
        char path[4096], *p;

        snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
        for (p = path + strlen(fx->root) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                ASSERT_TRUE(mkdir(path, 0755) == 0 || errno == EEXIST);
                *p = '/';
        }
        ASSERT_TRUE(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static int scan(Fixture *fx, Found *found)
{
        int fd = open(fx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int n;

        ASSERT_TRUE(fd >= 0);
        *found = (Found){};
        n = udev_rules_scan(fd, collect, found);
        close(fd);
        return n;
}

TEST(scan)
{
        Fixture *fx;
        Found found;
        char *long_line;

        ASSERT_OK(fixture_new(&fx));
        /* No rule directories at all. */
        ASSERT_EQ(scan(fx, &found), 0);
        ASSERT_STREQ(found.text, "");

        mkdirs(fx, "etc/udev/rules.d");
        mkdirs(fx, "run/udev/rules.d");
        mkdirs(fx, "usr/lib/udev/rules.d");
        mkdirs(fx, "lib/udev/rules.d");
        ASSERT_OK(fixture_write(fx, "lib/udev/rules.d/40-vm-hotadd.rules", ONLINE));
        ASSERT_OK(fixture_write(fx, "lib/udev/rules.d/80-net.rules", OTHER));
        ASSERT_OK(fixture_write(fx, "usr/lib/udev/rules.d/40-redhat.rules", ONLINE));
        /* Only *.rules files are read. */
        ASSERT_OK(fixture_write(fx, "usr/lib/udev/rules.d/40-redhat.rules.bak", ONLINE));
        ASSERT_OK(fixture_write(fx, "usr/lib/udev/rules.d/rules", ONLINE));
        ASSERT_EQ(scan(fx, &found), 2);
        ASSERT_STREQ(found.text,
                     "usr/lib/udev/rules.d/40-redhat.rules;lib/udev/rules.d/40-vm-hotadd.rules;");

        /* An empty file of the same name in /etc masks the shipped rule, as memhpd advises. */
        ASSERT_OK(fixture_write(fx, "etc/udev/rules.d/40-redhat.rules", MASK));
        ASSERT_EQ(scan(fx, &found), 1);
        ASSERT_STREQ(found.text, "lib/udev/rules.d/40-vm-hotadd.rules;");
        /* /run overrides /usr/lib and /lib too, and an onlining rule in /etc is found there. */
        ASSERT_OK(fixture_write(fx, "run/udev/rules.d/40-vm-hotadd.rules", OTHER));
        ASSERT_OK(fixture_write(fx, "etc/udev/rules.d/99-local.rules", ONLINE));
        ASSERT_EQ(scan(fx, &found), 1);
        ASSERT_STREQ(found.text, "etc/udev/rules.d/99-local.rules;");

        /* A line longer than any fixed buffer is still one line. */
        long_line = malloc(8192);
        ASSERT_TRUE(long_line);
        memset(long_line, ' ', 8000);
        strcpy(long_line + 8000, "SUBSYSTEM==\"memory\", ATTR{state}=\"online\"\n");
        ASSERT_OK(fixture_write(fx, "etc/udev/rules.d/99-local.rules", long_line));
        ASSERT_EQ(scan(fx, &found), 1);
        long_line[0] = '#';
        ASSERT_OK(fixture_write(fx, "etc/udev/rules.d/99-local.rules", long_line));
        ASSERT_EQ(scan(fx, &found), 0);
        free(long_line);
        fixture_free(fx);
}
