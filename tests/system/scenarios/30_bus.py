# SPDX-License-Identifier: LGPL-2.1-or-later
"""The real system bus: dbus-daemon with the package's policy serves org.memhpd1 (busctl
introspect and calls); a user in group memhp may offline and online memory, another user is
refused and nothing changes."""
from vmlib import MiB

MANAGER = "org.memhpd1 /org/memhpd1 org.memhpd1.Manager"


def run(t):
    out, rc = t.sh("busctl --system introspect --no-pager org.memhpd1 /org/memhpd1")
    t.check("busctl introspect org.memhpd1 /org/memhpd1 shows the Manager's methods",
            rc == 0 and all(m in out for m in (".ListBlocks", ".OfflineBlocks",
                                                ".OnlineBlocks", "org.memhpd1.Manager")),
            out.strip()[-500:])
    out, rc = t.sh("busctl --system call %s ListBlocks" % MANAGER)
    n = out.split()[1] if rc == 0 and len(out.split()) > 1 else "?"
    present = len(t.blocks())
    t.check("ListBlocks answers on the system bus: %s blocks, sysfs has %d" % (n, present),
            rc == 0 and n == str(present), out.strip()[:300])

    group = t.sh("getent group memhp")[0].strip()
    t.check("the package made group memhp (sysusers)", group.startswith("memhp:"), group)
    t.must("usermod -a -G memhp alice")

    dimm, blocks = t.hotadd(1, 256 * MiB)
    t.wait_state(blocks, "online")
    rng = t.dimm_range(dimm)
    ids = " ".join(b[6:] for b in blocks)

    out, rc = t.as_user("bob", "memhpctl offline %s" % rng)
    t.check("bob (not in memhp): memhpctl offline refused (exit %d)" % rc, rc != 0, out)
    t.note(out)
    out, rc = t.as_user("bob", "busctl --system call %s OfflineBlocks au %d %s"
                        % (MANAGER, len(blocks), ids))
    t.check("bob: OfflineBlocks refused by the bus (AccessDenied)",
            rc != 0 and "denied" in out.lower(), out.strip())
    t.expect_blocks("after bob's attempts", blocks, "online", 1, "Movable")

    out, rc = t.as_user("alice", "memhpctl offline %s" % rng, timeout=60)
    t.check("alice (in memhp): memhpctl offline exit 0", rc == 0, out)
    t.expect_blocks("after alice's offline", blocks, "offline", 1)
    out, rc = t.as_user("alice", "busctl --system call %s OnlineBlocks aus %d %s movable"
                        % (MANAGER, len(blocks), ids), timeout=60)
    t.check("alice: OnlineBlocks(movable) over busctl succeeds", rc == 0, out.strip())
    t.expect_blocks("after alice's online", blocks, "online", 1, "Movable")
