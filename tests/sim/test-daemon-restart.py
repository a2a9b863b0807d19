#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: restarts change nothing.

A block someone offlines while memhpd runs (here: by writing its sysfs state, as an admin
would) stays offline across a restart of memhpd, because the start-up coldplug leaves blocks
with a hold record alone. The runtime directory survives a restart (RuntimeDirectoryPreserve=
restart) but not a reboot: with a fresh one, coldplug applies the policy again. Blocks added
while memhpd was stopped are coldplugged; a held block removed and added again while memhpd
was stopped is a new block and gets the policy; a block removed while memhpd runs loses its
record. Every verdict is the sim's own state and write log, not memhpd's word."""

import os

from simlib import Daemon, Sim, check, check_eq, run_tests, wait_until

CONFIG = '''[Daemon]
EventSource=udev
[Policy]
Default=online_movable
'''


def state(sim, block):
    return sim.blocks().get(block, ('absent', '', -1))[0]


def holds(d):
    run = os.path.join(os.path.dirname(d.log_path), 'memhpd-run')
    return sorted(int(n[5:]) for n in os.listdir(run) if n.startswith('hold-'))


def admin_offline(sim, d, block):
    check_eq(sim.write(f'sys/devices/system/memory/memory{block}/state', 'offline'), 'ok',
             f'offlining memory{block} by hand')
    # memhpd has seen it once its hold is recorded (the record is what survives a restart).
    wait_until(lambda: block in holds(d), what=f'hold record of memory{block}')


def test_restart_keeps_admin_offline(tmp):
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG)
    sim.ctl('add-dimm', 0, 8, 16)
    wait_until(lambda: all(state(sim, b) == 'online' for b in range(16, 24)),
               what='DIMM onlined')
    admin_offline(sim, d, 20)
    admin_offline(sim, d, 21)
    # The running daemon leaves them be (no write after the admin's).
    d.wait_quiet(0.5)
    check_eq(state(sim, 20), 'offline', 'memory20 while memhpd runs')
    d.stop()

    # While memhpd is stopped: a DIMM is added, and held memory21 is unplugged and replaced.
    sim.ctl('add-dimm', 0, 4, 32)
    sim.ctl('remove', '21', 'force')
    sim.ctl('add-dimm', 0, 1, 21)
    sim.ctl('reset-counters')

    d = Daemon(tmp, sim, CONFIG)
    wait_until(lambda: all(state(sim, b) == 'online' for b in list(range(32, 36)) + [21]),
               what='blocks added while memhpd was stopped onlined by coldplug')
    d.wait_quiet(0.5)
    check_eq(state(sim, 20), 'offline', 'held memory20 after the restart')
    writes, _ = sim.writes()
    check_eq(writes.get(20, 0), 0, 'writes to held memory20 after the restart')
    check_eq(holds(d), [20], 'hold records after the restart')
    check('memory21 was removed and added again while memhpd was stopped' in d.log(),
          'memhpd said why memory21 is no longer held')
    check('1 memory blocks offlined on purpose before the restart stay offline' in d.log(),
          'memhpd said which blocks it keeps offline')

    # Onlined by hand: the hold is released, and a later offline by hand holds it again.
    check_eq(sim.write('sys/devices/system/memory/memory20/state', 'online_movable'), 'ok',
             'onlining memory20 by hand')
    wait_until(lambda: holds(d) == [], what='hold of memory20 released')
    admin_offline(sim, d, 20)
    # Removed while memhpd runs: the record goes with the block.
    sim.ctl('remove', '20', 'force')
    wait_until(lambda: holds(d) == [], what='hold of removed memory20 dropped')
    d.stop()


def test_reboot_forgets(tmp):
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG)
    sim.ctl('add-dimm', 0, 2, 16)
    wait_until(lambda: state(sim, 17) == 'online', what='DIMM onlined')
    admin_offline(sim, d, 17)
    d.stop()
    # A reboot starts with an empty runtime directory: the offline block is coldplugged again.
    d = Daemon(tmp, sim, CONFIG, name='memhpd-after-reboot')
    wait_until(lambda: state(sim, 17) == 'online', what='memory17 onlined after the "reboot"')
    d.stop()


def test_damaged_record(tmp):
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7,node0:16-17/offline')
    run = os.path.join(tmp, 'memhpd-run')
    os.makedirs(run)
    with open(os.path.join(run, 'hold-16'), 'w') as f:
        f.write('memhpd-hold 1\nblock 16\ninode garbage\n')
    d = Daemon(tmp, sim, CONFIG)
    wait_until(lambda: state(sim, 16) == 'online' and state(sim, 17) == 'online',
               what='blocks without a valid hold coldplugged')
    check('Removed 1 damaged hold records' in d.log(), 'memhpd reported the damaged record')
    check(not os.path.exists(os.path.join(run, 'hold-16')), 'damaged record removed')
    d.stop()


run_tests([test_restart_keeps_admin_offline, test_reboot_forgets, test_damaged_record])
