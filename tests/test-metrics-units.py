#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Holds memhpd-metrics.service and .timer to their claims, without a running systemd:

1. systemd-analyze verify accepts both (ExecStart= pointed at the built memhpctl);
2. the service's exposure (systemd-analyze security --offline) is at most 2.0;
3. the timer is shipped for "systemctl enable", never wanted by a unit it is installed with;
4. the service's ExecStart=, run as systemd would run it (its Environment= expanded) with no
   memhpd on the bus, writes a file that says memhpd_up 0 and fails, so a fleet sees a dead
   memhpd instead of a stale file.

Usage: test-metrics-units.py SERVICE TIMER MEMHPCTL
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

SKIP = 77


def main():
    service, timer, memhpctl = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    if subprocess.run(["which", "systemd-analyze"], capture_output=True).returncode:
        print("systemd-analyze is not installed")
        return SKIP
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        text = open(service).read()
        m = re.search(r"^ExecStart=(\S+) (.*)$", text, re.M)
        if not m:
            print("FAIL: no ExecStart= in the service")
            return 1
        text = text.replace(m.group(1), memhpctl)
        s = os.path.join(tmp, "memhpd-metrics.service")
        t = os.path.join(tmp, "memhpd-metrics.timer")
        open(s, "w").write(text)
        open(t, "w").write(open(timer).read())
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", s, t], capture_output=True,
                           text=True)
        print(f"systemd-analyze verify: exit {r.returncode} {r.stderr.strip()}")
        if r.returncode != 0 or r.stderr.strip():
            failures.append("systemd-analyze verify complained")
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", s],
                           capture_output=True, text=True)
        score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        print(f"systemd-analyze security: exit {r.returncode}, exposure "
              f"{score.group(1) if score else '?'}")
        if r.returncode != 0 or not score:
            failures.append("exposure above 2.0")

        tt = open(timer).read()
        if not re.search(r"^WantedBy=timers\.target$", tt, re.M) or "Unit=" in tt:
            failures.append("the timer is not installed for timers.target")

        env = dict(re.findall(r"^Environment=(\w+)=(.*)$", text, re.M))
        prom = os.path.join(tmp, "node-exporter", "memhpd.prom")
        os.mkdir(os.path.dirname(prom))
        args = [re.sub(r"\$\{(\w+)\}", lambda v: prom if v.group(1) == "MEMHPD_PROM" else
                       env[v.group(1)], a) for a in shlex.split(m.group(2))]
        if env.get("MEMHPD_PROM") != "/var/lib/prometheus/node-exporter/memhpd.prom":
            failures.append(f"the service writes {env.get('MEMHPD_PROM')}, not node_exporter's "
                            "default textfile directory")
        r = subprocess.run([memhpctl, *args], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" +
                                    os.path.join(tmp, "no-bus")))
        print(f"ExecStart without memhpd: exit {r.returncode} {r.stderr.strip()}")
        body = open(prom).read() if os.path.exists(prom) else ""
        if r.returncode != 1 or "\nmemhpd_up 0\n" not in "\n" + body:
            failures.append(f"without memhpd: exit {r.returncode}, file {body!r}")
        elif os.stat(prom).st_mode & 0o777 != 0o644:
            failures.append(f"textfile mode {oct(os.stat(prom).st_mode & 0o777)}")
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


sys.exit(main())
