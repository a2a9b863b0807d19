#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpctl and org.memhpd1 against memhpd on a private bus and the sim: holds and counters.

Blocks offlined through memhpctl stay offline across a restart of memhpd (whose start-up
coldplug would otherwise online them: Coldplug=yes, Default=online_movable); 'memhpctl list'
and its --json mark them held, HeldBlocks names them, and onlining them through memhpctl
releases the hold. The counters of org.memhpd1.Metrics, 'memhpctl status --json' and
'memhpctl metrics' agree with what the sim saw happen, including a failed write."""

import json
import os
import re
import subprocess

from buslib import (MEMHPCTL, Bus, Memhpd, Sim, at_cleanup, check, check_eq, config, log, run_tests,
                    skip, states, wait_until, wlog_since_reset)

BOOT = ['--nodes', '0-1', '--boot', 'node0:0-7,node1:128-135/Movable']
CONFIG = config('online_movable')
METRICS = 'org.memhpd1.Metrics'


def ctl(bus, *args, expect=0):
    if not MEMHPCTL or not os.path.exists(MEMHPCTL):
        skip('memhpctl is not built (MEMHPCTL unset)')
    r = subprocess.run([MEMHPCTL, *args], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address))
    log(f'   memhpctl {" ".join(args)}: exit {r.returncode} {r.stderr.strip()}')
    check_eq(r.returncode, expect, f'exit status of memhpctl {" ".join(args)}')
    return r.stdout


def held(c):
    return sorted(c.get('HeldBlocks'))


def counters(c):
    return c.call('GetAll', 's', (METRICS,), iface='org.freedesktop.DBus.Properties')[0]


def listed_held(bus):
    """{block: held} from memhpctl list --json (rows are ranges of blocks)."""
    out = {}
    for row in json.loads(ctl(bus, 'list', '--json'))['memory']:
        lo, _, hi = row['block'].partition('-')
        for b in range(int(lo), int(hi or lo) + 1):
            out[b] = row['held']
    return out


def prom(text):
    """{'name{labels}': value} from the Prometheus text format; checks HELP/TYPE per family."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith('# TYPE '):
            typed.add(line.split()[2])
        elif line and not line.startswith('#'):
            name, value = line.rsplit(' ', 1)
            check(re.match(r'^memhpd_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})?$', name),
                  f'bad sample name {name!r}')
            check(name.split('{')[0] in typed, f'{name} has no TYPE line')
            samples[name] = float(value)
    return samples


def test_holds_and_counters(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, CONFIG)
    c = bus.conn()
    check_eq(held(c), [], 'HeldBlocks at start')
    base = counters(c)

    ctl(bus, 'offline', '128-131')
    check_eq({b: s for b, (s, _z) in states(sim, range(128, 132)).items()},
             {b: 'offline' for b in range(128, 132)}, 'offlined through memhpctl')
    check_eq(held(c), [128, 129, 130, 131], 'HeldBlocks after memhpctl offline')
    lh = listed_held(bus)
    check_eq([b for b in sorted(lh) if lh[b]], [128, 129, 130, 131], 'list --json held')
    text = ctl(bus, 'list')
    check(re.search(r'offline .* 128-131 .*held$', text, re.M), f'list marks held:\n{text}')
    k = counters(c)
    check_eq(k['BlocksOfflined'] - base['BlocksOfflined'], 4, 'BlocksOfflined')
    check_eq(k['OperationsSucceeded'] - base['OperationsSucceeded'], 1, 'OperationsSucceeded')
    check_eq(k['HeldBlockCount'], 4, 'HeldBlockCount')

    # A restart: coldplug would online offline blocks, but not these.
    d.stop()
    sim.ctl('reset-counters')
    d = Memhpd(tmp, sim, bus, CONFIG, wait=False)
    d.wait_log(r'Serving org\.memhpd1 on the system bus', count=2, timeout=15)
    d.wait_log(r'Startup scan complete', count=2, timeout=15)
    c = bus.conn()
    check_eq(wlog_since_reset(sim), [], 'writes after the restart')
    check_eq(held(c), [128, 129, 130, 131], 'HeldBlocks after the restart')

    # Onlining through memhpctl releases the hold.
    ctl(bus, 'online', '128-129')
    check_eq(held(c), [130, 131], 'HeldBlocks after memhpctl online 128-129')
    check_eq(counters(c)['BlocksOnlined'], 2, 'BlocksOnlined after the restart')

    # A failed write: rolled back, counted, and named in LastFailure.
    sim.ctl('fail', 130, 'EIO')
    ctl(bus, 'online', '130-131', expect=2)
    k = counters(c)
    check_eq(k['OperationsRolledBack'], 1, 'OperationsRolledBack')
    check_eq(k['FailedWrites'], 1, 'FailedWrites')
    when, block, action, err = k['LastFailure']
    check_eq((block, action, err), (130, 'online_movable', 5), 'LastFailure')
    check(when > 0, 'LastFailure has a time')

    st = json.loads(ctl(bus, 'status', '--json'))
    check_eq(st['counters']['blocks_onlined'], k['BlocksOnlined'], 'status --json onlined')
    check_eq(st['counters']['failed_writes'], 1, 'status --json failed_writes')
    check_eq(st['counters']['held_blocks'], 2, 'status --json held_blocks')
    check_eq(st['last_failure']['errno_name'], 'EIO', 'status --json last_failure')
    check_eq([n['node'] for n in st['nodes']], [0, 1], 'status --json nodes')

    p = prom(ctl(bus, 'metrics'))
    check_eq(p['memhpd_up'], 1, 'memhpd_up')
    check_eq(p['memhpd_blocks_onlined_total'], k['BlocksOnlined'], 'onlined_total')
    check_eq(p['memhpd_write_failures_total'], 1, 'write_failures_total')
    check_eq(p['memhpd_operations_total{outcome="rolled_back"}'], 1, 'rolled back')
    check_eq(p['memhpd_held_blocks'], 2, 'held_blocks')
    check_eq(p['memhpd_last_failure_info{block="130",action="online_movable",errno="EIO"}'], 1,
             'last_failure_info')

    # --output replaces the file atomically, world-readable for node_exporter.
    out = os.path.join(tmp, 'memhpd.prom')
    ctl(bus, 'metrics', '--output', out)
    check_eq(os.stat(out).st_mode & 0o777, 0o644, 'textfile mode')
    check_eq(prom(open(out).read())['memhpd_held_blocks'], 2, 'textfile content')
    check_eq([n for n in os.listdir(tmp) if n.startswith('.memhpd.prom')], [], 'temp files left')

    # memhpd gone: the file says so rather than going stale, and memhpctl fails.
    d.stop()
    ctl(bus, 'metrics', '--output', out, expect=1)
    check_eq(prom(open(out).read()), {'memhpd_up': 0}, 'textfile without memhpd')


run_tests([test_holds_and_counters])
