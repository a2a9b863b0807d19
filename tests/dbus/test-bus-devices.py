#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Devices, sources and nodes through org.memhpd1: DescribeNodes reports the CPUs and memory
tier each node has in the fixture (has_cpu mask, or each node's cpulist without it; tiers from
memory_tiering); GetEffectivePolicies reports the policy and deciding rule of every (node,
source); GetBlockSources answers for all blocks or the ones asked, in that order, and names a
block that is not there; an unknown device id fails OnlineDevice and OfflineDevice with
InvalidArgs naming it, before anything is written."""

import os

from buslib import (API, E_ARGS, Bus, Memhpd, check, check_eq, expect_error, quiet_config,
                    run_tests)

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
CONFIG = quiet_config().replace('Default=ignore', 'Default=online_movable') + \
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


run_tests([
    test_nodes,
    test_block_sources_and_unknown_devices,
])
