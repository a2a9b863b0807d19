# SPDX-License-Identifier: LGPL-2.1-or-later
"""Upgrade: dpkg -i of this package at a higher version restarts memhpd (a new process, still
enabled and READY); blocks offlined on purpose before it (memhpctl, a sysfs write) stay offline
and held across it; the next hot-added DIMM is onlined."""
import os

from syslib import GUEST_DEBS, deb_field
from vmlib import MiB


def run(t):
    with t.node_policy(1, "online_movable"):
        scenario(t)


def scenario(t):
    dimm, held = t.hotadd(1, 256 * MiB)
    t.wait_state(held, "online")
    t.expect_blocks("a DIMM to hold", held, "online", 1, "Movable")
    t.hold(held[:1], held[1:])

    old = t.must("dpkg-query -W -f '${Version}' memhpd").strip()
    new = deb_field(t.upgrade_deb, "Version")
    pid = t.memhpd_pid()
    out, rc = t.sh("dpkg -i %s/%s" % (GUEST_DEBS, os.path.basename(t.upgrade_deb)), timeout=120)
    t.check("dpkg -i upgrades %s -> %s" % (old, new), rc == 0, out.strip()[-800:])
    got = t.must("dpkg-query -W -f '${Version} ${db:Status-Abbrev}' memhpd").strip()
    t.check("installed: %s" % got, got.split()[0] == new and got.split()[1] == "ii", got)
    t.check("memhpd READY again", t.wait_ready(30))
    t.check("restarted by the upgrade: a new process", t.memhpd_pid() not in (0, pid),
            str(t.memhpd_pid()))
    t.check("still enabled", t.show("memhpd", "UnitFileState")["UnitFileState"] == "enabled")
    t.expect_blocks("after the upgrade, the held blocks", held, "offline", 1)
    t.check("still held after the upgrade", t.held() == set(held), str(sorted(t.held())))

    _, blocks = t.hotadd(1, 256 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("a DIMM hot-added after the upgrade", blocks, "online", 1, "Movable")
    out, rc = t.sh("memhpctl online %s 2>&1" % ",".join(b[len("memory"):] for b in held),
                   timeout=60)
    t.check("memhpctl online releases the held blocks: exit 0", rc == 0, out.strip())
    t.expect_blocks("the held DIMM onlined again", held, "online", 1, "Movable")
    t.check("nothing held any more", t.held() == set(), str(sorted(t.held())))
