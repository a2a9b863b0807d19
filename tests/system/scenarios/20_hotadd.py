# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-add: a DIMM hot-added on node 1 is onlined Movable; memhpd's journal entry for each block
carries its structured fields (journalctl -o json)."""
import time

from vmlib import MiB

FIELDS = ("MESSAGE_ID", "MEMHP_BLOCK", "MEMHP_NODE", "MEMHP_ZONE", "MEMHP_ACTION", "PRIORITY",
          "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER")


def run(t):
    cursor = t.cursor()
    before = t.zones()
    _, blocks = t.hotadd(1, 512 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("hot-added DIMM", blocks, "online", 1, "Movable")
    after = t.zones()
    got = after.get((1, "Movable"), 0) - before.get((1, "Movable"), 0)
    t.check("zoneinfo: node 1 Movable grew by %d pages (%d blocks)" % (got, len(blocks)),
            got == len(blocks) * t.PAGES_PER_BLOCK, "%+d pages" % got)

    # memhpd writes the blocks in whatever order their uevents came: wait for all of them.
    deadline = time.monotonic() + 30
    while True:
        entries = {e.get("MEMHP_BLOCK"): e for e in t.journal(cursor)
                   if e.get("MEMHP_ACTION") == "online_movable"}
        if all(b[6:] in entries for b in blocks) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    bad = []
    for b in blocks:
        e = entries.get(b[6:])
        if e is None:
            bad.append("%s: no entry" % b)
            continue
        missing = [f for f in FIELDS if f not in e]
        wrong = {k: e.get(k) for k, v in (("MEMHP_NODE", "1"), ("MEMHP_ZONE", "Movable"),
                                          ("PRIORITY", "6"), ("_SYSTEMD_UNIT", "memhpd.service"))
                 if e.get(k) != v}
        if missing or wrong:
            bad.append("%s: missing %s wrong %s" % (b, missing, wrong))
    t.check("journal: one entry per block with %s" % ", ".join(FIELDS[:5]), not bad,
            "; ".join(bad))
    ids = {e.get("MESSAGE_ID") for e in entries.values()}
    t.check("one MESSAGE_ID for 'block onlined' (%s)" % ",".join(sorted(ids)),
            len(ids) == 1 and all(len(i) == 32 for i in ids), str(ids))
