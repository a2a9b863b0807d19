# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory pressure: shmem (no swap: it cannot be reclaimed) fills the guest to ~48 MiB above
what the kernel keeps free, then a DIMM is hot-added. memhpd onlines it; the OOM killer, if it
runs, does not pick memhpd (OOMScoreAdjust=-1000), and memhpd's memory is protected
(MemoryMin=). The time from device_add to the last block online is a BENCH line for memhpd
and, with memhpd stopped and auto_online_blocks=online_movable, for the kernel itself."""
import re
import time

from vmlib import MiB

LEFT_MIB = 48


def fill(t):
    avail = int(re.search(r"MemAvailable:\s+(\d+)", t.must("cat /proc/meminfo")).group(1))
    hog = max(avail // 1024 - LEFT_MIB, 0)
    out, rc = t.sh("head -c %dM /dev/zero > /dev/shm/hog; grep MemAvailable /proc/meminfo"
                   % hog, timeout=120)
    t.note("hog %d MiB in /dev/shm; %s" % (hog, out.strip()))
    return hog


def timed_hotadd(t, what):
    t0 = time.monotonic()
    dimm, blocks = t.hotadd(1, 256 * MiB)
    ok = t.wait_state(blocks, "online", timeout=60)
    ms = (time.monotonic() - t0) * 1000
    t.check("%s onlined the DIMM under pressure" % what, ok)
    return dimm, blocks, ms


def run(t):
    pid = t.memhpd_pid()
    p = t.show("memhpd", "MemoryMin", "OOMScoreAdjust")
    t.check("the unit protects memhpd: MemoryMin=32M, OOMScoreAdjust=-1000",
            p == {"MemoryMin": str(32 * MiB), "OOMScoreAdjust": "-1000"}, str(p))
    t.check("the kernel agrees: oom_score_adj -1000",
            t.must("cat /proc/%d/oom_score_adj" % pid).strip() == "-1000")
    dmesg0 = len(t.must("dmesg").splitlines())
    fill(t)
    _, blocks, ms = timed_hotadd(t, "memhpd")
    t.expect_blocks("under pressure, by memhpd", blocks, "online", 1, "Movable")
    t.bench("system-pressure-online-256m-memhpd", "%.0f" % ms, "ms")
    t.check("memhpd is the same process", t.memhpd_pid() == pid)
    killed = [ln for ln in t.must("dmesg").splitlines()[dmesg0:] if "Killed process" in ln]
    t.note("\n".join(killed) or "no OOM kill")
    t.check("the OOM killer did not pick memhpd", not any("memhpd" in ln for ln in killed),
            " | ".join(killed))

    # The kernel's own auto-online under the same pressure, memhpd out of the way.
    t.must("rm -f /dev/shm/hog")
    t.must("systemctl stop memhpd", timeout=60)
    fill(t)
    t.must("echo online_movable > /sys/devices/system/memory/auto_online_blocks")
    _, kblocks, kms = timed_hotadd(t, "the kernel (auto_online_blocks)")
    t.must("echo offline > /sys/devices/system/memory/auto_online_blocks")
    t.bench("system-pressure-online-256m-kernel", "%.0f" % kms, "ms")
    t.must("rm -f /dev/shm/hog")
    t.must("systemctl start memhpd", timeout=60)
    t.check("READY again", t.wait_ready(30))
