# SPDX-License-Identifier: LGPL-2.1-or-later
"""The README demo: memhpd onlining hot-added memory on two NUMA nodes of a VM, a
transactional offline the kernel refuses halfway, and a DIMM offlined as a device and unplugged.

memhpd runs in the guest with the shipped memhpd.conf plus one drop-in that gives node 2 its
own policy, on the guest's system bus. The host hot-adds a DIMM on node 1 and one on node 2;
`memhpctl list` shows the blocks, with their source and device, before and after, and
`memhpctl devices` the DIMMs. Then memhpctl offlines node 1's new blocks and memory0: highest
address first, so memory0 comes last, the kernel refuses it, and memhpd puts the new blocks back
online. Last, `memhpctl offline --device` offlines node 1's DIMM, says it is safe to remove, and
the host unplugs it (device_del, DEVICE_DELETED).
"""

import os
import re
import time

import vmlib
from vmlib import MiB, GiB, log


DROPIN = "/etc/memhpd.conf.d/50-demo.conf"
DROPIN_TEXT = ("# memhpd demo: the CPU-less node 2 gets kernel memory first, then movable\n"
               "# memory up to MovableRatio percent of it.\n"
               "[Node 2]\nPolicy=auto-movable\n")
DIMMS = (("dimm1", 1, 512 * MiB), ("dimm2", 2, GiB))


def shell(vm, command, show=None):
    """Run a guest command as the reader would type it; print it and its output, indented.
    Returns (output, exit status)."""
    out, rc = vm.sh(command + " 2>&1", timeout=60)
    print("  # %s" % (show or command))
    for line in out.rstrip("\n").splitlines():
        print(("  " + line).rstrip())
    if rc:
        print("  [exit status %d]" % rc)
    return out, rc


def run(args, kit, work):
    if not args.memhpctl:
        print("demo: needs memhpctl (--memhpctl, or ctl/memhpctl next to memhpd's build dir)")
        return 1
    conf = args.conf if args.conf and os.path.exists(args.conf) else None
    files = [("/etc/memhpd.conf", open(conf, "rb").read() if conf else b""),
             (DROPIN, DROPIN_TEXT.encode())]
    initrd = vmlib.build_initramfs(kit, work, args.memhpd, files, memhpctl=args.memhpctl)
    log("booting the VM")
    with vmlib.VM(kit, initrd, work) as vm:
        default = re.findall(r"^\s*Default\s*=\s*(\S+)", open(conf).read(), re.M) if conf else []
        print("memhpd demo: Debian 12 kernel %s under QEMU; NUMA nodes 0 and 1 have a CPU and"
              " 512 MiB each, node 2 has neither." % kit.release)
        print("config: %s as /etc/memhpd.conf (Default=%s), plus %s: [Node 2] Policy=auto-movable"
              % (os.path.basename(conf) if conf else "an empty file",
                 default[-1] if default else "auto, built in", DROPIN))
        vm.must("gt start memhpd /usr/sbin/memhpd --config /etc/memhpd.conf")
        print()
        print("Before hot-add:")
        shell(vm, "memhpctl list")
        print()
        print("Hot-adding %s through QMP (device_add pc-dimm) ..." % " and ".join(
            "%d MiB on node %d" % (size // MiB, node) for _, node, size in DIMMS))
        new = {}
        t0 = time.monotonic()
        for dimm, node, size in DIMMS:
            new[dimm] = sorted((b for _, b in vm.add_dimm(dimm, node, size)[1]),
                               key=lambda b: int(b[6:]))
        blocks = [b for dimm in new for b in new[dimm]]
        out, rc = vm.sh("hpmon state online 20000 " + " ".join(blocks), timeout=30)
        print("%d new blocks, %s in guest sysfs %.1f s after the first device_add." % (
            len(blocks), "all online" if rc == 0 else "NOT all online", time.monotonic() - t0))
        print()
        print("After: every block with its source and the device it belongs to")
        shell(vm, "memhpctl list")
        print()
        print("The devices, one row each:")
        shell(vm, "memhpctl devices")
        z = vm.zones()
        print("  (node 2 per /proc/zoneinfo: Normal %d MiB, Movable %d MiB)" % (
            z.get((2, "Normal"), 0) * 4096 // MiB, z.get((2, "Movable"), 0) * 4096 // MiB))

        print()
        ids = [b[6:] for b in new["dimm1"]]
        print("Offline is a transaction. Ask memhpd to offline node 1's new blocks and")
        print("memory0, boot memory the kernel refuses to offline (it holds the kernel image).")
        print("Offlining goes highest address first, so memory0 is the last one tried; exit")
        print("status 2 means \"failed, nothing left changed\":")
        _, rc_tx = shell(vm, "memhpctl offline %s-%s,0" % (ids[0], ids[-1]))
        print("Node 1's blocks are back online:")
        shell(vm, "memhpctl list --node 1")
        seen = {}
        for m in re.finditer(r" (online|offline) /devices/system/memory/memory(\d+) ",
                             vm.must("cat /tmp/uevents.log")):
            if m.group(2) in ids:
                seen.setdefault(m.group(2), []).append(m.group(1))
        histories = {" -> ".join(h) for h in seen.values()}
        print("  (the guest kernel's uevents for memory%s-%s since the hot-add: %s)" % (
            ids[0], ids[-1], " | ".join(sorted(histories))))

        print()
        out = vm.must("memhpctl --no-legend devices -o DEVICE,NODE")
        dev = [f[0] for f in (line.split() for line in out.splitlines()) if f[1:] == ["1"]]
        print("Unplugging node 1's DIMM: offline it as one device, then device_del:")
        _, rc_dev = shell(vm, "memhpctl offline --device %s" % (dev[0] if dev else "?"))
        gone = rc_dev == 0 and vm.del_dimm("dimm1")
        print("QMP device_del dimm1: %s" % (
            "DEVICE_DELETED, the DIMM is gone" if gone else "NOT deleted"))
        shell(vm, "memhpctl devices")
        print()
        status = vm.must("gt stop memhpd").strip()
        print("memhpd log (stopped with SIGTERM, exit status %s):" % status)
        for line in vm.must("cat /tmp/memhpd.log").splitlines():
            print("  " + line)
    return 0 if rc == 0 and rc_tx == 2 and gone else 1
