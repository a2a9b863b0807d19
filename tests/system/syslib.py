# SPDX-License-Identifier: LGPL-2.1-or-later
"""Host side of the system tier: the package of this tree, the guest disk image, QEMU booting
Debian 12 with systemd as PID 1, and the checks the scenarios share.

QMP, the command channel protocol, hot-add and the kernel extraction are the VM tier's
(tests/vm/vmlib.py). Nothing here touches the host's /sys: memory is only onlined or offlined
inside the guest. Python stdlib only.
"""

import base64
import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import time

import vmlib
from vmlib import BLOCK, MiB, VMError, log, need_tool, run

HERE = os.path.dirname(os.path.abspath(__file__))
VMDIR = os.path.join(os.path.dirname(HERE), "vm")
GUEST_DEBS = "/var/cache/memhpd-test"        # where the guest finds the packages under test
PAGES_PER_BLOCK = BLOCK // 4096


# --------------------------------------------------------------------------------------------
# The package of this tree

def build_package(src, out, version=None):
    """This tree's package, built by tools/build-deb.sh (dpkg-buildpackage in a scratch copy
    of the tree's tracked and untracked-not-ignored files: uncommitted edits count) into
    `out`; `version`: the same tree rebuilt as that version. No lintian (the deb-lintian test of
    this suite runs it) and no test run inside the package build (CI runs the tiers). Returns the .deb's path."""
    need_tool("dpkg-buildpackage", "dpkg-dev")
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "memhpd_*.deb")):
        os.unlink(old)
    env = dict(os.environ, LINTIAN="0", DEB_BUILD_OPTIONS="nocheck parallel=2")
    if version:
        env["VERSION"] = version
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(src, "tools", "build-deb.sh"), out], env=env,
                       capture_output=True, text=True)
    with open(os.path.join(out, "build-deb.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines or not os.path.exists(lines[-1]):
        raise VMError("tools/build-deb.sh failed (%d):\n%s" % (r.returncode,
                                                              (r.stdout + r.stderr)[-3000:]))
    log("built %s in %.1f s" % (os.path.basename(lines[-1]), time.monotonic() - t0))
    return lines[-1]


def repack_version(deb, out, version):
    """`deb` with its control file's Version raised to `version`, written into `out`: the
    upgrade scenario's package. What an upgrade exercises is dpkg's and the maintainer scripts'
    part (prerm upgrade, postinst configure: restart), which is the same for a rebuild; a second
    dpkg-buildpackage of the same tree cost ~30 s of CPU for identical files. (The binary's own
    --version stays the first package's.)"""
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "memhpd_*.deb")):
        os.unlink(old)
    tree = os.path.join(out, "tree")
    if os.path.exists(tree):
        shutil.rmtree(tree)
    run(["dpkg-deb", "-R", deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text, n = re.subn(r"^Version: .*$", "Version: " + version, f.read(), count=1, flags=re.M)
    if n != 1:
        raise VMError("%s has no Version field" % deb)
    with open(control, "w") as f:
        f.write(text)
    dest = os.path.join(out, "memhpd_%s_%s.deb" % (version, deb_field(deb, "Architecture")))
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree, dest])
    shutil.rmtree(tree)
    return dest


def deb_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


# --------------------------------------------------------------------------------------------
# The disk image

def _guest_tools(work):
    """Static guest programs: the VM tier's hpmon (uevent waits, never writes sysfs) and
    stepgate (the kill in the middle of an operation; refuses to run outside a test guest), and
    memhog (memory pressure)."""
    srcs = [os.path.join(VMDIR, "hpmon.c"), os.path.join(VMDIR, "stepgate.c"),
            os.path.join(HERE, "guest", "memhog.c")]
    return {os.path.basename(src)[:-2]: vmlib.compile_static(
        src, os.path.join(work, os.path.basename(src)[:-2])) for src in srcs}


