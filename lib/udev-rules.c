/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "strutil.h"
#include "sysfs.h"
#include "udev-rules.h"

/* Earlier directories override later ones for the same file name, as udev does. */
static const char *const rule_dirs[] = {
        "etc/udev/rules.d",
        "run/udev/rules.d",
        "usr/lib/udev/rules.d",
        "lib/udev/rules.d",
};

bool udev_rules_line_onlines_memory(const char *line)
{
        const char *a;

        line += strspn(line, " \t");
        if (line[0] == '#' || !strstr(line, "memory"))
                return false;
        /* ATTR{state}="online" assigns, ATTR{state}=="offline" only matches. */
        for (a = strstr(line, "ATTR{state}="); a; a = strstr(a + 1, "ATTR{state}="))
                if (a[strlen("ATTR{state}=")] != '=')
                        return true;
        return strstr(line, "/state") && (strstr(line, "echo") || strstr(line, "online"));
}

static bool file_onlines_memory(int dirfd, const char *name)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int fd;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return false;
        }
        while (getline(&line, &size, f) >= 0)
                if (udev_rules_line_onlines_memory(line))
                        return true;
        return false;
}

static bool overridden(int root_fd, size_t dir, const char *name)
{
        char path[PATH_MAX];
        struct stat st;

        for (size_t i = 0; i < dir; i++) {
                snprintf(path, sizeof(path), "%s/%s", rule_dirs[i], name);
                if (fstatat(root_fd, path, &st, 0) == 0)
                        return true;
        }
        return false;
}

int udev_rules_scan(int root_fd, UdevRulesFound found, void *userdata)
{
        int n = 0;

        for (size_t i = 0; i < ELEMENTSOF(rule_dirs); i++) {
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;

                if (opendir_at(root_fd, rule_dirs[i], &d) < 0)
                        continue;
                while ((de = readdir(d))) {
                        const char *dot = strrchr(de->d_name, '.');

                        if (!dot || !streq(dot, ".rules") || overridden(root_fd, i, de->d_name))
                                continue;
                        if (file_onlines_memory(dirfd(d), de->d_name)) {
                                found(rule_dirs[i], de->d_name, userdata);
                                n++;
                        }
                }
        }
        return n;
}
