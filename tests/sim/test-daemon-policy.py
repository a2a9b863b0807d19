#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: per-node policies, coldplug, blocks that are
already online (before memhpd looks, or just before its write lands)."""

import os

from simlib import (MEMHPD_ENV_KEEP, PAGES_PER_BLOCK, Daemon, Sim, check, check_eq,
                    policy_mismatches, run_tests, wait_policy, wait_until)

CONFIG = '''[Daemon]
EventSource=udev
Coldplug={coldplug}
[Policy]
Default=online_movable
MovableRatio=100
[Node 1]
Policy=online_kernel
[Node 2]
Policy=ignore
[Node 3]
Policy=online
[Node 4]
Policy=auto-movable
'''


def config(coldplug='yes'):
    return CONFIG.format(coldplug=coldplug)


def test_policies(tmp):
    # Node 4 boots with 8 Normal blocks (above 4 GiB) so auto-movable has a kernel base.
    sim = Sim(tmp, '--nodes', '0-4', '--boot', 'node0:0-7,node1:8-15,node4:200-207')
    d = Daemon(tmp, sim, config())
    sim.ctl('reset-counters')
    dimms = {0: range(32, 40), 1: range(40, 48), 2: range(48, 56), 3: range(56, 64),
             4: range(64, 76)}
    for node, ids in dimms.items():
        sim.ctl('add-dimm', node, len(ids), ids[0])
    expect = {0: 'Movable', 1: 'Normal', 2: None, 3: 'Normal'}
    ids = [i for n in (0, 1, 2, 3) for i in dimms[n]]
    wait_policy(sim, expect, ids)
    # auto-movable, MovableRatio=100: Movable may not exceed the node's kernel memory.
    # 8 boot + 12 new blocks: at most 10 can be Movable, and the policy should get there.
    wait_until(lambda: all(sim.blocks()[i][0] == 'online' for i in dimms[4]), timeout=10,
               what='node 4 blocks online')
    z = sim.zones()
    movable, kernel = z[(4, 'Movable')], z[(4, 'Normal')]
    check(movable <= kernel, f'node 4: Movable {movable} > 100% of kernel {kernel}')
    check_eq(movable // PAGES_PER_BLOCK, 10, 'node 4 Movable blocks')
    # One write per onlined block, none for the ignored node or boot memory.
    counts, _ = sim.writes()
    for i in ids + list(dimms[4]):
        want = 0 if 48 <= i < 56 else 1
        check_eq(counts.get(i, 0), want, f'writes to memory{i}')
    check(all(i >= 32 for i in counts), f'writes to boot blocks: {counts}')
    # Nothing drifts afterwards.
    d.stop()
    check(not policy_mismatches(sim, expect, ids), 'stable after stop')


def test_default_auto(tmp):
    """No Default=: the built-in Default=auto. The simulator is a generic platform and memhpd
    cannot tell these blocks' source (unknown), so the table gives them auto-movable; an explicit
    Default= names one policy for every source, as before sources existed."""
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', name='auto')
    d = Daemon(tmp, sim, '[Daemon]\nEventSource=udev\n[Policy]\nMovableRatio=100\n',
               name='memhpd-auto')
    # One line per source, each naming what it gets and why.
    check_eq(d.count(r'Platform generic: \S+ memory gets \S+ from Default=auto: '), 7,
             'one log line per source with Default=auto')
    check_eq(d.count(r'Platform generic: unknown memory gets auto-movable from Default=auto: '),
             1, 'the unknown source gets auto-movable on a generic platform')
    check_eq(d.count(r'Platform generic: boot memory gets ignore from Default=auto: '), 1,
             'boot memory is left alone')
    sim.ctl('add-dimm', 0, 12, 32)
    # 8 kernel blocks at boot, MovableRatio=100: of 12 new blocks 10 fit Movable, 2 go Normal.
    wait_until(lambda: all(sim.blocks()[i][0] == 'online' for i in range(32, 44)), timeout=10,
               what='node 0 blocks online')
    z = sim.zones()
    check_eq(z[(0, 'Movable')] // PAGES_PER_BLOCK, 10, 'node 0 Movable blocks under auto')
    # The boot blocks lie below 4 GiB (DMA32): Normal holds the new kernel blocks alone.
    check_eq(z[(0, 'Normal')] // PAGES_PER_BLOCK, 2, 'node 0 Normal blocks under auto')
    d.stop()

    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', name='explicit')
    d = Daemon(tmp, sim, config(), name='memhpd-explicit')
    check_eq(d.count(r'Platform generic; Default=online_movable for every source\.$'), 1,
             'an explicit Default= is logged as one line')
    check_eq(d.count(r'from Default=auto'), 0, 'no per-source lines without Default=auto')
    d.stop()

    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', name='sources')
    d = Daemon(tmp, sim, config() + '[Source dax]\nPolicy=online_kernel\n'
               '[Source boot]\nPolicy=online\n', name='memhpd-sources')
    check_eq(d.count(r'Platform generic; Default=online_movable for every source but online '
                     r'for boot, online_kernel for dax\.$'), 1,
             'the one line names the [Source] exceptions')
    d.stop()


def test_coldplug(tmp):
    boot = ['--nodes', '0-1', '--boot', 'node0:0-7,node0:40-43/offline,node1:48-49/offline']
    sim = Sim(tmp, *boot, name='yes')
    d = Daemon(tmp, sim, config('yes'), name='memhpd-yes')
    check(not policy_mismatches(sim, {0: 'Movable', 1: 'Normal'}, [40, 41, 42, 43, 48, 49]),
          'coldplug onlined the offline boot blocks by policy')
    d.stop()
    sim = Sim(tmp, *boot, name='no')
    d = Daemon(tmp, sim, config('no'), name='memhpd-no')
    sim.ctl('add-dimm', 0, 1, 44)
    wait_until(lambda: sim.blocks()[44][0] == 'online', what='new block onlined')
    check_eq(sim.writes()[0], {44: 1}, 'Coldplug=no leaves present blocks alone')
    d.stop()


def test_already_online(tmp):
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, config())
    # The kernel (auto_online_blocks) or a udev rule onlines the block before memhpd looks.
    d.pause()
    sim.ctl('add-dimm', 0, 2, 32)
    sim.ctl('online', 32, 'online_kernel')
    d.resume()
    wait_until(lambda: sim.blocks()[33] == ('online', 'Movable', 0), what='memory33 online')
    d.wait_log(r'memory33 .*online')
    check_eq(sim.ctl('writes', 32), ['0'], 'no write to a block that is already online')
    check_eq(sim.blocks()[32], ('online', 'Normal', 0), 'left where the other onliner put it')
    # Another onliner wins the race just before memhpd's write: EINVAL from the kernel.
    sim.ctl('race', 34, 'online_kernel')
    sim.ctl('add-dimm', 0, 2, 34)
    wait_until(lambda: sim.blocks()[35] == ('online', 'Movable', 0), what='memory35 online')
    d.wait_log(r'memory34\b.*already online')
    check_eq(sim.blocks()[34], ('online', 'Normal', 0), 'the racer decided memory34')
    check_eq([w for w in sim.wlog() if w[0] == '34'],
             [('34', 'state', 'online_movable', 'EINVAL')], 'memhpd wrote once, saw EINVAL')
    check(d.count(r'another onliner') >= 1, 'the zone mismatch is reported')
    d.stop()


def test_environment(tmp):
    """memhpd gets only the environment simlib.memhpd_env() gives it: what a shell, a desktop
    session or a systemd unit left in the caller's environment does not reach it."""
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    leftovers = {'NOTIFY_SOCKET': '/run/systemd/notify', 'JOURNAL_STREAM': '1:2',
                 'WATCHDOG_USEC': '1000', 'LISTEN_FDS': '1', 'INVOCATION_ID': 'x',
                 'RUNTIME_DIRECTORY': '/run/memhpd', 'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/x',
                 'LD_PRELOAD': 'nonexistent.so', 'MEMHP_CRASH_AT': '1'}
    saved = {k: os.environ.get(k) for k in leftovers}
    os.environ.update(leftovers)
    try:
        d = Daemon(tmp, sim, config(), env={'NOTIFY_SOCKET': os.path.join(tmp, 'mine')})
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    with open(f'/proc/{d.proc.pid}/environ', 'rb') as f:
        env = dict(e.decode().split('=', 1) for e in f.read().split(b'\0') if e)
    check_eq(env.get('NOTIFY_SOCKET'), os.path.join(tmp, 'mine'), 'NOTIFY_SOCKET the test set')
    check_eq(env.get('RUNTIME_DIRECTORY'), d.runtime, 'RUNTIME_DIRECTORY')
    check_eq(env.get('MEMHP_TESTING'), '1', 'MEMHP_TESTING')
    check(env.get('DBUS_SYSTEM_BUS_ADDRESS', '').startswith('unix:path=' + tmp),
          f'DBUS_SYSTEM_BUS_ADDRESS in the test directory: {env.get("DBUS_SYSTEM_BUS_ADDRESS")}')
    extra = set(env) - set(MEMHPD_ENV_KEEP) - {'NOTIFY_SOCKET', 'RUNTIME_DIRECTORY',
                                              'MEMHP_TESTING', 'DBUS_SYSTEM_BUS_ADDRESS'}
    check(not extra, f'memhpd inherited {sorted(extra)}')
    d.stop()


run_tests([
    test_environment,
    test_policies,
    test_default_auto,
    test_coldplug,
    test_already_online,
])
