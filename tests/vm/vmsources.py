# SPDX-License-Identifier: LGPL-2.1-or-later
"""The VM tier's scenarios about where memory comes from (issue 9): a pc-dimm as one ACPI
memory device, and an NVDIMM used as dax kmem on a CPU-less node, next to daxctl.

Mixed into vmtest.Tier, whose helpers (check, hotadd, memhpctl, uevents, ...) they use. As
everywhere in this tier, the judge is the guest kernel (sysfs, /proc/iomem, uevents), QMP, and
daxctl reading the kernel, never what memhpd says it did.
"""

import json
import re
import time

import vmlib
from vmlib import BLOCK, MiB, VMError

BOOT_BLOCKS = ["memory%d" % i for i in range(1, 8)]  # memory0 holds the kernel image

DAX = "dax0.0"
EXIT_ROLLED_BACK = 2        # memhpctl(8): failed, and every change was rolled back
KERNEL_ZONES = ("DMA", "DMA32", "Normal")


def in_spec(block, spec):
    """memory48 in memhpctl list's "48" or "48-51"."""
    first, _, last = str(spec).partition("-")
    if not first.isdigit() or not (last or first).isdigit():
        return False
    return int(first) <= int(block[6:]) <= int(last or first)


def parse_range(text):
    """memhpctl's "0xSTART-0xEND" -> (start, end), None if it is not one."""
    try:
        start, end = str(text).split("-")
        return int(start, 16), int(end, 16)
    except ValueError:
        return None


def auto_movable(kernel, movable, n, ratio, pages):
    """(kernel, movable) pages after n blocks placed one by one by auto-movable: Movable while
    the node's Movable stays within ratio% of its kernel memory (memhpd.conf(5))."""
    for _ in range(n):
        if kernel and (movable + pages) * 100 <= kernel * ratio:
            movable += pages
        else:
            kernel += pages
    return kernel, movable


def span(blocks):
    """(first byte, last byte) of a set of blocks: memoryN starts at N block sizes."""
    ids = sorted(int(b[6:]) for b in blocks)
    return ids[0] * BLOCK, (ids[-1] + 1) * BLOCK - 1


def contiguous(blocks):
    ids = sorted(int(b[6:]) for b in blocks)
    return ids == list(range(ids[0], ids[0] + len(ids)))


