#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Daemon benchmarks on a plain fixture tree (never the host's /sys):

  rescan N   full rescan of N blocks: memhpd is reloaded (SIGHUP -> rescan) several times and the
             median of its own "Scanned N memory blocks in X ms" lines is reported
  idle S     wake-ups per second of an idle memhpd over S seconds (context switches of all its
             threads, from /proc/PID/task/*/status); the watchdog is off, so the target is 0

Prints "BENCH <name> <value> <unit>" lines.
"""
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'sim'))
import simlib  # noqa: E402  (the /proc readers the storm benchmark uses too)


def make_tree(root, n_blocks, state="online"):
    mem = os.path.join(root, "sys/devices/system/memory")
    node = os.path.join(root, "sys/devices/system/node/node0")
    os.makedirs(mem)
    os.makedirs(node)
    with open(os.path.join(mem, "block_size_bytes"), "w") as f:
        f.write("8000000\n")
    with open(os.path.join(mem, "auto_online_blocks"), "w") as f:
        f.write("offline\n")
    for i in range(n_blocks):
        d = os.path.join(mem, f"memory{i}")
        os.mkdir(d)
        with open(os.path.join(d, "state"), "w") as f:
            f.write(state + "\n")
        with open(os.path.join(d, "valid_zones"), "w") as f:
            f.write("Normal\n" if state == "online" else "Normal Movable\n")
        with open(os.path.join(d, "phys_index"), "w") as f:
            f.write(f"{i:08x}\n")
        os.symlink("../../node/node0", os.path.join(d, "node0"))


SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_bus(root):
    """A private system bus with the project's policy, as in production."""
    listen = "unix:path=" + os.path.join(root, "bus")
    with open(os.path.join(SRC, "tests/dbus/system-bus.conf.in")) as f:
        conf = f.read().replace("@LISTEN@", listen).replace(
            "@POLICY@", os.path.join(SRC, "conf/org.memhpd1.conf"))
    path = os.path.join(root, "bus.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["dbus-daemon", "--config-file=" + path, "--nofork", "--nopidfile"],
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(os.path.join(root, "bus")):
            break
        time.sleep(0.01)
    return proc, listen


class Daemon:
    def __init__(self, exe, root, conf_text, bus=None):
        self.conf = os.path.join(root, "memhpd.conf")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.log = open(os.path.join(root, "memhpd.log"), "w+")
        env = dict(os.environ, MEMHP_TESTING="1")
        env.pop("WATCHDOG_USEC", None)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        # Without a bus memhpd would watch for its socket with inotify on every parent
        # directory, and /tmp is busy: give it a real one, or a path in a quiet directory.
        if bus:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = bus
        else:
            quiet = os.path.join(root, "quiet")
            os.makedirs(quiet, exist_ok=True)
            env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + os.path.join(quiet, "no-bus")
        self.proc = subprocess.Popen([exe, "--sysroot", root, "--config", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_for(self, pattern, count=1, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.log.seek(0)
            hits = re.findall(pattern, self.log.read())
            if len(hits) >= count:
                return hits
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.log.seek(0)
        sys.exit(f"timed out waiting for {pattern!r}; log:\n{self.log.read()[-2000:]}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def bench_rescan(exe, n):
    with tempfile.TemporaryDirectory() as root:
        make_tree(root, n)
        d = Daemon(exe, root, "[Policy]\nDefault=ignore\n")
        d.wait_for(r"Startup scan complete")
        runs = 9
        for i in range(runs):
            d.proc.send_signal(signal.SIGHUP)
            d.wait_for(r"Rescanning all memory blocks", i + 1)
            d.wait_for(rf"Scanned {n} memory blocks in ([0-9.]+) ms", i + 2)
        times = [float(x) for x in d.wait_for(rf"Scanned {n} memory blocks in ([0-9.]+) ms",
                                             runs + 1)[1:]]
        d.stop()
    print(f"rescan of {n} blocks: median {statistics.median(times):.1f} ms, "
          f"min {min(times):.1f}, max {max(times):.1f} ({runs} runs)")
    print(f"BENCH rescan_{n}_ms {statistics.median(times):.1f} ms")


def bench_idle(exe, seconds):
    with tempfile.TemporaryDirectory() as root:
        make_tree(root, 64)
        bus, address = start_bus(root)
        d = Daemon(exe, root, "", address)
        d.wait_for(r"Startup scan complete")
        d.wait_for(r"Serving org.memhpd1")
        time.sleep(0.5)
        before = simlib.ctx_switches(d.proc.pid)
        time.sleep(seconds)
        after = simlib.ctx_switches(d.proc.pid)
        d.stop()
        bus.terminate()
        bus.wait()
    rate = (after - before) / seconds
    print(f"idle memhpd: {after - before} context switches in {seconds} s")
    print(f"BENCH idle_wakeups_per_s {rate:.2f} wakeups/s")


def main():
    exe = os.environ.get("MEMHPD", "build/daemon/memhpd")
    if len(sys.argv) >= 3 and sys.argv[1] == "--memhpd":
        exe = sys.argv[2]
        del sys.argv[1:3]
    what = sys.argv[1] if len(sys.argv) > 1 else "rescan"
    arg = int(sys.argv[2]) if len(sys.argv) > 2 else None
    if what == "rescan":
        bench_rescan(exe, arg or 8192)
    elif what == "idle":
        bench_idle(exe, arg or 30)
    else:
        sys.exit(f"unknown benchmark {what}")


if __name__ == "__main__":
    main()
