# SPDX-License-Identifier: LGPL-2.1-or-later
"""Restarts change nothing: of a hot-added DIMM, two blocks offlined through memhpctl and one
by writing its sysfs state stay offline across `systemctl restart memhpd` (their hold records
live in /run/memhpd, which RuntimeDirectoryPreserve=restart keeps); memhpctl list --json marks
them held; memhpctl online releases them. A DIMM hot-added while memhpd is stopped is onlined
when it starts. (The same holds across a package upgrade: the upgrade scenario.)"""
from vmlib import MiB


def run(t):
    with t.node_policy(1, "online_movable"):
        scenario(t)


def scenario(t):
    dimm, blocks = t.hotadd(1, 512 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("the DIMM", blocks, "online", 1, "Movable")
    t.hold(blocks[:2], blocks[2:3])
    want = set(blocks[:3])

    pid = t.memhpd_pid()
    cursor = t.cursor()
    t.must("systemctl restart memhpd", timeout=60)
    t.check("READY after the restart", t.wait_ready(30))
    t.check("a new memhpd process", t.memhpd_pid() not in (0, pid))
    t.check("it says it keeps them offline",
            t.wait_journal(r"3 memory blocks offlined on purpose before the restart stay "
                           r"offline", cursor) is not None)
    t.expect_blocks("after the restart, the held blocks", blocks[:3], "offline", 1)
    t.expect_blocks("after the restart, the fourth", blocks[3:], "online", 1, "Movable")
    t.check("still held after the restart", t.held() == want, str(sorted(t.held())))

    ids = [b[len("memory"):] for b in blocks]
    out, rc = t.sh("memhpctl online %s-%s 2>&1" % (ids[0], ids[2]), timeout=60)
    t.check("memhpctl online releases them: exit 0", rc == 0, out.strip())
    t.check("nothing held any more", t.held() == set(), str(sorted(t.held())))
    t.check("no hold record left", not t.must("ls /run/memhpd | grep ^hold- || true").strip())
    t.expect_blocks("onlined again", blocks, "online", 1, "Movable")

    t.must("systemctl stop memhpd", timeout=60)
    late, late_blocks = t.hotadd(1, 256 * MiB)
    t.expect_blocks("added while memhpd is stopped", late_blocks, "offline", 1)
    t.must("systemctl start memhpd", timeout=60)
    t.check("READY", t.wait_ready(30))
    t.wait_state(late_blocks, "online")
    t.expect_blocks("coldplugged at start", late_blocks, "online", 1, "Movable")
