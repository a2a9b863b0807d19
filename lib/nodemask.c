/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Our own node-list parser: libnuma's validates against the running host, not the sysroot. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nodemask.h"
#include "strutil.h"

int nodemask_parse(const char *s, NodeMask *ret)
{
        NodeMask m = {};
        char buf[4096], *p, *save = NULL;
        size_t l = strlen(s);

        if (l >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, l + 1);
        if (l > 0 && buf[l - 1] == '\n')
                buf[l - 1] = 0;
        /* An empty list is valid: a kernel without nodes of that kind prints "". */
        for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(p, '-');
                unsigned a, b;

                if (dash) {
                        *dash = 0;
                        if (safe_atou(p, &a) < 0 || safe_atou(dash + 1, &b) < 0 || b < a)
                                return -EINVAL;
                } else {
                        if (safe_atou(p, &a) < 0)
                                return -EINVAL;
                        b = a;
                }
                if (b >= MEMHP_MAX_NODES)
                        return -ERANGE;
                for (unsigned n = a; n <= b; n++)
                        m.bits[n / 64] |= UINT64_C(1) << (n % 64);
        }
        *ret = m;
        return 0;
}

bool nodemask_test(const NodeMask *m, unsigned node)
{
        return node < MEMHP_MAX_NODES && (m->bits[node / 64] >> (node % 64)) & 1;
}

int nodemask_read(const Sysfs *s, const char *name, NodeMask *ret)
{
        char path[128], buf[4096];
        int r;

        if (strchr(name, '/'))
                return -EINVAL;
        snprintf(path, sizeof(path), "sys/devices/system/node/%s", name);
        r = sysfs_read_at(s->root_fd, path, buf, sizeof(buf));
        if (r < 0)
                return r;
        return nodemask_parse(buf, ret);
}
