# SPDX-License-Identifier: LGPL-2.1-or-later
"""vm-trace-1g: where the time of one 1 GiB pc-dimm hot-add goes, from the
guest kernel's own tracing, for the kernel's auto-online, the minimal C loop
and memhpd.

  vmtest.py trace --memhpd PATH [--reps N]

kprobes in the guest (tracefs, trace_clock=boot, the same CLOCK_BOOTTIME that
hpmon stamps uevents with):

  add_memory_resource         entry/return: the ACPI add of the DIMM's range;
                              the kernel holds device_hotplug_lock around it
  lock_device_hotplug_sysfs   entry/return: every write to memoryN/state takes
                              it; a non-zero return is a "bounce": the lock was
                              busy, the kernel slept 5 ms and restarts the write
  online_pages                entry/return: the work of onlining one block
  unlock_device_hotplug       entry: the first one from a kernel thread after
                              the add is the ACPI hotplug work releasing
                              device_hotplug_lock, which it holds from before
                              the add until after _OST (acpi_device_hotplug)

Per hot-add it derives, on the guest clock:

  add_ms                  add_memory_resource's duration
  first_write_after_add_uevent_ms
                          first add uevent received -> the onliner's first
                          state write (userspace variants)
  bounces                 state writes refused because the add held the lock
  idle_after_add_ms       add_memory_resource returned -> first userspace
                          online_pages begins: what the bounce sleeps cost
  online_block_ms         one online_pages call (median over the blocks)
  online_span_ms          first online_pages start -> last one's end
  total_ms                device_add -> the 8th online uevent
  lock_free_after_add_ms  add returned -> device_hotplug_lock released: ACPI
                          work after the add that no userspace write can
                          overtake (the kernel's auto-online runs inside the
                          add, before it)
  device_add_to_lock_free_ms
                          device_add -> device_hotplug_lock released; in the
                          kernel variant this is the lower bound of any
                          userspace onliner ("floor"): the same add without
                          the onlining inside it, the same ACPI tail, then
                          the same online work, done at the kernel's pace
  reaction_ms             lock released -> first userspace online_pages
  rest_ms                 total minus (device_add -> add start), add_ms,
                          idle_after_add_ms and online_span_ms: uevent
                          delivery and the onliner's own work
  online_work_ms          the 8 online_pages calls summed: inside the add for
                          the kernel, after the release for a writer

and prints BENCH lines with the median of each (and p10/p90 of total_ms).
The variants take turns per hot-add, as in bench.py.

Two floors, per rep from the kernel variant's own hot-add (ratios to its total):

  trace_floor_userspace_kernel
          device_add -> lock released: an oracle writer that saw the release
  trace_floor_userspace_written_kernel
          a writer that cannot see the release (memhpd whenever it writes,
          e.g. under Default=auto): its write sleeps in
          lock_device_hotplug_sysfs and restarts, so it starts a quantum-long
          sleep at a phase the release does not know, and waits the rest of
          it after the release, on average half a quantum. The quantum is
          measured from the traced bounces (lock_ret != 0: the sleep, msleep(5),
          3 jiffies at HZ=250), else taken from the guest's CONFIG_HZ.
          floor = (release + quantum / 2 + 8 x (memhpd_writes' median
                   online_block - the kernel's)) / kernel total
          Uevent delivery after the last online is left out: a lower bound.
          _full_quantum: the same with a whole quantum (the unlucky phase).
"""

import json
import math
import os
import re
import statistics

import vmlib
from vmlib import GiB, BLOCK, VMError, log
from bench import put_configs, NODE, onliners, percentile

