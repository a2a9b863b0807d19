# SPDX-License-Identifier: LGPL-2.1-or-later
"""vm-vmem-grow: how fast a virtio-mem device grows, the cloud case.

  vmtest.py vmem --memhpd PATH [--reps N]

One VM boot with an 8 GiB virtio-mem device on node 1, nothing plugged. Per
round, each onliner in turn (the order rotating from round to round, so load on
the host weighs on all alike; round 0 warms every variant up and is not
counted) sees the device grow 0 -> 4 GiB and back to 0, then 0 -> 8 GiB and
back to 0, through QMP `qom-set vm0 requested-size`:

  kernel  auto_online_blocks=online_movable: the kernel onlines inside the
          driver's add_memory_driver_managed(), the same zone memhpd's default
          policy (online_movable) picks, so the comparison is like for like
          (online_policy only matters for plain "online", which neither uses)
  loop    online-loop.c, one online_movable write per add uevent
  memhpd  the daemon with the benchmark's config (Default=online_movable): it
          hands onlining to the kernel (auto_online_blocks) and supervises
  memhpd_writes  the same with KernelOnline=no: memhpd writes every block

virtio-mem adds memory a 128 MiB block at a time and stops adding while more
than its offline threshold (1 GiB) is offline, so above 1 GiB the onliner's
pace is the device's pace: 4 and 8 GiB are 32 and 64 blocks.

Clock: the guest's CLOCK_BOOTTIME. `hpmon wait --go online N` binds its uevent
socket and stamps "@@GO"; only then does the host send the qom-set; the end is
the receive time of the N-th "online" uevent. The shrink is timed the same way
to the N-th "remove" (the driver offlines and removes the blocks itself; the
onliner only has to stay out of the way). Before every change the guest waits
until the onliner's CPU time stops moving (for the kernel variant, init's).

MEMHPD_VMEM_BLOCK=128M sets the device's block size (default QEMU's, 2 MiB: a
shrink of 8 GiB is then 4,096 unplug requests, 10-120 s under TCG on a loaded
host; 128 MiB makes both directions 64 requests).
MEMHPD_VMEM_VARIANTS=kernel,loop,memhpd picks variants (default: all; "kernel"
must be among them).

BENCH lines: vmem_grow_<size>g_<variant>_ms (median) with _p10/_p90/_min/_max,
vmem_shrink_<size>g_<variant>_ms, vmem_grow_<size>g_<variant>_cpu_ms (the guest CPU time, utime +
stime in 10 ms ticks, the onliner spent per growth, mean: under TCG a vCPU is a host thread, so
that time competes with the driver's adds for the host's cores), and the ratios of the medians
vmem_grow_<size>g_ratio_<variant>_kernel, plus the median of the per-round
ratios (each round's variants ran back to back, so a round's ratio is the
least disturbed by load elsewhere) with its p10/p90. The host's load average is
printed at the start and the end.
"""

import os
import statistics
import time

import vmlib
from vmlib import GiB, BLOCK, VMError, log
from bench import put_configs, onliners, percentile, USER_HZ

SIZES = (4, 8)                  # GiB
VMEM_MAX = "8G"
TMO_MS = 600000


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(vm, process, action, n, size):
    """(ms from the qom-set of @size to the n-th @action uevent, guest CPU ms the onliner spent
    on the change's uevents)"""
    ticks = int(vm.must("gt idle " + process).split()[-1])
    out, rc = vm.sh("hpmon wait --go %s %d %d" % (action, n, TMO_MS), timeout=TMO_MS / 1000 + 30,
                    on_go=lambda: vm.vmem_request(size))
    t0, events = vmlib.parse_wait(out, rc, "virtio-mem %s to %d MiB" % (action, size >> 20))
    ts = [t for t, a, _ in events if a == action]
    if len(ts) != n:
        raise VMError("virtio-mem to %d MiB: %d %s uevents, want %d" % (size >> 20, len(ts),
                                                                       action, n))
    cpu_ms = (int(vm.must("gt idle " + process).split()[-1]) - ticks) * 1000 / USER_HZ
    return (ts[-1] - t0) * 1000, cpu_ms


