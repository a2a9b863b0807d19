# SPDX-License-Identifier: LGPL-2.1-or-later
"""Host side of memhpd's VM tier: guest image, QEMU, QMP and the command channel.

The guest is Debian 12's own kernel (the package linux-image-amd64 depends
on) booted by QEMU in PVH mode with a busybox initramfs. Nothing in this file
touches the host's /sys: memory is only ever onlined inside the guest, and
memhpd is only ever started there (through the guest's `gt memhpd-start`,
which refuses to run outside the VM).

Python stdlib only.
"""

import base64
import fcntl
import gzip
import json
import lzma
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MiB = 1 << 20
GiB = 1 << 30
BLOCK = 128 * MiB       # x86-64 memory block size for guests below 64 GiB
PAGES_PER_BLOCK = BLOCK // 4096

HERE = os.path.dirname(os.path.abspath(__file__))

# Modules the guest may insmod, by root name; the dependency chain is read
# from each .ko's depends= and written next to it as <root>.order.
# NVDIMM_MODULES: the NVDIMM -> devdax -> kmem chain (ACPI NFIT bus, raw namespace, dax
# device, device_dax and kmem drivers); loaded only by the scenario that uses the NVDIMM.
NVDIMM_MODULES = ("nfit", "nd_pmem", "dax_pmem", "device_dax", "kmem")
GUEST_MODULES = ("virtio_pci", "virtio_mem", "memory_notifier_error_inject") + NVDIMM_MODULES
KERNEL_OPTIONS = ("MEMORY_HOTPLUG", "MEMORY_HOTREMOVE", "ACPI_HOTPLUG_MEMORY", "NUMA",
                  "ACPI_NUMA", "VIRTIO_MEM", "PVH", "MEMORY_NOTIFIER_ERROR_INJECT",
                  "ACPI_NFIT", "BLK_DEV_PMEM", "NVDIMM_DAX", "DEV_DAX_PMEM", "DEV_DAX_KMEM")
# ndctl and daxctl for the guest: Debian's binaries with the libraries the host lacks, unpacked
# from these packages (never installed here); the rest (libkmod, libudev, json-c, ...) is the
# host's, found by ldd like memhpd's own.
NDCTL_PACKAGES = ("ndctl", "daxctl", "libndctl6", "libdaxctl1", "libcxl1", "libiniparser1",
                  "libtraceevent1", "libtracefs1")

_T0 = time.monotonic()


def log(msg):
    print("[%6.2fs] %s" % (time.monotonic() - _T0, msg), file=sys.stderr, flush=True)


class VMError(Exception):
    pass


def need_tool(cmd, package):
    path = shutil.which(cmd)
    if not path:
        raise VMError("'%s' not found: install the Debian package %s "
                      "(apt-get install --no-install-recommends %s)" % (cmd, package, package))
    return path


def run(argv, **kw):
    kw.setdefault("check", True)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    try:
        return subprocess.run(argv, **kw)
    except subprocess.CalledProcessError as e:
        raise VMError("%s failed (%d): %s" % (" ".join(argv), e.returncode,
                                              (e.stderr or e.stdout or "").strip()[-2000:]))


def cache_dir(env, path, fallback):
    """$env, else path if we may write there, else fallback: one cache shared by every build
    dir of the machine where possible."""
    if os.environ.get(env):
        return os.environ[env]
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    return fallback


def default_cache_dir(fallback):
    """$MEMHPD_VM_CACHE, else /var/cache/memhpd-vm if we may write there, else fallback."""
    return cache_dir("MEMHPD_VM_CACHE", "/var/cache/memhpd-vm", fallback)


# --------------------------------------------------------------------------------------------
# Guest kernel and busybox, cached