T = "/sys/kernel/tracing"
PROBES = [
    "p:hp/add add_memory_resource",
    "r:hp/add_ret add_memory_resource ret=$retval",
    "p:hp/lock lock_device_hotplug_sysfs",
    "r:hp/lock_ret lock_device_hotplug_sysfs ret=$retval",
    "p:hp/online online_pages",
    "r:hp/online_ret online_pages ret=$retval",
    "p:hp/unlock unlock_device_hotplug",
]
# "  memhpd-95  [000] d....  123.456789: lock_ret: (state_store+0x1b/0x80 <- ...) ret=0x0"
LINE = re.compile(r"^\s*(?P<comm>.+)-(?P<pid>\d+)\s+\[\d+\]\s+\S+\s+(?P<t>\d+\.\d+):\s+"
                  r"(?P<ev>\w+):.*?(?:ret=(?P<ret>0x[0-9a-f]+|-?\d+))?\s*$")
KERNEL_COMMS = ("kworker", "kacpi", "swapper")


def setup_tracing(vm):
    vm.must("[ -e %s/trace ] || mount -t tracefs nodev %s" % (T, T))
    vm.must("echo 0 > %s/tracing_on; echo boot > %s/trace_clock; echo 8192 > %s/buffer_size_kb"
            % (T, T, T))
    vm.must("echo > %s/kprobe_events" % T)
    for p in PROBES:
        vm.must("echo '%s' >> %s/kprobe_events" % (p, T))
    vm.must("echo 1 > %s/events/hp/enable; echo > %s/trace; echo 1 > %s/tracing_on" % (T, T, T))


def read_trace(vm):
    out = vm.must("cat %s/trace; echo > %s/trace" % (T, T), timeout=60)
    events = []
    for line in out.splitlines():
        m = LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        ret = m.group("ret")
        events.append((float(m.group("t")), m.group("ev"), m.group("comm").strip(),
                       int(m.group("pid")), int(ret, 0) if ret else None))
    return events


def is_user(comm):
    return not comm.startswith(KERNEL_COMMS)


def pairs(events, name):
    """(start, end, task) of each call of probe @name, matched per task."""
    open_calls, out = {}, []
    for t, ev, comm, pid, ret in events:
        if ev == name:
            open_calls[pid] = t
        elif ev == name + "_ret" and pid in open_calls:
            out.append((open_calls.pop(pid), t, comm, ret))
    return out


def analyse(t_go, uevents, events):
    adds = [t for t, action, _ in uevents if action == "add"]
    onlines = [t for t, action, _ in uevents if action == "online"]
    add_calls = pairs(events, "add")
    if not add_calls or not adds or not onlines:
        raise VMError("trace: %d add calls, %d add and %d online uevents" % (
            len(add_calls), len(adds), len(onlines)))
    add_start, add_end = add_calls[0][0], add_calls[-1][1]
    locks = [c for c in pairs(events, "lock") if is_user(c[2])]
    online_calls = pairs(events, "online")
    user_online = [c for c in online_calls if is_user(c[2])]
    r = {
        "add_ms": (add_end - add_start) * 1000,
        "bounces": sum(1 for c in locks if c[3]),
        # Not a BENCH line of its own: pooled over the run into the quantum.
        "bounce_sleeps": [(e - s) * 1000 for s, e, _, ret in locks if ret],
        "online_work_ms": sum((e - s) * 1000 for s, e, _, _ in online_calls),
        "online_block_ms": statistics.median((e - s) * 1000 for s, e, _, _ in online_calls)
        if online_calls else 0.0,
        "online_span_ms": (online_calls[-1][1] - online_calls[0][0]) * 1000
        if online_calls else 0.0,
        "total_ms": (onlines[-1] - t_go) * 1000,
    }
    r["idle_after_add_ms"] = max(0.0, (user_online[0][0] - add_end) * 1000) if user_online else 0.0
    if locks:
        r["first_write_after_add_uevent_ms"] = (locks[0][0] - adds[0]) * 1000
    # For the kernel variant the onlining happens inside the add: count it once.
    inside = user_online == [] and online_calls != []
    r["rest_ms"] = r["total_ms"] - (add_start - t_go) * 1000 - r["add_ms"] - (
        0 if inside else r["idle_after_add_ms"] + r["online_span_ms"])
    r["device_add_to_add_start_ms"] = (add_start - t_go) * 1000
    unlocks = [t for t, ev, comm, _, _ in events
               if ev == "unlock" and not is_user(comm) and t >= add_end]
    if unlocks:
        r["lock_free_after_add_ms"] = (unlocks[0] - add_end) * 1000
        r["device_add_to_lock_free_ms"] = (unlocks[0] - t_go) * 1000
        if user_online:
            r["reaction_ms"] = (user_online[0][0] - unlocks[0]) * 1000
    return r


