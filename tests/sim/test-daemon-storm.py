#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: a uevent storm that overflows memhpd's receive buffer,
once for each EventSource= (udev through libudev; kernel under tests/sim/kernel-sender.so).

memhpd is stopped (SIGSTOP) with a tiny ReceiveBufferSize while 20,000 blocks are hot-added,
so almost all add events are lost. After SIGCONT it must notice the overflow, rescan once per
overflow, and place every block by policy, writing each block exactly once. How long that
takes is printed as a BENCH line against its target, placement within 2 s:

"Within 2 s" is meant for real sysfs, where an access costs a few microseconds. Through the
sim's FUSE mount every access is a round trip to another process, an order of magnitude
dearer, so the test first measures what the least possible work for N blocks (list them,
read each state and node link, write it) costs on a fresh sim right here, and allows memhpd
2 s on top of that floor. The floor is measured before and after memhpd's run and averaged,
so that load from elsewhere on a shared machine weighs on both sides alike. All figures are
printed; only correctness fails the test."""

import os
import re
import time

import subprocess

from simlib import (SIM, Daemon, Sim, check, check_eq, log, policy_mismatches, rss_kib,
                    run_tests, wait_until)

N = int(os.environ.get('MEMHP_SIM_STORM_BLOCKS', '20000'))
DEADLINE = 2.0

CONFIG = '''[Daemon]
EventSource={source}
ReceiveBufferSize=4K
[Policy]
Default=online_movable
[Node 1]
Policy=online_kernel
'''

OVERFLOW = r'receive queue overflowed'
RESCAN = r'rescan'


def fuse_ops(sim):
    return {k: int(v) for k, v in (line.split() for line in sim.ctl('fuse-stats'))}


def sim_floor(tmp, name):
    """Seconds the minimum work for N blocks costs through a sim on this machine now."""
    calib = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', name=name)
    calib.ctl('storm', N, 0, 64)
    r = subprocess.run([SIM, 'bench', calib.root, '64', str(N)], capture_output=True,
                       text=True, timeout=300)
    check_eq(r.returncode, 0, f'memhp-sim bench: {r.stderr}')
    calib.stop()
    return float(r.stdout)


def storm(tmp, source):
    floor_before = sim_floor(tmp, 'calib-before')
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15',
              *(['--kernel-group'] if source == 'kernel' else []))
    env = sim.kernel_sender_env() if source == 'kernel' else None
    d = Daemon(tmp, sim, CONFIG.format(source=source), env=env)
    check(re.search(rf'Listening for {source} uevents', d.log()), f'not listening for {source}')
    rescans_at_start = d.count(RESCAN, flags=re.I)
    sim.ctl('reset-counters')
    d.pause()
    half = N // 2
    out = sim.ctl('storm', half, 0, 64) + sim.ctl('storm', N - half, 1, 64 + half)
    log('   ' + ' / '.join(out))
    ops0 = fuse_ops(sim)
    t0 = time.monotonic()
    d.resume()
    ids = range(64, 64 + N)
    expect = {0: 'Movable', 1: 'Normal'}
    wait_until(lambda: not policy_mismatches(sim, expect, ids), timeout=60, interval=0.05,
               what=f'{N} blocks placed by policy',
               detail=lambda: f'{len(policy_mismatches(sim, expect, ids))} still differ')
    took = time.monotonic() - t0
    log(f'   {N} blocks placed {took:.2f}s after SIGCONT; memhpd RSS '
        f'{rss_kib(d.proc.pid)} KiB, sim RSS {rss_kib(sim.proc.pid)} KiB')
    d.wait_quiet(1.0)  # a rescan requested by the last overflow may still be running
    ops = fuse_ops(sim)
    log('   memhpd per block: ' + ', '.join(f'{k} {(ops[k] - ops0[k]) / N:.1f}' for k in ops
                                           if ops[k] > ops0[k]))
    overflows = d.count(OVERFLOW, flags=re.I)
    rescans = d.count(RESCAN, flags=re.I) - rescans_at_start
    log(f'   {overflows} overflow(s), {rescans} rescan line(s) after the storm')
    counts, total = sim.writes()
    d.stop(timeout=30)  # its monitor would otherwise hear the calibration's uevents
    floor_after = sim_floor(tmp, 'calib-after')
    floor = (floor_before + floor_after) / 2
    log(f'   sim floor for {N} blocks: {floor_before:.2f}s before, {floor_after:.2f}s after')
    bad = {b: c for b, c in counts.items() if c != 1}
    # Every criterion is checked, so one run tells the whole story.
    errors = []
    if overflows < 1:
        errors.append('memhpd did not notice the overflow')
    if rescans != overflows:
        errors.append(f'{rescans} rescans for {overflows} overflows, want one per overflow')
    if total != N:
        errors.append(f'{total} writes in total, want {N}')
    if bad:
        errors.append(f'blocks not written exactly once: {dict(list(bad.items())[:10])}')
    if policy_mismatches(sim, expect, ids):
        errors.append('blocks drifted from policy afterwards')
    # The 2 s target is a speed target: a BENCH line, judged where benchmarks are, not a
    # verdict here, where a loaded or sanitized machine would fail it by accident.
    log(f'   [{source}] {took - floor:.2f}s over the sim floor (target {DEADLINE:.1f}s)')
    print(f'BENCH storm_overflow_over_floor_s_{source} {took - floor:.2f} s', flush=True)
    check(not errors, '; '.join(errors))


def test_storm_udev(tmp):
    storm(tmp, 'udev')


def test_storm_kernel(tmp):
    """The sim's kernel-group messages, taken for the kernel's under kernel-sender.so."""
    storm(tmp, 'kernel')


run_tests([test_storm_udev, test_storm_kernel])
