# SPDX-License-Identifier: LGPL-2.1-or-later
"""The system tier's guest root: a Debian 12 tree made by mmdebstrap, cached, and the per-run
disk image made from it with the package under test installed.

The cache (like the VM tier's kernel cache) is keyed by everything the tree is made from: the
package list, the apt sources, the hooks and this file's FORMAT. A warm run reads the cache and
needs no network; a changed list builds a new tree next to the old one. Python stdlib only.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import vmlib
from vmlib import VMError, log, need_tool, run

# Bump when the way the tree is made changes in a way the inputs below do not show.
FORMAT = 1

# What the guest runs besides memhpd: systemd as PID 1, the system bus, udev, memhpd's runtime
# libraries, the kernel (its initramfs is built in the tree) and what the scenarios read with.
# Add a package here and the next run builds a new root.
ROOT_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "udev", "kmod", "procps", "zstd",
    "libudev1", "libsystemd0", "libnuma1", "libinih1", "libsmartcols1",
    "linux-image-amd64", "initramfs-tools",
]

SUITE = "bookworm"
# The machine's own Debian mirror: deb822 (Debian 12's default), else the one-line format.
SOURCES_FILES = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]


def sources_file():
    for f in SOURCES_FILES:
        if os.path.exists(f) and os.path.getsize(f) > 0:
            return f
    raise VMError("no apt sources in %s: the guest root is built from the machine's configured "
                  "Debian mirror" % " or ".join(SOURCES_FILES))

# A small initramfs: the root is a virtio disk with ext4, nothing else is needed to mount it.
ESSENTIAL_HOOK = (
    'mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d" && '
    'echo MODULES=list > "$1/etc/initramfs-tools/conf.d/memhpd-test" && '
    'printf "virtio_pci\\nvirtio_blk\\next4\\n" > '
    '"$1/usr/share/initramfs-tools/modules.d/memhpd-test"')

# Once the packages are in: an fstab, a machine id (mmdebstrap leaves it empty and
# systemd-firstboot would then ask for one on the console), two plain users for the bus
# scenarios, a persistent journal off (volatile is faster and enough), and no timers that wake
# apt or fstrim in the middle of a measurement.
CUSTOMIZE_HOOKS = [
    'echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"',
    'chroot "$1" systemd-machine-id-setup',
    'chroot "$1" useradd -m -s /bin/bash alice',
    'chroot "$1" useradd -m -s /bin/bash bob',
    'echo memhpd-guest > "$1/etc/hostname"',
    'rm -f "$1"/etc/systemd/system/timers.target.wants/*',
]

# Module directories the guest never loads from (no such hardware under QEMU -nodefaults):
# dropped from the tree after the initramfs is built, which halves what each run copies.
PRUNE_MODULES = ["drivers/gpu", "drivers/net", "drivers/media", "drivers/infiniband",
                 "drivers/scsi", "drivers/staging", "drivers/usb", "drivers/hid",
                 "drivers/bluetooth", "drivers/iio", "drivers/input", "drivers/md",
                 "drivers/mtd", "drivers/isdn", "drivers/net", "drivers/nfc", "drivers/pinctrl",
                 "drivers/power", "drivers/regulator", "drivers/rtc", "drivers/spi",
                 "drivers/target", "drivers/thunderbolt", "drivers/video", "drivers/watchdog",
                 "drivers/w1", "drivers/hwmon", "drivers/leds", "drivers/mmc", "drivers/mfd",
                 "drivers/ata", "drivers/crypto", "drivers/edac", "drivers/firewire",
                 "drivers/gnss", "drivers/i2c", "drivers/misc", "drivers/nvme",
                 "drivers/platform", "drivers/soundwire", "drivers/ssb", "drivers/bcma",
                 "drivers/atm", "drivers/cdrom", "drivers/parport", "drivers/uio",
                 "drivers/vfio", "drivers/vhost", "sound", "net", "fs/btrfs", "fs/xfs",
                 "fs/ocfs2", "fs/nfs", "fs/nfsd", "fs/cifs", "fs/smb", "fs/ceph", "fs/gfs2",
                 "fs/f2fs", "fs/ubifs", "fs/jffs2", "fs/ntfs3", "fs/dlm", "fs/afs",
                 "fs/reiserfs", "fs/nilfs2", "fs/bcachefs", "fs/erofs", "fs/orangefs",
                 "fs/coda", "fs/9p", "fs/fuse", "fs/udf", "fs/isofs", "fs/jfs", "fs/hfsplus",
                 "fs/hfs", "fs/ufs", "fs/squashfs", "fs/cachefiles", "fs/fscache",
                 "fs/nls", "fs/smbfs_common", "fs/ksmbd", "fs/quota", "fs/lockd", "fs/nfs_common",
                 "crypto", "arch/x86/crypto", "arch/x86/kvm", "lib/raid6"]

MMDEBSTRAP_OPTS = [
    "--variant=minbase",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
]


def default_cache_dir(fallback):
    """$MEMHPD_SYSTEM_CACHE, else /var/cache/memhpd-system if we may write there, else
    fallback (the work dir: then every fresh build dir builds its own root)."""
    return vmlib.cache_dir("MEMHPD_SYSTEM_CACHE", "/var/cache/memhpd-system", fallback)


def root_key():
    """A digest of everything the cached tree is made from."""
    with open(sources_file()) as f:
        sources = f.read()
    spec = {"format": FORMAT, "packages": sorted(ROOT_PACKAGES), "suite": SUITE,
            "sources": sources, "opts": MMDEBSTRAP_OPTS, "essential": ESSENTIAL_HOOK,
            "customize": CUSTOMIZE_HOOKS, "prune": PRUNE_MODULES}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


class RootCache:
    """cache/root-<key>/{tree/, vmlinux, initrd.img, release, build.json}."""

    def __init__(self, cache):
        self.cache = os.path.abspath(cache)
        os.makedirs(self.cache, exist_ok=True)
        self.key = root_key()
        self.dir = os.path.join(self.cache, "root-" + self.key)
        self.tree = os.path.join(self.dir, "tree")
        self.vmlinux = os.path.join(self.dir, "vmlinux")
        self.initrd = os.path.join(self.dir, "initrd.img")
        self.build_seconds = None

    def ready(self):
        return os.path.exists(os.path.join(self.dir, "build.json"))

    def prepare(self):
        """The cached root, built first if missing. Two build dirs may share the cache."""
        with open(os.path.join(self.cache, ".lock"), "w") as lock:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.ready() or os.environ.get("MEMHPD_SYSTEM_REFRESH"):
                self._build()
        with open(os.path.join(self.dir, "build.json")) as f:
            info = json.load(f)
        self.release = info["release"]
        return self

    def _build(self):
        need_tool("mmdebstrap", "mmdebstrap")
        need_tool("chroot", "coreutils")
        if os.geteuid() != 0:
            raise VMError("building the guest root needs root (mmdebstrap, chroot)")
        tmp = tempfile.mkdtemp(prefix=".build-", dir=self.cache)
        try:
            t0 = time.monotonic()
            tree = os.path.join(tmp, "tree")
            log("mmdebstrap %s into %s (one time; cached as root-%s)" % (SUITE, self.cache,
                                                                       self.key))
            argv = ["mmdebstrap", "--quiet"] + MMDEBSTRAP_OPTS + [
                "--include=" + ",".join(ROOT_PACKAGES),
                "--essential-hook=" + ESSENTIAL_HOOK]
            argv += ["--customize-hook=" + h for h in CUSTOMIZE_HOOKS]
            argv += [SUITE, tree, sources_file()]
            run(argv, stdout=subprocess.DEVNULL)
            t_debootstrap = time.monotonic() - t0
            boot = os.path.join(tree, "boot")
            vmlinuz = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
            if len(vmlinuz) != 1:
                raise VMError("expected one kernel in the guest root, found %s" % vmlinuz)
            release = vmlinuz[0][len("vmlinuz-"):]
            vmlib.extract_vmlinux(os.path.join(boot, vmlinuz[0]), os.path.join(tmp, "vmlinux"))
            shutil.copy(os.path.join(boot, "initrd.img-" + release),
                        os.path.join(tmp, "initrd.img"))
            # The kernel is booted from outside (PVH vmlinux): the tree needs neither copy.
            for f in os.listdir(boot):
                if f.startswith(("vmlinuz-", "initrd.img-", "System.map-")):
                    os.unlink(os.path.join(boot, f))
            mods = os.path.join(tree, "lib", "modules", release, "kernel")
            for d in PRUNE_MODULES:
                shutil.rmtree(os.path.join(mods, d), ignore_errors=True)
            run(["depmod", "-b", tree, release]) if shutil.which("depmod") else \
                run(["chroot", tree, "depmod", release])
            info = {"key": self.key, "release": release, "packages": ROOT_PACKAGES,
                    "mmdebstrap_seconds": round(t_debootstrap, 1),
                    "build_seconds": round(time.monotonic() - t0, 1),
                    "size_mb": tree_size_mb(tree)}
            with open(os.path.join(tmp, "build.json"), "w") as f:
                json.dump(info, f, indent=1)
            shutil.rmtree(self.dir, ignore_errors=True)
            os.rename(tmp, self.dir)
            self.build_seconds = info["build_seconds"]
            log("guest root built in %.1f s (mmdebstrap %.1f s), %d MB"
                % (info["build_seconds"], t_debootstrap, info["size_mb"]))
            print("BENCH system_root_build_s %.1f s" % info["build_seconds"], flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def tree_size_mb(path):
    out = run(["du", "-sm", path]).stdout.split()
    return int(out[0]) if out else 0
