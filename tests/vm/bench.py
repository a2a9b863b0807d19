# SPDX-License-Identifier: LGPL-2.1-or-later
"""vm-online-1g: how long from device_add of a 1 GiB pc-dimm (8 blocks) until all
8 blocks are online, for three onliners in one VM boot:

  kernel  auto_online_blocks=online_movable: the kernel onlines inside add_memory()
  loop    online-loop.c: one netlink socket, one write per "add", nothing else
  memhpd  the daemon, Default=online_movable, LogLevel=info: one policy for every node, so it
          hands onlining to the kernel and supervises (KernelOnline=yes, the default)
  memhpd_writes  the same with KernelOnline=no: memhpd writes every block itself, as it does
          for per-node, per-source or auto-movable policies

Everything is measured on the guest's CLOCK_BOOTTIME by one `hpmon wait --go`
per hot-add: it binds its uevent socket, stamps "@@GO", and the host sends
device_add only when it reads that line; the end is the receive time of the
8th "online" uevent. hpmon sleeps in recv() meanwhile, so nothing polls and
competes with the onliner for the guest's vCPUs. The sampling uevent logger of
the test tier is stopped for the same reason.

The variants take turns in blocks of BLOCK_REPS hot-adds, the order rotating
from one cycle to the next, so that load elsewhere on the host (which TCG
feels at once) weighs on all three alike. Within a block the onliner stays
resident, as a daemon would, and is warmed up by one unmeasured hot-add;
before every hot-add the clock waits until its CPU time stops moving (for the
kernel variant: the guest init's), so it is not still digesting the uevents of
the previous DIMM's removal and every variant starts from the same quiet guest. Every DIMM is
removed again with device_del (movable blocks can be) before the next.
"""

import math
import statistics

import vmlib
from vmlib import GiB, BLOCK, VMError, log

BENCH_CONF = ("[Daemon]\nEventSource=auto\nColdplug=yes\nLogLevel=info\n\n"
              "[Policy]\nDefault=online_movable\n")
# memhpd onlining every block itself, as it does for policies the kernel cannot express.
WRITES_CONF = BENCH_CONF + "KernelOnline=no\n"
NODE = 1
USER_HZ = 100                   # /proc/PID/stat ticks on x86
BLOCK_REPS = 5


def hotadd_once(vm, dimm, process):
    """(ms device_add -> last online, ms first add uevent -> last online, guest CPU ms the
    onliner spent on the hot-add's uevents)"""
    n = GiB // BLOCK
    # The backend exists before the clock starts: only device_add is timed.
    vm.dimm_backend(dimm, GiB)
    # The onliner must not still be busy with the uevents of the previous
    # DIMM's removal. The wait itself matters too (a guest idle for 100 ms
    # takes ~20 ms longer to react to the ACPI event), so every variant waits
    # the same way, the kernel one on the guest's init.
    ticks = int(vm.must("gt idle " + process).split()[-1])
    out, rc = vm.sh("hpmon wait --go online %d 30000" % n, timeout=45,
                    on_go=lambda: vm.plug_dimm(dimm, NODE))
    t0, events = vmlib.parse_wait(out, rc, "online of %s" % dimm)
    adds = [t for t, action, _ in events if action == "add"]
    onlines = [t for t, action, _ in events if action == "online"]
    if len(onlines) != n or not adds:
        raise VMError("%s: %d add, %d online uevents" % (dimm, len(adds), len(onlines)))
    # Its CPU time competes with the hot-add for the guest's vCPUs (and, under TCG, for the
    # host's cores): the kernel variant's "onliner" is init, which does nothing here.
    cpu_ms = (int(vm.must("gt idle " + process).split()[-1]) - ticks) * 1000 / USER_HZ
    if not vm.del_dimm(dimm):
        raise VMError("device_del %s: no DEVICE_DELETED (blocks not movable?)" % dimm)
    return (onlines[-1] - t0) * 1000, (onlines[-1] - adds[0]) * 1000, cpu_ms


class Variant:
    def __init__(self, name, setup, teardown, process):
        self.name, self.setup, self.teardown = name, setup, teardown
        self.process = process          # what gt idle waits for
        self.total, self.from_add, self.cpu = [], [], []