class SourceScenarios:
    # -- guest and QMP views -----------------------------------------------------------------
    def qmp_memdev(self, dev_id):
        """QMP query-memory-devices' data of one device (pc-dimm, nvdimm, virtio-mem)."""
        for dev in self.vm.qmp.cmd("query-memory-devices"):
            if dev.get("data", {}).get("id") == dev_id:
                return dev["data"]
        raise VMError("QMP does not know the memory device %s" % dev_id)

    def fwnodes(self, blocks):
        """{block: (ACPI device, uid, status)} from each block's firmware_node link."""
        res = {}
        for line in self.vm.must("gt fwnode " + " ".join(blocks)).splitlines():
            name, dev, uid, status = line.split()
            res[name] = (dev, uid, status)
        return res

    def dax_state(self, dev=DAX):
        """(driver, target node, mapping start, mapping end) of a dax device, from sysfs."""
        out, rc = self.vm.sh("gt dax %s" % dev)
        if rc:
            return None
        drv, node, start, end = out.split()
        return drv, int(node), int(start, 0), int(end, 0)

    def daxctl_list(self, dev=DAX):
        """daxctl list's record of the device (daxctl counts online blocks from sysfs)."""
        out, rc = self.vm.sh("daxctl list -d %s 2>&1" % dev)
        try:
            rows = json.loads(out)
            return rows[0] if isinstance(rows, list) else rows
        except (ValueError, IndexError):
            return {"error": "rc %d: %s" % (rc, out.strip()[-200:])}

    def add_uevent_fw(self, blocks):
        """What the uevent logger saw of each block's firmware_node link when its "add" came
        in: {block: "PNP0C80:XX" or "none"} (a kernel fact the daemon's settling relies on)."""
        out = self.vm.must("grep ' add /devices/system/memory/' /tmp/uevents.log")
        seen = {}
        for m in re.finditer(r" add /devices/system/memory/(memory\d+) .* fw=(\S+)", out):
            seen[m.group(1)] = m.group(2)
        return {b: seen.get(b, "?") for b in blocks}

    def devices(self):
        """memhpctl devices --json: {device id: row}."""
        out, rc = self.memhpctl("devices --json")
        try:
            return {d["device"]: d for d in json.loads(out)["devices"]}
        except (ValueError, KeyError, TypeError) as e:
            return {"error": "rc %d, %s: %s" % (rc, e, out[-300:])}

    def expect_device(self, dev, source, node, blocks, zones, rng=None, backing=None):
        """memhpctl devices shows `dev` as the kernel has it: source, node, range, block
        counts, zones."""
        row = self.devices().get(dev)
        want = {"source": source, "node": node, "blocks": len(blocks), "online": len(blocks),
                "zones": zones}
        if backing:
            want["backing"] = backing
        bad = [k for k, v in want.items() if not row or row.get(k) != v]
        if rng and (not row or parse_range(row.get("range")) != rng):
            bad.append("range")
        return self.check("memhpctl devices: %s %s%s on node %d, %s%d blocks, %d online, %s" % (
            dev, source, "/" + backing if backing else "", node,
            "range 0x%x-0x%x, " % rng if rng else "", len(blocks), len(blocks), zones),
            not bad, "%s differ: %s" % (",".join(bad), row))

    def block_sources(self, blocks):
        """{block: (source, device)} as memhpctl list -o BLOCK,SOURCE,DEVICE shows them."""
        out, rc = self.memhpctl("list -o BLOCK,SOURCE,DEVICE --json")
        try:
            rows = json.loads(out)["memory"]
        except (ValueError, KeyError) as e:
            return {"error": "rc %d, %s: %s" % (rc, e, out[-300:])}
        res = {}
        for b in blocks:
            row = next((r for r in rows if in_spec(b, r.get("block"))), None)
            res[b] = (row.get("source"), row.get("device")) if row else None
        return res

    def iomem_owner(self, blocks):
        """{block: the top-level /proc/iomem resource covering it} (read as root, so with real
        addresses): virtio-mem's is named after its virtio device."""
        top = []
        for line in self.vm.must("cat /proc/iomem").splitlines():
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) : (.*)$", line)
            if m:
                top.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3)))
        res = {}
        for b in blocks:
            first, last = span([b])
            res[b] = next((name for s, e, name in top if s <= first and last <= e), None)
        return res

    def node_pages(self, node):
        """(kernel, movable) present pages of a node, from the guest's /proc/zoneinfo."""
        z = self.vm.zones()
        return (sum(z.get((node, name), 0) for name in KERNEL_ZONES),
                z.get((node, "Movable"), 0))

    # -- scenarios ---------------------------------------------------------------------------
    def s_dimm_device(self):
        """p. a pc-dimm is one ACPI memory device: every block's firmware_node names the same
        PNP0C80:XX, present, whose _UID is the DIMM's QMP slot, whose physical_node links are
        exactly these blocks, and which spans exactly QMP's addr and size."""
        blocks = self.hotadd_online("p1", 1, 512 * MiB)
        qmp = self.qmp_memdev("p1")
        fw = self.fwnodes(blocks)
        devs = sorted({v[0] for v in fw.values()})
        self.check("firmware_node of all %d blocks: one ACPI memory device" % len(blocks),
                   len(devs) == 1 and devs[0].startswith("PNP0C80:"), str(fw))
        dev, uid, status = fw[blocks[0]]
        self.check("%s: _UID %s is QMP's slot %d, _STA 15 (present, enabled)" % (
            dev, uid, qmp["slot"]), uid != "-" and int(uid, 0) == qmp["slot"]
            and status == "15", "uid %s status %s" % (uid, status))
        phys = sorted(self.vm.must("gt physnodes " + dev).split(), key=lambda b: int(b[6:]))
        self.check("%s's physical_node links are exactly the DIMM's blocks" % dev,
                   phys == blocks, "%s vs %s" % (phys, blocks))
        first, last = span(blocks)
        self.check("the blocks span QMP's range 0x%x-0x%x" % (
            qmp["addr"], qmp["addr"] + qmp["size"] - 1), contiguous(blocks)
            and (first, last) == (qmp["addr"], qmp["addr"] + qmp["size"] - 1),
            "blocks 0x%x-0x%x" % (first, last))
        at_add = self.add_uevent_fw(blocks)
        print("# kernel fact: firmware_node at each block's add uevent: %s" % " ".join(
            "%s=%s" % kv for kv in sorted(at_add.items())), flush=True)
        self.check("device_del p1 -> DEVICE_DELETED", self.vm.del_dimm("p1"))

    def dax_blocks(self, start, end):
        """The blocks kmem adds for a mapping: it rounds start up and end down to whole blocks
        (drivers/dax/kmem.c dax_kmem_range())."""
        first = -(-start // BLOCK)
        stop = (end + 1) // BLOCK
        return ["memory%d" % i for i in range(first, stop)]

    def s_dax(self):
        """n. the NVDIMM on the CPU-less node 2 as dax kmem, with Default=ignore and [Source dax]
        online_movable. ndctl makes it a devdax namespace, `daxctl reconfigure-device -m
        system-ram --no-online` hot-adds its blocks offline and memhpd onlines them by the dax
        policy (Movable); daxctl counts them online; `memhpctl offline --device dax0.0` offlines
        them; then `daxctl reconfigure-device -m devdax` succeeds: the memory really went back.
        Plain `daxctl reconfigure-device -m system-ram` onlines by itself: no fight with
        memhpd."""
        self.configure("ignore", "\n[Source dax]\nPolicy=online_movable\n")
        try:
            self._dax()
        finally:
            self.configure()

    def _dax(self):
        node = self.vm.nvdimm_node
        self.vm.must("gt modprobe " + " ".join(vmlib.NVDIMM_MODULES), timeout=60)
        out, rc = self.vm.sh("ndctl create-namespace -f -e namespace0.0 -m devdax 2>&1",
                             timeout=60)
        state = self.dax_state()
        self.check("ndctl create-namespace -m devdax: exit 0, %s bound to device_dax with "
                   "target_node %d" % (DAX, node), rc == 0 and state is not None
                   and state[:2] == ("device_dax", node), "rc %d %s: %s" % (
                       rc, state, out.strip()[-300:]))
        if rc or state is None:
            return
        blocks = self.dax_blocks(state[2], state[3])
        self.to_system_ram(blocks, node, "--no-online")
        self.expect_device(DAX, "dax", node, blocks, "Movable", state[2:], backing="nvdimm")
        out, rc = self.memhpctl("offline --device " + DAX)
        self.check("memhpctl offline --device %s: exit 0, safe to remove" % DAX,
                   rc == 0 and "%s is safe to remove" % DAX in out, "rc %d: %s" % (rc, out))
        self.expect_blocks("after memhpctl offline", blocks, "offline", node)
        row = self.daxctl_list()
        self.check("daxctl list: online_memblocks 0", row.get("online_memblocks") == 0, str(row))
        self.to_devdax(blocks)

        # daxctl onlining by itself while memhpd runs: both write the same blocks, whoever
        # comes first wins each; memhpd says at most one line about daxctl's.
        start = self.log_size()
        self.to_system_ram(blocks, node, "")
        self.vm.must("gt idle memhpd")
        names = re.compile(r"\b(?:%s)\b" % "|".join(blocks))
        failed = [ln for ln in self.memhpd_log(start).splitlines()
                  if names.search(ln) and re.search(r"fail|error|refus", ln, re.I)]
        self.check("memhpd logs no failure for the blocks daxctl onlined", not failed,
                   " | ".join(failed[:3]))
        dev_lines, block_lines = self.other_onliner_lines(start, blocks)
        self.check("memhpd's log: at most one 'onlined by another onliner' line for %s, none "
                   "per block" % DAX, len(dev_lines) <= 1 and not block_lines,
                   " | ".join(dev_lines + block_lines))
        self.check("memhpd still running", self.alive())
        self.offline_dax(blocks)

        # daxctl quicker than memhpd (stopped meanwhile): every block is daxctl's, and memhpd
        # says so in one line for the device once it runs again.
        start = self.log_size()
        self.vm.must("gt signal memhpd STOP")
        try:
            self.to_system_ram(blocks, node, "")
        finally:
            self.vm.must("gt signal memhpd CONT")
        want = (r"%s \(dax, nvdimm, node %d\): %d of its %d blocks onlined by another onliner "
                r"\(daxctl\?\) before memhpd, zone Movable; left as they are\." % (
                    re.escape(DAX), node, len(blocks), len(blocks)))
        deadline = time.monotonic() + 10
        while not re.search(want, self.memhpd_log(start)) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.vm.must("gt idle memhpd")
        dev_lines, block_lines = self.other_onliner_lines(start, blocks)
        self.check("memhpd's log: exactly one line for %s, \"%d of its %d blocks onlined by "
                   "another onliner (daxctl?) before memhpd, zone Movable\", none per block" % (
                       DAX, len(blocks), len(blocks)), len(dev_lines) == 1
                   and re.search(want, dev_lines[0]) and not block_lines,
                   " | ".join(dev_lines + block_lines) or self.memhpd_log(start)[-600:])
        self.expect_blocks("daxctl's blocks left as they are", blocks, "online", node, "Movable")
        self.check("memhpd still running", self.alive())
        self.offline_dax(blocks)

    def other_onliner_lines(self, start, blocks):
        """memhpd's lines since `start` about blocks another onliner put online: (the lines
        about the dax device, the lines about one of `blocks`)."""
        text = self.memhpd_log(start).splitlines()
        names = re.compile(r"\b(?:%s)\b" % "|".join(blocks))
        dev = [ln for ln in text if "onlined by another onliner" in ln
               and re.search(r"\b%s \(" % re.escape(DAX), ln)]
        per_block = [ln for ln in text if names.search(ln) and re.search(
            r"already online|another onliner", ln)]
        return dev, per_block

    def offline_dax(self, blocks):
        out, rc = self.memhpctl("offline --device " + DAX)
        self.check("memhpctl offline --device %s: exit 0" % DAX, rc == 0, "rc %d: %s" % (rc, out))
        self.to_devdax(blocks)

    def to_system_ram(self, blocks, node, online):
        """daxctl reconfigure-device -m system-ram [--no-online]: the kernel hot-adds exactly
        `blocks` on `node`, they end up online Movable, each by one online uevent and no
        offline, and daxctl counts them all online."""
        mark = self.uevent_mark()
        cmd = "daxctl reconfigure-device -m system-ram %s %s" % (online, DAX)
        out, rc = self.vm.sh(cmd + " 2>&1", timeout=60)
        self.check("%s: exit 0" % " ".join(cmd.split()), rc == 0, out.strip()[-300:])
        self.wait_online(blocks)
        self.expect_blocks("%s's kmem blocks" % DAX, blocks, "online", node, "Movable")
        events = self.uevents_since(mark)
        added = sorted({b for a, b in events if a == "add"}, key=lambda b: int(b[6:]))
        self.check("kernel uevents: add of exactly %s's %d blocks" % (DAX, len(blocks)),
                   added == blocks, str(added))
        self.check("kernel uevents: each block online once, never offline",
                   all(self.history(events, b) == "online" for b in blocks),
                   " ".join("%s:%s" % (b, self.history(events, b)) for b in blocks))
        row = self.daxctl_list()
        self.check("daxctl list: mode system-ram, online_memblocks = total_memblocks = %d" % (
            len(blocks)), row.get("mode") == "system-ram" and row.get("online_memblocks")
            == row.get("total_memblocks") == len(blocks), str(row))

    def to_devdax(self, blocks):
        """daxctl reconfigure-device -m devdax succeeds: kmem let the memory go."""
        out, rc = self.vm.sh("daxctl reconfigure-device -m devdax %s 2>&1" % DAX, timeout=60)
        state = self.dax_state()
        self.check("daxctl reconfigure-device -m devdax %s: exit 0, bound to device_dax" % DAX,
                   rc == 0 and state is not None and state[0] == "device_dax",
                   "rc %d %s: %s" % (rc, state, out.strip()[-300:]))
        seen = self.vm.blocks(blocks)
        self.check("its %d blocks are gone from sysfs" % len(blocks),
                   all(v[0] == "gone" for v in seen.values()), str(seen))

    def s_device_offline(self):
        """x. a DIMM as one device: memhpctl devices shows it as the kernel and QMP have it;
        `memhpctl offline --device` with the kernel refusing its second block (MEM_GOING_OFFLINE,
        stepgate: in either order some block went offline before) rolls the whole device back;
        then a clean offline says it is safe to remove, and device_del removes it."""
        blocks = self.hotadd_online("x1", 1, 512 * MiB)
        dev = self.fwnodes(blocks)[blocks[0]][0]
        qmp = self.qmp_memdev("x1")
        self.expect_device(dev, "dimm", 1, blocks, "Movable",
                           (qmp["addr"], qmp["addr"] + qmp["size"] - 1))
        gate = blocks[1]
        mark = self.uevent_mark()
        out, rc, _ = self.gated(gate, "MEM_GOING_OFFLINE", "offline --device " + dev)
        self.inject(0, "MEM_GOING_OFFLINE")
        self.check("memhpctl offline --device %s, %s refused: exit %d (OperationFailed), the "
                   "error names the device, the block and errno, rolled back" % (
                       dev, gate, EXIT_ROLLED_BACK), rc == EXIT_ROLLED_BACK
                   and "Device %s not offlined: Failed to change %s: Cannot allocate memory "
                   "(ENOMEM). Rolled back: memory" % (dev, gate) in out, "rc %d: %s" % (rc, out))
        self.expect_blocks("the whole device rolled back", blocks, "online", 1, "Movable")
        events = self.uevents_since(mark)
        hist = {b: self.history(events, b) for b in blocks}
        self.check("kernel uevents: %s never offline; every block that went offline came back "
                   "online (at least one did)" % gate, hist[gate] == ""
                   and set(hist.values()) == {"", "offline,online"},
                   " ".join("%s:%s" % kv for kv in hist.items()))

        mark = self.uevent_mark()
        out, rc = self.memhpctl("offline --device " + dev)
        self.check("memhpctl offline --device %s: exit 0, safe to remove" % dev,
                   rc == 0 and "%s is safe to remove" % dev in out, "rc %d: %s" % (rc, out))
        self.expect_blocks("after offline --device", blocks, "offline", 1)
        order = [b for a, b in self.uevents_since(mark) if a == "offline"]
        self.check("kernel uevents: each block offline once, highest address first",
                   order == blocks[::-1], str(order))
        self.check("device_del x1 -> DEVICE_DELETED", self.vm.del_dimm("x1"))
        seen = self.vm.blocks(blocks)
        self.check("its %d blocks are gone from sysfs" % len(blocks),
                   all(v[0] == "gone" for v in seen.values()), str(seen))

    def s_sources_one_node(self):
        """q. one node, two sources, two [Source X] policies (Default=ignore): a DIMM on node 1
        goes Normal ([Source dimm] online_kernel), virtio-mem on node 1 Movable ([Source
        virtio-mem] online_movable); every virtio-mem block carries the id of the virtio device
        that /proc/iomem shows over it."""
        self.configure("ignore", "\n[Source dimm]\nPolicy=online_kernel\n"
                       "\n[Source virtio-mem]\nPolicy=online_movable\n")
        try:
            self._sources_one_node()
        finally:
            self.configure()

    def _sources_one_node(self):
        before = self.vm.zones()
        dimm = self.hotadd("q1", 1, 256 * MiB)
        self.wait_online(dimm)
        self.expect_blocks("[Source dimm] online_kernel", dimm, "online", 1, "Normal")
        boot = set(self.vm.blocks())
        self.vm.vmem_request(512 * MiB)
        new = self._wait_vmem(512 * MiB, lambda s: len(s) == 4 and all(
            v[0] == "online" for v in s.values()), boot)
        vmem = sorted(new, key=lambda b: int(b[6:]))
        self.check("virtio-mem plugged 512 MiB: 4 new blocks", len(vmem) == 4, str(vmem))
        self.expect_blocks("[Source virtio-mem] online_movable", vmem, "online", 1, "Movable")
        self.expect_zone_delta(before, self.vm.zones(), {(1, "Normal"): len(dimm),
                                                         (1, "Movable"): len(vmem)})
        owner = self.iomem_owner(vmem)
        dev = owner.get(vmem[0]) if vmem else None
        driver = self.vm.sh("readlink /sys/bus/virtio/devices/%s/driver" % dev)[0].strip()
        self.check("/proc/iomem: %s (driver virtio_mem) covers all 4 blocks" % dev,
                   dev and dev.startswith("virtio") and driver.endswith("/virtio_mem")
                   and set(owner.values()) == {dev}, "%s driver %s" % (owner, driver))
        fw = self.fwnodes(dimm)[dimm[0]][0]
        got = self.block_sources(vmem + dimm)
        want = {b: ("virtio-mem", dev) for b in vmem}
        want.update({b: ("dimm", fw) for b in dimm})
        self.check("memhpctl list: SOURCE and DEVICE of every block (virtio-mem %s, dimm %s)" % (
            dev, fw), got == want, str(got))
        self.expect_device(dev, "virtio-mem", 1, vmem, "Movable")
        self.vm.vmem_request(0)
        left = self._wait_vmem(0, lambda s: not s, boot)
        self.check("virtio-mem shrank to 0, its blocks gone", not left, str(left))

    def s_auto(self):
        """t. Default=auto, no [Node] or [Source] section (generic platform): a boot block
        offlined by hand before memhpd starts stays offline (boot memory: ignore); a DIMM on the
        CPU-less node 3 gets auto-movable (the Normal/Movable split the ratio gives), virtio-mem
        on node 1 auto-movable, the NVDIMM's dax kmem on node 2 online_movable (all Movable,
        where auto-movable would start with Normal); memhpd's log gives each and why."""
        start = self.log_size()
        try:
            self._auto_boot()
            self.configure("auto", policies={})
            self._auto(start)
        finally:
            if not self.running:
                self.start_memhpd()
            self.configure()

    def offline_boot_block(self):
        """A boot block the kernel lets go offline (written by hand, as an admin would), or
        None: memory0 holds the kernel image, others may hold unmovable pages."""
        for b in reversed(BOOT_BLOCKS):
            self.vm.sh("timeout -s INT 10 sh -c 'echo offline > /sys/devices/system/memory/%s/"
                       "state' 2>/dev/null" % b, timeout=30)
            if self.vm.blocks([b]).get(b, ("",))[0] == "offline":
                return b
        return None

    def _auto_boot(self):
        """Boot memory found offline was offlined by someone: Default=auto leaves it (boot ->
        ignore), at start and in the coldplug scan. The kernel's state and uevents judge."""
        self.stop_memhpd("before a start with Default=auto")
        blk = self.offline_boot_block()
        self.check("a boot block offlined by hand before memhpd starts", blk is not None,
                   str(self.vm.blocks(BOOT_BLOCKS)))
        if blk is None:
            return
        node = int(self.vm.blocks([blk])[blk][1])
        mark = self.uevent_mark()
        start = self.log_size()
        if self.start_memhpd(default="auto", policies={}) is None:
            raise VMError("memhpd did not start: %s" % self.memhpd_log()[-2000:])
        self.vm.must("gt idle memhpd")
        self.expect_blocks("Default=auto, coldplugged: %s, boot memory offlined by hand" % blk,
                           [blk], "offline", node)
        self.check("kernel uevents: no online of %s since memhpd started" % blk,
                   "online" not in self.history(self.uevents_since(mark), blk),
                   self.history(self.uevents_since(mark), blk))
        text = self.memhpd_log(start)
        self.check("memhpd's log: boot memory on node %d (%s first): ignore from Default=auto, "
                   "with the reason" % (node, blk), re.search(
                       r"\bboot memory on node %d \(%s first\): ignore from Default=auto: "
                       r"boot memory found offline" % (node, blk), text), text[-600:])
        got = self.block_sources([blk])
        self.check("memhpctl list: %s's source is boot, no device" % blk,
                   got.get(blk) and got[blk][0] == "boot" and not got[blk][1], str(got))
        # Given back by hand: the scenarios after this one count on the memory.
        self.vm.sh("echo online > /sys/devices/system/memory/%s/state" % blk, timeout=30)
        self.check("%s online again" % blk, self.vm.blocks([blk])[blk][0] == "online",
                   str(self.vm.blocks([blk])))

    def _auto(self, start):
        ratio = 301
        k, m = self.node_pages(3)
        blocks = self.hotadd("t1", 3, 512 * MiB)
        self.wait_online(blocks)
        want = auto_movable(k, m, len(blocks), ratio, BLOCK // 4096)
        got = self.node_pages(3)
        self.check("DIMM on node 3: kernel/movable pages as auto-movable places them (%d+%d "
                   "blocks)" % (want[0] // (BLOCK // 4096), want[1] // (BLOCK // 4096)),
                   got == want, "got %s want %s" % (got, want))
        dev = self.fwnodes(blocks)[blocks[0]][0]

        k, m = self.node_pages(1)
        boot = set(self.vm.blocks())
        self.vm.vmem_request(256 * MiB)
        new = self._wait_vmem(256 * MiB, lambda s: len(s) == 2 and all(
            v[0] == "online" for v in s.values()), boot)
        want = auto_movable(k, m, 2, ratio, BLOCK // 4096)
        got = self.node_pages(1)
        self.check("virtio-mem on node 1: kernel/movable pages as auto-movable places them",
                   len(new) == 2 and got == want, "got %s want %s, %s" % (got, want, new))
        owner = self.iomem_owner(sorted(new, key=lambda b: int(b[6:])))
        vmem_dev = next(iter(set(owner.values())), None) if len(set(owner.values())) == 1 \
            else None
        self.check("/proc/iomem: one virtio device covers the virtio-mem blocks (%s)" % vmem_dev,
                   vmem_dev and vmem_dev.startswith("virtio"), str(owner))
        self.vm.vmem_request(0)
        self._wait_vmem(0, lambda s: not s, boot)

        state = self.dax_state()
        dax = self.dax_blocks(state[2], state[3]) if state else []
        out, rc = self.vm.sh("daxctl reconfigure-device -m system-ram --no-online %s 2>&1" % DAX,
                             timeout=60)
        self.wait_online(dax)
        self.expect_blocks("dax kmem on node 2: online_movable", dax, "online", 2, "Movable")
        text = self.memhpd_log(start)
        # Every source, as the start (and the reload) logs it for the generic platform.
        table = {"dimm": "auto-movable", "virtio-mem": "auto-movable", "dax": "online_movable",
                 "boot": "ignore", "unknown": "auto-movable", "hyperv-balloon": "online",
                 "xen-balloon": "online"}
        for source, policy in table.items():
            self.check("memhpd's log: %s memory gets %s from Default=auto, with a reason" % (
                source, policy), re.search(r"\b%s memory gets %s from Default=auto: \S" % (
                    re.escape(source), re.escape(policy)), text), text[-600:])
        devices = [(dev, 3, "auto-movable"), (DAX, 2, "online_movable")]
        if vmem_dev:
            devices.append((vmem_dev, 1, "auto-movable"))
        for what, node, policy in devices:
            self.check("memhpd's log: %s (node %d) %s from Default=auto, with a reason" % (
                what, node, policy), re.search(r"\b%s \([^)]*node %d\): %s from Default=auto: "
                                              r"\S" % (re.escape(what), node, policy), text),
                text[-600:])
        out, rc = self.memhpctl("offline --device " + DAX)
        self.check("memhpctl offline --device %s: exit 0" % DAX, rc == 0, "rc %d: %s" % (rc, out))
        self.to_devdax(dax)
