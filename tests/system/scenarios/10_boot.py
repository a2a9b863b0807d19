# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boot: systemd starts memhpd, active and READY before sysinit.target, with no ordering cycle;
the DIMMs present at boot (node 1, and the CPU-less node 2) are online per the shipped policy
(Default=online_movable)."""


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
    for dimm, node in (("cold1", 1), ("cold2", 2)):
        blocks = t.dimm_blocks(dimm)
        t.expect_blocks("%s present at boot, coldplugged" % dimm, blocks, "online", node,
                        "Movable")
    entries = t.journal()
    coldplugged = {e.get("MEMHP_BLOCK") for e in entries if e.get("MEMHP_ACTION")
                   == "online_movable"}
    want = {b[6:] for d in ("cold1", "cold2") for b in t.dimm_blocks(d)}
    t.check("memhpd's journal names each of them onlined (MEMHP_ACTION=online_movable)",
            want and want <= coldplugged, "want %s, journal %s" % (sorted(want),
                                                                   sorted(coldplugged)))
