/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Other onliners: the kernel's auto-online and distribution udev rules write the same state
 * files. memhpd does not fight them; it says at start who else is active, because their
 * writes decide zones before memhpd's policy can.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "manager.h"
#include "strutil.h"

/* Earlier directories override later ones for the same file name, as udev does. */
static const char *const rule_dirs[] = {
        "etc/udev/rules.d",
        "run/udev/rules.d",
        "usr/lib/udev/rules.d",
        "lib/udev/rules.d",
};

static bool line_onlines_memory(const char *line)
{
        const char *a;

        if (!strstr(line, "memory"))
                return false;
        /* ATTR{state}="online" assigns, ATTR{state}=="offline" only matches. */
        for (a = strstr(line, "ATTR{state}="); a; a = strstr(a + 1, "ATTR{state}="))
                if (a[strlen("ATTR{state}=")] != '=')
                        return true;
        return strstr(line, "/state") && (strstr(line, "echo") || strstr(line, "online"));
}

static bool rule_file_onlines_memory(int dirfd, const char *name)
{
        _cleanup_fclose_ FILE *f = NULL;
        char line[1024];
        int fd;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return false;
        }
        while (fgets(line, sizeof(line), f))
                if (line[0] != '#' && line_onlines_memory(line))
                        return true;
        return false;
}

static bool seen_before(size_t dir, const char *name, int root_fd)
{
        char path[512];
        struct stat st;

        for (size_t i = 0; i < dir; i++) {
                snprintf(path, sizeof(path), "%s/%s", rule_dirs[i], name);
                if (fstatat(root_fd, path, &st, 0) == 0)
                        return true;
        }
        return false;
}

static void check_udev_rules(Manager *m)
{
        for (size_t i = 0; i < ELEMENTSOF(rule_dirs); i++) {
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;

                if (opendir_at(m->sysfs->root_fd, rule_dirs[i], &d) < 0)
                        continue;
                while ((de = readdir(d))) {
                        const char *dot = strrchr(de->d_name, '.');

                        if (!dot || !streq(dot, ".rules") ||
                            seen_before(i, de->d_name, m->sysfs->root_fd))
                                continue;
                        if (rule_file_onlines_memory(dirfd(d), de->d_name))
                                log_warning("udev rule /%s/%s onlines memory blocks too; its zone "
                                            "choice races memhpd's policy. Mask it with an "
                                            "empty /etc/udev/rules.d/%s.",
                                            rule_dirs[i], de->d_name, de->d_name);
                }
        }
}

void manager_check_other_onliners(Manager *m)
{
        _cleanup_free_ char *cmdline = NULL;
        char buf[64];

        if (sysfs_read_at(m->sysfs->memory_fd, "auto_online_blocks", buf, sizeof(buf)) >= 0 &&
            !streq(buf, "offline"))
                log_warning("The kernel onlines new memory itself (auto_online_blocks=%s): blocks "
                            "arrive online before memhpd sees them, so memhpd's zone policy "
                            "cannot apply. Set it to 'offline' to let memhpd decide.",
                            buf);
        if (sysfs_read_at(m->sysfs->root_fd, "sys/module/memory_hotplug/parameters/online_policy",
                          buf, sizeof(buf)) >= 0 &&
            !streq(buf, "contig-zones"))
                log_notice("memory_hotplug.online_policy=%s: the kernel picks zones for plain "
                           "'online' writes (policy 'online').",
                           buf);
        if (sysfs_read_file_at(m->sysfs->root_fd, "proc/cmdline", &cmdline, NULL) >= 0) {
                const char *v = strstr(cmdline, "memhp_default_state=");

                if (v && !startswith(v + strlen("memhp_default_state="), "offline"))
                        log_warning("memhp_default_state= on the kernel command line makes the "
                                    "kernel online hot-added memory itself.");
                if (strstr(cmdline, "memory_hotplug.online_policy="))
                        log_notice("memory_hotplug.online_policy= is set on the kernel command "
                                   "line.");
        }
        check_udev_rules(m);
}
