#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad input to org.memhpd1: every malformed request is refused with
org.freedesktop.DBus.Error.InvalidArgs naming the bad value, before anything is written. The sim
counts every write to a block's state, so "nothing was written" is measured, not assumed."""

from buslib import (BLOCK_ID_MAX, E_ARGS, MAX_BLOCKS, Bus, Memhpd, Sim, check, check_eq,
                    expect_error, log, quiet_config, run_tests, states)

# Node 0: boot memory 0-7, hot-added 32-39 offline. Node 1: 128-135 online Movable.
# Nodes 0-1 online, 0-3 possible.
BOOT = ['--nodes', '0-1', '--possible', '0-3',
        '--boot', 'node0:0-7,node0:32-39/offline,node1:128-135/Movable']
MAX = MAX_BLOCKS
RESERVED = BLOCK_ID_MAX + 1  # UINT32_MAX: no block may have it


def cases():
    """(what, method, signature, args, substrings the message must contain)."""
    big = list(range(1000, 1000 + MAX + 1))
    out = []
    for method, sig, extra in (('OnlineBlocks', 'aus', ['movable']), ('OfflineBlocks', 'au', [])):
        out += [
            (f'{method}: empty list', method, sig, [[]] + extra, ['Empty block list']),
            (f'{method}: {MAX + 1} blocks', method, sig, [big] + extra,
             [f'Too many blocks: {MAX + 1}', f'{MAX}']),
            (f'{method}: {MAX + 1} blocks, all real ids twice over', method, sig,
             [[32, 33] * (MAX // 2 + 1)] + extra, [f'Too many blocks: {MAX + 2}']),
            (f'{method}: duplicate', method, sig, [[32, 33, 34, 33]] + extra,
             ['Duplicate block memory33']),
            (f'{method}: duplicate, far apart', method, sig, [[128, 32, 129, 130, 128]] + extra,
             ['Duplicate block memory128']),
            (f'{method}: unknown block', method, sig, [[999]] + extra,
             ['No such memory block: memory999']),
            (f'{method}: unknown block after good ones', method, sig,
             [[32, 33, 128, 129, 40]] + extra, ['No such memory block: memory40']),
            (f'{method}: block {RESERVED}', method, sig, [[32, RESERVED]] + extra,
             [str(RESERVED)]),
        ]
    # Exactly the limit passes the count check and fails on the first unknown block.
    out.append((f'OfflineBlocks: {MAX} unknown blocks', 'OfflineBlocks', 'au',
                [list(range(1000, 1000 + MAX))], ['No such memory block: memory1000']))
    for zone in ('sideways', '', 'Movable', 'online_movable', 'movable '):
        out.append((f'OnlineBlocks: zone {zone!r}', 'OnlineBlocks', 'aus', [[32, 33], zone],
                    [f"Unknown zone '{zone}'"]))
    for policy in ('sometimes', '', 'ONLINE', 'online-movable', 'auto_movable'):
        out.append((f'SetNodePolicy: policy {policy!r}', 'SetNodePolicy', 'us', [0, policy],
                    [f"Unknown policy '{policy}'"]))
    for node in (4, 5, 1023, 1024, 65535, RESERVED):
        out.append((f'SetNodePolicy: node {node}', 'SetNodePolicy', 'us', [node, 'online'],
                    [f'Node {node} is not a possible node']))
    # Wrong D-Bus signatures: sd-bus refuses them before memhpd's code runs.
    out += [
        ('OnlineBlocks without a zone', 'OnlineBlocks', 'au', [[32]], []),
        ('OfflineBlocks with a zone', 'OfflineBlocks', 'aus', [[128], 'movable'], []),
        ('OnlineBlocks with signed ids', 'OnlineBlocks', 'ais', [[32], 'movable'], []),
        ('SetNodePolicy with a string node', 'SetNodePolicy', 'ss', ['0', 'online'], []),
    ]
    return out


def test_bad_input(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp, 'system')
    d = Memhpd(tmp, sim, bus, quiet_config())
    c = bus.conn()
    prior = states(sim)
    nodes = c.call('ListNodes')[0]
    sim.ctl('reset-counters')
    n = 0
    for what, method, sig, args, words in cases():
        msg = expect_error(lambda: c.call(method, sig, args), E_ARGS, what)
        for w in words:
            check(w in msg, f'{what}: message lacks {w!r}: {msg!r}')
        check_eq(sim.writes(), ({}, 0), f'{what}: sim writes')
        log(f'   {what}: {msg[:100]}')
        n += 1
    log(f'   {n} bad requests refused')
    check_eq(states(sim), prior, 'sim state')
    check_eq(c.call('ListNodes')[0], nodes, 'node policies')
    check_eq(d.count(r'^memhpd: Operation '), 0, 'no operation was started')
    check_eq(d.intents(), [], 'no intent record')

    # A block being offlined by someone else is refused as well (and not written to).
    sim.ctl('hang', 130)
    other = sim.write_async('sys/devices/system/memory/memory130/state', 'offline',
                            timeout_ms=5000)
    sim.ctl('wait-hung', 130, 5000)
    check_eq(states(sim, [130]), {130: ('going-offline', 'Movable')}, 'memory130 going offline')
    before = sim.writes()
    msg = expect_error(lambda: c.call('OfflineBlocks', 'au', [[129, 130, 131]]), E_ARGS,
                       'OfflineBlocks of a going-offline block')
    check('memory130 is being offlined already' in msg, f'going-offline message: {msg!r}')
    msg = expect_error(lambda: c.call('OnlineBlocks', 'aus', [[130], 'kernel']), E_ARGS,
                       'OnlineBlocks of a going-offline block')
    check('memory130' in msg, f'going-offline message: {msg!r}')
    check_eq(sim.writes(), before, 'no writes while refusing a going-offline block')
    sim.ctl('release', 130)
    check_eq(other.result(), 'ok', 'the other agent\'s offline')

    # The same daemon still works: a good request after all the bad ones. Node 3 is possible
    # but has no memory: SetNodePolicy checks the possible mask, not the online one.
    c.call('SetNodePolicy', 'us', [3, 'online_kernel'])
    check_eq([n[1] for n in c.call('ListNodes')[0] if n[0] == 3], ['online_kernel'],
             'node 3 policy')
    check_eq(c.call('OnlineBlocks', 'aus', [[32], 'movable']), [[(32, 'online', 'Movable')]],
             'a good request afterwards')
    d.stop()


run_tests([
    test_bad_input,
])
