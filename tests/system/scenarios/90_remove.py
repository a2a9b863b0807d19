# SPDX-License-Identifier: LGPL-2.1-or-later
"""Remove and purge (last: it takes memhpd away): apt-get remove stops memhpd and leaves every
block as it is, and keeps /etc/memhpd.conf; purge removes it."""
from vmlib import MiB


def run(t):
    before = t.blocks()
    out, rc = t.sh("apt-get remove -y -q memhpd", timeout=180)
    t.check("apt-get remove memhpd exit 0", rc == 0, out.strip()[-800:])
    p = t.show("memhpd", "ActiveState", "LoadState")
    t.check("memhpd stopped (%s, %s)" % (p["ActiveState"], p["LoadState"]),
            p["ActiveState"] in ("inactive", "failed") and t.sh("pgrep -x memhpd")[1] == 1,
            str(p))
    after = t.blocks()
    changed = ["%s:%s->%s" % (b, before[b], after.get(b)) for b in before
               if after.get(b) != before[b]]
    t.check("every block as it was (%d blocks)" % len(before), not changed, " ".join(changed[:6]))
    t.check("the conffile stays after remove",
            t.sh("test -f /etc/memhpd.conf")[1] == 0)
    _, blocks = t.hotadd(1, 256 * MiB)
    t.sh("sleep 1")
    t.expect_blocks("a DIMM hot-added now: nobody onlines it", blocks, "offline", 1)

    out, rc = t.sh("apt-get purge -y -q memhpd", timeout=180)
    t.check("apt-get purge memhpd exit 0", rc == 0, out.strip()[-800:])
    t.check("purge removed /etc/memhpd.conf", t.sh("test -e /etc/memhpd.conf")[1] != 0)
    st = t.sh("dpkg-query -W -f '${db:Status-Abbrev}' memhpd 2>/dev/null")[0].strip()
    t.check("dpkg keeps no record of memhpd (status '%s')" % st, st in ("", "un", "pn"), st)