def hotadd_traced(vm, dimm, process):
    n = GiB // BLOCK
    vm.dimm_backend(dimm, GiB)
    vm.must("gt idle " + process)
    vm.must("echo > %s/trace" % T)
    out, rc = vm.sh("hpmon wait --go online %d 30000" % n, timeout=45,
                    on_go=lambda: vm.plug_dimm(dimm, NODE))
    t_go, uevents = vmlib.parse_wait(out, rc, "online of %s" % dimm)
    result = analyse(t_go, uevents, read_trace(vm))
    if not vm.del_dimm(dimm):
        raise VMError("device_del %s: no DEVICE_DELETED (blocks not movable?)" % dimm)
    vm.must("echo > %s/trace" % T)
    return result


def run(args, kit, work):
    initrd = vmlib.build_initramfs(kit, work, args.memhpd)
    variants = onliners(args.memhpd)
    results = {v.name: [] for v in variants}
    with vmlib.VM(kit, initrd, work, slots=4) as vm:
        log("guest %s booted in %.2fs; %d traced hot-adds of 1 GiB per variant" % (
            kit.release, vm.boot_seconds, args.reps))
        vm.must("kill $(cat /tmp/hpmon.pid)")
        put_configs(vm)
        setup_tracing(vm)
        seq = 0
        for rep in range(args.reps + 1):
            order = variants[rep % len(variants):] + variants[:rep % len(variants)]
            for v in order:
                v.setup(vm)
                seq += 1
                r = hotadd_traced(vm, "t%d" % seq, v.process)
                if rep:                     # rep 0 warms every variant up
                    results[v.name].append(r)
                v.teardown(vm)
    # Every rep's figures, for analyses this script does not print.
    with open(os.path.join(work, "trace-results.json"), "w") as f:
        json.dump(results, f, indent=1)
    for name, rs in results.items():
        keys = sorted({k for r in rs for k in r if k != "bounce_sleeps"})
        for k in keys:
            xs = [r[k] for r in rs if k in r]
            unit = "count" if k == "bounces" else "ms"
            print("BENCH trace_%s_%s %.1f %s" % (name, k[:-3] if unit == "ms" else k,
                                                statistics.median(xs), unit))
        totals = [r["total_ms"] for r in rs]
        print("BENCH trace_%s_total_p10 %.1f ms" % (name, percentile(totals, 10)))
        print("BENCH trace_%s_total_p90 %.1f ms" % (name, percentile(totals, 90)))
    med = {n: statistics.median(r["total_ms"] for r in rs) for n, rs in results.items()}
    print("BENCH trace_ratio_memhpd_kernel %.2f ratio" % (med["memhpd"] / med["kernel"]))
    print("BENCH trace_ratio_memhpd_writes_kernel %.2f ratio" % (
        med["memhpd_writes"] / med["kernel"]))
    # Each rep's variants ran back to back: their ratio is the least disturbed by host load.
    for name in ("memhpd", "memhpd_writes", "loop"):
        rr = [a["total_ms"] / b["total_ms"] for a, b in zip(results[name], results["kernel"])]
        print("BENCH trace_rep_ratio_%s_kernel %.2f ratio" % (name, statistics.median(rr)))
        print("BENCH trace_rep_ratio_%s_kernel_p10 %.2f ratio" % (name, percentile(rr, 10)))
        print("BENCH trace_rep_ratio_%s_kernel_p90 %.2f ratio" % (name, percentile(rr, 90)))
    print("BENCH trace_ratio_loop_kernel %.2f ratio" % (med["loop"] / med["kernel"]))
    # The floor of any userspace onliner, from the kernel variant's own hot-adds: it cannot
    # write before device_hotplug_lock is free, and then has the same online work left.
    floor = [r["device_add_to_lock_free_ms"] / r["total_ms"] for r in results["kernel"]
             if "device_add_to_lock_free_ms" in r]
    if floor:
        print("BENCH trace_floor_userspace_kernel %.2f ratio" % statistics.median(floor))
        print("BENCH trace_floor_userspace_kernel_p10 %.2f ratio" % percentile(floor, 10))
        print("BENCH trace_floor_userspace_kernel_p90 %.2f ratio" % percentile(floor, 90))
    print_written_floor(results, kit)
    return 0