def percentile(xs, p):
    """Nearest-rank percentile: with 15 samples p10 is the 2nd, p90 the 14th."""
    xs = sorted(xs)
    return xs[min(len(xs), max(1, math.ceil(p / 100 * len(xs)))) - 1]


def put_configs(vm):
    vm.put("/etc/memhpd.conf", BENCH_CONF)
    vm.put("/etc/memhpd-writes.conf", WRITES_CONF)


def onliners(memhpd):
    """The variants: the kernel's auto-online, the minimal loop, and if memhpd is given, memhpd
    in its default configuration (which hands onlining to the kernel: memhpd(8), HAND-OFF TO
    THE KERNEL) and memhpd_writes, KernelOnline=no, writing every block itself."""
    auto = "/sys/devices/system/memory/auto_online_blocks"
    variants = [
        Variant("kernel", lambda vm: vm.must("echo online_movable > %s" % auto),
                lambda vm: vm.must("echo offline > %s" % auto), "init"),
        Variant("loop", lambda vm: vm.must("gt start loop /bin/online-loop"),
                lambda vm: vm.must("gt stop loop"), "loop"),
    ]
    if memhpd:
        variants.append(Variant(
            "memhpd",
            lambda vm: vm.must("gt start memhpd /usr/sbin/memhpd --config /etc/memhpd.conf"),
            lambda vm: vm.must("gt stop memhpd"), "memhpd"))
        variants.append(Variant(
            "memhpd_writes",
            lambda vm: vm.must("gt start memhpd /usr/sbin/memhpd --config "
                               "/etc/memhpd-writes.conf"),
            lambda vm: vm.must("gt stop memhpd"), "memhpd"))
    return variants


def run(args, kit, work):
    initrd = vmlib.build_initramfs(kit, work, args.memhpd)
    variants = onliners(args.memhpd)

    with vmlib.VM(kit, initrd, work, slots=4) as vm:
        log("guest %s booted in %.2fs; %d hot-adds of 1 GiB for each of %d variants" % (
            kit.release, vm.boot_seconds, args.reps, len(variants)))
        vm.must("kill $(cat /tmp/hpmon.pid)")
        put_configs(vm)
        seq = 0
        for cycle in range(math.ceil(args.reps / BLOCK_REPS)):
            for v in variants[cycle % len(variants):] + variants[:cycle % len(variants)]:
                v.setup(vm)
                for rep in range(min(BLOCK_REPS, args.reps - cycle * BLOCK_REPS) + 1):
                    seq += 1
                    total, from_add, cpu = hotadd_once(vm, "b%d" % seq, v.process)
                    if rep:                 # rep 0 warms the onliner up
                        v.total.append(total)
                        v.from_add.append(from_add)
                        v.cpu.append(cpu)
                v.teardown(vm)
        for v in variants:
            log("%-6s median %.1f ms (from first add %.1f ms)" % (
                v.name, statistics.median(v.total), statistics.median(v.from_add)))
        if args.memhpd:
            log("memhpd log:\n" + vm.must("tail -n 5 /tmp/memhpd.log"))

    med = {}
    for v in variants:
        for suffix, xs in (("", v.total), ("_from_add", v.from_add)):
            key = "online_1g_%s%s_ms" % (v.name, suffix)
            med[v.name + suffix] = statistics.median(xs)
            print("BENCH %s %.1f ms" % (key, med[v.name + suffix]))
            for label, value in (("min", min(xs)), ("p10", percentile(xs, 10)),
                                 ("p90", percentile(xs, 90)), ("max", max(xs))):
                print("BENCH %s_%s %.1f ms" % (key[:-3], label + "_ms", value))
        # Ticks are 10 ms: the mean over all hot-adds, not a median, says more.
        print("BENCH online_1g_%s_cpu_ms %.1f ms" % (v.name, statistics.mean(v.cpu)))
        print("# %s samples (ms): %s" % (v.name, " ".join("%.0f" % x for x in v.total)))
    if args.memhpd:
        for name in ("memhpd", "memhpd_writes"):
            for base in ("loop", "kernel"):
                for suffix in ("", "_from_add"):
                    print("BENCH online_1g%s_ratio_%s_%s %.2f ratio" % (
                        suffix, name, base, med[name + suffix] / med[base + suffix]))
    return 0
