/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Other onliners: the kernel's auto-online and distribution udev rules write the same state
 * files. memhpd does not fight them; it says at start who else is active, because their
 * writes decide zones before memhpd's policy can.
 */
#include <string.h>

#include "log.h"
#include "manager.h"
#include "strutil.h"
#include "udev-rules.h"

static void warn_rule(const char *dir, const char *name, void *userdata)
{
        (void)userdata;
        log_warning("udev rule /%s/%s onlines memory blocks too; its zone choice races memhpd's "
                    "policy. Mask it with an empty /etc/udev/rules.d/%s.",
                    dir, name, name);
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
        (void)udev_rules_scan(m->sysfs->root_fd, warn_rule, NULL);
}
