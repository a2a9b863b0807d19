#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd's VM tier: real memory hotplug on Debian 12's kernel in QEMU.

  vmtest.py test  --memhpd PATH [--only c,a,...]   the scenarios; exit 1 on any FAIL
  vmtest.py bench --memhpd PATH [--reps N]         device_add -> online latency
  vmtest.py trace --memhpd PATH [--reps N]         where that latency goes (guest tracefs)
  vmtest.py demo  --memhpd PATH [--conf FILE]      the README demo
  vmtest.py shell [--memhpd PATH]                  boot and drive the VM by hand

Common options: --workdir DIR (logs, initramfs; default ./vm-work),
--cache DIR (kernel + busybox; default $MEMHPD_VM_CACHE, /var/cache/memhpd-vm,
or WORKDIR/cache). Every check reads the guest kernel's own view (state,
valid_zones, /proc/zoneinfo), never what memhpd says it did.
"""

import argparse
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True      # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vmlib  # noqa: E402
from vmsources import SourceScenarios  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import memhp_api  # noqa: E402
from vmlib import BLOCK, MiB, GiB, PAGES_PER_BLOCK as PPB, VMError, log  # noqa: E402

# The config the scenarios start from; each scenario states what it changes.
# Nodes 1 and 2 (the NVDIMM's) have no section: [Policy] Default= decides for them. SPARE: the
# node with neither CPU nor memory that pc-dimms are added to (vmlib.VM.spare_node with the
# NVDIMM, which the test VM always has).
DEFAULT = "online_movable"
SPARE = 3
POLICIES = {0: "online_kernel", SPARE: "auto-movable"}
RATIO = 301
ERRNO_ENOMEM = re.compile(r"ENOMEM|Cannot allocate memory|errno[ =:]*12\b|-12\b|error[ =:]*12\b")
NODE0 = re.compile(r"node[ =:]*0\b")
RELOAD_LOG = re.compile(r"reload", re.I)
ZONE_OF = {"online_movable": "Movable", "online_kernel": "Normal"}
KERNEL_TROUBLE = re.compile(r"BUG:|WARNING:|Call Trace|Oops|Kernel panic")
INJECT = "/sys/kernel/debug/notifier-error-inject/memory/actions/%s/error"
# memhpd(8): a failed online is retried up to 3 times, after 1, 2 and 4 seconds.
RETRY_DELAYS = (1, 2, 4)
# memhpctl's exit codes (man memhpctl): failed and rolled back; failed with blocks left changed.
EXIT_ROLLED_BACK, EXIT_LEFT_CHANGED = 2, 3
API = memhp_api.load()
BUS_CALL = ("dbus-send --system --print-reply --reply-timeout=60000 --dest=%s %s %s." % (
    API["MEMHP_BUS_NAME"], API["MEMHP_BUS_PATH"], API["MEMHP_BUS_INTERFACE"]))
E_FAILED = API["MEMHP_ERROR_OPERATION_FAILED"]
E_INCOMPLETE = API["MEMHP_ERROR_ROLLBACK_INCOMPLETE"]


def say(out):
    """Show the last line of a command's output (the error memhpd sent) in the test log."""
    if out.strip():
        print("#    %s" % out.strip().splitlines()[-1], flush=True)


# Boot memory: 1 GiB in 128 MiB blocks (scenario 0 checks the block size).
BOOT_BLOCKS = ["memory%d" % i for i in range(8)]


def block_names(blocks):
    """A log line naming one of these blocks: "memory48", "block 48", "block=48"."""
    return re.compile(r"\b(?:memory|block[ =:#]*)(%s)\b" % "|".join(b[6:] for b in blocks))


def _in_range(block, spec):
    """memory48 in memhpctl list's "48" or "48-51"."""
    first, _, last = spec.partition("-")
    if not first.isdigit() or not (last or first).isdigit():
        return False
    return int(first) <= int(block[6:]) <= int(last or first)


def memhpd_config(policies, default=DEFAULT, ratio=RATIO, coldplug="yes", source="auto"):
    text = ("[Daemon]\nEventSource=%s\nColdplug=%s\nLogLevel=debug\n\n"
            "[Policy]\nDefault=%s\nMovableRatio=%d\n" % (source, coldplug, default, ratio))
    for node, policy in sorted(policies.items()):
        text += "\n[Node %d]\nPolicy=%s\n" % (node, policy)
    return text


# auto_online_blocks and the hand-off record while handed off: the value found, then memhpd's.
HANDED_OFF_STATE = ("online_movable", "offline online_movable")


