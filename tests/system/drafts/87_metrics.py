# SPDX-License-Identifier: LGPL-2.1-or-later
"""Metrics: memhpd-metrics.timer ships disabled; enabled, its service writes
/var/lib/prometheus/node-exporter/memhpd.prom (0644, Prometheus text format), and the counters
in it agree with what happened: a hot-added DIMM of 4 blocks adds 4 to
memhpd_blocks_onlined_total, and every counter equals memhpctl status --json's."""
import json
import re

from vmlib import MiB

PROM = "/var/lib/prometheus/node-exporter/memhpd.prom"


def samples(text):
    return {k: float(v) for k, v in re.findall(r"^(memhpd_\S+) (\S+)$", text, re.M)}


def scrape(t):
    t.must("systemctl start memhpd-metrics.service", timeout=60)
    return samples(t.must("cat %s" % PROM))


def run(t):
    p = t.show("memhpd-metrics.timer", "UnitFileState")
    t.check("the timer is installed disabled", p.get("UnitFileState") == "disabled", str(p))
    t.must("mkdir -p %s" % PROM.rsplit("/", 1)[0])
    t.must("systemctl enable --now memhpd-metrics.timer")
    out, rc = t.sh("for i in $(seq 100); do [ -s %s ] && break; sleep 0.1; done; stat -c %%a %s"
                   % (PROM, PROM), timeout=30)
    t.check("the timer's service wrote the textfile, mode 644", rc == 0 and
            out.strip().endswith("644"), out.strip())
    before = scrape(t)
    t.check("memhpd_up 1", before.get("memhpd_up") == 1, str(before))
    _, blocks = t.hotadd(1, 512 * MiB)
    t.wait_state(blocks, "online")
    after = scrape(t)
    t.check("memhpd_blocks_onlined_total grew by the DIMM's 4 blocks",
            after["memhpd_blocks_onlined_total"] - before["memhpd_blocks_onlined_total"] == 4,
            "%s -> %s" % (before["memhpd_blocks_onlined_total"],
                          after["memhpd_blocks_onlined_total"]))
    st = json.loads(t.must("memhpctl status --json"))["counters"]
    pairs = {"memhpd_blocks_onlined_total": "blocks_onlined",
             "memhpd_blocks_offlined_total": "blocks_offlined",
             "memhpd_write_failures_total": "failed_writes",
             "memhpd_rescans_total": "rescans", "memhpd_held_blocks": "held_blocks",
             'memhpd_operations_total{outcome="succeeded"}': "operations_succeeded"}
    bad = {k: (after.get(k), st[v]) for k, v in pairs.items() if after.get(k) != st[v]}
    t.check("the textfile agrees with memhpctl status --json", not bad, str(bad))
    t.must("systemctl disable --now memhpd-metrics.timer")