def make_image(root, work, debs, install=None, size="3G"):
    """root: a sysroot.RootCache. debs: packages copied to GUEST_DEBS; `install` (one of them)
    is installed as apt would, with a deny-all policy-rc.d so nothing starts in the chroot.
    Returns the path of a raw ext4 image of the result."""
    need_tool("mkfs.ext4", "e2fsprogs")
    need_tool("unshare", "util-linux")
    t0 = time.monotonic()
    tree = os.path.join(work, "root")
    if os.path.exists(tree):
        shutil.rmtree(tree)
    run(["cp", "-a", "--reflink=auto", root.tree, tree])
    t_copy = time.monotonic() - t0

    def put(path, data=None, src=None, mode=0o644):
        dst = os.path.join(tree, path.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if src:
            shutil.copy(src, dst)
        else:
            with open(dst, "w") as f:
                f.write(data)
        os.chmod(dst, mode)

    guest = os.path.join(HERE, "guest")
    put("/usr/local/sbin/vmchan", src=os.path.join(guest, "vmchan"), mode=0o755)
    put("/usr/local/bin/sg", src=os.path.join(guest, "sg"), mode=0o755)
    put("/etc/systemd/system/vmchan.service", src=os.path.join(guest, "vmchan.service"))
    os.symlink("/etc/systemd/system/vmchan.service",
               os.path.join(tree, "etc/systemd/system/multi-user.target.wants/vmchan.service"))
    # Read by sg, stepgate before they act: this file exists only in the guest.
    put("/etc/memhpd-vm-guest", "memhpd system tier guest\n")
    for name, path in _guest_tools(work).items():
        put("/usr/local/bin/" + name, src=path, mode=0o755)
    for deb in debs:
        put(os.path.join(GUEST_DEBS, os.path.basename(deb)), src=deb)
    if install:
        put("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
        # A private mount namespace: /proc and /dev for dpkg's maintainer scripts, gone after.
        script = ('mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" && '
                  'chroot "$1" dpkg -i "$2"')
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                            "sh", tree, os.path.join(GUEST_DEBS, os.path.basename(install))],
                           capture_output=True, text=True)
        with open(os.path.join(work, "dpkg-install.log"), "w") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise VMError("dpkg -i %s in the guest root failed (%d):\n%s"
                          % (os.path.basename(install), r.returncode,
                             (r.stdout + r.stderr)[-2000:]))
        os.unlink(os.path.join(tree, "usr/sbin/policy-rc.d"))
    img = os.path.join(work, "root.img")
    if os.path.exists(img):
        os.unlink(img)
    run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", tree, img, size])
    shutil.rmtree(tree)
    log("guest image: copy %.1f s, total %.1f s" % (t_copy, time.monotonic() - t0))
    return img


# --------------------------------------------------------------------------------------------
# The VM

class _Kit:
    def __init__(self, vmlinux):
        self.vmlinux = vmlinux


