#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: the kernel's auto_online_blocks around a hand-off.

memhpd takes over the setting only when it is "offline", records that in its runtime
directory, and puts it back on stop, on a reload to a policy the kernel cannot apply, and at
the next start after a crash. A value somebody else wrote meanwhile is theirs: memhpd leaves it
as it is, on stop, on reload and after a crash. A record memhpd could not have written is
dropped. Every verdict is the sim's auto_online_blocks and the runtime directory's files."""

import os
import signal

from simlib import MEM, Daemon, Sim, check, check_eq, run_tests, wait_until

HANDOFF = '''[Daemon]
EventSource=udev
[Policy]
Default=online_movable
'''
WRITES = HANDOFF + 'KernelOnline=no\n'
KERNEL = HANDOFF.replace('online_movable', 'online_kernel')


def setting(sim):
    return sim.read(f'{MEM}/auto_online_blocks').strip()


def record(d):
    path = os.path.join(d.runtime, 'kernel-online')
    return open(path).read().strip() if os.path.exists(path) else None


def handed_off(tmp, name='memhpd'):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, HANDOFF, name=name)
    d.wait_log(r'the kernel onlines new memory itself')
    check_eq(setting(sim), 'online_movable', 'handed off')
    check(record(d) is not None, 'the hand-off record is written')
    return sim, d


def reload(d, config):
    with open(d.conf_path, 'w') as f:
        f.write(config)
    n = d.count(r'Configuration reloaded')
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.count(r'Configuration reloaded') > n, what='the reload')
    d.wait_quiet(0.3)


def test_stop_restores(tmp):
    sim, d = handed_off(tmp)
    d.stop()
    check_eq(setting(sim), 'offline', 'restored at stop')
    check_eq(record(d), None, 'record gone')


def test_stop_leaves_an_admins_value(tmp):
    sim, d = handed_off(tmp)
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'online_kernel'), 'ok', 'admin write')
    d.stop()
    check_eq(setting(sim), 'online_kernel', 'the admin\'s value survives memhpd\'s stop')
    check_eq(record(d), None, 'record gone')


def test_reload_leaves_an_admins_value(tmp):
    sim, d = handed_off(tmp)
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'offline'), 'ok', 'admin write')
    reload(d, KERNEL)
    check_eq(setting(sim), 'offline', 'a reload does not overwrite the admin\'s value')
    d.stop()
    check_eq(setting(sim), 'offline', 'nor does the stop')


def test_reload_to_writes_restores(tmp):
    sim, d = handed_off(tmp)
    reload(d, WRITES)
    check_eq(setting(sim), 'offline', 'KernelOnline=no takes the hand-off back')
    check_eq(record(d), None, 'record gone')
    d.stop()


def test_crash_then_restart_restores(tmp):
    sim, d = handed_off(tmp)
    d.kill()
    check_eq(setting(sim), 'online_movable', 'still handed off after SIGKILL')
    d2 = Daemon(tmp, sim, WRITES, name='memhpd2', runtime=d.runtime)
    d2.wait_log(r'auto_online_blocks=offline again \(restored after an unclean stop\)')
    check_eq(setting(sim), 'offline', 'restored by the next start')
    check_eq(record(d2), None, 'record gone')
    d2.stop()


def test_crash_then_admin_value_is_kept(tmp):
    sim, d = handed_off(tmp)
    d.kill()
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'online'), 'ok', 'admin write')
    d2 = Daemon(tmp, sim, WRITES, name='memhpd2', runtime=d.runtime)
    check_eq(setting(sim), 'online', 'the admin\'s value survives the next start')
    check(d2.count(r'auto_online_blocks=online, not online_movable as memhpd set it') == 1,
          'memhpd said why it left the value')
    check_eq(record(d2), None, 'record gone')
    d2.stop()


def test_bad_record_is_dropped(tmp):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    run = os.path.join(tmp, 'memhpd-run')
    os.makedirs(run)
    with open(os.path.join(run, 'kernel-online'), 'w') as f:
        f.write('online_bogus\n')
    d = Daemon(tmp, sim, HANDOFF, runtime=run)
    d.wait_log(r'the kernel onlines new memory itself')
    check_eq(setting(sim), 'online_movable', 'handed off')
    d.stop()
    check_eq(setting(sim), 'offline', 'restored at stop, not stuck on a bad record')
    check_eq(record(d), None, 'record gone')
    check(d.count(r'Hand-off record holds no value memhpd writes, dropping it') == 1,
          'the bad record was named and dropped')


run_tests([test_stop_restores, test_stop_leaves_an_admins_value,
           test_reload_leaves_an_admins_value, test_reload_to_writes_restores,
           test_crash_then_restart_restores, test_crash_then_admin_value_is_kept,
           test_bad_record_is_dropped])
