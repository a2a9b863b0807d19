# SPDX-License-Identifier: LGPL-2.1-or-later
"""The sandbox, live: in memhpd's mount namespace /sys and /run are read-only except
/sys/devices/system/memory and /run/memhpd, and the rest of the file system is read-only; its
capability sets are the unit's bounding set; systemd-analyze security memhpd is 2.0 or less."""
import re

# linux/capability.h
CAPS = ["chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
        "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
        "net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
        "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
        "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
        "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
        "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore"]

# path: writable inside memhpd's namespace?
EXPECT = [("/sys", False), ("/sys/kernel/mm/transparent_hugepage/enabled", False),
          ("/sys/devices/system/memory", True), ("/sys/devices/system/memory/memory0/state", True),
          ("/run", False), ("/run/systemd", False), ("/run/memhpd", True),
          ("/", False), ("/etc", False), ("/usr", False), ("/var", False)]


def mount_of(mounts, path):
    """The mount that decides `path`: the longest mount point above it, the last of equals."""
    best = None
    for point, opts in mounts:
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best[0]):
                best = (point, opts)
    return best


def run(t):
    pid = t.memhpd_pid()
    mounts = []
    for line in t.must("cat /proc/%d/mountinfo" % pid).splitlines():
        f = line.split()
        mounts.append((f[4].replace("\\040", " "), f[5].split(",")))
    for path, writable in EXPECT:
        point, opts = mount_of(mounts, path)
        ro = "ro" in opts
        _, rc = t.sh("nsenter -t %d -m test -w %s" % (pid, path))
        t.check("%s %s in memhpd's namespace (mount %s %s; access(W_OK) %s)" % (
            path, "writable" if writable else "read-only", point, "ro" if ro else "rw",
            "ok" if rc == 0 else "refused"), ro != writable and (rc == 0) == writable,
            "mount %s %s, test -w exit %d" % (point, ",".join(opts), rc))
    _, rc = t.sh("test -w /run && test -w /sys/kernel/mm/transparent_hugepage/enabled")
    t.check("outside it (the test shell) /run and /sys are writable: the checks can tell",
            rc == 0)

    status = dict(line.split(":\t", 1) for line in
                  t.must("cat /proc/%d/status" % pid).splitlines() if ":\t" in line)
    names = t.show("memhpd", "CapabilityBoundingSet")["CapabilityBoundingSet"].split()
    mask = 0
    for n in names:
        mask |= 1 << CAPS.index(n.lower().replace("cap_", "", 1))
    got = {k: int(status[k].strip(), 16) for k in ("CapBnd", "CapPrm", "CapEff", "CapInh",
                                                  "CapAmb")}
    t.check("CapBnd = the unit's CapabilityBoundingSet (%s = %#x)" % (" ".join(names), mask),
            got["CapBnd"] == mask, "%#x" % got["CapBnd"])
    t.check("CapPrm and CapEff within it, CapInh and CapAmb empty",
            got["CapPrm"] & ~mask == 0 and got["CapEff"] & ~mask == 0 and not got["CapInh"]
            and not got["CapAmb"], str({k: hex(v) for k, v in got.items()}))
    # CAP_SYS_ADMIN only opens /proc/iomem at start; memhpd drops it before it serves.
    sys_admin = 1 << CAPS.index("sys_admin")
    t.check("CAP_SYS_ADMIN in the bounding set, not in CapPrm/CapEff: memhpd dropped it after "
            "opening /proc/iomem", bool(got["CapBnd"] & sys_admin) and
            not (got["CapPrm"] | got["CapEff"]) & sys_admin,
            str({k: hex(v) for k, v in got.items()}))
    t.check("NoNewPrivs 1, Seccomp 2 (filter)", status.get("NoNewPrivs", "").strip() == "1"
            and status.get("Seccomp", "").strip() == "2",
            "%s %s" % (status.get("NoNewPrivs"), status.get("Seccomp")))

    out, _ = t.sh("systemd-analyze security memhpd --no-pager", timeout=60)
    m = re.search(r"Overall exposure level for memhpd.service: ([0-9.]+)", out)
    level = float(m.group(1)) if m else None
    t.check("systemd-analyze security memhpd, live: exposure %s <= 2.0" % level,
            level is not None and level <= 2.0, out.strip()[-300:])
    if level is not None:
        t.bench("system_security_exposure", level, "exposure")