class SystemVM(vmlib.VM):
    """vmlib.VM with a disk root booted by systemd: 2 CPUs, nodes 0 and 1 with a CPU and half
    the boot memory each, node 2 with neither (CPU-less; memory only from DIMMs). cold_dimms:
    [(id, node, bytes)] present at boot, which the kernel adds offline before memhpd runs."""

    def __init__(self, root, image, work, cold_dimms=(), mem_mib=1024, append="", slots=32):
        super().__init__(_Kit(root.vmlinux), root.initrd, work, append=append, slots=slots)
        self.image, self.mem_mib, self.cold_dimms = image, mem_mib, list(cold_dimms)

    def _argv(self):
        qemu = need_tool("qemu-system-x86_64", "qemu-system-x86")
        half = self.mem_mib // 2
        argv = [
            qemu, "-machine", "pc", "-accel", self.accel, "-cpu", "qemu64",
            "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-nic", "none",
            "-smp", "2,sockets=2,cores=1,threads=1",
            "-m", "%dM,slots=%d,maxmem=%s" % (self.mem_mib, self.slots, self.maxmem),
            "-object", "memory-backend-ram,id=ram0,size=%dM" % half,
            "-object", "memory-backend-ram,id=ram1,size=%dM" % (self.mem_mib - half),
            "-numa", "node,nodeid=0,cpus=0,memdev=ram0",
            "-numa", "node,nodeid=1,cpus=1,memdev=ram1",
            "-numa", "node,nodeid=2",
            "-drive", "file=%s,format=raw,if=virtio,cache=unsafe" % self.image,
            "-kernel", self.kit.vmlinux, "-initrd", self.initrd,
            # memhpd_vm_guest: the marker the guest helpers check before they touch sysfs.
            # mitigations=off: under TCG the page-table switch of every kernel entry (PTI on
            # qemu64) is most of a system call's cost; memory hotplug does not care.
            "-append", "console=ttyS0 root=/dev/vda rootfstype=ext4 rw panic=-1 quiet "
                       "mitigations=off memhpd_vm_guest " + self.append,
            "-no-reboot",
            "-chardev", "file,id=con,path=%s" % self.console, "-serial", "chardev:con",
            "-chardev", "socket,id=ctl,path=%s/ctl,server=on,wait=off" % self.sockdir,
            "-serial", "chardev:ctl",
            "-qmp", "unix:%s/qmp,server=on,wait=off" % self.sockdir,
        ]
        for dimm, node, size in self.cold_dimms:
            argv += ["-object", "memory-backend-ram,id=m-%s,size=%d" % (dimm, size),
                     "-device", "pc-dimm,id=%s,memdev=m-%s,node=%d" % (dimm, dimm, node)]
        return argv

    # The guest helper is sg, not the VM tier's gt.
    def put(self, path, text):
        self.must("sg put %s %s" % (path, base64.b64encode(text.encode()).decode()))

    def blocks(self, names=()):
        res = {}
        for line in self.must("sg blocks " + " ".join(names)).splitlines():
            name, state, node, zones = line.split()
            res[name] = (state, node, zones.split(","))
        return res

    def zones(self):
        res = {}
        for line in self.must("sg zones").splitlines():
            node, zone, present = line.split()
            res[(int(node), zone)] = int(present)
        return res


# --------------------------------------------------------------------------------------------
# What scenarios use

