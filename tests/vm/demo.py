# SPDX-License-Identifier: LGPL-2.1-or-later
"""The README demo: memhpd onlining hot-added memory on two NUMA nodes of a VM.

memhpd runs in the guest with the shipped memhpd.conf plus one drop-in that
gives node 2 its own policy; the host hot-adds a DIMM on node 1 and one on
node 2, and the demo prints what the guest kernel shows before and after,
then memhpd's own log.
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


def runs(blocks):
    """Consecutive blocks with the same state and zone, as (first, last, state, zone)."""
    out = []
    for name in sorted(blocks, key=lambda b: int(b[6:])):
        state, _, zones = blocks[name]
        zone = zones[0] if state == "online" and zones != ["none"] else "-"
        n = int(name[6:])
        if out and out[-1][1] == n - 1 and out[-1][2:] == (state, zone):
            out[-1] = (out[-1][0], n, state, zone)
        else:
            out.append((n, n, state, zone))
    return out


def show(title, blocks, boot, nodes=(0, 1, 2)):
    print(title)
    for node in nodes:
        mine = {b: v for b, v in blocks.items() if v[1] == str(node)}
        old = [b for b in mine if b in boot]
        lines = ["boot memory, %d blocks online" % len(old)] if old else []
        for first, last, state, zone in runs({b: v for b, v in mine.items() if b not in boot}):
            name = "memory%d" % first + ("-%d" % last if last != first else "")
            lines.append("%-13s %-8s %s" % (name, state, zone if state == "online" else ""))
        for i, line in enumerate(lines or ["no memory"]):
            print("  %s %s" % ("node %d:" % node if i == 0 else "       ", line.rstrip()))


def run(args, kit, work):
    conf = args.conf if args.conf and os.path.exists(args.conf) else None
    files = [("/etc/memhpd.conf", open(conf, "rb").read() if conf else b""),
             (DROPIN, DROPIN_TEXT.encode())]
    initrd = vmlib.build_initramfs(kit, work, args.memhpd, files)
    log("booting the VM")
    with vmlib.VM(kit, initrd, work) as vm:
        default = re.findall(r"^\s*Default\s*=\s*(\S+)", open(conf).read(), re.M) if conf else []
        print("memhpd demo: Debian 12 kernel %s under QEMU; NUMA nodes 0 and 1 have a CPU and"
              " 512 MiB each, node 2 has neither." % kit.release)
        print("config: %s as /etc/memhpd.conf (Default=%s), plus %s: [Node 2] Policy=auto-movable"
              % (os.path.basename(conf) if conf else "an empty file",
                 default[-1] if default else "online_movable, built in", DROPIN))
        vm.must("gt start memhpd /usr/sbin/memhpd --config /etc/memhpd.conf")
        boot = vm.blocks()
        print()
        show("before hot-add (guest sysfs):", boot, boot)
        print()
        print("hot-adding %s through QMP (device_add pc-dimm) ..." % " and ".join(
            "%d MiB on node %d" % (size // MiB, node) for _, node, size in DIMMS))
        new = []
        t0 = time.monotonic()
        for dimm, node, size in DIMMS:
            new += [b for _, b in vm.add_dimm(dimm, node, size)[1]]
        out, rc = vm.sh("hpmon state online 20000 " + " ".join(new), timeout=30)
        print("%d new blocks, %s %.1f s after the first device_add" % (
            len(new), "all online" if rc == 0 else "NOT all online", time.monotonic() - t0))
        print()
        show("after (guest sysfs; zone = valid_zones of the online block):", vm.blocks(), boot)
        z = vm.zones()
        print("  node 2 zoneinfo: Normal %d MiB, Movable %d MiB" % (
            z.get((2, "Normal"), 0) * 4096 // MiB, z.get((2, "Movable"), 0) * 4096 // MiB))
        print()
        status = vm.must("gt stop memhpd").strip()
        print("memhpd log (stopped with SIGTERM, exit status %s):" % status)
        for line in vm.must("cat /tmp/memhpd.log").splitlines():
            print("  " + line)
    return 0 if rc == 0 else 1
