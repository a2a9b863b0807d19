# SPDX-License-Identifier: LGPL-2.1-or-later
"""Watchdog: with WatchdogSec=3s from a test drop-in, a SIGSTOPped memhpd misses its keep-alive;
systemd kills it, restarts it, and it is READY again."""

DROPIN = "/run/systemd/system/memhpd.service.d/50-systest-watchdog.conf"


def run(t):
    t.put(DROPIN, "[Service]\nWatchdogSec=3s\n")
    t.must("systemctl daemon-reload && systemctl restart memhpd", timeout=60)
    t.check("memhpd READY with the drop-in", t.wait_ready(30))
    wd = t.show("memhpd", "WatchdogUSec")["WatchdogUSec"]
    t.check("WatchdogUSec=3s in effect", wd == "3s", wd)
    p = t.show("memhpd", "MainPID", "NRestarts")
    pid, restarts = int(p["MainPID"]), int(p["NRestarts"])
    cursor = t.cursor()
    t.must("kill -STOP %d" % pid)
    t.check("systemd restarted it (NRestarts %d -> %d)" % (restarts, restarts + 1),
            t.wait_unit("memhpd", "NRestarts", str(restarts + 1), 40))
    t.check("READY again, a new process", t.wait_ready(30) and t.memhpd_pid() not in (0, pid),
            str(t.memhpd_pid()))
    t.check("the journal says: watchdog timeout",
            t.wait_journal(r"[Ww]atchdog timeout", cursor) is not None)
    t.must("rm -f %s && systemctl daemon-reload && systemctl restart memhpd" % DROPIN, timeout=60)
    t.check("without the drop-in: READY, WatchdogUSec back to the unit's",
            t.wait_ready(30) and t.show("memhpd", "WatchdogUSec")["WatchdogUSec"] != "3s")