def round_trip(vm, process, gib):
    """(grow ms, shrink ms, grow CPU ms) of 0 -> gib GiB -> 0."""
    n = gib * GiB // BLOCK
    grow, cpu = timed(vm, process, "online", n, gib * GiB)
    if vm.vmem_size() != gib * GiB:
        raise VMError("virtio-mem plugged %d MiB, want %d GiB" % (vm.vmem_size() >> 20, gib))
    shrink, _ = timed(vm, process, "remove", n, 0)
    # The driver removes a block, then asks the device to unplug it: the size follows.
    deadline = time.monotonic() + 60
    while vm.vmem_size() != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if vm.vmem_size() != 0:
        raise VMError("virtio-mem still plugs %d MiB after the shrink" % (vm.vmem_size() >> 20))
    return grow, shrink, cpu


def report(results, names):
    for gib in SIZES:
        med = {}
        for kind in ("grow", "shrink"):
            for name in names:
                xs = results[(kind, gib, name)]
                key = "vmem_%s_%dg_%s" % (kind, gib, name)
                med[(kind, name)] = statistics.median(xs)
                print("BENCH %s_ms %.1f ms" % (key, med[(kind, name)]))
                for label, value in (("p10", percentile(xs, 10)), ("p90", percentile(xs, 90)),
                                     ("min", min(xs)), ("max", max(xs))):
                    print("BENCH %s_%s_ms %.1f ms" % (key, label, value))
                print("# %s samples (ms): %s" % (key, " ".join("%.0f" % x for x in xs)))
        for name in names:
            print("BENCH vmem_grow_%dg_%s_cpu_ms %.1f ms" % (
                gib, name, statistics.mean(results[("cpu", gib, name)])))
            if name == "kernel":
                continue
            print("BENCH vmem_grow_%dg_ratio_%s_kernel %.2f ratio" % (
                gib, name, med[("grow", name)] / med[("grow", "kernel")]))
            per_round = [a / b for a, b in zip(results[("grow", gib, name)],
                                               results[("grow", gib, "kernel")])]
            print("BENCH vmem_grow_%dg_round_ratio_%s_kernel %.2f ratio" % (
                gib, name, statistics.median(per_round)))
            print("BENCH vmem_grow_%dg_round_ratio_%s_kernel_p10 %.2f ratio" % (
                gib, name, percentile(per_round, 10)))
            print("BENCH vmem_grow_%dg_round_ratio_%s_kernel_p90 %.2f ratio" % (
                gib, name, percentile(per_round, 90)))


def run(args, kit, work):
    initrd = vmlib.build_initramfs(kit, work, args.memhpd)
    variants = onliners(args.memhpd)
    only = os.environ.get("MEMHPD_VMEM_VARIANTS")       # e.g. "kernel,loop,memhpd"
    if only:
        variants = [v for v in variants if v.name in only.split(",")]
    names = [v.name for v in variants]
    results = {(k, g, n): [] for k in ("grow", "shrink", "cpu") for g in SIZES for n in names}
    log("host load average at the start: %s (%d CPUs)" % (loadavg(), os.cpu_count()))
    print("BENCH vmem_host_load_start %s load" % loadavg().split()[0])
    block = os.environ.get("MEMHPD_VMEM_BLOCK")
    print("BENCH vmem_device_block_mib %s MiB" % (block[:-1] if block else "2"))
    with vmlib.VM(kit, initrd, work, slots=4, vmem_max=VMEM_MAX, vmem_block=block) as vm:
        log("guest %s booted in %.2fs; %d rounds of 0 -> %s GiB -> 0 per variant" % (
            kit.release, vm.boot_seconds, args.reps, " / ".join(map(str, SIZES))))
        vm.must("kill $(cat /tmp/hpmon.pid)")
        put_configs(vm)
        for rnd in range(args.reps + 1):
            order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
            for v in order:
                v.setup(vm)
                for gib in SIZES:
                    grow, shrink, cpu = round_trip(vm, v.process, gib)
                    if rnd:                 # round 0 warms every variant up
                        results[("cpu", gib, v.name)].append(cpu)
                        results[("grow", gib, v.name)].append(grow)
                        results[("shrink", gib, v.name)].append(shrink)
                v.teardown(vm)
            if rnd:
                log("round %d: %s (load %s)" % (rnd, "  ".join(
                    "%s %s" % (n, "/".join("%.0f" % results[("grow", g, n)][-1] for g in SIZES))
                    for n in names), loadavg()))
    log("host load average at the end: %s" % loadavg())
    print("BENCH vmem_host_load_end %s load" % loadavg().split()[0])
    report(results, names)
    return 0