class Tier(vmlib.Checks):
    """Checks and guest helpers shared by the scenarios (tests/system/scenarios/*.py).

    Every check reads the guest's own state: sysfs, zoneinfo, the journal, systemctl show,
    /proc/PID/status, mountinfo."""

    PAGES_PER_BLOCK = PAGES_PER_BLOCK

    def __init__(self, vm, deb, upgrade_deb, work):
        super().__init__()
        self.vm, self.deb, self.upgrade_deb, self.work = vm, deb, upgrade_deb, work
        self.state = {}             # what one scenario leaves for a later one
        self._dimms = 0

    # -- the guest shell ---------------------------------------------------------------------
    def sh(self, command, timeout=60):
        """(output, exit status) of one shell line in the guest, as root."""
        return self.vm.sh(command, timeout)

    def must(self, command, timeout=60):
        return self.vm.must(command, timeout)

    def as_user(self, user, command, timeout=60):
        """(output, exit status) of a shell line run as `user` (a login-less runuser)."""
        return self.vm.sh("runuser -u %s -- sh -c %s 2>&1" % (user, shquote(command)), timeout)

    def put(self, path, text):
        self.vm.put(path, text)

    # -- systemd -----------------------------------------------------------------------------
    def show(self, unit, *props):
        """{prop: value} from systemctl show."""
        out = self.must("systemctl show %s -p %s" % (unit, ",".join(props)))
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_unit(self, unit, prop, value, timeout=30):
        """Until systemctl show says prop=value; True if it did in time."""
        return self.sh("sg wait-unit %s %s %s %d" % (unit, prop, shquote(value), timeout),
                       timeout=timeout + 10)[1] == 0

    def memhpd_pid(self):
        return int(self.show("memhpd", "MainPID")["MainPID"])

    def wait_ready(self, timeout=30):
        """memhpd active/running (Type=notify: only after READY=1)."""
        return (self.wait_unit("memhpd", "ActiveState", "active", timeout)
                and self.wait_unit("memhpd", "SubState", "running", timeout))

    # -- the journal -------------------------------------------------------------------------
    def cursor(self):
        """A journal position: journal() after it shows only what came later."""
        out = self.must("journalctl -n 0 --show-cursor -q; true")
        m = re.search(r"-- cursor: (\S+)", out)
        if m:
            return m.group(1)
        out = self.must("journalctl -n 1 -o json -q")
        return json.loads(out.strip().splitlines()[-1])["__CURSOR"]

    def journal(self, after=None, unit="memhpd", extra=""):
        """[entry dict] of `journalctl -o json` after a cursor (else this boot), of the unit
        (memhpd's own entries and systemd's about it; None: all).

        With a cursor the unit is filtered here, not by journalctl: systemd 252's journalctl
        drops the first entry after --after-cursor when a match (-u) is given too."""
        argv = "journalctl -q -o json --no-pager"
        if after:
            argv += " --after-cursor=" + shquote(after)
        else:
            argv += " -b" + (" -u " + unit if unit else "")
        out = self.must("%s %s" % (argv, extra), timeout=120)
        entries = []
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return [e for e in entries if not unit or of_unit(e, unit)]

    @staticmethod
    def messages(entries):
        return [message(e) for e in entries]

    def wait_journal(self, pattern, after=None, unit="memhpd", timeout=30):
        """The first entry (after the cursor) whose MESSAGE matches pattern (PCRE, journalctl
        --grep), waiting for it; or None."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.journal(after, unit, "-g " + shquote(pattern)):
                return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.3)

    # -- memory: the guest kernel's truth ----------------------------------------------------
    def blocks(self, names=()):
        return self.vm.blocks(names)

    def zones(self):
        return self.vm.zones()

    def new_dimm(self):
        self._dimms += 1
        return "d%d" % self._dimms

    def hotadd(self, node, size, dimm=None):
        """device_add a pc-dimm; returns (id, [its blocks]) from the guest's add uevents."""
        dimm = dimm or self.new_dimm()
        _, events = self.vm.add_dimm(dimm, node, size)
        blocks = sorted((b for _, b in events), key=lambda b: int(b[6:]))
        self.check("device_add %s (%d MiB, node %d) -> %d add uevents" % (
            dimm, size // MiB, node, size // BLOCK), len(blocks) == size // BLOCK, str(blocks))
        return dimm, blocks

    def wait_state(self, blocks, state="online", timeout=30):
        out, rc = self.sh("hpmon state %s %d %s" % (state, timeout * 1000, " ".join(blocks)),
                          timeout=timeout + 10)
        return rc == 0

    def expect_blocks(self, what, blocks, state, node=None, zone=None):
        """Every block is in `state`, on `node` and (online) its valid_zones is just `zone`."""
        seen = self.blocks(blocks)
        bad = []
        for b in blocks:
            st, nd, zones = seen.get(b, ("gone", "-", []))
            if st != state or (node is not None and nd != str(node)) or \
                    (zone and zones != [zone]):
                bad.append("%s:%s,node%s,%s" % (b, st, nd, "/".join(zones)))
        desc = "%s: %d blocks %s" % (what, len(blocks), state)
        if node is not None:
            desc += " on node%s" % node
        if zone:
            desc += " in zone %s" % zone
        return self.check(desc, blocks and not bad, " ".join(bad) or "no blocks")

    def dimm_blocks(self, dimm):
        """A DIMM's memoryN names, from its address and size as QMP reports them."""
        for dev in self.vm.qmp.cmd("query-memory-devices"):
            data = dev.get("data", {})
            if data.get("id") == dimm:
                first = data["addr"] // BLOCK
                return ["memory%d" % b for b in range(first, first + data["size"] // BLOCK)]
        raise VMError("QMP does not know the DIMM %s" % dimm)

    def dimm_range(self, dimm):
        """A DIMM's "0xSTART-0xEND" (inclusive) from QMP query-memory-devices."""
        for dev in self.vm.qmp.cmd("query-memory-devices"):
            data = dev.get("data", {})
            if data.get("id") == dimm:
                return "0x%x-0x%x" % (data["addr"], data["addr"] + data["size"] - 1)
        raise VMError("QMP does not know the DIMM %s" % dimm)

    # -- holds (memhpd(8) RESTARTS) ---------------------------------------------------------
    def held(self):
        """{memoryN} that memhpctl list --json marks held."""
        out = set()
        for r in json.loads(self.must("memhpctl list --json"))["memory"]:
            if r.get("held"):
                lo, _, hi = r["block"].partition("-")
                out |= {"memory%d" % b for b in range(int(lo), int(hi or lo) + 1)}
        return out

    def hold(self, by_ctl, by_sysfs):
        """Offline blocks on purpose, as an admin would: `by_ctl` with memhpctl offline, then
        `by_sysfs` by writing their state. Checks the kernel has them offline and that memhpd
        recorded each (hold-N in /run/memhpd: it saw the sysfs write's uevent)."""
        ids = lambda blocks: [b[len("memory"):] for b in blocks]
        if by_ctl:
            out, rc = self.sh("memhpctl offline %s 2>&1" % ",".join(ids(by_ctl)), timeout=60)
            self.check("memhpctl offline %s: exit 0" % ",".join(by_ctl), rc == 0, out.strip())
        for b in by_sysfs:
            out, rc = self.sh("sg set-state offline %s 2>&1" % b)
            self.check("offline %s by writing its sysfs state" % b, rc == 0, out.strip())
        blocks = list(by_ctl) + list(by_sysfs)
        self.expect_blocks("offlined on purpose", blocks, "offline")
        records = " ".join("/run/memhpd/hold-%s" % i for i in ids(blocks))
        out, rc = self.sh("for i in $(seq 200); do ls %s >/dev/null 2>&1 && break; sleep 0.05; "
                          "done; ls /run/memhpd" % records, timeout=30)
        self.check("memhpd recorded the holds in /run/memhpd",
                   set(out.split()) >= {"hold-%s" % i for i in ids(blocks)}, out.strip())
        self.check("memhpctl list --json marks them held", self.held() >= set(blocks),
                   str(sorted(self.held())))

    @contextlib.contextmanager
    def node_policy(self, node, policy):
        """memhpd runs with `[Node N] Policy=` set by a drop-in while the block runs: the
        scenario's zone assertions then do not depend on the built-in default. The drop-in goes
        again afterwards (a reload, or the next start, drops the policy)."""
        path = "/etc/memhpd.conf.d/50-systest-node%d.conf" % node
        self.put(path, "[Node %d]\nPolicy=%s\n" % (node, policy))
        self.reload("[Node %d] Policy=%s from a drop-in" % (node, policy))
        try:
            yield
        finally:
            self.sh("rm -f " + path)
            if self.show("memhpd", "ActiveState").get("ActiveState") == "active":
                self.reload("the drop-in removed again")

    def reload(self, what):
        """systemctl reload memhpd, and memhpd says it applied the files."""
        cursor = self.cursor()
        out, rc = self.sh("systemctl reload memhpd 2>&1", timeout=60)
        self.check("reload (%s): memhpd applied it" % what, rc == 0 and self.wait_journal(
            r"Configuration reloaded", cursor) is not None, out.strip())

    def config(self, text):
        """/etc/memhpd.conf becomes `text` (not applied: reload or restart does that)."""
        self.put("/etc/memhpd.conf", text)


def of_unit(entry, unit):
    """What journalctl -u shows: the unit's processes' entries and systemd's about it."""
    unit = unit if "." in unit else unit + ".service"
    return unit in (entry.get("_SYSTEMD_UNIT"), entry.get("UNIT"), entry.get("OBJECT_SYSTEMD_UNIT"))


def message(entry):
    m = entry.get("MESSAGE", "")
    if isinstance(m, list):         # journalctl -o json gives non-UTF-8 messages as bytes
        m = bytes(m).decode(errors="replace")
    return m


def shquote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"
