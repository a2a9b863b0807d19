# SPDX-License-Identifier: LGPL-2.1-or-later
"""kill -9 in the middle of an offline transaction: memhpctl offlines a 4-block DIMM, which
memhpd does highest address first; when its writer reaches the third block, SIGKILL (stepgate
holds the writer there, so the top two are offline and the third untouched). systemd restarts memhpd (Restart=on-failure), and
the intent record in /run/memhpd brings the two blocks back online."""
import re

from vmlib import MiB

UEVENT = re.compile(r"^\S+ seq=\S+ (\w+) /devices/system/memory/(memory\d+) ", re.M)


def run(t):
    dimm, blocks = t.hotadd(1, 512 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("the DIMM to offline", blocks, "online", 1, "Movable")
    p = t.show("memhpd", "MainPID", "NRestarts")
    pid, restarts = int(p["MainPID"]), int(p["NRestarts"])
    gate = blocks[1]            # offlines run highest first: blocks[3], blocks[2], then this
    cursor = t.cursor()

    out, _ = t.sh(
        "rm -f /tmp/kill9.uevents; hpmon log /tmp/kill9.uevents & l=$!; "
        "stepgate %d %s kill 9 30000 >/tmp/gate.out 2>&1 & g=$!; "
        "until grep -q '@@GATE armed' /tmp/gate.out || ! kill -0 $g 2>/dev/null; do "
        "sleep 0.01; done; memhpctl offline %s 2>&1; echo \"@@CTL $?\"; wait $g; "
        "cat /tmp/gate.out; echo $l > /tmp/kill9.logger" % (pid, gate, t.dimm_range(dimm)),
        timeout=90)
    ctl, _, rest = out.partition("@@CTL ")
    ctl_rc, _, gate_out = rest.partition("\n")
    t.check("stepgate sent SIGKILL when memhpd's writer reached %s" % gate,
            "@@GATE fired %s" % gate in gate_out, gate_out.strip()[-300:])
    t.check("memhpctl offline failed (exit %s): its daemon died under it" % ctl_rc,
            ctl_rc.strip() not in ("", "0"), ctl.strip()[-300:])
    t.note(ctl)

    t.check("systemd restarted memhpd (NRestarts %d -> %d)" % (restarts, restarts + 1),
            t.wait_unit("memhpd", "NRestarts", str(restarts + 1), 30))
    t.check("READY again", t.wait_ready(30))
    t.check("a new process", t.memhpd_pid() not in (0, pid), str(t.memhpd_pid()))
    e = t.wait_journal(r"Main process exited, code=killed, status=9/KILL", cursor)
    t.check("the journal has systemd's word: killed, status=9/KILL", e is not None)

    t.wait_state(blocks, "online")
    t.expect_blocks("after the restart, every block of the DIMM", blocks, "online", 1, "Movable")
    t.must("kill $(cat /tmp/kill9.logger)")
    events = [(a, b) for a, b in UEVENT.findall(t.must("cat /tmp/kill9.uevents"))
              if a in ("online", "offline")]
    history = {b: ",".join(a for a, x in events if x == b) for b in blocks}
    t.check("the kernel's uevents: %s and %s went offline then online again, %s and %s never "
            "offline (%s)" % (blocks[3], blocks[2], blocks[1], blocks[0], history),
            [history[b] for b in blocks] == ["", "", "offline,online", "offline,online"],
            str(history))
    e = t.wait_journal(r"interrupted by a crash", cursor)
    t.check("the restarted memhpd logged the recovery of the interrupted operation",
            e is not None)
    if e:
        t.note(e.get("MESSAGE", ""))