class GuestKit:
    """The downloaded parts of the guest, unpacked once into the cache dir.

    cache/kernel/<package>_<version>/ holds only what the VM needs (vmlinux
    for PVH, config, the few modules flattened with their load orders), not
    the 400 MB module tree. cache/kernel/current names the one in use, so a
    cached run needs neither apt nor the network.
    """

    def __init__(self, cache):
        self.cache = os.path.abspath(cache)
        os.makedirs(self.cache, exist_ok=True)

    def prepare(self):
        with open(os.path.join(self.cache, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)     # two build dirs may share /var/cache
            self.kdir = self._kernel()
            self.busybox = self._busybox()
        self.vmlinux = os.path.join(self.kdir, "vmlinux")
        with open(os.path.join(self.kdir, "release")) as f:
            self.release = f.read().strip()
        return self

    # -- apt: every look-up that fails is retried once after an apt-get update, which
    # covers a fresh machine without package lists and lists gone stale alike --------------
    def _apt_update(self):
        if os.geteuid() != 0:
            raise VMError("apt cannot find the guest's packages and we are not root to "
                          "'apt-get update'")
        log("apt-get update")
        run(["apt-get", "update", "-qq"])

    def _resolve_kernel_package(self):
        """The ABI package behind linux-image-amd64, e.g. linux-image-6.1.0-56-amd64."""
        need_tool("apt-cache", "apt")
        for retry in (False, True):
            if retry:
                self._apt_update()
            out = run(["apt-cache", "depends", "linux-image-amd64"], check=False).stdout
            m = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)\b", out)
            if m:
                return m.group(1)
        raise VMError("cannot resolve the kernel package behind linux-image-amd64")

    def _download(self, package, dest):
        log("apt-get download %s" % package)
        # apt drops to the _apt user for downloads; let it write, or it warns.
        os.chmod(dest, 0o777)
        try:
            run(["apt-get", "download", "-q", package], cwd=dest)
        except VMError:
            self._apt_update()
            run(["apt-get", "download", "-q", package], cwd=dest)
        debs = [f for f in os.listdir(dest) if f.endswith(".deb")]
        if len(debs) != 1:
            raise VMError("apt-get download %s gave %s" % (package, debs))
        return os.path.join(dest, debs[0])

    def _deb_version(self, deb):
        return run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()

    # -- kernel ------------------------------------------------------------------------------
    def _kernel(self):
        kroot = os.path.join(self.cache, "kernel")
        current = os.path.join(kroot, "current")
        if os.path.exists(current) and not os.environ.get("MEMHPD_VM_REFRESH"):
            with open(current) as f:
                kdir = os.path.join(kroot, f.read().strip())
            # A kit cached before a module joined GUEST_MODULES lacks its order file: fetch
            # the package again rather than fail at insmod in the guest.
            if os.path.exists(os.path.join(kdir, "release")) and all(
                    os.path.exists(os.path.join(kdir, "modules", m + ".order"))
                    for m in GUEST_MODULES):
                return kdir
            log("cached kernel kit %s is incomplete: fetching it again" % kdir)
        need_tool("dpkg-deb", "dpkg")
        package = self._resolve_kernel_package()
        os.makedirs(kroot, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".fetch-", dir=kroot)
        try:
            deb = self._download(package, tmp)
            # The module set is part of the name: a kit with more modules goes into a new
            # directory, never over one that a concurrent run may be reading.
            name = "%s_%s_m%d" % (package, self._deb_version(deb), len(GUEST_MODULES))
            kdir = os.path.join(kroot, name)
            if not os.path.exists(os.path.join(kdir, "release")):
                self._unpack_kernel(deb, os.path.join(tmp, "root"), os.path.join(tmp, "kit"))
                shutil.rmtree(kdir, ignore_errors=True)
                os.rename(os.path.join(tmp, "kit"), kdir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        with open(current + ".tmp", "w") as f:
            f.write(name + "\n")
        os.rename(current + ".tmp", current)
        return kdir

    def _unpack_kernel(self, deb, root, kit):
        log("unpacking %s" % os.path.basename(deb))
        os.makedirs(root)
        os.makedirs(kit)
        run(["dpkg-deb", "-x", deb, root])
        boot = os.path.join(root, "boot")
        vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")]
        if len(vmlinuz) != 1:
            raise VMError("expected one vmlinuz in %s, found %s" % (deb, vmlinuz))
        release = vmlinuz[0][len("vmlinuz-"):]
        config = os.path.join(boot, "config-" + release)
        with open(config) as f:
            cfg = f.read()
        missing = [o for o in KERNEL_OPTIONS if not re.search(r"^CONFIG_%s=[ym]$" % o, cfg, re.M)]
        if missing:
            raise VMError("guest kernel %s lacks %s" % (release, ", ".join(missing)))
        shutil.copy(config, os.path.join(kit, "config"))
        extract_vmlinux(os.path.join(boot, vmlinuz[0]), os.path.join(kit, "vmlinux"))
        mods = os.path.join(root, "lib", "modules", release)
        copy_modules(mods, os.path.join(kit, "modules"), GUEST_MODULES)
        with open(os.path.join(kit, "release"), "w") as f:
            f.write(release + "\n")

    # -- single programs out of a package ----------------------------------------------------
    def _program(self, package, member, name):
        """cache/NAME/NAME: one file (MEMBER, a path in the .deb) of a downloaded package."""
        exe = os.path.join(self.cache, name, name)
        if os.path.exists(exe) and not os.environ.get("MEMHPD_VM_REFRESH"):
            return exe
        need_tool("dpkg-deb", "dpkg")
        tmp = tempfile.mkdtemp(prefix=".fetch-", dir=self.cache)
        try:
            deb = self._download(package, tmp)
            run(["dpkg-deb", "-x", deb, os.path.join(tmp, "root")])
            os.makedirs(os.path.dirname(exe), exist_ok=True)
            shutil.copy(os.path.join(tmp, "root", member), exe + ".tmp")
            os.rename(exe + ".tmp", exe)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return exe

    def _busybox(self):
        return self._program("busybox-static", "bin/busybox", "busybox")

    def udevadm(self):
        """Debian's udevadm from the udev package, which runs as systemd-udevd under that name:
        the guest's udevd for the EventSource=udev scenario. Downloaded, not installed (the
        package would start udevd on the host)."""
        with open(os.path.join(self.cache, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._program("udev", "bin/udevadm", "udevadm")


    def ndctl(self):
        """cache/ndctl/root: ndctl, daxctl and their libraries from NDCTL_PACKAGES, unpacked
        (dpkg-deb -x) into one tree that is copied into the guest, never installed here."""
        root = os.path.join(self.cache, "ndctl", "root")
        with open(os.path.join(self.cache, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(os.path.join(root, "usr", "bin", "daxctl")) and \
                    not os.environ.get("MEMHPD_VM_REFRESH"):
                return root
            need_tool("dpkg-deb", "dpkg")
            tmp = tempfile.mkdtemp(prefix=".fetch-", dir=self.cache)
            try:
                for package in NDCTL_PACKAGES:
                    sub = os.path.join(tmp, package)
                    os.makedirs(sub)
                    run(["dpkg-deb", "-x", self._download(package, sub),
                         os.path.join(tmp, "root")])
                shutil.rmtree(os.path.dirname(root), ignore_errors=True)
                os.makedirs(os.path.dirname(root))
                os.rename(os.path.join(tmp, "root"), root)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return root


def extract_vmlinux(bzimage, out):
    """Cut the XZ stream out of the bzImage (what scripts/extract-vmlinux does).

    QEMU boots the ELF through its PVH note: no firmware, no in-guest XZ
    decompression, which is most of the boot time under TCG.
    """
    with open(bzimage, "rb") as f:
        data = f.read()
    pos = data.find(b"\xfd7zXZ\x00")
    while pos >= 0:
        try:
            elf = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data[pos:])
        except lzma.LZMAError:
            elf = b""
        if elf[:4] == b"\x7fELF":
            with open(out, "wb") as f:
                f.write(elf)
            return
        pos = data.find(b"\xfd7zXZ\x00", pos + 1)
    raise VMError("no XZ-compressed ELF in %s (kernel not CONFIG_KERNEL_XZ?)" % bzimage)


def _depends(path):
    """The depends= field of a .ko's .modinfo: no modinfo, the deb has no modules.dep."""
    with open(path, "rb") as f:
        m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", f.read())
    return [d for d in (m.group(1).decode().split(",") if m else []) if d]


def copy_modules(moddir, out, roots):
    """Copy each root module and its dependencies, flat, plus <root>.order files."""
    os.makedirs(out, exist_ok=True)
    index = {}
    for dirpath, _, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            if f.endswith(".ko"):
                index[f[:-3].replace("-", "_")] = os.path.join(dirpath, f)
            elif re.search(r"\.ko\.(xz|zst|gz)$", f):
                # Debian 12 ships plain .ko; newer kernels compress them.
                raise VMError("compressed module %s: not supported by this harness yet" % f)
    builtin = ""
    if os.path.exists(os.path.join(moddir, "modules.builtin")):
        with open(os.path.join(moddir, "modules.builtin")) as f:
            builtin = f.read().replace("-", "_")

    def order(name, seen):
        name = name.replace("-", "_")
        if name in seen:
            return []
        seen.add(name)
        if name not in index:
            if "/%s.ko" % name in builtin:
                return []
            raise VMError("kernel module %s not found" % name)
        chain = []
        for dep in _depends(index[name]):
            chain += order(dep, seen)
        shutil.copy(index[name], os.path.join(out, name + ".ko"))
        return chain + [name]

    for root in roots:
        with open(os.path.join(out, root + ".order"), "w") as f:
            f.write("\n".join(order(root, set())) + "\n")


# --------------------------------------------------------------------------------------------
# initramfs

class Cpio:
    """newc archive writer: no cpio package needed on the host."""

    def __init__(self):
        self.parts = []
        self.ino = 1
        self.names = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.lstrip("/")
        if name in self.names:
            return
        self.names.add(name)
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0))
        self.ino += 1
        self.parts += [hdr.encode(), nb, b"\0" * ((4 - (110 + len(nb)) % 4) % 4),
                       data, b"\0" * ((4 - len(data) % 4) % 4)]

    def dir(self, name):
        parent = os.path.dirname(name.rstrip("/"))
        if parent not in ("", "/"):
            self.dir(parent)
        self._entry(name, 0o040755)

    def file(self, name, src=None, data=None, mode=0o755):
        self.dir(os.path.dirname(name))
        if data is None:
            with open(src, "rb") as f:
                data = f.read()
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self.dir(os.path.dirname(name))
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name, major, minor):
        self.dir(os.path.dirname(name))
        self._entry(name, 0o020600, rdev=(major, minor))

    def write(self, path):
        self._entry("TRAILER!!!", 0)
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(b"".join(self.parts))


def shared_libs(exe, root=None):
    """The ELF interpreter and every shared library ldd resolves for exe; root: an unpacked
    package tree whose libraries come before the host's."""
    need_tool("ldd", "libc-bin")
    env = None
    if root:
        env = dict(os.environ, LD_LIBRARY_PATH=":".join(
            os.path.join(root, d, "x86_64-linux-gnu") for d in ("usr/lib", "lib")))
    out = run(["ldd", exe], check=False, env=env)
    if "not a dynamic executable" in out.stdout + out.stderr:
        return []
    libs = []
    for line in out.stdout.splitlines():
        if "not found" in line:
            raise VMError("%s: %s" % (exe, line.strip()))
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def compile_static(src, out):
    cc = os.environ.get("CC", "cc")
    need_tool(cc, "gcc")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libc.a"):
        raise VMError("static libc missing: install the Debian package libc6-dev")
    if os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(src):
        return out
    run([cc, "-O2", "-Wall", "-Wextra", "-static", "-o", out + ".tmp", src])
    os.rename(out + ".tmp", out)
    return out


# The guest's system bus: Debian's default-deny system bus (the D-Bus tier's template) with the
# project's policy for org.memhpd1, at the standard address.
SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket"
BUS_CONF = "/etc/dbus-1/memhpd-vm-system.conf"
BUS_POLICY = "/etc/dbus-1/system.d/org.memhpd1.conf"
SRC = os.path.dirname(os.path.dirname(HERE))


def add_program(cpio, guest_path, host_path, root=None):
    """An executable and every shared library ldd resolves for it, at their host paths (those
    found under root, an unpacked package tree, at their path inside it)."""
    cpio.file(guest_path, host_path)
    for lib in shared_libs(host_path, root):
        guest = lib[len(root):] if root and lib.startswith(root + "/") else lib
        cpio.file(guest, os.path.realpath(lib))


def add_ndctl(cpio, root):
    """ndctl and daxctl (the NVDIMM scenario's tools), from GuestKit.ndctl()'s tree."""
    for tool in ("ndctl", "daxctl"):
        add_program(cpio, "usr/bin/" + tool, os.path.join(root, "usr", "bin", tool), root)


def add_dbus(cpio, memhpctl):
    """dbus-daemon (started by the guest init when BUS_CONF exists), dbus-send for raw calls,
    memhpctl, and the users and groups the bus policy names."""
    with open(os.path.join(SRC, "tests", "dbus", "system-bus.conf.in")) as f:
        conf = f.read().replace("@LISTEN@", "unix:path=" + SYSTEM_BUS_SOCKET)
    cpio.file(BUS_CONF, data=conf.replace("@POLICY@", BUS_POLICY).encode(), mode=0o644)
    cpio.file(BUS_POLICY, os.path.join(SRC, "conf", "org.memhpd1.conf"), mode=0o644)
    cpio.file("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
    cpio.file("etc/group", data=b"root:x:0:\nmemhp:x:990:\n", mode=0o644)
    cpio.file("etc/machine-id", data=b"6d656d6870642d766d2d677565737400\n", mode=0o444)
    for name, package in (("dbus-daemon", "dbus-daemon"), ("dbus-send", "dbus-bin")):
        add_program(cpio, "usr/bin/" + name, need_tool(name, package))
    add_program(cpio, "usr/bin/memhpctl", memhpctl)


def build_initramfs(kit, work, memhpd=None, files=(), memhpctl=None, udevd=False,
                    ndctl=False):
    """files: (guest path, bytes) pairs added as they are (configs). memhpctl: also put the
    system bus, memhpctl and the tools of the D-Bus and hardening scenarios into the guest.
    udevd: also systemd-udevd (without any rules: it only re-broadcasts), which the guest
    init does not start. ndctl: also ndctl and daxctl."""
    cpio = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc/memhpd.conf.d", "proc", "sys", "dev",
              "tmp", "run", "root", "var"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.file("bin/busybox", kit.busybox)
    applets = run([kit.busybox, "--list"]).stdout.split()
    for a in applets:
        if a != "busybox":     # --list names itself: a link would shadow the binary
            cpio.symlink("bin/" + a, "busybox")
    cpio.file("init", os.path.join(HERE, "guest", "init"))
    cpio.file("bin/gt", os.path.join(HERE, "guest", "gt"))
    for tool in ("hpmon", "online-loop", "stepgate"):
        cpio.file("bin/" + tool, compile_static(os.path.join(HERE, tool + ".c"),
                                                os.path.join(work, tool)))
    moddir = os.path.join(kit.kdir, "modules")
    for f in sorted(os.listdir(moddir)):
        cpio.file("lib/modules/" + f, os.path.join(moddir, f), mode=0o644)
    # Read by gt before it touches sysfs: this file exists only in the guest.
    cpio.file("etc/memhpd-vm-guest", data=b"memhpd VM test guest\n", mode=0o644)
    if memhpd:
        add_program(cpio, "usr/sbin/memhpd", memhpd)
    if memhpctl:
        add_dbus(cpio, memhpctl)
    if udevd:
        add_program(cpio, "bin/udevadm", kit.udevadm())
        cpio.symlink("lib/systemd/systemd-udevd", "/bin/udevadm")
    if ndctl:
        add_ndctl(cpio, kit.ndctl())
    for path, data in files:
        cpio.file(path, data=data, mode=0o644)
    out = os.path.join(work, "initramfs.cpio.gz")
    cpio.write(out)
    return out


# --------------------------------------------------------------------------------------------
# QMP and the guest command channel

def _die_with_parent():
    """In the QEMU child: get SIGKILL when the harness dies, however it dies, so no VM is
    left running after a killed test."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _connect(path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise VMError("cannot connect to %s" % path)
            time.sleep(0.02)


class QMP:
    """One long-lived QMP connection. Events are per connection, so a
    DEVICE_DELETED is only seen here because device_del went out here too."""

    def __init__(self, path, timeout=10):
        self.sock = _connect(path, timeout)
        self.buf = b""
        self.events = []
        greeting = self._read(timeout)
        if "QMP" not in greeting:
            raise VMError("no QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise VMError("QMP connection closed (QEMU died?)")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=30, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read(timeout)
            if r is None:
                raise VMError("QMP %s: no answer in %ss" % (name, timeout))
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise VMError("QMP %s %s: %s" % (name, args, r["error"].get("desc", r["error"])))
            else:
                return r.get("return")

    def wait_event(self, name, timeout, match=lambda ev: True):
        """Return (and consume) the first event `name` satisfying match."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev["event"] == name and match(ev):
                    self.events.remove(ev)
                    return ev
            left = deadline - time.monotonic()
            r = self._read(left) if left > 0 else None
            if r is None:
                return None
            if "event" in r:
                self.events.append(r)


class Channel:
    """The guest's ttyS1 command loop, over one persistent socket connection."""

    RC = re.compile(rb"@@RC=(\d+)\n$")

    def __init__(self, path):
        self.sock = _connect(path, 10)
        self.buf = b""

    def _fill(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise VMError("guest command timed out: %s" % what)
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise VMError("guest command timed out: %s" % what)
        if not chunk:
            raise VMError("guest channel closed (guest died?)")
        self.buf += chunk

    def sh(self, command, timeout=30, on_go=None):
        """Run one shell line in the guest; returns (output, exit status).

        on_go: called once when the output shows a line starting with "@@GO"
        (hpmon wait --go), so the host can trigger a hot-add exactly when the
        guest's listener is in place.
        """
        if "\n" in command:
            raise ValueError("one line only: %r" % command)
        self.sock.sendall(command.encode() + b"\n")
        deadline = time.monotonic() + timeout
        go_done = on_go is None
        while True:
            m = self.RC.search(self.buf)
            if m:
                out = self.buf[:m.start()].decode(errors="replace")
                self.buf = self.buf[m.end():]
                if not go_done:
                    raise VMError("guest command ended before @@GO: %s: %s" % (command, out))
                return out, int(m.group(1))
            if not go_done and re.search(rb"(^|\n)@@GO [^\n]*\n", self.buf):
                go_done = True
                on_go()
                continue
            self._fill(deadline, command)

    def resync(self, timeout=30):
        """Wait until the guest loop answers a marker: at connect, and after a command timed
        out, so that the next command does not read the late output of the old one."""
        token = "@@SYNC%d" % time.monotonic_ns()
        self.sock.sendall(("echo %s\n" % token).encode())
        deadline = time.monotonic() + timeout
        while not self.buf.endswith(("%s\n@@RC=0\n" % token).encode()):
            self._fill(deadline, "resync after a timeout")
        self.buf = b""


# --------------------------------------------------------------------------------------------
# The VM

NVDIMM_SIZE = GiB


class VM:
    """QEMU with 3 NUMA nodes: 0 and 1 with a CPU and 512 MiB each, 2 with
    neither (it only comes online when memory is hot-added into it), a
    device-memory window for pc-dimms and one virtio-mem device (vm0, node 1,
    vmem_max: 2 GiB unless asked for more, 0 plugged).

    nvdimm: also a 1 GiB NVDIMM (nv0) on node 2, which then has neither CPU nor
    memory until dax kmem adds the NVDIMM's; the empty node for pc-dimms becomes
    node 3 (spare_node), because QEMU's SRAT gives the whole hotplug window to
    the last node and that is what makes a node without memory possible."""

    def __init__(self, kit, initrd, work, append="", accel=None, slots=16, maxmem="32G",
                 nvdimm=False, vmem_max="2G", vmem_block=None):
        self.kit, self.initrd, self.work = kit, initrd, work
        self.append = append
        self.nvdimm = nvdimm
        self.nvdimm_node = 2 if nvdimm else None
        self.spare_node = 3 if nvdimm else 2
        self.accel = accel or os.environ.get("MEMHPD_VM_ACCEL", "tcg")
        self.slots, self.maxmem, self.vmem_max = slots, maxmem, vmem_max
        self.vmem_block = vmem_block    # the device's block size; None: QEMU's default (2 MiB)
        self.proc = None
        self.console = os.path.join(work, "console.log")
        self.sockdir = tempfile.mkdtemp(prefix="memhpd-vm-")   # short: sun_path is 108 bytes
        self.boot_seconds = None

    def _argv(self):
        qemu = need_tool("qemu-system-x86_64", "qemu-system-x86")
        nodes = ["-numa", "node,nodeid=2"]
        if self.nvdimm:
            nodes = ["-numa", "node,nodeid=2", "-numa", "node,nodeid=3",
                     "-object", "memory-backend-ram,id=nvmem0,size=%d" % NVDIMM_SIZE,
                     "-device", "nvdimm,id=nv0,memdev=nvmem0,node=%d" % self.nvdimm_node]
        return [
            qemu, "-machine", "pc,nvdimm=on" if self.nvdimm else "pc", "-accel", self.accel,
            "-cpu", "qemu64",
            "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-nic", "none",
            # One CPU per socket: two cores of one socket on two NUMA nodes
            # make the guest WARN in topology_sane().
            "-smp", "2,sockets=2,cores=1,threads=1",
            # slots + maxmem create the hot-pluggable device-memory window.
            "-m", "1G,slots=%d,maxmem=%s" % (self.slots, self.maxmem),
            "-object", "memory-backend-ram,id=ram0,size=512M",
            "-object", "memory-backend-ram,id=ram1,size=512M",
            "-numa", "node,nodeid=0,cpus=0,memdev=ram0",
            "-numa", "node,nodeid=1,cpus=1,memdev=ram1",
            # SRAT puts the whole hotplug window on the last node, which is
            # what makes a node without CPU and memory "possible" in the guest.
            *nodes,
            "-object", "memory-backend-ram,id=vmem0,size=%s" % self.vmem_max,
            "-device", "virtio-mem-pci,id=vm0,memdev=vmem0,node=1,requested-size=0"
            + (",block-size=%s" % self.vmem_block if self.vmem_block else ""),
            "-kernel", self.kit.vmlinux, "-initrd", self.initrd,
            # panic=-1 + -no-reboot: a guest panic ends QEMU instead of hanging.
            # memhpd_vm_guest: the marker gt checks before it touches sysfs.
            "-append", "console=ttyS0 panic=-1 memhpd_vm_guest " + self.append,
            "-no-reboot",
            "-chardev", "file,id=con,path=%s" % self.console, "-serial", "chardev:con",
            "-chardev", "socket,id=ctl,path=%s/ctl,server=on,wait=off" % self.sockdir,
            "-serial", "chardev:ctl",
            "-qmp", "unix:%s/qmp,server=on,wait=off" % self.sockdir,
        ]

    def start(self, timeout=120):
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout):
        if os.path.exists(self.console):
            os.unlink(self.console)
        t0 = time.monotonic()
        with open(os.path.join(self.work, "qemu.log"), "w") as qemu_log:
            self.proc = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL, stdout=qemu_log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        while True:
            if self.proc.poll() is not None:
                raise VMError("QEMU exited (%d) during boot:\n%s" % (
                    self.proc.returncode, self.tail(20, os.path.join(self.work, "qemu.log"))
                    + self.tail(20)))
            try:
                with open(self.console, "rb") as f:
                    if b"@@READY" in f.read():
                        break
            except FileNotFoundError:
                pass
            if time.monotonic() - t0 > timeout:
                raise VMError("guest not ready after %ds:\n%s" % (timeout, self.tail(30)))
            time.sleep(0.02)
        self.boot_seconds = time.monotonic() - t0
        self.qmp = QMP(os.path.join(self.sockdir, "qmp"))
        self.chan = Channel(os.path.join(self.sockdir, "ctl"))
        self.chan.resync(10)        # proves the loop reads and answers before any real command
        return self

    def tail(self, n, path=None):
        try:
            with open(path or self.console, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp.cmd("quit", timeout=5)
            except (VMError, OSError, AttributeError):    # AttributeError: no QMP yet
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- guest commands ----------------------------------------------------------------------
    def sh(self, command, timeout=30, on_go=None):
        return self.chan.sh(command, timeout, on_go)

    def must(self, command, timeout=30):
        out, rc = self.sh(command, timeout)
        if rc:
            raise VMError("guest: '%s' exited %d: %s" % (command, rc, out.strip()[-1000:]))
        return out

    def put(self, path, text):
        self.must("gt put %s %s" % (path, base64.b64encode(text.encode()).decode()))

    def blocks(self, names=()):
        """{block: (state, node, [zones])} as the guest kernel shows them."""
        res = {}
        for line in self.must("gt blocks " + " ".join(names)).splitlines():
            # A block that virtio-mem removes while gt reads it can make busybox sh complain
            # (its redirect error escapes the group's 2>/dev/null): not a record, skip it.
            if len(line.split()) != 4 or not line.startswith("memory"):
                continue
            name, state, node, zones = line.split()
            res[name] = (state, node, zones.split(","))
        return res

    def zones(self):
        """{(node, zone): present pages} from the guest's /proc/zoneinfo."""
        res = {}
        for line in self.must("gt zones").splitlines():
            node, zone, present = line.split()
            res[(int(node), zone)] = int(present)
        return res

    # -- hotplug -----------------------------------------------------------------------------
    def dimm_backend(self, dimm_id, size):
        self.qmp.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "m-" + dimm_id,
                                      "size": size})

    def plug_dimm(self, dimm_id, node):
        """device_add a pc-dimm on the backend dimm_backend() made for the same id."""
        self.qmp.cmd("device_add", driver="pc-dimm", id=dimm_id, memdev="m-" + dimm_id,
                     node=node)

    def add_dimm(self, dimm_id, node, size, timeout=30):
        """Hot-add a pc-dimm; returns (guest time before device_add, [(t, block)...])
        of its "add" uevents, as seen by a listener bound before the trigger."""
        def trigger():
            self.dimm_backend(dimm_id, size)
            self.plug_dimm(dimm_id, node)
        out, rc = self.sh("hpmon wait --go add %d %d" % (size // BLOCK, timeout * 1000),
                          timeout=timeout + 10, on_go=trigger)
        t0, events = parse_wait(out, rc, "add of %s" % dimm_id)
        return t0, [(t, block) for t, action, block in events if action == "add"]

    def del_dimm(self, dimm_id, timeout=30):
        """device_del + wait for DEVICE_DELETED; True if the DIMM is gone."""
        self.qmp.cmd("device_del", id=dimm_id)
        ev = self.qmp.wait_event("DEVICE_DELETED", timeout,
                                 lambda e: e.get("data", {}).get("device") == dimm_id)
        if ev is None:
            return False
        self.qmp.cmd("object-del", id="m-" + dimm_id)
        return True

    def vmem_size(self):
        return self.qmp.cmd("qom-get", path="vm0", property="size")

    def vmem_request(self, size):
        self.qmp.cmd("qom-set", path="vm0", property="requested-size", value=size)


def parse_wait(out, rc, what):
    """hpmon wait output -> (guest time at @@GO, [(time, action, block)...])."""
    t0, events = None, []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "@@GO":
            t0 = float(f[1])
        elif len(f) == 3 and re.match(r"^\d+\.\d+$", f[0]):
            events.append((float(f[0]), f[1], f[2]))
    if rc:
        raise VMError("%s: %s" % (what, out.strip()))
    return t0, events


def install_signal_handlers():
    """meson stops a test with SIGTERM on timeout: turn it into SystemExit so
    `with VM(...)` shuts QEMU down instead of leaving it running."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


# --------------------------------------------------------------------------------------------
# What both tiers' drivers share: check reporting, running a scenario, the interactive shell

class Checks:
    """One `ok`/`FAIL` line per check, counted; the tiers' Tier classes build on it."""

    def __init__(self):
        self.passed = self.failed = 0
        self.scenario = "-"

    def check(self, desc, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   %s: %s" % (self.scenario, desc), flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s%s" % (self.scenario, desc, "  [%s]" % detail if detail else ""),
                  flush=True)
        return bool(ok)

    @staticmethod
    def note(text):
        for line in str(text).strip().splitlines():
            print("#    %s" % line, flush=True)

    @staticmethod
    def bench(name, value, unit):
        print("BENCH %s %s %s" % (name, value, unit), flush=True)

    def run_scenario(self, vm, fn):
        """fn(); a VMError (a guest command failed or timed out) is a failed check, and the
        channel is resynchronised for the next scenario. False if the guest no longer answers."""
        try:
            fn()
        except VMError as e:
            self.check("scenario ran to the end", False, str(e)[-1500:])
            try:
                vm.chan.resync()
            except VMError as e2:
                self.check("guest still answers", False, str(e2))
                return False
        return True

    @property
    def exit_status(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed or not self.passed else 0


def shell(vm, timeout):
    """Drive a booted guest by hand: stdin lines go to the guest shell, '!cmd k=v ...' to QMP."""
    print("guest ready (%.1f s). Lines go to the guest shell; '!cmd k=v ...' goes to QMP, e.g. "
          "'!object-add qom-type=memory-backend-ram id=m-d1 size=1073741824' then "
          "'!device_add driver=pc-dimm id=d1 memdev=m-d1 node=1'. Ctrl-D quits."
          % vm.boot_seconds)
    for line in sys.stdin:
        line = line.rstrip("\n")
        try:
            if line.startswith("!"):
                name, *kv = line[1:].split()
                a = {k: int(v) if v.isdigit() else v for k, v in (x.split("=", 1) for x in kv)}
                print(vm.qmp.cmd(name, **a))
            elif line:
                out, rc = vm.sh(line, timeout=timeout)
                sys.stdout.write(out + ("" if rc == 0 else "[rc=%d]\n" % rc))
        except VMError as e:
            print("error: %s" % e)
    return 0
