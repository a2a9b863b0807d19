# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boot: systemd starts memhpd, active and READY before sysinit.target, with no ordering cycle;
the DIMMs present at boot (node 1, and the CPU-less node 2) are online per the shipped policy,
Default=auto: a DIMM (or a block whose source memhpd cannot tell) gets auto-movable, so node 1,
which has 512 MiB of boot memory, takes cold1 Movable, and node 2, which has no kernel memory at
all, gets one block of the kernel zone first and then Movable within MovableRatio=301."""
import re


def run(t):
    out, _ = t.sh("systemctl is-system-running --wait", timeout=180)
    state = out.strip()
    t.check("the guest booted: is-system-running says %s" % state,
            state in ("running", "degraded"), state)
    if state != "running":
        t.note(t.sh("systemctl --failed --no-legend")[0])

    p = t.show("memhpd", "ActiveState", "SubState", "Type", "UnitFileState",
               "ActiveEnterTimestampMonotonic", "StatusText", "NRestarts")
    t.check("memhpd.service active (running), Type=notify",
            (p["ActiveState"], p["SubState"], p["Type"]) == ("active", "running", "notify"),
            str(p))
    t.check("the package enabled it (UnitFileState=enabled)", p["UnitFileState"] == "enabled",
            p["UnitFileState"])
    t.check("memhpd says what it does (StatusText '%s')" % p["StatusText"],
            p["StatusText"].startswith("Watching"), p["StatusText"])
    sysinit = int(t.show("sysinit.target", "ActiveEnterTimestampMonotonic")
                  ["ActiveEnterTimestampMonotonic"])
    ready = int(p["ActiveEnterTimestampMonotonic"])
    t.check("READY before sysinit.target (%.2f s < %.2f s after boot)"
            % (ready / 1e6, sysinit / 1e6), 0 < ready <= sysinit, "%d %d" % (ready, sysinit))
    t.check("started once (NRestarts=0)", p["NRestarts"] == "0", p["NRestarts"])

    out, _ = t.sh("journalctl -b -q -o cat --no-pager | grep -i -e 'ordering cycle' "
                  "-e 'break ordering' -e 'Found dependency on'")
    t.check("no ordering cycle in the journal", not out.strip(), out.strip()[:500])

    auto = t.must("cat /sys/devices/system/memory/auto_online_blocks").strip()
    t.check("the kernel leaves hot-added memory offline (auto_online_blocks=%s)" % auto,
            auto == "offline", auto)
    nodes = t.must("cat /sys/devices/system/node/has_cpu /sys/devices/system/node/possible")
    t.check("3 NUMA nodes, node 2 CPU-less (has_cpu 0-1, possible 0-2)",
            nodes.split() == ["0-1", "0-2"], nodes)
    cold1, cold2 = t.dimm_blocks("cold1"), t.dimm_blocks("cold2")
    t.expect_blocks("cold1 present at boot, coldplugged", cold1, "online", 1, "Movable")
    t.expect_blocks("cold2 present at boot, coldplugged", cold2, "online", 2)
    seen = t.blocks(cold2)
    zones2 = sorted(z for b in cold2 for z in seen.get(b, ("", "", ["gone"]))[2])
    t.check("cold2 on the node without kernel memory: one block Normal, one Movable (%s)"
            % " ".join(zones2), zones2 == ["Movable", "Normal"], str(seen))
    z = t.zones()
    t.check("zoneinfo: node 2 has 128 MiB Normal and 128 MiB Movable present",
            (z.get((2, "Normal")), z.get((2, "Movable"))) == (32768, 32768),
            str({k: v for k, v in z.items() if k[0] == 2}))
    entries = t.journal()
    actions = {e.get("MEMHP_BLOCK"): e.get("MEMHP_ACTION") for e in entries
               if e.get("MEMHP_ACTION")}
    want = {b[6:]: "online_" + ("movable" if seen.get(b, ("", "", [""]))[2] == ["Movable"]
                                else "kernel") for b in cold2}
    want.update({b[6:]: "online_movable" for b in cold1})
    got = {b: actions.get(b) for b in want}
    t.check("memhpd's journal names each of them onlined into the zone it is in "
            "(MEMHP_ACTION)", got == want, "want %s, journal %s" % (want, got))
    out = t.must("journalctl -b -u memhpd -o cat --no-pager")
    t.check("memhpd logged what Default=auto gives each source on this platform, and why",
            len(re.findall(r"Platform generic: \S+ memory gets \S+ from Default=auto: ", out))
            == 7, out[-1500:])
