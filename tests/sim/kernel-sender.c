/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-sender.so: an LD_PRELOAD shim for sim tests of EventSource=kernel. Never part of the
 * product.
 *
 * memhp-sim sends every uevent in the kernel's format on the kernel group, but from its own
 * netlink port, and a kernel-group reader rightly trusts only port id 0, which only the kernel
 * can send from. Under this shim, recvmsg() reports messages on the kernel group from the sim's
 * port (MEMHP_SIM_KERNEL_PORT, from "memhp-sim ctl SOCK events") as coming from port 0, so
 * memhpd's kernel reader, parser, overflow handling and everything after them run against the
 * sim. Any other sender stays as it is and is still dropped. That the real kernel's messages
 * are accepted is the VM tier's to show; that a forged one is dropped, the sim tests' without
 * this shim.
 */
#include <dlfcn.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/socket.h>

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
        static ssize_t (*real)(int, struct msghdr *, int);
        static long port = -1;
        struct sockaddr_nl *snl;
        ssize_t n;

        if (!real) {
                const char *e = getenv("MEMHP_SIM_KERNEL_PORT");

                port = e ? strtol(e, NULL, 10) : -1;
                real = (ssize_t(*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
        }
        n = real(fd, msg, flags);
        if (n < 0 || port <= 0 || !msg->msg_name || msg->msg_namelen < sizeof(*snl))
                return n;
        snl = msg->msg_name;
        if (snl->nl_family == AF_NETLINK && snl->nl_groups == 1 && snl->nl_pid == (__u32)port)
                snl->nl_pid = 0;
        return n;
}
