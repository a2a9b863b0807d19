#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd --check-config: the INI dump, then the effective policy and its rule for every source
on every possible node of the sysroot, on the platform detected there (fixture trees: generic,
Hyper-V, Xen, s390; no node directory; no sysroot at all).

Usage: test-check-config.py MEMHPD
"""
import os
import re
import subprocess
import sys
import tempfile

SOURCES = ["unknown", "boot", "dimm", "virtio-mem", "dax", "hyperv-balloon", "xen-balloon"]
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def tree(root, files):
    for path, content in files.items():
        full = os.path.join(root, path)
        if content is None:
            os.makedirs(full, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)


def run(memhpd, sysroot, config):
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(config)
        f.flush()
        p = subprocess.run([memhpd, "--check-config", "--config", f.name, "--sysroot", sysroot],
                           capture_output=True, text=True,
                           env=dict(os.environ, MEMHP_TESTING="1"))
    check(p.returncode == 0, f"exit 0 for {sysroot} (stderr: {p.stderr.strip()})")
    rows = {}
    platform = None
    for line in p.stdout.splitlines():
        m = re.match(r"^# Platform: (\S+)$", line)
        if m:
            platform = m.group(1)
        m = re.match(r"^# (\d+) +(\S+) +(\S+) +(.+)$", line)
        if m:
            rows[(int(m.group(1)), m.group(2))] = (m.group(3), m.group(4))
    check(p.stdout.startswith("[Daemon]\n"), "the INI dump comes first")
    return platform, rows, p.stderr


def main():
    memhpd = sys.argv[1]
    conf = ("[Policy]\nDefault=auto\n[Node 1]\nPolicy=online_kernel\n"
            "[Source virtio-mem]\nPolicy=online\n[Node 3 Source dax]\nPolicy=ignore\n")
    with tempfile.TemporaryDirectory() as tmp:
        hv = os.path.join(tmp, "hyperv")
        tree(hv, {"sys/devices/system/memory": None, "sys/bus/vmbus/drivers": None,
                  "sys/devices/system/node/possible": "0-1,3\n"})
        platform, rows, _ = run(memhpd, hv, conf)
        check(platform == "hyperv", f"Hyper-V fixture: platform {platform}")
        check(set(rows) == {(n, s) for n in (0, 1, 3) for s in SOURCES},
              f"one row per possible node (0, 1, 3) and source: {sorted(rows)}")
        check(rows.get((0, "unknown"), ("",))[0] == "online" and
              rows[(0, "unknown")][1].startswith("Default=auto: on Hyper-V"),
              f"node 0 unknown on Hyper-V: online by Default=auto: {rows.get((0, 'unknown'))}")
        check(rows.get((0, "dimm"), ("",))[0] == "auto-movable",
              f"node 0 dimm: auto-movable {rows.get((0, 'dimm'))}")
        check(rows.get((0, "virtio-mem")) == ("online", "[Source virtio-mem]"),
              f"node 0 virtio-mem: [Source virtio-mem] {rows.get((0, 'virtio-mem'))}")
        check(all(rows.get((1, s)) == ("online_kernel", "[Node 1]") for s in SOURCES),
              "node 1: [Node 1] for every source, [Source virtio-mem] included")
        check(rows.get((3, "dax")) == ("ignore", "[Node 3 Source dax]"),
              f"node 3 dax: [Node 3 Source dax] {rows.get((3, 'dax'))}")
        check(rows.get((3, "boot"), ("",))[0] == "ignore", "boot memory: ignore")

        xen = os.path.join(tmp, "xen")
        tree(xen, {"sys/devices/system/memory": None, "sys/hypervisor/type": "xen\n",
                   "sys/devices/system/node/possible": "0\n"})
        platform, rows, _ = run(memhpd, xen, "[Policy]\nDefault=auto\n")
        check(platform == "xen", f"Xen fixture: platform {platform}")
        check(rows.get((0, "xen-balloon"), ("",))[0] == "online", "Xen balloon: online")

        s390 = os.path.join(tmp, "s390")
        tree(s390, {"sys/devices/system/memory": None, "sys/bus/ccw/devices": None})
        platform, rows, _ = run(memhpd, s390, "")
        check(platform == "s390", f"s390 fixture: platform {platform}")
        check(set(rows) == {(0, s) for s in SOURCES}, "no node directory: node 0 only")
        check(rows.get((0, "dimm"), ("",))[0] == "ignore" and
              rows.get((0, "virtio-mem"), ("",))[0] == "auto-movable",
              "s390 with the built-in default: DIMM-like memory stays offline, virtio-mem not")

        generic = os.path.join(tmp, "generic")
        tree(generic, {"sys/devices/system/memory": None,
                       "sys/devices/system/node/possible": "0-2\n"})
        platform, rows, _ = run(memhpd, generic, "[Policy]\nDefault=online_movable\n")
        check(platform == "generic", f"bare fixture: platform {platform}")
        check(len(rows) == 3 * len(SOURCES) and
              all(v == ("online_movable", "Default=online_movable") for v in rows.values()),
              "an explicit Default= decides every source on every node")

        platform, rows, err = run(memhpd, os.path.join(tmp, "absent"), "")
        check(platform == "generic" and set(rows) == {(0, s) for s in SOURCES},
              "no sysroot: generic, node 0")
        check("cannot open sysroot" in err, f"no sysroot: said so on stderr: {err.strip()}")

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
