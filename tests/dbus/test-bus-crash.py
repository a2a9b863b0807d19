#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crash safety, the crash-point loop. memhpd runs with the crashpoint.c shim preloaded and
MEMHP_CRASH_AT=i, which SIGKILLs it right after the i-th durable step of an operation (1: intent
record written; then per block written: after the write, after the progress save; last: record
removed, reply not sent yet). For a 3-block
OnlineBlocks and OfflineBlocks, every i in 1..2n+2: the caller gets NoReply, the blocks are
changed as far as i says, and a restart without the hook puts every block back in its prior
state within 5 s and removes the intent record (at 2n+2 the operation had completed: the blocks
keep their new state and there is nothing to recover). The same for a failing operation, whose
crash points run on through its rollback, and for crashes during the recovery itself."""

import os
import time

from buslib import (E_NOREPLY, Bus, Memhpd, Sim, check, check_eq, expect_error, log,
                    quiet_config, run_tests, set_states, states, wait_until)
from simlib import memhpd_preload

BOOT = ['--nodes', '0-1', '--boot', 'node0:0-7,node0:32-34/offline,node1:128-130/Movable']
BASE = {32: ('offline', '-'), 33: ('offline', '-'), 34: ('offline', '-'),
        128: ('online', 'Movable'), 129: ('online', 'Movable'), 130: ('online', 'Movable')}
CONFIG = quiet_config(timeout=10, retries=0)
CRASHPOINT = os.environ.get('MEMHP_CRASHPOINT', '')


# name, method, args, blocks in the order written (offlines: highest address first, whatever
# the order asked), state of a block after its forward write
OPS = [
    ('online', 'OnlineBlocks', 'aus', ([32, 33, 34], 'movable'), [32, 33, 34],
     ('online', 'Movable')),
    ('offline', 'OfflineBlocks', 'au', ([128, 129, 130],), [130, 129, 128], ('offline', '-')),
]


class Run:
    """One test's sim, bus and a runtime directory shared by every memhpd it starts."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.sim = Sim(tmp, *BOOT)
        self.bus = Bus(tmp)
        self.runtime = f'{tmp}/memhpd-run'
        self.n = 0

    def start(self, crash_at=None, wait=True):
        self.n += 1
        env = {}
        if crash_at:
            check(os.path.exists(CRASHPOINT), f'crash-point shim {CRASHPOINT!r} is built')
            env = {'LD_PRELOAD': memhpd_preload(CRASHPOINT), 'MEMHP_CRASH_AT': str(crash_at)}
        return Memhpd(self.tmp, self.sim, self.bus, CONFIG, name=f'memhpd-{self.n:03d}',
                      env=env, runtime=self.runtime, wait=wait)

    @staticmethod
    def died(d, what):
        """d must be killed by the shim, which names the step in its log."""
        try:
            d.proc.wait(10)
        except Exception:
            raise AssertionError(f'{what}: memhpd did not crash') from None
        check_eq(d.proc.returncode, -9, f'{what}: memhpd exit (SIGKILL expected)')
        check_eq(d.count(r'^crashpoint: SIGKILL at step \d+,'), 1, f'{what}: killed by the shim')

    def crash(self, d, method, sig, args, what):
        """Calls method on d, which must SIGKILL itself before replying."""
        c = self.bus.conn()
        serial = c.send(method, sig, args)
        self.died(d, what)
        expect_error(lambda: c.reply(serial, timeout=10), E_NOREPLY, f'{what}: the caller')
        c.close()

    def recover(self, prior, what):
        """Restarts memhpd without the hook: within 5 s every block is back and no record is
        left. Returns the memhpd (running)."""
        t0 = time.monotonic()
        d = self.start(wait=False)
        try:
            wait_until(lambda: states(self.sim, prior) == prior and not d.intents(), timeout=5,
                       what=f'{what}: blocks restored and intent record removed')
        except AssertionError as e:
            raise AssertionError(f'{e}; sim: {states(self.sim, prior)}, records: '
                                 f'{d.intents()}') from None
        d.wait_ready()
        return d, time.monotonic() - t0


