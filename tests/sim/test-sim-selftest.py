#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of memhp-sim itself: layout, kernel state machine and errno, zones, faults,
uevents as a real libudev monitor sees them, storm rate and memory."""

import os
import re
import socket
import signal
import time

from simlib import (MEM, NODE, PAGES_PER_BLOCK, SIM, Listener, Sim, SimError, check,
                    check_eq, log, rss_kib, run_tests, wait_until)
import subprocess

BOOT = ['--nodes', '0,1', '--possible', '0-2', '--boot', 'node0:0-7,node1:100-103']


def test_layout(tmp):
    sim = Sim(tmp, *BOOT)
    check_eq(sim.read(f'{MEM}/block_size_bytes'), '8000000\n', 'block_size_bytes')
    check_eq(sim.read(f'{MEM}/auto_online_blocks'), 'offline\n', 'auto_online_blocks')
    names = sorted(os.listdir(sim.path(MEM)))
    check_eq(names, sorted(['auto_online_blocks', 'block_size_bytes'] +
                           [f'memory{i}' for i in list(range(8)) + [100, 101, 102, 103]]),
             'memory dir')
    check_eq(sorted(os.listdir(sim.path(f'{MEM}/memory101'))),
             ['node1', 'online', 'phys_device', 'phys_index', 'removable', 'state', 'uevent',
              'valid_zones'], 'block dir')
    # Ids are decimal and sparse, phys_index is %08lx.
    check(not os.path.exists(sim.path(f'{MEM}/memory8')), 'memory8 must not exist')
    check(not os.path.exists(sim.path(f'{MEM}/memory0100')), 'no leading zeros')
    check_eq(sim.read(f'{MEM}/memory101/phys_index'), '00000065\n', 'phys_index')
    check_eq(sim.read(f'{MEM}/memory101/phys_device'), '0\n', 'phys_device')
    check_eq(sim.read(f'{MEM}/memory101/removable'), '1\n', 'removable')
    check_eq(sim.read(f'{MEM}/memory101/uevent'), '', 'uevent')
    # Boot memory: block 0 spans DMA and DMA32, the rest of the first 4 GiB is DMA32.
    check_eq(sim.read(f'{MEM}/memory0/valid_zones'), 'none\n', 'memory0 valid_zones')
    check_eq(sim.read(f'{MEM}/memory3/valid_zones'), 'DMA32\n', 'memory3 valid_zones')
    check_eq(sim.read(f'{MEM}/memory101/valid_zones'), 'Normal\n', 'above 4 GiB: Normal')
    check_eq(sim.read(f'{MEM}/memory3/state'), 'online\n', 'state')
    check_eq(sim.read(f'{MEM}/memory3/online'), '1\n', 'online')
    check_eq(os.readlink(sim.path(f'{MEM}/memory101/node1')), '../../node/node1', 'node link')
    check_eq(os.readlink(sim.path(f'{NODE}/node1/memory101')), '../../memory/memory101',
             'back link')
    check(os.path.samefile(sim.path(f'{MEM}/memory101/node1'), sim.path(f'{NODE}/node1')),
          'node link resolves')
    check(not os.path.exists(sim.path(f'{MEM}/memory101/node0')), 'only its own node link')
    check_eq(sorted(os.listdir(sim.path(f'{NODE}/node1'))),
             ['meminfo'] + [f'memory{i}' for i in (100, 101, 102, 103)], 'node1 dir')
    check_eq(sim.read(f'{NODE}/possible'), '0-2\n', 'possible')
    check_eq(sim.read(f'{NODE}/online'), '0-1\n', 'online')
    check_eq(sim.read(f'{NODE}/has_memory'), '0-1\n', 'has_memory')
    check_eq(sim.read(f'{NODE}/has_normal_memory'), '0-1\n', 'has_normal_memory')
    check(not os.path.exists(sim.path(f'{NODE}/node2')), 'node2 is offline')
    check_eq(sim.read(f'{NODE}/node1/meminfo').splitlines()[0],
             'Node 1 MemTotal:       %8d kB' % (4 * 131072), 'meminfo')
    # zoneinfo: every zone of every online node, in kernel order, with present pages.
    zi = sim.read('proc/zoneinfo')
    headers = re.findall(r'^Node (\d+), zone +(\w+)$', zi, re.M)
    check_eq(headers, [(n, z) for n in '01' for z in ('DMA', 'DMA32', 'Normal', 'Movable',
                                                       'Device')], 'zoneinfo headers')
    check(re.search(r'^Node 0, zone      DMA$', zi, re.M), 'zone names are %8s')
    present = parse_zoneinfo(zi)
    check_eq(present[(0, 'DMA')], 4096, 'DMA present')
    check_eq(present[(0, 'DMA32')], 8 * PAGES_PER_BLOCK - 4096, 'DMA32 present')
    check_eq(present[(1, 'Normal')], 4 * PAGES_PER_BLOCK, 'node1 Normal present')
    check_eq(present, sim.zones(), 'zoneinfo == sim truth')
    check_eq(sim.read('sys/module/memory_hotplug/parameters/online_policy'), 'contig-zones\n',
             'online_policy')
    # Read-only attributes refuse writers, as kernfs does even for root.
    try:
        open(sim.path(f'{MEM}/memory3/valid_zones'), 'w').close()
        raise AssertionError('valid_zones opened for writing')
    except PermissionError:
        pass


def parse_zoneinfo(text):
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r'^Node (\d+), zone +(\w+)$', line)
        if m:
            cur = (int(m.group(1)), m.group(2))
        elif cur and re.match(r'^\s+present\s+\d+$', line):
            out[cur] = int(line.split()[1])
    return out


def test_state_machine(tmp):
    sim = Sim(tmp, *BOOT)
    check_eq(sim.ctl('add-dimm', 1, 4, 32), ['added 32-35 node 1'], 'add-dimm')
    st = f'{MEM}/memory32/state'
    check_eq(sim.read(st), 'offline\n', 'hot-added blocks arrive offline')
    check_eq(sim.read(f'{MEM}/memory32/online'), '0\n', 'online attr')
    check_eq(sim.read(f'{MEM}/memory32/valid_zones'), 'Normal Movable\n', 'valid_zones')
    check_eq(sim.write(st, 'online_movable'), 'ok', 'online_movable')
    check_eq(sim.read(st), 'online\n', 'state after online')
    check_eq(sim.read(f'{MEM}/memory32/valid_zones'), 'Movable\n', 'zone after online')
    # Already in the requested state: EINVAL, whatever the zone asked for.
    check_eq(sim.write(st, 'online_movable'), 'EINVAL', 'second online_movable')
    check_eq(sim.write(st, 'online_kernel'), 'EINVAL', 'online_kernel on online')
    check_eq(sim.write(st, 'online'), 'EINVAL', 'online on online')
    check_eq(sim.write(st, 'bogus'), 'EINVAL', 'unknown string')
    check_eq(sim.write(st, 'online_movable '), 'EINVAL', 'trailing space')
    check_eq(sim.write(st, 'offline\n'), 'ok', 'offline with newline (sysfs_streq)')
    check_eq(sim.write(st, 'offline'), 'EINVAL', 'offline on offline')
    check_eq(sim.read(f'{MEM}/memory32/valid_zones'), 'Normal Movable\n', 'valid_zones back')
    # contig-zones: an offline block inside the Movable span defaults to Movable.
    check_eq(sim.write(f'{MEM}/memory33/state', 'online_movable'), 'ok', '33 movable')
    check_eq(sim.write(f'{MEM}/memory35/state', 'online_movable'), 'ok', '35 movable')
    check_eq(sim.read(f'{MEM}/memory34/valid_zones'), 'Movable Normal\n', 'inside Movable')
    check_eq(sim.write(f'{MEM}/memory34/state', 'online'), 'ok', 'plain online')
    check_eq(sim.read(f'{MEM}/memory34/valid_zones'), 'Movable\n', 'plain online follows')
    check_eq(sim.read(f'{MEM}/memory32/valid_zones'), 'Normal Movable\n',
             'adjacent is not intersecting')
    check_eq(sim.write(f'{MEM}/memory32/state', 'online_kernel'), 'ok', 'online_kernel')
    check_eq(sim.read(f'{MEM}/memory32/valid_zones'), 'Normal\n', 'kernel zone')
    # The online attribute: kstrtobool, idempotent, no zone choice.
    on = f'{MEM}/memory34/online'
    check_eq(sim.write(on, '1'), 'ok', 'online=1 on online block')
    check_eq(sim.write(on, '0'), 'ok', 'online=0')
    check_eq(sim.read(f'{MEM}/memory34/state'), 'offline\n', 'offlined via online attr')
    check_eq(sim.write(on, 'n'), 'ok', 'online=n on offline block')
    check_eq(sim.write(on, 'x'), 'EINVAL', 'online=x')
    # Node 1's Normal span now reaches from block 32 to its boot blocks 100-103, so
    # both zones span block 34 and plain online falls back to the kernel zone.
    check_eq(sim.read(f'{MEM}/memory34/valid_zones'), 'Normal Movable\n', 'both intersect')
    check_eq(sim.write(on, 'on'), 'ok', 'online=on')
    check_eq(sim.read(f'{MEM}/memory34/valid_zones'), 'Normal\n', 'online attr zone')
    # A boot block spanning zones cannot go offline.
    check_eq(sim.write(f'{MEM}/memory0/state', 'offline'), 'EINVAL', 'offline of none')
    check_eq(sim.read(f'{MEM}/memory0/state'), 'online\n', 'memory0 still online')
    # Zone accounting.
    z = sim.zones()
    check_eq(z[(1, 'Movable')], 2 * PAGES_PER_BLOCK, 'Movable present')
    check_eq(z[(1, 'Normal')], 6 * PAGES_PER_BLOCK, 'Normal present (4 boot + 2)')
    check_eq(parse_zoneinfo(sim.read('proc/zoneinfo')), z, 'zoneinfo')
    check_eq(sim.blocks()[32], ('online', 'Normal', 1), 'state dump')
    check_eq(sim.blocks()[35], ('online', 'Movable', 1), 'state dump')
    # Counters: every write, valid or not, counts.
    counts, total = sim.writes()
    check_eq(counts[32], 9, 'writes to 32')
    check_eq(sim.ctl('writes', 100), ['0'], 'no writes to boot blocks')
    check_eq(sim.wlog()[1], ('32', 'state', 'online_movable', 'EINVAL'), 'wlog')
    sim.ctl('reset-counters')
    check_eq(sim.writes(), ({}, 0), 'after reset')
    # The kernel acting itself (auto-online, another onliner).
    sim.ctl('add-dimm', 'node=2', 'blocks=2', 'start=64')
    check_eq(sim.read(f'{NODE}/online'), '0-2\n', 'hot-add onlines the node')
    check_eq(sim.read(f'{NODE}/has_memory'), '0-1\n', 'no memory on node2 yet')
    sim.ctl('online', 64, 'online_movable')
    check_eq(sim.read(f'{NODE}/has_memory'), '0-2\n', 'node2 has memory')
    check_eq(sim.read(f'{NODE}/has_normal_memory'), '0-1\n', 'but no normal memory')
    try:
        sim.ctl('online', 64)
        raise AssertionError('ctl online of an online block succeeded')
    except SimError as e:
        check_eq(e.errno, 'EINVAL', 'ctl online twice')
    check_eq(sim.writes(), ({}, 0), 'ctl changes are not writes')


def test_movable_node(tmp):
    sim = Sim(tmp, '--movable-node', '--block-size', '10000000', *BOOT[:4],
              '--boot', 'node0:0-3')
    check_eq(sim.read(f'{MEM}/block_size_bytes'), '10000000\n', 'block size')
    sim.ctl('add-dimm', 1, 2, 40)
    check_eq(sim.read(f'{MEM}/memory40/valid_zones'), 'Movable Normal\n', 'movable_node')
    check_eq(sim.read(f'{MEM}/memory40/phys_index'), '00000028\n', 'phys_index')
    check_eq(sim.write(f'{MEM}/memory40/state', 'online'), 'ok', 'online')
    check_eq(sim.zones()[(1, 'Movable')], 0x10000000 // 4096, 'pages of a 256 MiB block')


def test_auto_online(tmp):
    sim = Sim(tmp, *BOOT)
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'sideways'), 'EINVAL', 'bad value')
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'online_movable'), 'ok', 'set')
    check_eq(sim.read(f'{MEM}/auto_online_blocks'), 'online_movable\n', 'read back')
    lst = Listener(count=4)
    sim.ctl('add-dimm', 1, 2, 32)
    events, _, _ = lst.finish()
    check_eq([(e[0], e[1]) for e in events],
             [('add', '/devices/system/memory/memory32'),
              ('add', '/devices/system/memory/memory33'),
              ('online', '/devices/system/memory/memory32'),
              ('online', '/devices/system/memory/memory33')], 'adds first, then onlines')
    check_eq(sim.blocks()[33], ('online', 'Movable', 1), 'auto-onlined')


def test_uevents(tmp):
    sim = Sim(tmp, *BOOT, '--kernel-group')
    # The kernel group, read raw: the kernel's format, from the sim's port (never 0).
    kernel = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)  # NETLINK_KOBJECT_UEVENT
    kernel.bind((0, 1))
    kernel.settimeout(5)
    lst = Listener(count=7)
    other = Listener('--subsystem', 'cpu', idle_ms=1500)
    sim.ctl('add-dimm', 1, 2, 32)
    check_eq(sim.write(f'{MEM}/memory32/state', 'online_movable'), 'ok', 'online')
    check_eq(sim.write(f'{MEM}/memory32/state', 'online_movable'), 'EINVAL', 'no event')
    check_eq(sim.write(f'{MEM}/memory32/online', '0'), 'ok', 'offline')
    check_eq(sim.write(f'{MEM}/memory32/uevent', 'change'), 'ok', 'synthetic change')
    check_eq(sim.write(f'{MEM}/memory32/uevent', 'explode'), 'EINVAL', 'bad action')
    sim.ctl('remove', '32-33')
    events, enobufs, total = lst.finish()
    dp = '/devices/system/memory/memory'
    check_eq([(a, d, s) for a, d, _, s in events],
             [('add', dp + '32', 'memory'), ('add', dp + '33', 'memory'),
              ('online', dp + '32', 'memory'), ('offline', dp + '32', 'memory'),
              ('change', dp + '32', 'memory'), ('remove', dp + '32', 'memory'),
              ('remove', dp + '33', 'memory')], 'events')
    seqs = [e[2] for e in events]
    check_eq(seqs, list(range(seqs[0], seqs[0] + 7)), 'SEQNUM consecutive')
    check_eq((enobufs, total), (0, 7), 'no loss')
    _, _, other_total = other.finish()
    check_eq(other_total, 0, 'the subsystem filter drops memory events')
    port = sim.events()['port']
    check(port > 0, f'sim port {port}')
    check_eq(sim.ctl('events'), [f'seqnum {seqs[-1]} sent 7 failed 0 port {port}'],
             'events counter')
    # The host kernel's own uevents reach this network namespace too (port 0): skip those.
    raw = []
    while len(raw) < 7:
        data, (sender, groups) = kernel.recvfrom(8192)
        check_eq(groups, 1, 'kernel group')
        if sender != 0:
            check_eq(sender, port, 'sender of a kernel-group message not from the kernel')
            raw.append(data)
    kernel.close()
    check_eq(raw[0], (f'add@{dp}32\0ACTION=add\0DEVPATH={dp}32\0SUBSYSTEM=memory\0'
                      f'SEQNUM={seqs[0]}\0').encode(), 'kernel format of the first add')
    check_eq(raw[4], (f'change@{dp}32\0ACTION=change\0DEVPATH={dp}32\0SUBSYSTEM=memory\0'
                      f'SYNTH_UUID=0\0SEQNUM={seqs[4]}\0').encode(), 'a synthetic change')


def test_remove(tmp):
    sim = Sim(tmp, *BOOT)
    sim.ctl('add-dimm', 1, 4, 32)
    sim.write(f'{MEM}/memory33/state', 'online_movable')
    for args, err in ((('remove', '32-35'), 'EBUSY'), (('remove', '36'), 'ENOENT'),
                      (('remove', '0', 'force'), 'EBUSY')):
        try:
            sim.ctl(*args)
            raise AssertionError(f'{args} succeeded')
        except SimError as e:
            check_eq(e.errno, err, str(args))
    check_eq([b for b in sim.blocks() if 32 <= b < 40], [32, 33, 34, 35],
             'nothing removed on EBUSY')
    lst = Listener(count=5)
    check_eq(sim.ctl('remove', '32-35', 'force'), ['removed 4'], 'forced remove')
    events, _, _ = lst.finish()
    check_eq([e[0] for e in events], ['offline', 'remove', 'remove', 'remove', 'remove'],
             'eject offlines first')
    check(not os.path.exists(sim.path(f'{MEM}/memory33')), 'gone')
    check(not os.path.exists(sim.path(f'{NODE}/node1/memory33')), 'back link gone')
    check_eq(sim.zones()[(1, 'Movable')], 0, 'accounting follows')
    # An fd opened before the removal answers ENODEV (kernfs), a new open ENOENT.
    sim.ctl('add-dimm', 1, 1, 40)
    w = sim.write_async(f'{MEM}/memory40/state', 'online', hold_ms=400)
    sim.ctl('remove', 40)
    check_eq(w.result(), 'ENODEV', 'write on a stale fd')
    check_eq(sim.write(f'{MEM}/memory40/state', 'online'), 'ENOENT', 'open after removal')
    # Re-adding the same id is a new device; an fd on the old one still gets ENODEV.
    sim.ctl('add-dimm', 1, 1, 40)
    w = sim.write_async(f'{MEM}/memory40/state', 'online', hold_ms=500)
    sim.ctl('remove', 40)
    sim.ctl('add-dimm', 1, 1, 40)
    check_eq(sim.read(f'{MEM}/memory40/state'), 'offline\n', 're-added')
    check_eq(w.result(), 'ENODEV', 'stale fd after remove and re-add')
    check_eq(sim.write(f'{MEM}/memory40/state', 'online'), 'ok', 'the new block')


def test_faults(tmp):
    sim = Sim(tmp, *BOOT)
    sim.ctl('add-dimm', 1, 8, 32)
    st = lambda b: f'{MEM}/memory{b}/state'
    # fail: once, N times, always; the state does not change.
    sim.ctl('fail', 32, 'EBUSY')
    check_eq(sim.write(st(32), 'online_movable'), 'EBUSY', 'fail once')
    check_eq(sim.read(st(32)), 'offline\n', 'unchanged')
    check_eq(sim.write(st(32), 'online_movable'), 'ok', 'then ok')
    sim.ctl('fail', '33-34', 'ENOMEM', 2)
    check_eq(sim.ctl('faults'), ['33 fail ENOMEM 2', '34 fail ENOMEM 2'], 'faults listed')
    check_eq([sim.write(st(33), 'online') for _ in range(3)], ['ENOMEM', 'ENOMEM', 'ok'],
             'fail twice')
    sim.ctl('fail', 35, 'EHWPOISON', 'always')
    check_eq([sim.write(st(35), 'online') for _ in range(3)], ['EHWPOISON'] * 3, 'always')
    sim.ctl('clear', 35)
    check_eq(sim.write(st(35), 'online'), 'ok', 'cleared')
    check_eq(sim.write(st(34), 'bogus'), 'EINVAL', 'parse errors come before faults')
    check_eq(sim.write(st(34), 'online'), 'ENOMEM', 'fault still armed')
    # An offline that fails shows going-offline meanwhile, then online again.
    sim.ctl('slow', 32, 400)
    sim.ctl('fail', 32, 'EBUSY')
    w = sim.write_async(st(32), 'offline')
    wait_until(lambda: sim.read(st(32)) == 'going-offline\n', what='going-offline')
    check_eq(sim.read(f'{MEM}/memory32/online'), '1\n', 'online attr while going offline')
    check_eq(w.result(), 'EBUSY', 'offline failed')
    check_eq(sim.read(st(32)), 'online\n', 'back online')
    # slow: the write takes at least that long.
    sim.ctl('slow', 36, 300)
    t0 = time.monotonic()
    check_eq(sim.write(st(36), 'online'), 'ok', 'slow online')
    check(time.monotonic() - t0 >= 0.3, 'slow took its time')
    # A signal interrupts a slow offline (EINTR, as offline_pages() does) ...
    sim.ctl('slow', 36, 5000)
    t0 = time.monotonic()
    check_eq(sim.write(st(36), 'offline', timeout_ms=200), 'EINTR', 'slow offline signalled')
    check(time.monotonic() - t0 < 2, 'interrupted promptly')
    check_eq(sim.read(st(36)), 'online\n', 'still online')
    # ... but not a slow online.
    sim.ctl('slow', 37, 500)
    check_eq(sim.write(st(37), 'online', timeout_ms=100), 'ok', 'online ignores signals')
    # hang: until the writer is signalled -> EINTR.
    sim.ctl('hang', 38)
    t0 = time.monotonic()
    check_eq(sim.write(st(38), 'online', timeout_ms=300), 'EINTR', 'hang interrupted')
    check(0.25 < time.monotonic() - t0 < 3, 'hung until the signal')
    check_eq(sim.read(st(38)), 'offline\n', 'unchanged after EINTR')
    # hang holds the hotplug lock: other writers and hot-adds wait, readers do not.
    sim.ctl('hang', 38)
    w1 = sim.write_async(st(38), 'online')
    sim.ctl('wait-hung', 38, 5000)
    check_eq(sim.ctl('hung'), ['38'], 'hung list')
    w2 = sim.write_async(st(39), 'online')
    time.sleep(0.3)
    check(not w2.done(), 'second writer waits for the hotplug lock')
    check_eq(sim.read(st(39)), 'offline\n', 'reads still served')
    check_eq(sim.ctl('release', 38), ['released 1'], 'release')
    check_eq(w1.result(), 'ok', 'released write proceeds')
    check_eq(w2.result(), 'ok', 'waiter proceeds')
    # hang nolock: others go ahead.
    sim.ctl('hang', 38, 'nolock')
    w1 = sim.write_async(st(38), 'offline')
    sim.ctl('wait-hung', 38, 5000)
    check_eq(sim.write(st(39), 'offline'), 'ok', 'not blocked by a nolock hang')
    sim.ctl('release', 38)
    check_eq(w1.result(), 'ok', 'nolock released')
    # vanish: the block disappears during the write.
    lst = Listener(count=1)
    sim.ctl('vanish', 39)
    check_eq(sim.write(st(39), 'online'), 'ENOENT', 'vanish')
    check(39 not in sim.blocks(), 'block 39 gone')
    events, _, _ = lst.finish()
    check_eq(events[0][:2], ('remove', '/devices/system/memory/memory39'), 'remove event')
    sim.ctl('add-dimm', 1, 1, 39)
    sim.ctl('vanish', 39, 'ENODEV')
    check_eq(sim.write(st(39), 'online'), 'ENODEV', 'vanish with ENODEV')
    # race: another onliner gets there first; the write then finds the block online.
    sim.ctl('add-dimm', 1, 1, 48)
    sim.ctl('race', 48, 'online_movable')
    lst = Listener(count=1)
    check_eq(sim.write(st(48), 'online_kernel'), 'EINVAL', 'lost the race')
    check_eq(sim.blocks()[48], ('online', 'Movable', 1), "the racer's zone")
    events, _, _ = lst.finish()
    check_eq(events[0][:2], ('online', '/devices/system/memory/memory48'), 'online event')
    check_eq(sim.write(st(48), 'offline'), 'ok', 'race fired once')


def test_late_link(tmp):
    sim = Sim(tmp, *BOOT)
    # Long enough that the checks below run before the link even on a slow (ASan, loaded)
    # machine; they take milliseconds.
    sim.ctl('late-link', 3000)
    lst = Listener(count=1)
    sim.ctl('add-dimm', 1, 1, 32)
    lst.finish()
    check(os.path.exists(sim.path(f'{MEM}/memory32/state')), 'block exists at its add event')
    check(not os.path.lexists(sim.path(f'{MEM}/memory32/node1')), 'no node link yet')
    check('node1' not in os.listdir(sim.path(f'{MEM}/memory32')), 'not listed either')
    check(not os.path.lexists(sim.path(f'{NODE}/node1/memory32')), 'no back link yet')
    wait_until(lambda: os.path.lexists(sim.path(f'{MEM}/memory32/node1')), timeout=10,
               what='node link')
    check(os.path.lexists(sim.path(f'{NODE}/node1/memory32')), 'back link')
    sim.ctl('late-link', 0)
    sim.ctl('add-dimm', 1, 1, 33)
    check(os.path.lexists(sim.path(f'{MEM}/memory33/node1')), 'immediate again')


def test_storm(tmp):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    lst = Listener('--quiet', '--rcvbuf', str(512 << 20), count=65536, idle_ms=10000)
    out = sim.ctl('storm', 65536, 1, 64)
    log('   ' + ' / '.join(out))
    rate = float(re.search(r': (\d+) events/s', out[1]).group(1))
    _, enobufs, total = lst.finish(timeout=120)
    check_eq((total, enobufs), (65536, 0), 'listener got every event')
    rss = rss_kib(sim.proc.pid)
    log(f'   storm: {rate:.0f} events/s, sim RSS {rss} KiB with {65536 + 8} blocks')
    # Speed is the benchmarks' business (bench-storm); a rate here would fail on a slow machine.
    print(f'BENCH sim_storm_events_per_s {rate:.0f} events/s', flush=True)
    check(rss < 64 * 1024, f'sim RSS {rss} KiB at 65,536 blocks')
    t0 = time.monotonic()
    n = len(os.listdir(sim.path(MEM)))
    log(f'   readdir of {n} entries: {time.monotonic() - t0:.2f}s')
    check_eq(n, 65536 + 8 + 2, 'all blocks listed')
    check_eq(sim.read(f'{MEM}/memory65599/state'), 'offline\n', 'last block')
    check_eq(len(os.listdir(sim.path(f'{NODE}/node1'))), 65536 + 1, 'node1 links')


def test_overflow(tmp):
    # The premise of memhpd's storm test: a stalled monitor with a small buffer overflows.
    sim = Sim(tmp, *BOOT)
    lst = Listener('--quiet', '--rcvbuf', '65536', idle_ms=1500)
    lst.proc.send_signal(signal.SIGSTOP)
    sim.ctl('storm', 5000, 1, 1000)
    lst.proc.send_signal(signal.SIGCONT)
    _, enobufs, total = lst.finish()
    log(f'   stalled listener: {total} of 5000 events, {enobufs} ENOBUFS')
    check_eq(enobufs, 1, 'one ENOBUFS per overflow')
    check(0 < total < 5000, f'{total} events received')


def test_refuses_bad_mountpoints(tmp):
    os.mkdir(os.path.join(tmp, 'full'))
    open(os.path.join(tmp, 'full', 'x'), 'w').close()
    os.symlink('/sys/devices/system/memory', os.path.join(tmp, 'syslink'))
    for target in ('/', '/sys/devices/system/memory', os.path.join(tmp, 'syslink'),
                   os.path.join(tmp, 'full')):
        r = subprocess.run([SIM, 'serve', target, '--ctl', os.path.join(tmp, 'c.sock')],
                           capture_output=True, text=True, timeout=10)
        check_eq(r.returncode, 1, f'serve {target}')
        check('refusing mount point' in r.stderr, r.stderr)


run_tests([
    test_layout,
    test_state_machine,
    test_movable_node,
    test_auto_online,
    test_uevents,
    test_remove,
    test_faults,
    test_late_link,
    test_overflow,
    test_refuses_bad_mountpoints,
    test_storm,
])
