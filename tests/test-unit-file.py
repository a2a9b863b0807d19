#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Holds systemd/memhpd.service to its claims, without a running systemd:

1. systemd-analyze verify accepts it;
2. systemd-analyze security --offline=yes --threshold=20 passes (exposure <= 2.0);
3. every system call memhpd makes (traced with strace through start-up, coldplug writes, a
   private system bus with a D-Bus operation, a reload, an idle loop and SIGTERM) is allowed
   by the unit's SystemCallFilter= lines, expanded with systemd-analyze syscall-filter. A
   filter that misses one would fail that call with EPERM in production;
4. the capabilities are what memhpd(8) says: the bounding set is CAP_NET_ADMIN and
   CAP_SYS_ADMIN, and (when the test has CAP_SYS_ADMIN to give) the trace shows memhpd opening
   proc/iomem, then dropping CAP_SYS_ADMIN with capset, before it listens for uevents (and
   so before the bus, which comes later).

Usage: test-unit-file.py UNIT MEMHPD SOURCE_ROOT
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import memhp_api

API = memhp_api.load()

SKIP = 77


def groups():
    """{'@name': set(members)} from systemd-analyze syscall-filter."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True,
                         check=True).stdout
    g, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = g.setdefault(line.strip(), set())
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.add(line.strip())
    return g


def expand(names, g, seen=None):
    seen = seen if seen is not None else set()
    out = set()
    for n in names:
        if n.startswith("@"):
            if n in seen:
                continue
            seen.add(n)
            out |= expand(g.get(n, set()), g, seen)
        else:
            out.add(n)
    return out


def allowed_syscalls(unit_text, g):
    """Applies the SystemCallFilter= lines in order, as systemd does for an allow list."""
    allowed = set()
    for line in unit_text.splitlines():
        m = re.match(r"^SystemCallFilter=(~?)(.*)$", line.strip())
        if not m:
            continue
        names = expand(m.group(2).split(), g)
        if m.group(1):
            allowed -= names
        else:
            allowed |= names
    # @default is always allowed by systemd.
    return allowed | expand(["@default"], g)


def make_tree(root):
    mem = os.path.join(root, "sys/devices/system/memory")
    os.makedirs(os.path.join(root, "sys/devices/system/node/node0"))
    os.makedirs(mem)
    with open(os.path.join(mem, "block_size_bytes"), "w") as f:
        f.write("8000000\n")
    with open(os.path.join(mem, "auto_online_blocks"), "w") as f:
        f.write("offline\n")
    os.makedirs(os.path.join(root, "proc"))
    with open(os.path.join(root, "proc/iomem"), "w") as f:
        f.write("00000000-00000fff : Reserved\n00001000-7fffffff : System RAM\n")
    for i in range(4):
        d = os.path.join(mem, f"memory{i}")
        os.mkdir(d)
        with open(os.path.join(d, "state"), "w") as f:
            f.write("offline\n")
        with open(os.path.join(d, "valid_zones"), "w") as f:
            f.write("Normal Movable\n")
        os.symlink("../../node/node0", os.path.join(d, "node0"))


def start_bus(root, src):
    listen = "unix:path=" + os.path.join(root, "bus")
    with open(os.path.join(src, "tests/dbus/system-bus.conf.in")) as f:
        conf = f.read().replace("@LISTEN@", listen).replace(
            "@POLICY@", os.path.join(src, "conf/org.memhpd1.conf"))
    path = os.path.join(root, "bus.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["dbus-daemon", "--config-file=" + path, "--nofork", "--nopidfile"],
                            stderr=subprocess.DEVNULL)
    for _ in range(500):
        if subprocess.run(["busctl", "--address=" + listen, "list"],
                          capture_output=True).returncode == 0:
            return proc, listen
        time.sleep(0.01)
    proc.kill()
    sys.exit("private dbus-daemon did not come up")


def traced_syscalls(memhpd, src):
    with tempfile.TemporaryDirectory() as root:
        make_tree(root)
        bus, address = start_bus(root, src)
        conf = os.path.join(root, "memhpd.conf")
        with open(conf, "w") as f:
            f.write("[Policy]\nDefault=online_movable\n[Offline]\nTimeoutSec=5\n")
        trace = os.path.join(root, "trace")
        env = dict(os.environ, MEMHP_TESTING="1", DBUS_SYSTEM_BUS_ADDRESS=address,
                   RUNTIME_DIRECTORY=os.path.join(root, "run"))
        os.mkdir(os.path.join(root, "run"))
        log = open(os.path.join(root, "log"), "w+")
        p = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, memhpd, "--sysroot", root,
                              "--config", conf, "--log-level", "debug"],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            log.seek(0)
            if "Startup scan complete" in log.read():
                break
            time.sleep(0.05)
        else:
            p.kill()
            sys.exit("memhpd did not finish its start-up under strace")
        # SIGHUP: reload + rescan; then idle; then SIGTERM: clean stop. strace is the parent
        # process here, so memhpd is its child.
        child = None
        for _ in range(100):
            try:
                child = int(subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                           text=True).stdout.split()[0])
                break
            except (IndexError, ValueError):
                time.sleep(0.05)
        for _ in range(500):
            log.seek(0)
            if f"Serving {API['MEMHP_BUS_NAME']}" in log.read():
                break
            time.sleep(0.02)
        busctl = ["busctl", "--address=" + address]
        obj = ["call", API["MEMHP_BUS_NAME"], API["MEMHP_BUS_PATH"], API["MEMHP_BUS_INTERFACE"]]
        calls = [obj + ["ListBlocks"], obj + ["ListNodes"], obj + ["OfflineBlocks", "au", "1", "1"]]
        for c in calls:
            r = subprocess.run(busctl + c, capture_output=True, text=True, timeout=30)
            if r.returncode != 0 and "OfflineBlocks" not in c:
                sys.exit(f"busctl {' '.join(c)} failed: {r.stderr}")
        os.kill(child, signal.SIGHUP)
        time.sleep(1.0)
        os.kill(child, signal.SIGTERM)
        p.wait(timeout=30)
        bus.terminate()
        bus.wait()
        log.seek(0)
        text = log.read()
        if "Configuration reloaded" not in text or "Stopped after" not in text:
            sys.exit("memhpd did not reload and stop cleanly under strace:\n" + text[-2000:])
        with open(trace) as f:
            return [line for line in f if re.match(r"^\d+\s+\w+\(", line)]


def has_cap(cap):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def check_capabilities(text, lines):
    """Returns the number of problems with the unit's capabilities and memhpd's use of them."""
    failed = 0
    bset = [ln.split("=", 1)[1].split() for ln in text.splitlines()
            if ln.startswith("CapabilityBoundingSet=")]
    print(f"CapabilityBoundingSet: {bset}")
    failed += bset != [["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]]

    def first(pattern):
        return next((i for i, ln in enumerate(lines) if re.search(pattern, ln)), None)
    iomem, capset, sock = first(r'openat\(.*proc/iomem"'), first(r"\bcapset\("), \
        first(r"\bsocket\(AF_NETLINK")
    if not has_cap(21):  # CAP_SYS_ADMIN
        print("capabilities: the test lacks CAP_SYS_ADMIN, so memhpd has none to drop; order "
              f"not checked (proc/iomem opened at line {iomem})")
        return failed + (iomem is None)
    print(f"capabilities: proc/iomem opened at trace line {iomem}, capset at {capset}, the "
          f"uevent socket at {sock}")
    failed += None in (iomem, capset, sock) or not iomem < capset < sock
    return failed


def main():
    unit, memhpd, src = sys.argv[1], sys.argv[2], sys.argv[3]
    for tool in ("systemd-analyze", "strace", "dbus-daemon", "busctl"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed")
            return SKIP
    text = open(unit).read()
    failed = 0

    with tempfile.TemporaryDirectory() as d:
        # verify wants ExecStart= to exist: point it at the built binary.
        path = os.path.join(d, "memhpd.service")
        with open(path, "w") as f:
            f.write(re.sub(r"^ExecStart=.*$", f"ExecStart={os.path.abspath(memhpd)}", text,
                           flags=re.M))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True)
        print(f"systemd-analyze verify: exit {r.returncode} {r.stderr.strip()}")
        failed += r.returncode != 0
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20",
                            path], capture_output=True, text=True)
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        print(f"systemd-analyze security: exit {r.returncode}, exposure "
              f"{level.group(1) if level else '?'}")
        failed += r.returncode != 0

    g = groups()
    allowed = allowed_syscalls(text, g)
    lines = traced_syscalls(memhpd, src)
    used = {re.match(r"^\d+\s+(\w+)\(", ln).group(1) for ln in lines}
    # strace names the exec that starts the trace too; systemd runs that before the filter.
    missing = sorted(c for c in used - allowed if c != "execve")
    print(f"memhpd used {len(used)} system calls; not allowed by the unit's filter: "
          f"{', '.join(missing) or 'none'}")
    failed += bool(missing)
    failed += check_capabilities(text, lines)
    print("unit file: " + ("FAIL" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
