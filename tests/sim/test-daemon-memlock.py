#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim: its memory is locked, as the unit runs it.

The unit grants no CAP_IPC_LOCK, only LimitMEMLOCK=. memhpd runs here the same way (the
capability dropped from every set, the unit's limit read from the unit file), and the kernel's
own account (/proc/PID/status VmLck) must show all of memhpd's resident memory locked, through
start-up and a storm of hot-adds. A limit too small to lock it all is a warning, not a refusal:
memhpd still onlines memory."""

import os
import re
import resource

from simlib import (Daemon, Sim, check, log, run_tests, status_kib, wait_policy)

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'systemd',
                    'memhpd.service.in')
CONFIG = '''[Daemon]
EventSource=udev
[Policy]
Default=online_movable
'''
NO_IPC_LOCK = ['setpriv', '--inh-caps=-ipc_lock', '--bounding-set=-ipc_lock']


def unit_memlock_bytes():
    with open(UNIT) as f:
        m = re.search(r'^LimitMEMLOCK=(\d+)([KMG]?)$', f.read(), re.M)
    check(m, f'{UNIT} sets no LimitMEMLOCK=')
    return int(m.group(1)) << {'': 0, 'K': 10, 'M': 20, 'G': 30}[m.group(2)]


def caps(pid, field):
    with open(f'/proc/{pid}/status') as f:
        return int(re.search(rf'^{field}:\s+([0-9a-f]+)$', f.read(), re.M).group(1), 16)


def check_locked(d, when):
    pid = d.proc.pid
    lck, rss = status_kib(pid, 'VmLck'), status_kib(pid, 'VmRSS')
    log(f'   {when}: VmLck {lck} KiB, VmRSS {rss} KiB')
    # Every resident page is locked (RSS may count a page or two mapped since, e.g. vdso).
    check(lck > 0 and lck >= rss - 64, f'{when}: only {lck} of {rss} KiB locked')
    return lck


def test_locked_without_capability(tmp):
    # The unit's limit, or this machine's hard limit if that is lower (raising it needs
    # CAP_SYS_RESOURCE, which a container may not have): either is enough to lock start-up.
    limit = min(unit_memlock_bytes(), resource.getrlimit(resource.RLIMIT_MEMLOCK)[1])
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG, wrap=['prlimit', f'--memlock={limit}', '--', *NO_IPC_LOCK])
    CAP_IPC_LOCK = 14
    check(not caps(d.proc.pid, 'CapEff') & (1 << CAP_IPC_LOCK), 'memhpd still has CAP_IPC_LOCK')
    start = check_locked(d, f'after start-up, RLIMIT_MEMLOCK {limit >> 10} KiB')
    # The writer thread's stack is locked too: it must be the small one memhpd asks for, not
    # an 8 MiB default that alone would exceed a distribution's default limit.
    check(start < 8 * 1024, f'{start} KiB locked at start')
    sim.ctl('add-dimm', 0, 8, 16)
    wait_policy(sim, {0: 'Movable'}, range(16, 24))
    check_locked(d, 'after a hot-add')
    check('Failed to lock' not in d.log(), 'memhpd warned about locking')
    d.stop()


def test_storm_stays_under_unit_limit(tmp):
    limit = unit_memlock_bytes()
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG)
    sim.ctl('storm', 20000, 0, 64)
    wait_policy(sim, {0: 'Movable'}, range(64, 20064), timeout=60)
    peak = check_locked(d, 'after 20,000 hot-added blocks')
    check(status_kib(d.proc.pid, 'VmHWM') * 1024 * 4 < limit,
          f'{peak} KiB locked at most: less than 4x headroom under LimitMEMLOCK=')
    d.stop()


def test_limit_too_small(tmp):
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG, wrap=['prlimit', '--memlock=65536', '--', *NO_IPC_LOCK])
    d.wait_log(r'Failed to lock memhpd.s memory \(RLIMIT_MEMLOCK is 64 KiB')
    locked = status_kib(d.proc.pid, 'VmLck')
    check(locked == 0, f'{locked} KiB locked although mlockall failed')
    sim.ctl('add-dimm', 0, 4, 16)
    wait_policy(sim, {0: 'Movable'}, range(16, 20))
    d.stop()


run_tests([test_locked_without_capability, test_storm_stays_under_unit_limit, test_limit_too_small])