def test_crash_points(tmp):
    r = Run(tmp)
    slowest = 0.0
    for name, method, sig, args, ids, after in OPS:
        n = len(ids)
        for i in range(1, 2 * n + 3):
            what = f'{name} of {n}, crash point {i}'
            set_states(r.sim, BASE)
            prior = states(r.sim, ids)
            d = r.start(crash_at=i)
            r.crash(d, method, sig, args, what)
            # The crash came where the hook says: i // 2 blocks written (all at 2n+2).
            changed = n if i == 2 * n + 2 else i // 2
            check_eq(states(r.sim, ids),
                     {b: (after if k < changed else prior[b]) for k, b in enumerate(ids)},
                     f'{what}: state at the crash')
            check_eq(len(d.intents()), 0 if i == 2 * n + 2 else 1, f'{what}: records')
            if i == 2 * n + 2:
                # Completed before the crash: its post-image stands, nothing to recover.
                check(d.count(rf'\({name} of {n} blocks\) succeeded') == 1,
                      f'{what}: success logged before the crash')
                prior = {b: after for b in ids}
            d2, took = r.recover(prior, what)
            slowest = max(slowest, took)
            if i < 2 * n + 2:
                check(d2.count(rf'\({name} of {n} blocks\) was interrupted by a crash: '
                               rf'restoring {changed} blocks to their prior state') == 1,
                      f'{what}: recovery logged for {changed} blocks')
            else:
                check_eq(d2.count('interrupted by a crash'), 0, f'{what}: no recovery')
            d2.stop()
        log(f'   {name}: {2 * n + 2} crash points ok')
    log(f'   slowest recovery {slowest:.2f}s')


def test_crash_in_rollback(tmp):
    # online of 3 where the 3rd fails: points 1 (intent), 2-7 (three writes, the last failing),
    # 8-11 (rollback of 33 and 32), 12 (record removed; the call would fail).
    r = Run(tmp)
    ids = [32, 33, 34]
    changed_at = {1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2, 7: 2, 8: 1, 9: 1, 10: 0, 11: 0, 12: 0}
    for i in range(1, 13):
        what = f'failing online, crash point {i}'
        set_states(r.sim, BASE)
        prior = states(r.sim, ids)
        r.sim.ctl('fail', 34, 'EIO')
        d = r.start(crash_at=i)
        r.crash(d, 'OnlineBlocks', 'aus', (ids, 'kernel'), what)
        now = states(r.sim, ids)
        check_eq(sum(now[b] != prior[b] for b in ids), changed_at[i], f'{what}: changed blocks')
        check_eq(len(d.intents()), 0 if i == 12 else 1, f'{what}: records')
        d2, _ = r.recover(prior, what)
        if i < 12:
            check(d2.count(rf'was interrupted by a crash: restoring {changed_at[i]} blocks') == 1,
                  f'{what}: recovery logged')
        d2.stop()
    log('   12 crash points of a failing operation ok')


def test_crash_in_recovery(tmp):
    # All three blocks changed when memhpd dies (point 2n+1); then the recovery itself is
    # killed at each of its own crash points, and the next start still restores everything.
    r = Run(tmp)
    ids = [128, 129, 130]
    for j in range(1, 9):
        what = f'recovery crash point {j}'
        set_states(r.sim, BASE)
        prior = states(r.sim, ids)
        d = r.start(crash_at=7)
        r.crash(d, 'OfflineBlocks', 'au', (ids,), f'{what}: first crash')
        check_eq(states(r.sim, ids), {b: ('offline', '-') for b in ids}, f'{what}: all changed')
        d2 = r.start(crash_at=j, wait=False)
        r.died(d2, f'{what}: the recovering memhpd')
        d3, _ = r.recover(prior, what)
        d3.stop()
    log('   8 crash points of a recovery ok')


