#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: the kernel misbehaving. Late node links, writes that
hang until interrupted, blocks removed before or during memhpd's write, failing writes."""

import threading
import time

from simlib import Daemon, Sim, check, check_eq, log, run_tests, wait_policy, wait_until

CONFIG = '''[Daemon]
EventSource=udev
[Policy]
Default=online_movable
[Node 1]
Policy=online_kernel
[Offline]
TimeoutSec=1
'''
BOOT = ['--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15']


def writes_to(sim, block):
    return [w[1:] for w in sim.wlog() if w[0] == str(block)]


def test_late_link(tmp):
    # The add uevent comes before the nodeN link exists (drivers/base/memory.c order).
    sim = Sim(tmp, *BOOT)
    d = Daemon(tmp, sim, CONFIG)
    sim.ctl('late-link', 300)
    sim.ctl('add-dimm', 1, 4, 32)
    wait_policy(sim, {1: 'Normal'}, range(32, 36))
    for b in range(32, 36):
        check_eq(writes_to(sim, b), [('state', 'online_kernel', 'ok')],
                 f'memory{b}: one write, by node 1 policy')
    d.stop()


def test_hang(tmp):
    sim = Sim(tmp, *BOOT)
    d = Daemon(tmp, sim, CONFIG)
    # One hung online: interrupted at TimeoutSec=1, logged, retried; the hotplug lock it
    # held made a concurrent hot-add wait, and those blocks are served afterwards.
    sim.ctl('hang', 32)
    sim.ctl('add-dimm', 0, 1, 32)
    sim.ctl('wait-hung', 32, 5000)
    t0 = time.monotonic()
    adder = threading.Thread(target=sim.ctl, args=('add-dimm', 0, 4, 40), daemon=True)
    adder.start()
    wait_policy(sim, {0: 'Movable'}, [32, 40, 41, 42, 43], timeout=15)
    log(f'   hung block and 4 later ones placed {time.monotonic() - t0:.1f}s after the hang')
    adder.join(5)
    check_eq(writes_to(sim, 32)[0], ('state', 'online_movable', 'EINTR'), 'interrupted write')
    check(d.count(r'memory32\b.*timed out') >= 1, 'the timeout is logged for memory32')
    # A block that hangs every time: memhpd gives up on it and keeps serving others.
    sim.ctl('hang', 50, 'always')
    sim.ctl('add-dimm', 0, 1, 50)
    sim.ctl('wait-hung', 50, 5000)
    adder = threading.Thread(target=sim.ctl, args=('add-dimm', 0, 2, 51), daemon=True)
    adder.start()
    wait_policy(sim, {0: 'Movable'}, [51, 52], timeout=15, what='blocks after a stuck one')
    d.wait_log(r'Leaving memory50 offline', timeout=30)
    check_eq(sim.blocks()[50][0], 'offline', 'memory50 left offline')
    n = len(writes_to(sim, 50))
    check(2 <= n <= 4, f'{n} attempts on memory50: retried, but boundedly')
    time.sleep(1.5)
    check_eq(len(writes_to(sim, 50)), n, 'no attempts after giving up')
    # Shutting down while a write hangs: memhpd interrupts it and exits cleanly.
    sim.ctl('hang', 60, 'always')
    sim.ctl('add-dimm', 0, 1, 60)
    sim.ctl('wait-hung', 60, 5000)
    d.stop()


def test_removed_before_online(tmp):
    sim = Sim(tmp, *BOOT)
    d = Daemon(tmp, sim, CONFIG)
    # Removed while memhpd was not looking: add events for blocks that no longer exist.
    d.pause()
    sim.ctl('add-dimm', 0, 8, 32)
    sim.ctl('remove', '32-35')
    d.resume()
    wait_policy(sim, {0: 'Movable'}, range(36, 40))
    for b in range(32, 36):
        check_eq(writes_to(sim, b), [], f'memory{b} was gone: no write reached it')
    # Removed while queued behind a hung write: memhpd is about to online them.
    sim.ctl('hang', 40, 'nolock')
    sim.ctl('add-dimm', 0, 1, 40)
    sim.ctl('wait-hung', 40, 5000)
    sim.ctl('add-dimm', 0, 4, 41)
    time.sleep(0.3)  # memhpd has queued 41-44 behind the hung write
    sim.ctl('remove', '41-42')
    sim.ctl('release', 40)
    wait_policy(sim, {0: 'Movable'}, [40, 43, 44])
    check(41 not in sim.blocks() and 42 not in sim.blocks(), 'removed blocks stay removed')
    check(d.alive(), 'memhpd survived')
    d.stop()


def test_vanish_mid_write(tmp):
    sim = Sim(tmp, *BOOT)
    d = Daemon(tmp, sim, CONFIG)
    # The block disappears while memhpd's write is in the kernel.
    sim.ctl('vanish', 33)
    sim.ctl('vanish', 34, 'ENODEV')
    sim.ctl('add-dimm', 0, 4, 32)
    wait_policy(sim, {0: 'Movable'}, [32, 35])
    time.sleep(1.5)  # room for any retry to show up
    # The failed write is reported, not only the debug trace of the remove uevent.
    for b in (33, 34):
        check(d.count(rf'^(?!.*uevent ).*memory{b}\b') >= 1,
              f'memhpd logs nothing about its write to memory{b} failing')
    check_eq(writes_to(sim, 33), [('state', 'online_movable', 'ENOENT')], 'memory33 once')
    check_eq(writes_to(sim, 34), [('state', 'online_movable', 'ENODEV')], 'memory34 once')
    check(33 not in sim.blocks() and 34 not in sim.blocks(), 'both gone')
    # Still serving.
    sim.ctl('add-dimm', 0, 2, 36)
    wait_policy(sim, {0: 'Movable'}, [36, 37])
    d.stop()


def test_failing_writes(tmp):
    sim = Sim(tmp, *BOOT)
    d = Daemon(tmp, sim, CONFIG)
    # Transient: EBUSY twice, then the kernel accepts; memhpd retries with a delay.
    sim.ctl('fail', 32, 'EBUSY', 2)
    # Permanent: a poisoned block is not retried.
    sim.ctl('fail', 33, 'EHWPOISON', 'always')
    sim.ctl('add-dimm', 0, 3, 32)
    wait_policy(sim, {0: 'Movable'}, [34])
    wait_policy(sim, {0: 'Movable'}, [32], timeout=15, what='memory32 after retries')
    check_eq([w[2] for w in writes_to(sim, 32)], ['EBUSY', 'EBUSY', 'ok'], 'memory32 attempts')
    check(d.count(r'Will retry memory32\b') == 2, 'two retries logged')
    d.wait_log(r'memory33\b.*(EHWPOISON|hardware error)')
    time.sleep(1.5)
    check_eq(len(writes_to(sim, 33)), 1, 'EHWPOISON is not retried')
    check_eq(sim.blocks()[33][0], 'offline', 'memory33 stays offline')
    d.stop()


run_tests([
    test_late_link,
    test_hang,
    test_removed_before_online,
    test_vanish_mid_write,
    test_failing_writes,
])