def hz_quantum_ms(kit):
    """msleep(5) in lock_device_hotplug_sysfs: msecs_to_jiffies(5) + 1 jiffies at CONFIG_HZ;
    None when the kit's config does not say."""
    try:
        with open(os.path.join(kit.kdir, "config")) as f:
            hz = int(re.search(r"^CONFIG_HZ=(\d+)$", f.read(), re.M).group(1))
    except (OSError, AttributeError, ValueError):
        return None, None
    return hz, (math.ceil(5 * hz / 1000) + 1) * 1000 / hz


def print_written_floor(results, kit):
    """The floor of a writer blind to the lock's release, beside memhpd_writes' measured ratio
    (its hot-add of the same rep, which ran right after or before the kernel's)."""
    hz, hz_q = hz_quantum_ms(kit)
    sleeps = [x for rs in results.values() for r in rs for x in r["bounce_sleeps"]]
    if hz:
        print("BENCH trace_guest_hz %d Hz" % hz)
        print("BENCH trace_bounce_quantum_hz %.1f ms" % hz_q)
    print("BENCH trace_bounces_traced %d count" % len(sleeps))
    if len(sleeps) >= 3:
        quantum = statistics.median(sleeps)
        print("BENCH trace_bounce_sleep %.1f ms" % quantum)
        print("BENCH trace_bounce_sleep_p10 %.1f ms" % percentile(sleeps, 10))
        print("BENCH trace_bounce_sleep_p90 %.1f ms" % percentile(sleeps, 90))
    elif hz_q:
        quantum = hz_q
    else:
        return
    kernel, writes = results["kernel"], results["memhpd_writes"]
    # What onlining the 8 blocks costs more from userspace than inside the add (run-wide
    # medians: one hot-add's online work swings with the host's load by more than this).
    extra = (GiB // BLOCK) * (statistics.median(r["online_block_ms"] for r in writes) -
                              statistics.median(r["online_block_ms"] for r in kernel))
    print("BENCH trace_written_extra_online %.1f ms" % extra)
    floors, full, measured = [], [], []
    for k, w in zip(kernel, writes):
        if "device_add_to_lock_free_ms" not in k:
            continue
        base = k["device_add_to_lock_free_ms"] + extra
        floors.append((base + quantum / 2) / k["total_ms"])
        full.append((base + quantum) / k["total_ms"])
        measured.append(w["total_ms"] / k["total_ms"])
    if not floors:
        return
    for key, xs in (("trace_floor_userspace_written_kernel", floors),
                    ("trace_floor_userspace_written_kernel_full_quantum", full),
                    ("trace_measured_memhpd_writes_kernel", measured)):
        print("BENCH %s %.2f ratio" % (key, statistics.median(xs)))
        print("BENCH %s_p10 %.2f ratio" % (key, percentile(xs, 10)))
        print("BENCH %s_p90 %.2f ratio" % (key, percentile(xs, 90)))
    print("BENCH trace_reps_with_release %d count" % len(floors))