def test_two_operations(tmp):
    # Two callers, disjoint blocks, writes interleaved on memhpd's one writer: a crash leaves
    # two records and the restart restores both operations.
    r = Run(tmp)
    for i in (4, 6, 8):
        what = f'two operations, crash point {i}'
        set_states(r.sim, BASE)
        prior = states(r.sim)
        # Slow writes: the second call arrives while the first operation's first write runs.
        r.sim.ctl('slow', '32-34,128-130', 200)
        d = r.start(crash_at=i)
        a, b = r.bus.conn(), r.bus.conn()
        sa = a.send('OnlineBlocks', 'aus', ([32, 33, 34], 'movable'))
        sb = b.send('OfflineBlocks', 'au', ([128, 129, 130],))
        r.died(d, what)
        expect_error(lambda: a.reply(sa, timeout=10), E_NOREPLY, f'{what}: caller a')
        expect_error(lambda: b.reply(sb, timeout=10), E_NOREPLY, f'{what}: caller b')
        check_eq(len(d.intents()), 2, f'{what}: records')
        check(states(r.sim) != prior, f'{what}: nothing had changed at the crash')
        d2, _ = r.recover(prior, what)
        check_eq(d2.count('was interrupted by a crash'), 2, f'{what}: two recoveries logged')
        d2.stop()
    log('   two interleaved operations ok')


def test_recovery_reports(tmp):
    # Recovery cannot always restore: a block hot-removed meanwhile, a restore write failing.
    # The blocks it could restore are restored, the record is gone, and the log names every
    # block left as it was and why.
    r = Run(tmp)
    ids = [128, 129, 130]
    set_states(r.sim, BASE)
    d = r.start(crash_at=7)
    r.crash(d, 'OfflineBlocks', 'au', (ids,), 'offline of 3')
    check_eq(states(r.sim, ids), {b: ('offline', '-') for b in ids}, 'all offline at the crash')
    r.sim.ctl('remove', 129)
    d2, _ = r.recover({128: ('online', 'Movable'), 130: ('online', 'Movable')}, 'memory129 gone')
    check(d2.count(r'Recovery of operation \d+: memory129 is gone') == 1,
          'the log names the removed block')
    check(d2.count(r'restoring 2 blocks to their prior state') == 1, 'two blocks to restore')
    d2.stop()

    set_states(r.sim, {b: BASE[b] for b in (128, 130)})
    d = r.start(crash_at=5)
    r.crash(d, 'OfflineBlocks', 'au', ([128, 130],), 'offline of 2')
    check_eq(states(r.sim, [128, 130]), {128: ('offline', '-'), 130: ('offline', '-')},
             'both offline at the crash')
    r.sim.ctl('fail', 128, 'EIO')
    r.sim.ctl('fail', 130, 'ENOMEM')
    d2 = r.start()
    check_eq(d2.intents(), [], 'record removed once every block is reported')
    check_eq(states(r.sim, [128, 130]), {128: ('offline', '-'), 130: ('offline', '-')},
             'both restores failed')
    summary = [line for line in d2.log().splitlines() if 'recover of 2 blocks' in line and
               'incomplete' in line]
    check_eq(len(summary), 1, f'one recovery summary: {summary}')
    for block, err in ((128, 'Input/output error'), (130, 'Cannot allocate memory')):
        check(d2.count(rf'memory{block} online_movable failed: {err}') == 1,
              f'the failed restore of memory{block} is logged')
        check(f'memory{block} ({err})' in summary[0].split('left changed:')[-1],
              f'the recovery summary names memory{block} as not restored: {summary[0]!r}')
    d2.stop()


run_tests([
    test_crash_points,
    test_crash_in_rollback,
    test_crash_in_recovery,
    test_two_operations,
    test_recovery_reports,
])
