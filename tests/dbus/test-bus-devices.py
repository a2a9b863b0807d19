#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Devices, sources and nodes through org.memhpd1: DescribeNodes reports the CPUs and memory
tier each node has in the fixture (has_cpu mask, or each node's cpulist without it; tiers from
memory_tiering); GetEffectivePolicies reports the policy and deciding rule of every (node,
source); GetBlockSources answers for all blocks or the ones asked, in that order, and names a
block that is not there; an unknown device id fails OnlineDevice and OfflineDevice with
InvalidArgs naming it, before anything is written.

On the simulator with a DIMM, a virtio-mem and a CXL dax device (simlib.Extra): ListDevices
agrees with the sim's files and block states; GetBlockSources and DescribeNodes name each
block's source; DeviceChanged says added, then changed as blocks go online or offline, and
removed once the last block is gone; an unauthorized caller is refused by memhpd itself with
nothing written; OfflineDevice writes highest address first (the sim's write log), rolls the
whole device back when the kernel refuses one block, and on success says removable; OnlineDevice
writes lowest first into the zone asked."""

import os
import time

from buslib import (API, E_ACCESS, E_ARGS, E_FAILED, IFACE, SIGNAL, Bus, Memhpd, Sim, check,
                    check_eq, expect_error, config, run_as, run_tests, states, wait_until,
                    wait_view, wlog_since_reset)
from simlib import Extra, wait_policy

BLOCK = 0x8000000
SOURCES = [API[k] for k in API if k.startswith('MEMHP_SOURCE_')]


class Fixture:
    """A plain directory sysroot (no simulator: nothing changes under memhpd)."""

    def __init__(self, tmp, name, nodes, has_cpu=None, cpulists=None, tiers=None):
        self.root = os.path.join(tmp, name)
        mem = os.path.join(self.root, 'sys/devices/system/memory')
        node_dir = os.path.join(self.root, 'sys/devices/system/node')
        os.makedirs(mem)
        self.write('sys/devices/system/memory/block_size_bytes', f'{BLOCK:x}')
        self.write('sys/devices/system/node/possible', f'0-{max(nodes)}')
        self.write('sys/devices/system/node/online', ','.join(str(n) for n in sorted(nodes)))
        if has_cpu is not None:
            self.write('sys/devices/system/node/has_cpu', has_cpu)
        for n, cpus in (cpulists or {}).items():
            self.write(f'sys/devices/system/node/node{n}/cpulist', cpus)
        for tier, nodelist in (tiers or {}).items():
            self.write(f'sys/devices/virtual/memory_tiering/memory_tier{tier}/nodelist', nodelist)
        for n, (blocks, state, zone) in nodes.items():
            os.makedirs(os.path.join(node_dir, f'node{n}'), exist_ok=True)
            for b in blocks:
                d = f'sys/devices/system/memory/memory{b}'
                self.write(f'{d}/state', state)
                self.write(f'{d}/valid_zones', zone)
                self.write(f'{d}/phys_index', f'{b:08x}')
                os.symlink(f'../../node/node{n}', os.path.join(self.root, d, f'node{n}'))

    def write(self, rel, value):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(value + '\n')


# Node 0: boot memory with CPUs, tier 4. Nodes 1 and 2: CPU-less, offline blocks, tier 22
# (slower). Node 3: possible, nothing.
NODES = {0: (range(0, 8), 'online', 'Normal'), 1: (range(32, 40), 'offline', 'Movable'),
         2: (range(64, 66), 'offline', 'Movable'), 3: ((), 'offline', '')}
TIERS = {4: '0', 22: '1-2'}
CONFIG = config('online_movable', coldplug=False) + \
    '[Node 1]\nPolicy=online_kernel\n'


def check_sources_agree(c, what):
    """DescribeNodes' sources per node are the sources GetBlockSources gives its blocks."""
    nodes = {b[0]: b[1] for b in c.call('ListBlocks')[0]}
    want = {}
    for block, source, _dev in c.call('GetBlockSources', 'au', ([],))[0]:
        want.setdefault(nodes[block], set()).add(source)
    for node, _cpus, _tier, sources in c.call('DescribeNodes')[0]:
        check_eq(sorted(sources), sorted(want.get(node, ())), f'{what}: node {node} sources')
        check_eq(len(sources), len(set(sources)), f'{what}: node {node} sources named once')
        check_eq(sources, [s for s in SOURCES if s in sources],
                 f'{what}: node {node} sources in API order')


def test_nodes(tmp):
    bus = Bus(tmp)
    # The has_cpu mask wins; node 3 is possible but offline and empty.
    fx = Fixture(tmp, 'mask', NODES, has_cpu='0', tiers=TIERS)
    d = Memhpd(tmp, fx, bus, CONFIG)
    c = bus.conn()
    got = [(n, cpus, tier) for n, cpus, tier, _s in c.call('DescribeNodes')[0]]
    check_eq(got, [(0, True, 4), (1, False, 22), (2, False, 22), (3, False, -1)],
             'DescribeNodes with the has_cpu mask')
    check_sources_agree(c, 'mask')

    pol = c.call('GetEffectivePolicies')[0]
    check_eq([(n, s) for n, s, _p, _r in pol], [(n, s) for n in range(4) for s in SOURCES],
             'GetEffectivePolicies: every source on every node, in order')
    for n, s, p, rule in pol:
        want = ('online_kernel', '[Node 1]') if n == 1 else \
            ('online_movable', 'Default=online_movable')
        check_eq((p, rule), want, f'GetEffectivePolicies node {n} source {s}')
    # A run-time node policy is what applies from then on.
    c.call('SetNodePolicy', 'us', (2, 'ignore'))
    check_eq({(p, r) for n, _s, p, r in c.call('GetEffectivePolicies')[0] if n == 2},
             {('ignore', '[Node 2]')}, 'GetEffectivePolicies after SetNodePolicy')
    d.stop()

    # Without the mask each node's cpulist says; without tiering every node is in none.
    fx = Fixture(tmp, 'cpulist', NODES, cpulists={0: '0-3', 1: '', 2: '', 3: '4'})
    d = Memhpd(tmp, fx, bus, CONFIG, name='memhpd2')
    got = [(n, cpus, tier) for n, cpus, tier, _s in c.call('DescribeNodes')[0]]
    check_eq(got, [(0, True, -1), (1, False, -1), (2, False, -1), (3, True, -1)],
             'DescribeNodes from cpulist, no tiers')
    d.stop()


def test_block_sources_and_unknown_devices(tmp):
    bus = Bus(tmp)
    fx = Fixture(tmp, 'fx', NODES, has_cpu='0', tiers=TIERS)
    d = Memhpd(tmp, fx, bus, CONFIG)
    c = bus.conn()
    present = sorted(b for n in NODES.values() for b in n[0])
    every = c.call('GetBlockSources', 'au', ([],))[0]
    check_eq([b for b, _s, _d in every], present, 'GetBlockSources([]): every block, in order')
    for b, s, dev in every:
        check(s in SOURCES, f'memory{b}: source {s!r} is not an API name')
        check_eq(dev, '', f'memory{b}: a fixture without devices gives no device')
    asked = c.call('GetBlockSources', 'au', ([65, 0, 33],))[0]
    check_eq(asked, [e for i in (65, 0, 33) for e in every if e[0] == i],
             'GetBlockSources in the order asked')
    msg = expect_error(lambda: c.call('GetBlockSources', 'au', ([0, 999],)), E_ARGS,
                       'GetBlockSources of a missing block')
    check('memory999' in msg, f'the message names the block: {msg}')
    check_eq(c.call('ListDevices')[0], [], 'no devices in a fixture without any')

    for method, sig, args in (('OfflineDevice', 's', ('PNP0C80:99',)),
                              ('OnlineDevice', 'ss', ('PNP0C80:99', 'movable')),
                              ('OnlineDevice', 'ss', ('', 'movable'))):
        msg = expect_error(lambda: c.call(method, sig, args), E_ARGS, f'{method}{args}')
        check(f"'{args[0]}'" in msg, f'{method}: the message names the device: {msg}')
    check_eq(d.count(r'Operation '), 0, 'no operation was started')
    d.stop()




# ---- devices on the simulator (simlib.Extra serves the files that tell sources apart) ------

SIG_MATCH = f"type='signal',interface='{IFACE}',member='DeviceChanged'"
DBUS = dict(dest='org.freedesktop.DBus', path='/org/freedesktop/DBus', iface='org.freedesktop.DBus')
NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups']
# Node 0 boot memory with CPUs; node 1 boot memory, then a DIMM, a virtio-mem and a CXL dax
# device, all hot-added on node 1.
DEVICES = {  # id: (source, backing, first block, blocks)
    'PNP0C80:01': ('dimm', '', 32, 4),
    'virtio3': ('virtio-mem', '', 64, 8),
    'dax0.0': ('dax', 'cxl', 96, 4),
}
DEV_CONFIG = config('online_movable')


class Signals:
    """DeviceChanged as a subscriber on its own connection receives it."""

    def __init__(self, bus):
        self.c = bus.conn()
        self.c.call('AddMatch', 's', (SIG_MATCH,), **DBUS)
        self.got = []

    def poll(self, seconds):
        deadline = time.monotonic() + seconds
        try:
            while True:
                mtype, fields, body = self.c._read_message(deadline)
                if mtype == SIGNAL and fields.get(3) == 'DeviceChanged':
                    self.got.append(tuple(body))
        except TimeoutError:
            pass

    def take(self):
        out, self.got = self.got, []
        return out

    def wait(self, pred, what, timeout=10):
        """Collects until pred(signals so far) holds; returns them and starts afresh."""
        deadline = time.monotonic() + timeout
        while not pred(self.got):
            if time.monotonic() > deadline:
                raise AssertionError(f'{what}: DeviceChanged so far {self.got}')
            self.poll(0.1)
        # Whatever belongs to the same burst arrives within the flush; take it too.
        self.poll(0.3)
        return self.take()


def changes(signals, dev):
    return [ch for d, _s, ch in signals if d == dev]


def truth_devices(sim, extra):
    """ListDevices as the sim's files and block states say it must be."""
    blocks = sim.blocks()
    out = []
    for dev, (source, backing, first, n) in sorted(DEVICES.items(), key=lambda d: d[1][2]):
        ids = [i for i in range(first, first + n) if i in blocks]
        if not ids:
            continue
        online = [i for i in ids if blocks[i][0] == 'online']
        zones = sorted({blocks[i][1] for i in online})
        start, end = extra.span(first, n)
        out.append((dev, source, backing, 1, start, end, len(ids), len(online), zones))
    return out


def listed(c):
    return [d[:8] + (sorted(d[8]),) for d in c.call('ListDevices')[0]]


def test_devices(tmp):
    extra = Extra(tmp)
    for dev, (source, backing, first, n) in DEVICES.items():
        if source == 'dimm':
            extra.dimm(dev, first, n)
        elif source == 'virtio-mem':
            extra.virtio_mem(dev, first, n)
        else:
            extra.dax(dev, first, n, backing=backing)
    sim = Sim(tmp, '--nodes', '0-1', '--cpu-nodes', '0', '--boot', 'node0:0-7,node1:8-15',
              *extra.args())
    bus = Bus(tmp, 'allow-all')
    d = Memhpd(tmp, sim, bus, DEV_CONFIG)
    c = bus.conn()
    sig = Signals(bus)
    check_eq(c.call('ListDevices')[0], [], 'no devices before the hot-adds')

    for dev, (_s, _b, first, n) in DEVICES.items():
        sim.ctl('add-dimm', 1, n, first)
    added = sig.wait(lambda got: all(changes(got, dev)[:1] == ['added'] and 'changed' in
                                     changes(got, dev) for dev in DEVICES),
                     'added, then changed as the policy onlined them')
    for dev, (source, _b, _f, _n) in DEVICES.items():
        ch = changes(added, dev)
        check(ch[0] == 'added' and set(ch[1:]) == {'changed'}, f'{dev}: {ch}')
        check_eq({s for d, s, _c in added if d == dev}, {source}, f'{dev}: source in the signal')
    wait_policy(sim, {1: 'Movable'}, [i for _s, _b, f, n in DEVICES.values()
                                      for i in range(f, f + n)])
    wait_until(lambda: listed(c) == truth_devices(sim, extra), timeout=5,
               what='ListDevices to agree with the sim', detail=lambda: listed(c))

    # Every block's source and device, and the sources of each node.
    want = {i: ('boot', '') for i in range(0, 16)}
    for dev, (source, _b, first, n) in DEVICES.items():
        want.update({i: (source, dev) for i in range(first, first + n)})
    check_eq({b: (s, dv) for b, s, dv in c.call('GetBlockSources', 'au', ([],))[0]}, want,
             'GetBlockSources([])')
    check_eq([(n, cpus, srcs) for n, cpus, _t, srcs in c.call('DescribeNodes')[0]],
             [(0, True, ['boot']), (1, False, ['boot', 'dimm', 'virtio-mem', 'dax'])],
             'DescribeNodes')

    # Someone without the right: refused by memhpd itself (the bus allows all), nothing written.
    sim.ctl('reset-counters')
    for method, sig_, args in (('OfflineDevice', 's', ['dax0.0']),
                               ('OnlineDevice', 'ss', ['dax0.0', 'kernel'])):
        r = run_as(NOBODY, method, sig_, args, address_path=bus.path)
        check_eq(r[:2], ('error', E_ACCESS), f'nobody: {method}: {r}')
    check_eq(sim.writes(), ({}, 0), 'no write after the refused calls')

    # A refusal in the middle rolls the whole device back: highest address first, 66 refused,
    # 71..67 restored in the opposite order.
    prior = states(sim)
    sim.ctl('fail', 66, 'EBUSY')
    msg = expect_error(lambda: c.call('OfflineDevice', 's', ('virtio3',)), E_FAILED,
                       'OfflineDevice with a refused block')
    check_eq(msg, 'Device virtio3 not offlined: Failed to change memory66: Device or resource '
                  'busy (EBUSY). Rolled back: memory67, memory68, memory69, memory70, memory71.',
             'its message: the device, the refused block, errno, what was rolled back')
    check_eq(wlog_since_reset(sim),
             [(i, 'offline', 'ok') for i in range(71, 66, -1)] + [(66, 'offline', 'EBUSY')] +
             [(i, 'online_movable', 'ok') for i in range(67, 72)], 'writes')
    check_eq(states(sim), prior, 'every block as before')
    wait_view(c, sim)
    check_eq(listed(c), truth_devices(sim, extra), 'ListDevices after the rollback')
    sig.poll(0.5)
    sig.take()

    # Success: every block offline, highest address first, and the device may go.
    sim.ctl('reset-counters')
    results, removable = c.call('OfflineDevice', 's', ('PNP0C80:01',))
    check_eq(results, [(i, 'offline', '') for i in range(32, 36)], 'OfflineDevice results')
    check_eq(removable, True, 'removable')
    check_eq(wlog_since_reset(sim), [(i, 'offline', 'ok') for i in range(35, 31, -1)], 'writes')
    check(all(sim.blocks()[i][0] == 'offline' for i in range(32, 36)), 'offline in the sim')
    got = sig.wait(lambda got: 'changed' in changes(got, 'PNP0C80:01'), 'changed after offline')
    check_eq({dv for dv, _s, _c in got}, {'PNP0C80:01'}, 'DeviceChanged only for the DIMM')
    check_eq(listed(c), truth_devices(sim, extra), 'ListDevices after OfflineDevice')
    # Its blocks stay offline on purpose: a rescan does not online them again.
    c.call('Rescan')
    d.wait_quiet(quiet=0.5)
    check(all(sim.blocks()[i][0] == 'offline' for i in range(32, 36)), 'still offline')

    # OnlineDevice: lowest address first, into the zone asked.
    sim.ctl('reset-counters')
    check_eq(c.call('OnlineDevice', 'ss', ('PNP0C80:01', 'kernel'))[0],
             [(i, 'online', 'Normal') for i in range(32, 36)], 'OnlineDevice results')
    check_eq(wlog_since_reset(sim), [(i, 'online_kernel', 'ok') for i in range(32, 36)],
             'OnlineDevice writes')
    sig.wait(lambda got: 'changed' in changes(got, 'PNP0C80:01'), 'changed after online')
    wait_until(lambda: listed(c) == truth_devices(sim, extra), timeout=5,
               what='ListDevices after OnlineDevice', detail=lambda: listed(c))

    # The dax device offlined and hot-removed: its blocks gone, "removed" last.
    check_eq(c.call('OfflineDevice', 's', ('dax0.0',))[1], True, 'dax0.0 removable')
    sig.wait(lambda got: 'changed' in changes(got, 'dax0.0'), 'changed after the dax offline')
    sim.ctl('remove', '96-99')
    got = sig.wait(lambda got: 'removed' in changes(got, 'dax0.0'), 'removed')
    check_eq(changes(got, 'dax0.0'), ['removed'], 'dax0.0 signals after the removal')
    check_eq([x[0] for x in listed(c)], ['PNP0C80:01', 'virtio3'], 'ListDevices without it')
    msg = expect_error(lambda: c.call('OfflineDevice', 's', ('dax0.0',)), E_ARGS,
                       'OfflineDevice of a removed device')
    check("'dax0.0'" in msg, f'the message names it: {msg}')
    d.stop()


run_tests([
    test_nodes,
    test_block_sources_and_unknown_devices,
    test_devices,
])