class Tier(SourceScenarios, vmlib.Checks):
    def __init__(self, vm, dbus=False):
        super().__init__()
        self.vm = vm
        self.dbus = dbus        # the guest has a system bus, memhpctl, dbus-send
        self.policies = dict(POLICIES)
        self.a1 = None          # scenario a's node-1 blocks, removed again by g
        self.running = False    # memhpd was started and not stopped since: it must be alive

    def memhpd_log(self, since=0):
        out, _ = self.vm.sh("tail -c +%d /tmp/memhpd.log 2>/dev/null" % (since + 1))
        return out

    def log_size(self):
        out, _ = self.vm.sh("wc -c < /tmp/memhpd.log 2>/dev/null || echo 0")
        return int(out.strip() or 0)

    # -- kernel truth ------------------------------------------------------------------------
    def expect_blocks(self, what, blocks, state, node, zone=None):
        """Every block is in `state`, linked to `node`, and (online) valid_zones == zone."""
        seen = self.vm.blocks(blocks)
        bad = []
        for b in blocks:
            st, nd, zones = seen.get(b, ("gone", "-", []))
            if st != state or nd != str(node) or (zone and zones != [zone]):
                bad.append("%s:%s,node%s,%s" % (b, st, nd, "/".join(zones)))
        desc = "%s: %d blocks %s on node%s" % (what, len(blocks), state, node)
        if zone:
            desc += " in zone %s" % zone
        return self.check(desc, blocks and not bad, " ".join(bad) or "no blocks")

    def expect_zone_delta(self, before, after, want):
        """/proc/zoneinfo present pages moved by exactly `want` {(node, zone): blocks}."""
        bad = []
        for key in sorted(set(before) | set(after) | set(want)):
            got = after.get(key, 0) - before.get(key, 0)
            if got != want.get(key, 0) * PPB:
                bad.append("node%d %s %+d blocks (want %+d)" % (key[0], key[1], got // PPB,
                                                               want.get(key, 0)))
        self.check("zoneinfo present pages: %s" % (
            ", ".join("node%d %s %+d blocks" % (k[0], k[1], v) for k, v in sorted(want.items()))
            or "unchanged"), not bad, "; ".join(bad))

    def wait_online(self, blocks, timeout=10):
        out, rc = self.vm.sh("hpmon state online %d %s" % (timeout * 1000, " ".join(blocks)),
                             timeout=timeout + 10)
        return rc == 0

    def hotadd(self, dimm, node, size):
        _, events = self.vm.add_dimm(dimm, node, size)
        blocks = [b for _, b in events]
        self.check("device_add %s (%d MiB, node %d) -> %d add uevents" % (
            dimm, size // MiB, node, size // BLOCK), len(blocks) == size // BLOCK, str(blocks))
        return blocks

    # -- memhpd ------------------------------------------------------------------------------
    def write_config(self, coldplug="yes", source="auto", default=DEFAULT, policies=None):
        self.vm.put("/etc/memhpd.conf", memhpd_config(
            self.policies if policies is None else policies, default=default,
            coldplug=coldplug, source=source))

    def configure(self, default=DEFAULT, extra="", policies=None):
        """Replace the config by the scenarios' node policies (or `policies`), Default=`default`
        and `extra` sections, and SIGHUP; configure() again goes back to the start config.
        Returns what memhpd logged about the reload."""
        self.vm.put("/etc/memhpd.conf", memhpd_config(
            self.policies if policies is None else policies, default=default) + extra)
        return self.sighup()

    def start_memhpd(self, coldplug="yes", source="auto", default=DEFAULT, policies=None):
        """gt start: returns its output (memhpd's pid) once memhpd listens for uevents."""
        self.write_config(coldplug, source, default, policies)
        out, rc = self.vm.sh("gt start memhpd /usr/sbin/memhpd --config /etc/memhpd.conf"
                             " --log-level debug", timeout=30)
        self.running = rc == 0
        self.check("memhpd started and listens for uevents", rc == 0,
                   out.strip() + " " + self.memhpd_log()[-500:])
        return out if rc == 0 else None

    def stop_memhpd(self, what):
        """SIGTERM; memhpd's own exit status must be 0. gt stop exits 0 whenever memhpd ended,
        whatever its status, and prints that status (from the shell that waited for it)."""
        out, rc = self.vm.sh("gt stop memhpd", timeout=20)
        self.running = False
        status = out.strip().splitlines()[-1] if out.strip() else ""
        return self.check("%s: SIGTERM, memhpd exits with status 0" % what,
                          rc == 0 and status == "0",
                          "gt stop exit %d, memhpd's status %r" % (rc, status))

    def check_survived(self, previous):
        """A memhpd that died during an earlier scenario is a failure of that run, even though
        the harness starts a new one so that the remaining scenarios still run."""
        if not self.running or self.alive():
            return
        self.running = False
        status, _ = self.vm.sh("cat /tmp/memhpd.rc 2>/dev/null")
        self.check("memhpd survived %s" % previous, False, "it exited with status %s: %s" % (
            status.strip() or "?", self.memhpd_log()[-600:].replace("\n", " | ")))

    def reload(self, policies=None, dropin=None):
        """Rewrite the config (or a drop-in, "" removes it) and SIGHUP."""
        if policies:
            self.policies.update(policies)
            self.write_config()
        if dropin is not None:
            path, text = dropin
            if text:
                self.vm.put(path, text)
            else:
                self.vm.must("rm -f %s" % path)
        return self.sighup()

    def sighup(self):
        """SIGHUP, then wait (3 s at most) for memhpd to log about the reload; returns what
        it logged meanwhile."""
        start = self.log_size()
        self.vm.must("gt signal memhpd HUP")
        deadline = time.monotonic() + 3
        while True:
            text = self.memhpd_log(start)
            if RELOAD_LOG.search(text):
                return text
            if time.monotonic() > deadline:
                # Not a failure by itself: the hot-add that follows is what proves
                # the new policy. But say so, because it makes that check racy.
                log("memhpd logged no 'reload' within 3 s of SIGHUP")
                return text
            time.sleep(0.05)

    def alive(self):
        return self.vm.sh("gt alive memhpd")[1] == 0

    # -- D-Bus and the kernel's own record -----------------------------------------------------
    def memhpctl(self, args, timeout=60):
        """memhpctl in the guest: (its stdout + stderr, exit status)."""
        out, rc = self.vm.sh("memhpctl %s 2>&1" % args, timeout=timeout)
        return out.strip(), rc

    def bus_call(self, method, signature_args, timeout=60):
        """A raw org.memhpd1 call with dbus-send, which prints the D-Bus error name."""
        out, rc = self.vm.sh(BUS_CALL + method + " " + signature_args + " 2>&1",
                             timeout=timeout)
        return out.strip(), rc

    def uevent_mark(self):
        return int(self.vm.must("wc -l < /tmp/uevents.log").strip())

    def uevents_since(self, mark, times=False):
        """[(action, block)] of the memory uevents the guest logged after `mark`; times: [(guest
        CLOCK_BOOTTIME, action, block)]."""
        out = self.vm.must("tail -n +%d /tmp/uevents.log" % (mark + 1))
        found = re.finditer(r"^(\S+) seq=\S+ (\w+) /devices/system/memory/(memory\d+) ", out,
                            re.M)
        if times:
            return [(float(m.group(1)), m.group(2), m.group(3)) for m in found]
        return [(m.group(2), m.group(3)) for m in found]

    def history(self, events, block):
        """"offline,online" for one block, in the order the kernel announced it."""
        return ",".join(a for a, b in events if b == block and a in ("online", "offline"))

    def inject(self, errno, action="MEM_GOING_ONLINE"):
        """memory-notifier-error-inject: -errno makes the kernel refuse every online
        (MEM_GOING_ONLINE) or offline (MEM_GOING_OFFLINE), 0 stops that."""
        self.vm.must("gt modprobe memory_notifier_error_inject && "
                     "(grep -q debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug) "
                     "&& echo %d > %s" % (errno, INJECT % action))

    def gated(self, block, action, ctl_args):
        """`memhpctl ctl_args` while stepgate watches memhpd's writer: when the writer opens
        `block`'s state file, every earlier step of the operation has returned and nothing of
        this one has reached the kernel; stepgate then turns `action`'s injection on (-ENOMEM).
        Returns (memhpctl's output, its exit status, stepgate's output)."""
        self.inject(0, action)      # loads the module, starts from "no refusal"
        pid = self.vm.must("cat /tmp/memhpd.pid").strip()
        out, _ = self.vm.sh(
            "stepgate %s %s %s -12 30000 >/tmp/gate.out 2>&1 & g=$!; "
            "until grep -q '@@GATE armed' /tmp/gate.out || ! kill -0 $g 2>/dev/null; do "
            "usleep 10000; done; memhpctl %s 2>&1; echo \"@@CTL $?\"; wait $g; "
            "cat /tmp/gate.out" % (pid, block, INJECT % action, ctl_args), timeout=60)
        ctl, _, gate = out.partition("@@CTL ")
        rc, _, gate = gate.partition("\n")
        self.check("stepgate fired when memhpd reached %s" % block,
                   "@@GATE fired %s" % block in gate, gate.strip()[-300:])
        return ctl.strip(), int(rc) if rc.isdigit() else -1, gate

    def dimm_range(self, dimm):
        """A DIMM's "0xSTART-0xEND" (inclusive) from QMP query-memory-devices."""
        for dev in self.vm.qmp.cmd("query-memory-devices"):
            data = dev.get("data", {})
            if data.get("id") == dimm:
                return "0x%x-0x%x" % (data["addr"], data["addr"] + data["size"] - 1)
        raise VMError("QMP does not know the DIMM %s" % dimm)

    def hotadd_online(self, dimm, node, size):
        """A DIMM memhpd onlines by node 1's policy (online_movable)."""
        blocks = self.hotadd(dimm, node, size)
        self.wait_online(blocks)
        self.expect_blocks("%s onlined by memhpd" % dimm, blocks, "online", node, "Movable")
        return sorted(blocks, key=lambda b: int(b[6:]))

    def unchanged(self, what, before, skip=()):
        """Every block but `skip` has the state and zones it had in `before`."""
        now = self.vm.blocks()
        diff = ["%s:%s->%s" % (b, before[b], now.get(b)) for b in before
                if b not in skip and now.get(b) != before[b]]
        self.check("%s: every other block unchanged" % what, not diff, " ".join(diff[:6]))

    def refused_boot_block(self):
        """memory0: boot memory spanning DMA and DMA32 (valid_zones "none") and holding the
        kernel image; the kernel refuses to offline it (EINVAL), at once, every time."""
        st = self.vm.blocks(["memory0"])["memory0"]
        self.check("memory0 is online with valid_zones none (the kernel refuses its offline)",
                   st[0] == "online" and st[2] == ["none"], str(st))
        return "memory0"

    # -- scenarios ---------------------------------------------------------------------------
    def s_boot(self):
        """0. the guest is what the scenarios assume: 4 NUMA nodes, 128 MiB blocks, no
        kernel auto-online."""
        out = self.vm.must("cd /sys/devices/system; cat node/possible node/online "
                           "memory/block_size_bytes memory/auto_online_blocks").split()
        self.check("nodes 0-%d possible, 0-1 online" % SPARE,
                   out[:2] == ["0-%d" % SPARE, "0-1"], str(out))
        self.check("memory block size 128 MiB", int(out[2], 16) == BLOCK, out[2])
        self.check("kernel auto-online off (auto_online_blocks=offline)", out[3] == "offline",
                   out[3])

    def s_coldplug(self):
        """c. memory hot-added before memhpd starts is onlined at start (Coldplug=yes), and
        left alone with Coldplug=no."""
        before = self.vm.zones()
        blocks = self.hotadd("c1", 1, 512 * MiB)
        self.expect_blocks("before memhpd", blocks, "offline", 1)
        if self.start_memhpd(coldplug="no") is not None:
            # Once its CPU time stops moving, its startup is over.
            self.vm.must("gt idle memhpd")
            self.expect_blocks("Coldplug=no", blocks, "offline", 1)
            self.stop_memhpd("Coldplug=no")
        if self.start_memhpd() is None:
            raise VMError("memhpd did not start: %s" % self.memhpd_log()[-2000:])
        self.wait_online(blocks)
        self.expect_blocks("coldplug, node 1 online_movable", blocks, "online", 1, "Movable")
        self.expect_zone_delta(before, self.vm.zones(), {(1, "Movable"): len(blocks)})

    def s_policies(self):
        """a. two nodes, two policies: node 0 online_kernel ([Node 0]), node 1 online_movable
        ([Policy] Default=)."""
        before = self.vm.zones()
        b0 = self.hotadd("a0", 0, 512 * MiB)
        b1 = self.hotadd("a1", 1, 512 * MiB)
        self.wait_online(b0 + b1)
        self.expect_blocks("node 0 online_kernel", b0, "online", 0, "Normal")
        self.expect_blocks("node 1 Default=online_movable", b1, "online", 1, "Movable")
        self.expect_zone_delta(before, self.vm.zones(),
                               {(0, "Normal"): len(b0), (1, "Movable"): len(b1)})
        self.a1 = b1
        self.check("EventSource=auto without udevd: memhpd read the kernel's uevents",
                   self.uevent_groups() == ["00000001"], str(self.uevent_groups()))

    def uevent_groups(self):
        """The netlink groups of memhpd's uevent sockets, as the guest kernel lists them."""
        out, _ = self.vm.sh(
            "pid=$(cat /tmp/memhpd.pid); for f in /proc/$pid/fd/*; do readlink $f; done |"
            " sed -n 's/^socket:\\[\\([0-9]*\\)\\]$/\\1/p' | while read -r i; do"
            " awk -v i=$i '$2 == 15 && $10 == i { print $4 }' /proc/net/netlink; done")
        return out.split()

    def s_udev(self):
        """v. EventSource=udev: Debian's systemd-udevd (no rules) re-broadcasts the kernel's
        uevents and memhpd reads them through libudev; a DIMM on node 1 goes online Movable.
        Then udevd stops and memhpd is back on EventSource=auto, which is kernel again."""
        self.stop_memhpd("the running memhpd")
        out, rc = self.vm.sh("gt start udevd /lib/systemd/systemd-udevd --resolve-names=never",
                             timeout=30)
        ok = rc == 0 and self.vm.sh("i=0; until [ -S /run/udev/control ]; do i=$((i + 1));"
                                    " [ $i -gt 1000 ] && exit 1; usleep 10000; done",
                                    timeout=20)[1] == 0
        self.check("systemd-udevd runs (/run/udev/control)", ok,
                   out.strip() + " " + self.vm.sh("tail -n 5 /tmp/udevd.log")[0])
        if not ok:
            return
        start = self.log_size()
        if self.start_memhpd(source="udev") is None:
            return
        self.check("memhpd listens for udev uevents",
                   "Listening for udev uevents" in self.memhpd_log(start),
                   self.memhpd_log(start)[-300:])
        # Only udevd sends on group 2: a block onlined now was announced by udevd.
        self.check("memhpd's only uevent socket is on the udev group (2)",
                   self.uevent_groups() == ["00000002"], str(self.uevent_groups()))
        blocks = self.hotadd("v1", 1, 512 * MiB)
        self.wait_online(blocks)
        self.expect_blocks("EventSource=udev: node 1 Default=online_movable", blocks,
                           "online", 1, "Movable")
        self.check("device_del v1", self.vm.del_dimm("v1"))
        self.stop_memhpd("memhpd (udev)")
        out, rc = self.vm.sh("gt stop udevd; rm -f /run/udev/control")
        self.check("systemd-udevd stops with exit status 0", rc == 0 and out.strip() == "0",
                   out.strip() + " " + self.vm.sh("tail -n 5 /tmp/udevd.log")[0])
        if self.start_memhpd() is not None:
            self.check("without udevd, EventSource=auto is kernel again",
                       self.uevent_groups() == ["00000001"], str(self.uevent_groups()))

    def s_auto_movable(self):
        """h. auto-movable on the CPU-less node 3: kernel first, then movable within the
        ratio."""
        # Greedy per block: movable if (movable + 1) <= ratio% of kernel, else
        # kernel. 8 blocks: K M M M K M M M; 4 more: K M M M (9 <= 3.01 * 3).
        # The order of decisions cannot change these totals.
        for dimm, size, kern, mov in (("h1", GiB, 2, 6), ("h2", 512 * MiB, 3, 9)):
            blocks = self.hotadd(dimm, SPARE, size)
            self.wait_online(blocks)
            seen = self.vm.blocks(blocks)
            self.check("%s: all %d blocks online on node%d" % (dimm, len(blocks), SPARE),
                       all(seen.get(b, ("",))[0] == "online" and seen[b][1] == str(SPARE)
                           for b in blocks), str(seen))
            z = self.vm.zones()
            k = sum(z.get((SPARE, name), 0) for name in ("DMA", "DMA32", "Normal"))
            m = z.get((SPARE, "Movable"), 0)
            self.check("after %s node%d has %d kernel + %d movable blocks (ratio %d%%)" % (
                dimm, SPARE, kern, mov, RATIO), (k, m) == (kern * PPB, mov * PPB),
                "kernel %d movable %d blocks" % (k / PPB, m / PPB))
            self.check("after %s node%d movable <= %d%% of kernel" % (dimm, SPARE, RATIO),
                       m * 100 <= k * RATIO, "kernel %d movable %d pages" % (k, m))

    def s_remove(self):
        """g. a DIMM memhpd onlined movable can be removed with device_del."""
        blocks = self.a1
        if not blocks:
            blocks = self.hotadd("a1", 1, 512 * MiB)
            self.wait_online(blocks)
        before = self.vm.zones()
        t0 = time.monotonic()
        gone = self.vm.del_dimm("a1")
        self.check("device_del a1 -> DEVICE_DELETED (%.2fs)" % (time.monotonic() - t0), gone)
        seen = self.vm.blocks(blocks)
        self.check("its %d blocks are gone from sysfs" % len(blocks),
                   all(seen[b][0] == "gone" for b in blocks), str(seen))
        self.expect_zone_delta(before, self.vm.zones(), {(1, "Movable"): -len(blocks)})
        self.check("memhpd still running", self.alive())

    def s_virtio_mem(self):
        """b. virtio-mem grows 2 GiB (past the driver's 1 GiB offline_threshold, so it only
        completes if memhpd keeps onlining) and shrinks back to 0."""
        boot = set(self.vm.blocks())
        before = self.vm.zones()
        self.vm.vmem_request(2 * GiB)
        new = self._wait_vmem(2 * GiB, lambda s: len(s) == 16 and all(
            v[0] == "online" for v in s.values()), boot)
        self.check("virtio-mem plugged 2 GiB", self.vm.vmem_size() == 2 * GiB,
                   "size %d MiB" % (self.vm.vmem_size() // MiB))
        self.expect_blocks("virtio-mem grow", sorted(new), "online", 1, "Movable")
        self.check("16 new blocks", len(new) == 16, str(sorted(new)))
        self.expect_zone_delta(before, self.vm.zones(), {(1, "Movable"): 16})
        self.vm.vmem_request(0)
        new = self._wait_vmem(0, lambda s: not s, boot)
        self.check("virtio-mem shrank to 0", self.vm.vmem_size() == 0,
                   "size %d MiB" % (self.vm.vmem_size() // MiB))
        self.check("its blocks are gone from sysfs", not new, str(new))
        self.expect_zone_delta(before, self.vm.zones(), {})

    def _wait_vmem(self, size, done, boot, timeout=30):
        """Poll until the device reports `size` plugged and done(new blocks) holds; returns
        the blocks that did not exist at `boot`."""
        deadline = time.monotonic() + timeout
        while True:
            new = {b: v for b, v in self.vm.blocks().items() if b not in boot}
            if (self.vm.vmem_size() == size and done(new)) or time.monotonic() > deadline:
                return new
            time.sleep(0.2)

    def s_reload(self):
        """d. SIGHUP reload: node 0 goes online_kernel -> online_movable; then an invalid
        config on SIGHUP keeps the running one."""
        before = self.vm.zones()
        self.reload({0: "online_movable"})
        blocks = self.hotadd("d1", 0, 512 * MiB)
        self.wait_online(blocks)
        self.expect_blocks("after reload, node 0 online_movable", blocks, "online", 0, "Movable")
        self.expect_zone_delta(before, self.vm.zones(), {(0, "Movable"): len(blocks)})

        # The invalid file also moves node 0 to online_kernel: had memhpd taken any of it, the
        # next DIMM on node 0 would go Normal.
        good = memhpd_config(self.policies)
        invalid = dict(self.policies)
        invalid.update({0: "online_kernel", SPARE: "online_sideways"})
        self.vm.put("/etc/memhpd.conf", memhpd_config(invalid))
        out, rc = self.vm.sh("memhpd --check-config --config /etc/memhpd.conf 2>&1")
        self.check("the invalid config: memhpd --check-config exits non-zero naming "
                   "online_sideways", rc != 0 and "online_sideways" in out,
                   "exit %d: %s" % (rc, out.strip()[-300:]))
        said = self.sighup()
        self.check("invalid config on SIGHUP: memhpd keeps running and says so",
                   self.alive() and "keeping the running configuration" in said, said[-500:])
        blocks = self.hotadd("d2", 0, 512 * MiB)
        self.wait_online(blocks)
        self.expect_blocks("invalid config: node 0 keeps online_movable, not the file's "
                           "online_kernel", blocks, "online", 0, "Movable")
        self.vm.put("/etc/memhpd.conf", good)

    def s_ignore(self):
        """e. a drop-in in memhpd.conf.d sets node 1 to `ignore` (SIGHUP): its blocks stay
        offline."""
        dropin = "/etc/memhpd.conf.d/50-ignore.conf"
        before = self.vm.zones()
        self.reload(dropin=(dropin, "[Node 1]\nPolicy=ignore\n"))
        ignored = self.hotadd("e1", 1, 512 * MiB)
        # Proving a negative: a DIMM on another node, added after, must come
        # online, and then memhpd gets longer than its ~1 s node-link wait.
        sentinel = self.hotadd("e2", 0, 512 * MiB)
        self.wait_online(sentinel)
        time.sleep(1.5)
        self.expect_blocks("sentinel DIMM on node 0", sentinel, "online", 0, "Movable")
        self.expect_blocks("node 1 ignore (drop-in)", ignored, "offline", 1)
        self.expect_zone_delta(before, self.vm.zones(), {(0, "Movable"): len(sentinel)})
        for dimm in ("e1", "e2"):
            self.check("device_del %s -> DEVICE_DELETED" % dimm, self.vm.del_dimm(dimm))
        self.reload(dropin=(dropin, ""))

    def s_kernel_online(self):
        """i. kernel auto-online (auto_online_blocks=online_movable) races memhpd: the kernel
        wins, memhpd must take the online block as done, not as a failure."""
        auto = "/sys/devices/system/memory/auto_online_blocks"
        start = self.log_size()
        mark = self.uevent_mark()
        self.vm.must("echo online_movable > %s" % auto)
        try:
            blocks = self.hotadd("i1", 1, 512 * MiB)
            self.wait_online(blocks)
        finally:
            self.vm.must("echo offline > %s" % auto)
        # memhpd has handled the adds once its CPU time stops moving.
        self.vm.must("gt idle memhpd")
        self.expect_blocks("onlined by the kernel", blocks, "online", 1, "Movable")
        self.check("memhpd still running", self.alive())
        events = self.uevents_since(mark)
        self.check("kernel uevents: each block online once, never offline (memhpd did not undo "
                   "or redo the kernel's online)",
                   all(self.history(events, b) == "online" for b in blocks),
                   " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))
        if self.dbus:
            out, rc = self.memhpctl("list --json")
            try:
                rows = {r["block"]: (r["state"], r["zone"]) for r in json.loads(out)["memory"]}
            except (ValueError, KeyError) as e:
                rows = {"error": "rc %d, %s: %s" % (rc, e, out[-300:])}
            listed = {b: next((v for k, v in rows.items() if _in_range(b, k)), None)
                      for b in blocks}
            self.check("memhpctl list: memhpd sees them online in zone Movable, as the kernel",
                       all(v == ("online", "Movable") for v in listed.values()), str(listed))
        names = block_names(blocks)
        failed = [ln for ln in self.memhpd_log(start).splitlines()
                  if names.search(ln) and re.search(r"fail|error", ln, re.I)]
        self.check("memhpd logs no failure for blocks the kernel onlined", not failed,
                   " | ".join(failed[:3]))
        self.check("device_del i1 -> DEVICE_DELETED", self.vm.del_dimm("i1"))

    def s_storm(self):
        """s. a burst: four 1 GiB DIMMs on nodes 0 and 1 hot-added back to back, 32 blocks
        announced at once, while memhpd is told to reload 10 times; none may be lost."""
        dimms = [("s%d" % i, i % 2) for i in range(4)]
        before = self.vm.zones()

        def trigger():
            for dimm, node in dimms:
                self.vm.dimm_backend(dimm, GiB)
                self.vm.plug_dimm(dimm, node)
        n = 4 * GiB // BLOCK
        # The reloads (same config) start with the listener and overlap the adds.
        hups = "(for i in 1 2 3 4 5 6 7 8 9 10; do gt signal memhpd HUP; usleep 50000; done &)"
        out, rc = self.vm.sh("%s; hpmon wait --go add %d 30000" % (hups, n), timeout=40,
                             on_go=trigger)
        _, events = vmlib.parse_wait(out, rc, "burst of %d adds" % n)
        blocks = sorted({b for _, action, b in events if action == "add"})
        self.check("4 device_adds -> %d add uevents" % n, len(blocks) == n, str(blocks))
        self.wait_online(blocks, timeout=20)
        seen = self.vm.blocks(blocks)
        want = {0: ZONE_OF[self.policies[0]], 1: ZONE_OF[self.policies.get(1, DEFAULT)]}
        bad = [b for b, (st, nd, z) in seen.items()
               if st != "online" or nd not in "01" or z != [want[int(nd)]]]
        self.check("all %d blocks online in their node's zone" % n, not bad,
                   " ".join("%s:%s" % (b, seen[b]) for b in bad[:8]))
        self.expect_zone_delta(before, self.vm.zones(), {
            (0, want[0]): n // 2, (1, want[1]): n // 2})
        # Kernel-zone memory cannot be offlined: only the Movable DIMMs go again.
        movable = [dimm for dimm, node in dimms if want[node] == "Movable"]
        gone = {dimm: self.vm.del_dimm(dimm) for dimm in movable}
        self.check("the %d movable DIMMs removed again" % len(movable), all(gone.values()),
                   str(gone))

    def s_refusal(self):
        """f. the kernel refuses to online (memory notifier injects -ENOMEM); memhpd retries,
        and once the refusal is lifted a retry onlines the refused blocks."""
        self.inject(-12)
        start = self.log_size()
        mark = self.uevent_mark()
        t_add, events = self.vm.add_dimm("f1", 0, 512 * MiB)
        refused = [b for _, b in events]
        self.check("device_add f1 (512 MiB, node 0) -> 4 add uevents", len(refused) == 4,
                   str(refused))
        names = block_names(refused)
        deadline = time.monotonic() + 10
        while True:
            lines = [ln for ln in self.memhpd_log(start).splitlines()
                     if names.search(ln) and NODE0.search(ln) and ERRNO_ENOMEM.search(ln)]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.check("memhpd logged the refusal with block, node and errno",
                   bool(lines), self.memhpd_log(start)[-800:].replace("\n", " | "))
        if lines:
            print("#    %s" % lines[0].strip())
        self.expect_blocks("refused by the kernel", refused, "offline", 0)
        self.check("memhpd still running after the refusal", self.alive())
        # The guest's clock just before and just after the lift.
        t_lift = float(self.vm.must("hpmon now").strip())
        self.inject(0)
        t_lifted = float(self.vm.must("hpmon now").strip())
        blocks = self.hotadd("f2", 0, 512 * MiB)
        self.wait_online(blocks)
        self.expect_blocks("after clearing the injection", blocks, "online", 0,
                           ZONE_OF[self.policies[0]])
        # memhpd retries a refused online after 1, 2 and 4 s. Wait for its last word on each
        # refused block (online, or left offline) so that no retry lands in a later scenario.
        deadline = time.monotonic() + 15
        while True:
            text = self.memhpd_log(start)
            pending = [b for b in refused if not re.search(
                r"\b%s \(node \d+\): online|Leaving %s offline" % (b, b), text)]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.check("memhpd's retries of the refused blocks are over", not pending,
                   "still pending: %s" % pending)
        # The kernel's record of the retries. A block's first online failed no earlier than its
        # add uevent and its last retry comes RETRY_DELAYS later: a refusal lifted sooner than
        # that must end with the block online, by exactly one online (a retry after the lift).
        zone = ZONE_OF[self.policies[0]]
        seen = self.vm.blocks(refused)
        online = self.uevents_since(mark, times=True)
        lifted = t_lifted - t_add
        if lifted < sum(RETRY_DELAYS):
            self.expect_blocks("refusal lifted %.1f s after the add (retries until %d s): a "
                               "retry onlined them" % (lifted, sum(RETRY_DELAYS)),
                               refused, "online", 0, zone)
        else:
            log("refusal lifted %.1f s after the add, after the last retry: checking only that "
                "the kernel agrees with memhpd" % lifted)
        bad = []
        for b in refused:
            ons = [t for t, a, blk in online if blk == b and a == "online"]
            said_online = re.search(r"\b%s \(node \d+\): online" % b, self.memhpd_log(start))
            if seen[b][0] == "online":
                if len(ons) != 1 or ons[0] < t_lift or seen[b][2] != [zone]:
                    bad.append("%s online in %s, online uevents at %s (lift at %.2f)" % (
                        b, seen[b][2], ons, t_lift))
            elif ons:
                bad.append("%s %s but online uevents at %s" % (b, seen[b][0], ons))
            if bool(said_online) != (seen[b][0] == "online"):
                bad.append("%s: kernel %s, memhpd %s" % (
                    b, seen[b][0], "said online" if said_online else "left it offline"))
        self.check("kernel: each refused block as memhpd last said (%d online), an online one "
                   "by one online uevent after the lift, in zone %s" % (
                       sum(v[0] == "online" for v in seen.values()), zone), not bad, "; ".join(bad))

    def s_handoff(self):
        """t. one policy for every node (online_movable), KernelOnline=yes (the default): memhpd
        hands new memory to the kernel's auto-online while it runs and supervises it (a block the
        kernel could not online gets memhpd's write and retries); it puts the setting back on a
        reload the kernel cannot express, on KernelOnline=no, at stop, and after a crash."""
        auto = "/sys/devices/system/memory/auto_online_blocks"
        record = "/run/memhpd/kernel-online"
        dropin = "/etc/memhpd.conf.d/60-kernel-online.conf"
        saved = dict(self.policies)

        def state():
            rec, rc = self.vm.sh("cat %s" % record)
            return self.vm.must("cat %s" % auto).strip(), rec.strip() if rc == 0 else None

        self.stop_memhpd("the running memhpd")
        self.check("before: auto_online_blocks=offline, no record", state() == ("offline", None),
                   str(state()))
        self.policies = {}
        try:
            self._handoff(auto, state, dropin)
        finally:
            self.vm.must("rm -f %s; echo offline > %s" % (dropin, auto))
            if self.running:
                self.stop_memhpd("memhpd (hand-off)")
            self.policies = saved
            self.start_memhpd()

    def wait_log(self, start, text, timeout=5):
        """Until memhpd's log since `start` holds `text` (its start-up goes on after gt start
        returned); returns that log."""
        deadline = time.monotonic() + timeout
        while text not in self.memhpd_log(start) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.memhpd_log(start)

    def _handoff(self, auto, state, dropin):
        start = self.log_size()
        if self.start_memhpd() is None:
            return
        self.wait_log(start, "the kernel onlines new memory itself")
        self.check("memhpd running: auto_online_blocks=online_movable, the old value recorded",
                   state() == HANDED_OFF_STATE,
                   "%s; %s" % (state(), self.memhpd_log(start)[-300:]))
        mark = self.uevent_mark()
        blocks = self.hotadd("t1", 1, 512 * MiB)
        self.wait_online(blocks)
        self.vm.must("gt idle memhpd")
        self.expect_blocks("handed off: the kernel onlined", blocks, "online", 1, "Movable")
        events = self.uevents_since(mark)
        self.check("kernel uevents: each block online once, never offline",
                   all(self.history(events, b) == "online" for b in blocks),
                   " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))
        names = block_names(blocks)
        failed = [ln for ln in self.memhpd_log(start).splitlines()
                  if names.search(ln) and re.search(r"fail|error", ln, re.I)]
        self.check("memhpd logs no failure for them", not failed, " | ".join(failed[:3]))
        # Supervision: the kernel's own online fails (the notifier refuses it inside the add);
        # memhpd's write is refused too, and its retry onlines the block once the refusal ends.
        start = self.log_size()
        self.inject(-12)
        try:
            refused = self.hotadd("t2", 0, 512 * MiB)
            names = block_names(refused)
            deadline = time.monotonic() + 10
            while not all(re.search(r"Failed to online %s\b.*" % b, self.memhpd_log(start))
                          for b in refused) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.expect_blocks("the kernel's auto-online refused", refused, "offline", 0)
        finally:
            self.inject(0)
        self.check("memhpd wrote each refused block itself and logged the refusal",
                   all(re.search(r"Failed to online %s\b" % b, self.memhpd_log(start))
                       for b in refused), self.memhpd_log(start)[-600:].replace("\n", " | "))
        self.wait_online(refused, timeout=15)
        self.expect_blocks("refusal lifted: memhpd's retry onlined them", refused, "online", 0,
                           "Movable")
        self.check("memhpd says it onlined each", all(
            re.search(r"\b%s \(node 0\): online" % b, self.memhpd_log(start)) for b in refused),
            self.memhpd_log(start)[-600:].replace("\n", " | "))
        # Policies the kernel cannot express take the setting back; expressible ones hand off.
        self.reload({0: "online_kernel"})
        self.check("reload to per-node policies: auto_online_blocks=offline, no record",
                   state() == ("offline", None), str(state()))
        self.policies = {}
        self.write_config()
        self.reload(dropin=(dropin, "[Policy]\nKernelOnline=no\n"))
        self.check("KernelOnline=no (drop-in): still offline", state() == ("offline", None),
                   str(state()))
        self.reload(dropin=(dropin, ""))
        self.check("drop-in removed: handed off again", state() == HANDED_OFF_STATE,
                   str(state()))
        # A crash leaves the setting and its record; the next start puts it back.
        self.vm.must("gt signal memhpd KILL")
        self.vm.sh("gt stop memhpd", timeout=20)
        self.running = False
        self.check("after SIGKILL: the setting and its record are left",
                   state() == HANDED_OFF_STATE, str(state()))
        self.policies = {0: "online_kernel"}
        start = self.log_size()
        if self.start_memhpd() is None:
            return
        text = self.wait_log(start, "restored after an unclean stop")
        self.check("the next start (per-node policies) put it back: offline, no record",
                   state() == ("offline", None) and "restored after an unclean stop" in text,
                   "%s; %s" % (state(), text[-300:]))
        self.stop_memhpd("memhpd (per-node policies)")
        self.policies = {}
        start = self.log_size()
        if self.start_memhpd() is None:
            return
        self.wait_log(start, "the kernel onlines new memory itself")
        self.check("started again: handed off", state() == HANDED_OFF_STATE,
                   str(state()))
        self.stop_memhpd("memhpd (handed off)")
        self.check("SIGTERM: auto_online_blocks=offline again, no record",
                   state() == ("offline", None), str(state()))
        for dimm in ("t1", "t2"):
            self.check("device_del %s -> DEVICE_DELETED" % dimm, self.vm.del_dimm(dimm))

    def s_bus(self):
        """u. D-Bus: memhpd serves org.memhpd1 on the guest's system bus (dbus-daemon with the
        project's policy), and `memhpctl list --json` agrees with the guest kernel."""
        self.check("memhpd logged 'Serving org.memhpd1'",
                   "Serving org.memhpd1" in self.memhpd_log(), self.memhpd_log()[-300:])
        out, rc = self.memhpctl("list --json")
        try:
            rows = json.loads(out)["memory"]
        except (ValueError, KeyError) as e:
            self.check("memhpctl list --json", False, "rc %d, %s: %s" % (rc, e, out[-300:]))
            return
        listed = {}
        for row in rows:
            first, _, last = row["block"].partition("-")
            for i in range(int(first), int(last or first) + 1):
                listed["memory%d" % i] = (row["state"], str(row["node"]), row["zone"])
        bad = []
        for b, (st, nd, zones) in self.vm.blocks().items():
            want = (st, nd, (zones[0] if len(zones) == 1 else "none") if st == "online" else None)
            if listed.get(b) != want:
                bad.append("%s kernel %s memhpctl %s" % (b, want, listed.get(b)))
        self.check("memhpctl list: exit 0, %d blocks, each with the kernel's state, node and "
                   "zone" % len(listed), rc == 0 and listed and not bad, " | ".join(bad[:4]))

    def s_offline_range(self):
        """o. memhpctl offline by physical address range (from QMP query-memory-devices) of a
        DIMM memhpd onlined Movable, then device_del."""
        blocks = self.hotadd_online("o1", 1, 512 * MiB)
        target = self.dimm_range("o1")
        before = self.vm.blocks()
        out, rc = self.memhpctl("offline " + target)
        self.check("memhpctl offline %s: exit 0" % target, rc == 0, "rc %d: %s" % (rc, out))
        self.expect_blocks("after memhpctl offline", blocks, "offline", 1)
        self.unchanged("after memhpctl offline", before, blocks)
        self.check("device_del o1 -> DEVICE_DELETED", self.vm.del_dimm("o1"))
        seen = self.vm.blocks(blocks)
        self.check("its %d blocks are gone from sysfs" % len(blocks),
                   all(v[0] == "gone" for v in seen.values()), str(seen))

    def s_rollback(self):
        """r. OfflineBlocks of hot-added Movable blocks and a boot block the kernel refuses:
        highest address first, so the Movable blocks are offlined, the boot block is refused
        last, OperationFailed, the Movable blocks back online, the boot block as it was.
        memhpctl: exit 2, for that set and for a refusal at the lowest block of a DIMM."""
        refused = self.refused_boot_block()
        blocks = self.hotadd_online("r1", 1, 512 * MiB)
        before, zones = self.vm.blocks(), self.vm.zones()
        mark = self.uevent_mark()
        ids = ",".join(b[6:] for b in blocks + [refused])
        out, rc = self.bus_call("OfflineBlocks", "array:uint32:" + ids)
        self.check("OfflineBlocks([%s]) -> %s naming %s" % (
            ids, E_FAILED, refused), rc != 0 and E_FAILED in out
            and "Failed to change %s: Invalid argument" % refused in out, out)
        say(out)
        self.expect_blocks("rolled back", blocks, "online", 1, "Movable")
        self.unchanged("after the rollback", before)
        self.expect_zone_delta(zones, self.vm.zones(), {})
        events = self.uevents_since(mark)
        self.check("kernel uevents: each Movable block went offline, then online again",
                   all(self.history(events, b) == "offline,online" for b in blocks),
                   " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))

        # Through memhpctl: memhpd goes highest address first whatever order memhpctl sends,
        # so the DIMM's blocks are offlined, the boot block is refused, and they are restored.
        target = self.dimm_range("r1")
        mark = self.uevent_mark()
        out, rc = self.memhpctl("offline %s,%s" % (target, refused[6:]))
        self.check("memhpctl offline %s,%s: exit %d, the DIMM's blocks rolled back" % (
            target, refused[6:], EXIT_ROLLED_BACK), rc == EXIT_ROLLED_BACK
            and "Failed to change %s: Invalid argument" % refused in out
            and "Rolled back: %s." % ", ".join(blocks) in out, "rc %d: %s" % (rc, out))
        self.unchanged("after memhpctl", before)
        events = self.uevents_since(mark)
        self.check("kernel uevents: each Movable block went offline, then online again",
                   all(self.history(events, b) == "offline,online" for b in blocks),
                   " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))

        # A refusal after real changes, through memhpctl: the kernel refuses the DIMM's lowest
        # block, the last one offlined (MEM_GOING_OFFLINE), armed by stepgate when memhpd
        # reaches it.
        mark = self.uevent_mark()
        out, rc, _ = self.gated(blocks[0], "MEM_GOING_OFFLINE", "offline " + target)
        self.inject(0, "MEM_GOING_OFFLINE")
        self.check("memhpctl offline %s, %s refused: exit %d, the others rolled back" % (
            target, blocks[0], EXIT_ROLLED_BACK), rc == EXIT_ROLLED_BACK
            and "Failed to change %s: Cannot allocate memory" % blocks[0] in out
            and "Rolled back: %s." % ", ".join(blocks[1:]) in out,
            "rc %d: %s" % (rc, out))
        say(out)
        self.expect_blocks("rolled back", blocks, "online", 1, "Movable")
        events = self.uevents_since(mark)
        self.check("kernel uevents: the top %d went offline, then online again; %s never "
                   "offline" % (len(blocks) - 1, blocks[0]),
                   [self.history(events, b) for b in blocks]
                   == [""] + ["offline,online"] * (len(blocks) - 1),
                   " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))
        self.check("device_del r1 -> DEVICE_DELETED", self.vm.del_dimm("r1"))

    def s_online_refused(self):
        """j. OnlineBlocks while the kernel refuses onlines (MEM_GOING_ONLINE -> -ENOMEM): at
        the first block nothing changes; at the third (stepgate) the first two are onlined and
        offlined again."""
        blocks = self.hotadd_online("j1", 1, 512 * MiB)
        target = self.dimm_range("j1")
        out, rc = self.memhpctl("offline " + target)
        self.check("memhpctl offline j1: exit 0 (blocks memhpd now leaves offline)", rc == 0,
                   "rc %d: %s" % (rc, out))
        self.expect_blocks("admin offline", blocks, "offline", 1)

        self.inject(-12)
        mark = self.uevent_mark()
        out, rc = self.memhpctl("online " + target)
        self.check("refused at the first block: memhpctl online exit %d, nothing changed" % (
            EXIT_ROLLED_BACK), rc == EXIT_ROLLED_BACK and "Failed to change %s: Cannot allocate "
            "memory" % blocks[0] in out and "nothing had changed" in out, "rc %d: %s" % (rc, out))
        say(out)
        self.expect_blocks("refused", blocks, "offline", 1)
        events = self.uevents_since(mark)
        self.check("kernel uevents: no block went online",
                   not [e for e in events if e[0] == "online" and e[1] in blocks], str(events))

        # stepgate turns the injection on when memhpd's writer opens the third block's state
        # file: the first two steps are done, nothing of the third has reached the kernel.
        self.inject(0)
        gate = blocks[2]
        mark = self.uevent_mark()
        out, rc, _ = self.gated(gate, "MEM_GOING_ONLINE", "online " + target)
        self.check("refused at %s: memhpctl online exit %d, %s rolled back" % (
            gate, EXIT_ROLLED_BACK, " and ".join(blocks[:2])),
            rc == EXIT_ROLLED_BACK and "Failed to change %s: Cannot allocate memory" % gate in out
            and "Rolled back: %s, %s." % (blocks[1], blocks[0]) in out, "rc %d: %s" % (rc, out))
        say(out)
        self.expect_blocks("after the rollback", blocks, "offline", 1)
        events = self.uevents_since(mark)
        want = ["online,offline", "online,offline", "", ""]
        self.check("kernel uevents: %s online then offline again, %s and %s never online" % (
            " and ".join(blocks[:2]), blocks[2], blocks[3]),
            [self.history(events, b) for b in blocks] == want,
            " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))

        self.inject(0)
        out, rc = self.memhpctl("online " + target)
        self.check("injection cleared: memhpctl online exit 0", rc == 0, "rc %d: %s" % (rc, out))
        self.expect_blocks("online again", blocks, "online", 1, "Movable")
        self.check("device_del j1 -> DEVICE_DELETED", self.vm.del_dimm("j1"))

    def s_rollback_incomplete(self):
        """k. OfflineBlocks [Movable A, refused boot block] while the kernel refuses onlines:
        A's re-online in the rollback is refused too -> RollbackIncomplete naming A, A offline.
        memhpctl: exit 3 when the DIMM's lowest block is refused too (stepgate)."""
        refused = self.refused_boot_block()
        blocks = self.hotadd_online("k1", 1, 512 * MiB)
        zones = self.vm.zones()
        a = blocks[-1]
        self.inject(-12)
        mark = self.uevent_mark()
        out, rc = self.bus_call("OfflineBlocks", "array:uint32:%s,%s" % (a[6:], refused[6:]))
        self.check("OfflineBlocks([%s, %s]) -> %s naming %s" % (
            a[6:], refused[6:], E_INCOMPLETE, a), rc != 0 and E_INCOMPLETE in out
            and "left changed: %s (Cannot allocate memory)" % a in out, out)
        say(out)
        self.expect_blocks("%s left offline" % a, [a], "offline", 1)
        self.check("%s still online" % refused, self.vm.blocks([refused])[refused][0] == "online")
        events = self.uevents_since(mark)
        self.check("kernel uevents: %s offline, never online again" % a,
                   self.history(events, a) == "offline", self.history(events, a))

        # The whole DIMM through memhpctl, highest address first: A (the top) is offline
        # already (skipped), the middle two go offline, the lowest is refused
        # (MEM_GOING_OFFLINE, stepgate), their re-onlines too.
        target = self.dimm_range("k1")
        mid = blocks[1:-1]
        out, rc, _ = self.gated(blocks[0], "MEM_GOING_OFFLINE", "offline " + target)
        self.inject(0, "MEM_GOING_OFFLINE")
        self.check("memhpctl offline %s: exit %d naming %s" % (
            target, EXIT_LEFT_CHANGED, " and ".join(mid)), rc == EXIT_LEFT_CHANGED
            and "left changed: %s." % ", ".join(
                "%s (Cannot allocate memory)" % b for b in mid) in out,
            "rc %d: %s" % (rc, out))
        say(out)
        self.expect_blocks("left offline", [a] + mid, "offline", 1)
        self.expect_blocks("never offlined", blocks[:1], "online", 1, "Movable")
        self.expect_zone_delta(zones, self.vm.zones(), {(1, "Movable"): -1 - len(mid)})

        self.inject(0)
        out, rc = self.memhpctl("online " + target)
        self.check("injection cleared: memhpctl online %s, exit 0" % target, rc == 0,
                   "rc %d: %s" % (rc, out))
        self.expect_blocks("back online", blocks, "online", 1, "Movable")
        self.expect_zone_delta(zones, self.vm.zones(), {})
        self.check("device_del k1 -> DEVICE_DELETED", self.vm.del_dimm("k1"))

    def s_shutdown(self):
        """z. memhpd exits cleanly on SIGTERM; the guest kernel stayed healthy."""
        self.check("memhpd still running at the end", self.alive())
        self.stop_memhpd("shutdown")
        trouble = [ln for ln in open(self.vm.console, errors="replace")
                   if KERNEL_TROUBLE.search(ln)]
        self.check("guest kernel log has no BUG/WARNING/Call Trace", not trouble,
                   " | ".join(trouble[:3]))


SCENARIOS = [
    # (key, method): order matters, later ones build on the memhpd the first starts
    ("0", "s_boot"),
    ("c", "s_coldplug"),
    ("a", "s_policies"),
    ("v", "s_udev"),
    ("h", "s_auto_movable"),
    ("g", "s_remove"),
    ("b", "s_virtio_mem"),
    ("d", "s_reload"),
    ("e", "s_ignore"),
    ("i", "s_kernel_online"),
    ("s", "s_storm"),
    ("f", "s_refusal"),
    ("w", "s_handoff"),
    # D-Bus and memhpctl (need --memhpctl: the guest then has a system bus)
    ("u", "s_bus"),
    ("o", "s_offline_range"),
    ("p", "s_dimm_device"),
    ("x", "s_device_offline"),
    ("q", "s_sources_one_node"),
    ("n", "s_dax"),
    ("t", "s_auto"),
    ("r", "s_rollback"),
    ("j", "s_online_refused"),
    ("k", "s_rollback_incomplete"),
    ("z", "s_shutdown"),
]
DBUS_SCENARIOS = "uorjknxqt"


def cmd_test(args, kit, work):
    initrd = vmlib.build_initramfs(kit, work, args.memhpd, memhpctl=args.memhpctl, udevd=True,
                                   ndctl=True)
    only = set(args.only.split(",")) if args.only else None
    timings = []
    t_total = time.monotonic()
    with vmlib.VM(kit, initrd, work, nvdimm=True) as vm:
        log("guest %s booted in %.2fs" % (kit.release, vm.boot_seconds))
        timings.append(("boot", vm.boot_seconds))
        tier = Tier(vm, dbus=bool(args.memhpctl))
        previous = "the start"
        for key, method in SCENARIOS:
            if only and key not in only and key not in ("0", "z"):
                continue
            if key in DBUS_SCENARIOS and not tier.dbus:
                print("# %s skipped: no --memhpctl, so no system bus in the guest" % method[2:])
                continue
            fn = getattr(tier, method)
            tier.scenario = "%s-%s" % (key, method[2:].replace("_", "-"))
            print("# %s" % " ".join(fn.__doc__.split()), flush=True)
            tier.check_survived(previous)
            previous = "scenario " + tier.scenario
            if key not in ("0", "c", "z") and not tier.running:
                tier.start_memhpd()
            t0 = time.monotonic()
            if not tier.run_scenario(vm, fn):
                break
            timings.append((key, time.monotonic() - t0))
        try:
            for name in ("memhpd.log", "uevents.log"):
                with open(os.path.join(work, name), "w") as f:
                    f.write(vm.sh("cat /tmp/%s" % name)[0])
            if tier.failed or args.verbose:
                print("# memhpd log (tail; all of it in %s):" % os.path.join(work, "memhpd.log"))
                for line in tier.memhpd_log()[-6000:].splitlines():
                    print("#   " + line)
        except VMError as e:
            log("could not fetch the guest's logs: %s" % e)
    timings.append(("total", time.monotonic() - t_total))
    print("# timings: " + " ".join("%s=%.1fs" % t for t in timings))
    return tier.exit_status


def cmd_shell(args, kit, work):
    initrd = vmlib.build_initramfs(kit, work, args.memhpd, memhpctl=args.memhpctl, ndctl=True)
    with vmlib.VM(kit, initrd, work, nvdimm=True) as vm:
        return vmlib.shell(vm, timeout=120)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["test", "bench", "trace", "vmem", "demo", "shell", "build"])
    p.add_argument("--memhpd", help="memhpd binary to put into the guest")
    p.add_argument("--memhpctl", help="memhpctl binary: the guest then also gets a system bus "
                   "(default: ctl/memhpctl of memhpd's build dir, if there)")
    p.add_argument("--workdir", default="vm-work")
    p.add_argument("--cache")
    p.add_argument("--only", help="test: comma-separated scenario letters")
    p.add_argument("-v", "--verbose", action="store_true", help="test: print memhpd's log")
    p.add_argument("--reps", type=int, default=25, help="bench, trace, vmem: hot-adds (vmem: rounds) per variant (>= 15)")
    p.add_argument("--conf", help="demo: main config (default: none)")
    args = p.parse_args()
    vmlib.install_signal_handlers()
    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    if args.memhpd:
        args.memhpd = os.path.abspath(args.memhpd)
        if not os.access(args.memhpd, os.X_OK):
            print("memhpd binary %s not found or not executable" % args.memhpd, file=sys.stderr)
            return 1
    elif args.command in ("test", "demo", "trace", "vmem"):
        print("--memhpd PATH is required for '%s'" % args.command, file=sys.stderr)
        return 1
    if args.memhpd and not args.memhpctl and args.command != "bench":
        guess = os.path.join(os.path.dirname(os.path.dirname(args.memhpd)), "ctl", "memhpctl")
        args.memhpctl = guess if os.access(guess, os.X_OK) else None
    if args.memhpctl:
        args.memhpctl = os.path.abspath(args.memhpctl)
        if not os.access(args.memhpctl, os.X_OK):
            print("memhpctl binary %s not found or not executable" % args.memhpctl,
                  file=sys.stderr)
            return 1
    try:
        kit = vmlib.GuestKit(args.cache or vmlib.default_cache_dir(
            os.path.join(work, "cache"))).prepare()
        if args.command == "build":
            print(vmlib.build_initramfs(kit, work, args.memhpd, memhpctl=args.memhpctl))
            return 0
        if args.command == "test":
            return cmd_test(args, kit, work)
        if args.command == "shell":
            return cmd_shell(args, kit, work)
        if args.command == "bench":
            import bench
            return bench.run(args, kit, work)
        if args.command == "trace":
            import hptrace
            return hptrace.run(args, kit, work)
        if args.command == "vmem":
            import vmemgrow
            return vmemgrow.run(args, kit, work)
        import demo
        return demo.run(args, kit, work)
    except VMError as e:
        print("vmtest: %s" % e, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
