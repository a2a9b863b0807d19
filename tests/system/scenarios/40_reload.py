# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reload: an edited /etc/memhpd.conf plus systemctl reload takes effect (node 1 onlines into
the kernel zone); an invalid edit keeps the running configuration, memhpd keeps running, and
systemctl status says why."""
from vmlib import MiB


def reload(t):
    cursor = t.cursor()
    out, rc = t.sh("systemctl reload memhpd", timeout=60)
    t.check("systemctl reload memhpd exit 0", rc == 0, out)
    return cursor


def run(t):
    orig = t.must("cat /etc/memhpd.conf")
    pid = t.memhpd_pid()

    t.config(orig + "\n[Node 1]\nPolicy=online_kernel\n")
    cursor = reload(t)
    t.check("memhpd logged that it reloaded",
            t.wait_journal(r"Configuration reloaded", cursor) is not None)
    _, blocks = t.hotadd(1, 256 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("after the reload: node 1's new policy", blocks, "online", 1, "Normal")

    t.config(orig + "\n[Node 1]\nPolicy=online_sideways\n")
    cursor = reload(t)
    t.check("memhpd refused the invalid file",
            t.wait_journal(r"Reload failed", cursor) is not None)
    p = t.show("memhpd", "ActiveState", "SubState", "MainPID")
    t.check("still active (running), same process", (p["ActiveState"], p["SubState"],
                                                     int(p["MainPID"])) ==
            ("active", "running", pid), str(p))
    status, _ = t.sh("systemctl status memhpd --no-pager -l -n 20")
    t.check("systemctl status says why: the reload failed, naming online_sideways",
            "Reload failed" in status and "online_sideways" in status, status[-800:])
    _, blocks = t.hotadd(1, 256 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("the running (edited, valid) policy still applies", blocks, "online", 1,
                    "Normal")

    t.config(orig)
    cursor = reload(t)
    t.check("the shipped configuration is back",
            t.wait_journal(r"Configuration reloaded", cursor) is not None)
