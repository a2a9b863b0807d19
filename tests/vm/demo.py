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


def runs(rows):
    """{block: columns} -> consecutive blocks with equal columns, as ("memory48-51", columns)."""
    out = []
    for name in sorted(rows, key=lambda b: int(b[6:])):
        n = int(name[6:])
        if out and out[-1][1] == n - 1 and out[-1][2] == rows[name]:
            out[-1][1] = n
        else:
            out.append([n, n, rows[name]])
    return [("memory%d" % a + ("-%d" % b if b != a else ""), cols) for a, b, cols in out]


def show(title, blocks, boot, announced=None):
    """One line per run of blocks: boot memory in short, then each new run with the state
    the kernel announced it in (add uevent) -> its state now, and its zone."""
    print(title)
    for node in (0, 1, 2):
        mine = {b: v for b, v in blocks.items() if v[1] == str(node)}
        lines = ["%-13s online   (boot memory)" % name
                 for name, _ in runs({b: () for b in mine if b in boot})]
        rows = {}
        for b, (state, _, zones) in mine.items():
            if b not in boot:
                zone = zones[0] if state == "online" else ""
                rows[b] = ("%s -> " % announced[b] if announced and b in announced else "",
                           state, zone)
        lines += ["%-13s %s%-8s %s" % (name, *cols) for name, cols in runs(rows)]
        for i, line in enumerate(lines or ["no memory"]):
            print("  %-8s%s" % ("node %d:" % node if i == 0 else "", line.rstrip()))


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
        # The guest's uevent logger noted each block's state when its "add" arrived.
        announced = {}
        for line in vm.must("grep ' add /devices/system/memory/memory' /tmp/uevents.log"
                            " || true").splitlines():
            m = re.search(r"/(memory\d+) .*\bstate=(\w+)", line)
            if m:
                announced.setdefault(m.group(1), m.group(2))
        print()
        show("after (guest sysfs; state at the add uevent -> now, zone = valid_zones):",
             vm.blocks(), boot, announced)
        z = vm.zones()
        print("  node 2 zoneinfo: Normal %d MiB, Movable %d MiB" % (
            z.get((2, "Normal"), 0) * 4096 // MiB, z.get((2, "Movable"), 0) * 4096 // MiB))
        print()
        status = vm.must("gt stop memhpd").strip()
        print("memhpd log (stopped with SIGTERM, exit status %s):" % status)
        for line in vm.must("cat /tmp/memhpd.log").splitlines():
            print("  " + line)
    return 0 if rc == 0 else 1
