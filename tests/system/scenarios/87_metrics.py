# SPDX-License-Identifier: LGPL-2.1-or-later
"""Metrics: memhpd-metrics.timer ships disabled; enabled, its service writes
/var/lib/prometheus/node-exporter/memhpd.prom (0644, Prometheus text format). After real
activity (a DIMM hot-added, two of its blocks offlined and onlined with memhpctl, an offline the
kernel refuses) every sample in the file equals the D-Bus property busctl reads, and the
counters moved by what happened."""
import re

from vmlib import MiB

PROM = "/var/lib/prometheus/node-exporter/memhpd.prom"
METRICS = "org.memhpd1 /org/memhpd1 org.memhpd1.Metrics"
# textfile sample -> org.memhpd1.Metrics property
PAIRS = {
    "memhpd_blocks_onlined_total": "BlocksOnlined",
    "memhpd_blocks_offlined_total": "BlocksOfflined",
    "memhpd_write_failures_total": "FailedWrites",
    "memhpd_write_retries_total": "WriteRetries",
    "memhpd_uevent_overflows_total": "Overflows",
    "memhpd_rescans_total": "Rescans",
    'memhpd_operations_total{outcome="succeeded"}': "OperationsSucceeded",
    'memhpd_operations_total{outcome="rolled_back"}': "OperationsRolledBack",
    'memhpd_operations_total{outcome="incomplete"}': "OperationsIncomplete",
    "memhpd_held_blocks": "HeldBlockCount",
}


def samples(text):
    return {k: float(v) for k, v in re.findall(r"^(memhpd_\S+) (\S+)$", text, re.M)}


def scrape(t):
    """What the timer's service writes, run now (the timer's own runs are minutes apart)."""
    t.must("systemctl start memhpd-metrics.service", timeout=60)
    return samples(t.must("cat %s" % PROM))


def bus(t):
    """{property: value} of org.memhpd1.Metrics as busctl reads it: not through memhpctl."""
    props = list(PAIRS.values()) + ["LastFailure"]
    out = t.must("busctl --system get-property %s %s" % (METRICS, " ".join(props)))
    lines = out.strip().splitlines()
    got = {p: int(line.split()[1]) for p, line in zip(props, lines) if line.startswith("t ")}
    # (tusi) USEC BLOCK "ACTION" ERRNO
    m = re.match(r'\(tusi\) (\d+) (\d+) "([^"]*)" (-?\d+)', lines[-1] if lines else "")
    got["LastFailure"] = (int(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4))) \
        if m else None
    return got


def agree(t, when):
    prom, props = scrape(t), bus(t)
    bad = {k: (prom.get(k), props.get(p)) for k, p in PAIRS.items() if prom.get(k) != props.get(p)}
    t.check("%s: every counter in the textfile equals busctl get-property's" % when, not bad,
            str(bad))
    return prom, props


def run(t):
    with t.node_policy(1, "online_movable"):
        scenario(t)


def scenario(t):
    p = t.show("memhpd-metrics.timer", "UnitFileState")
    t.check("the timer is installed disabled", p.get("UnitFileState") == "disabled", str(p))
    t.must("mkdir -p %s" % PROM.rsplit("/", 1)[0])
    t.must("rm -f %s" % PROM)
    t.must("systemctl enable --now memhpd-metrics.timer")
    out, rc = t.sh("for i in $(seq 300); do [ -s %s ] && break; sleep 0.1; done; stat -c %%a %s"
                   % (PROM, PROM), timeout=60)
    t.check("the timer's first run wrote the textfile, mode 644", rc == 0 and
            out.strip().endswith("644"), out.strip())
    before, b0 = agree(t, "before")
    t.check("memhpd_up 1", before.get("memhpd_up") == 1, str(before))

    # What happens, and what the kernel says about it.
    _, blocks = t.hotadd(1, 512 * MiB)
    t.wait_state(blocks, "online")
    t.expect_blocks("a DIMM onlined by the policy", blocks, "online", 1, "Movable")
    ids = ",".join(b[len("memory"):] for b in blocks[:2])
    out, rc = t.sh("memhpctl offline %s 2>&1" % ids, timeout=60)
    t.check("memhpctl offline %s: exit 0" % ids, rc == 0, out.strip())
    t.expect_blocks("offlined", blocks[:2], "offline", 1)
    out, rc = t.sh("memhpctl online %s 2>&1" % ids, timeout=60)
    t.check("memhpctl online %s: exit 0" % ids, rc == 0, out.strip())
    t.expect_blocks("onlined again", blocks[:2], "online", 1, "Movable")
    # memory0 holds the kernel: the kernel refuses to offline it, and memhpctl reports the
    # operation rolled back (exit 2).
    out, rc = t.sh("memhpctl offline 0 2>&1", timeout=60)
    t.check("memhpctl offline 0: the kernel refuses, rolled back (exit %d)" % rc, rc == 2,
            out.strip())
    t.expect_blocks("memory0 untouched", ["memory0"], "online", 0)

    after, b1 = agree(t, "after")
    delta = {p: b1[p] - b0[p] for p in PAIRS.values()}
    want = {"BlocksOnlined": 6, "BlocksOfflined": 2, "OperationsSucceeded": 2,
            "OperationsRolledBack": 1, "OperationsIncomplete": 0, "FailedWrites": 1,
            "HeldBlockCount": 0}
    bad = {k: (delta[k], v) for k, v in want.items() if delta[k] != v}
    t.check("the counters moved by what happened: %s" % want, not bad,
            "(got, want) %s" % bad)
    lf = b1["LastFailure"]
    t.check("LastFailure names memory0's offline: %s" % (lf,),
            lf is not None and lf[1] == 0 and lf[2] == "offline" and lf[3] > 0, str(lf))
    info = [ln for ln in t.must("cat %s" % PROM).splitlines()
            if ln.startswith("memhpd_last_failure_info{")]
    t.check("the textfile has the same last failure: %s" % info,
            len(info) == 1 and 'block="0"' in info[0] and 'action="offline"' in info[0], "")
    t.must("systemctl disable --now memhpd-metrics.timer")
