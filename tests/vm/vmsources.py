# SPDX-License-Identifier: LGPL-2.1-or-later
"""The VM tier's scenarios about where memory comes from (issue 9): a pc-dimm as one ACPI
memory device, and an NVDIMM used as dax kmem on a CPU-less node, next to daxctl.

Mixed into vmtest.Tier, whose helpers (check, hotadd, memhpctl, uevents, ...) they use. As
everywhere in this tier, the judge is the guest kernel (sysfs, /proc/iomem, uevents), QMP, and
daxctl reading the kernel, never what memhpd says it did.
"""

import json
import re

import vmlib
from vmlib import BLOCK, MiB, VMError

DAX = "dax0.0"


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
        """n. the NVDIMM on the CPU-less node 2 as dax kmem. ndctl makes it a devdax namespace,
        `daxctl reconfigure-device -m system-ram --no-online` hot-adds its blocks offline and
        memhpd onlines them (Movable); daxctl counts them online; memhpctl offlines them; then
        `daxctl reconfigure-device -m devdax` succeeds: the memory really went back. Plain
        `daxctl reconfigure-device -m system-ram` onlines by itself: no fight with memhpd."""
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
        target = "%d-%d" % (int(blocks[0][6:]), int(blocks[-1][6:]))
        out, rc = self.memhpctl("offline " + target)
        self.check("memhpctl offline %s (%s's blocks): exit 0" % (target, DAX), rc == 0,
                   "rc %d: %s" % (rc, out))
        self.expect_blocks("after memhpctl offline", blocks, "offline", node)
        row = self.daxctl_list()
        self.check("daxctl list: online_memblocks 0", row.get("online_memblocks") == 0, str(row))
        self.to_devdax(blocks)

        # daxctl onlining by itself while memhpd runs: both write the same blocks.
        start = self.log_size()
        self.to_system_ram(blocks, node, "")
        names = re.compile(r"\b(?:%s)\b" % "|".join(blocks))
        failed = [ln for ln in self.memhpd_log(start).splitlines()
                  if names.search(ln) and re.search(r"fail|error|refus", ln, re.I)]
        self.check("memhpd logs no failure for the blocks daxctl onlined", not failed,
                   " | ".join(failed[:3]))
        self.check("memhpd still running", self.alive())
        out, rc = self.memhpctl("offline %d-%d" % (int(blocks[0][6:]), int(blocks[-1][6:])))
        self.check("memhpctl offline: exit 0", rc == 0, "rc %d: %s" % (rc, out))
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
