#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hanging offline is bounded and does not stall memhpd. With [Offline] TimeoutSec=2 the sim
holds the third block's offline until memhpd interrupts it: meanwhile ListBlocks and a property
answer within 1 s and the watchdog (WATCHDOG_USEC=1 s, NOTIFY_SOCKET read here) keeps getting
WATCHDOG=1; after the deadline the call fails with OperationFailed (timed out, not retried) and
the blocks before it are back online in their zone, by the sim's truth. Onlines, and rollback
writes, are bounded by the same deadline. An operation on a block whose policy online is still
running waits for that write, then runs."""

import os
import socket
import threading
import time

from buslib import (E_FAILED, E_INCOMPLETE, Bus, Memhpd, Sim, at_cleanup, check, check_eq,
                    expect_error, log, quiet_config, run_tests, states, wait_view,
                    wait_until, wlog_since_reset)

BOOT = ['--nodes', '0-1', '--boot',
        'node0:0-7,node0:32-35/offline,node1:128-135/Movable,node1:256-259/Normal']
TIMEOUT = 2
WATCHDOG_USEC = 1000000


class Notify:
    """An sd_notify() receiver: every datagram with the time it arrived."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, 'notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        at_cleanup(self.stop)

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode(errors='replace')))

    def times(self, word, since=0.0, until=float('inf')):
        with self.lock:
            return [t for t, m in self.msgs if word in m.split('\n') and since <= t <= until]

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def test_hang(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    notify = Notify(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=TIMEOUT, retries=3),
               env={'NOTIFY_SOCKET': notify.path, 'WATCHDOG_USEC': str(WATCHDOG_USEC)})
    # memhpd logs that start-up is complete, then sends READY=1: wait for the datagram.
    wait_until(lambda: notify.times('READY=1'), timeout=5, what='READY=1 from memhpd')
    c = bus.conn()
    reader = bus.conn()
    prior = states(sim)
    sim.ctl('reset-counters')

    # Offlines go highest address first: 131, 130, then 129 hangs; 128 is never reached.
    ids = [128, 129, 130, 131]
    sim.ctl('hang', 129)
    t_call = time.monotonic()
    serial = c.send('OfflineBlocks', 'au', (ids,))
    sim.ctl('wait-hung', 129, 5000)
    t_hung = time.monotonic()
    check_eq(states(sim, [129, 130, 131]),
             {131: ('offline', '-'), 130: ('offline', '-'), 129: ('going-offline', 'Movable')},
             'while the offline of memory129 hangs')
    check_eq(len(d.intents()), 1, 'the intent record while the operation runs')

    # memhpd answers readers during the hang: its loop does not wait for the writer.
    latencies = []
    while time.monotonic() - t_hung < TIMEOUT - 0.6:
        t0 = time.monotonic()
        blocks = reader.list_blocks()
        reader.get('Version')
        latencies.append(time.monotonic() - t0)
        check_eq(blocks[128][0], 'online', 'ListBlocks during the hang')
        time.sleep(0.1)
    check(len(latencies) >= 5, f'only {len(latencies)} reads during the hang')
    check(max(latencies) < 1.0, f'reads during the hang took up to {max(latencies):.3f}s')
    log(f'   {len(latencies)} reads during the hang, slowest {max(latencies) * 1000:.1f} ms')

    msg = expect_error(lambda: c.reply(serial, timeout=TIMEOUT + 10), E_FAILED, 'hung offline')
    t_reply = time.monotonic()
    check_eq(msg, 'Failed to change memory129: Connection timed out. '
                  'Rolled back: memory130, memory131.', 'message')
    took = t_reply - t_call
    check(TIMEOUT - 0.2 < took < TIMEOUT + 2,
          f'the call took {took:.2f}s with TimeoutSec={TIMEOUT}')
    log(f'   the call failed after {took:.2f}s')

    # Watchdog pings kept coming while the write hung: sd-event pings every 1/2..3/4 period.
    pings = notify.times('WATCHDOG=1', since=t_hung, until=t_reply)
    check(len(pings) >= 2, f'{len(pings)} WATCHDOG=1 during a {t_reply - t_hung:.1f}s hang')
    edges = [t_hung] + pings + [t_reply]
    gap = max(b - a for a, b in zip(edges, edges[1:]))
    check(gap < WATCHDOG_USEC / 1e6, f'{gap:.2f}s without WATCHDOG=1 during the hang')
    log(f'   {len(pings)} watchdog pings during the hang, longest gap {gap:.2f}s')

    # Sim truth: everything back where it was; one interrupted write, no retry of a timeout.
    check_eq(states(sim), prior, 'sim state after the timeout')
    check_eq(wlog_since_reset(sim),
             [(131, 'offline', 'ok'), (130, 'offline', 'ok'), (129, 'offline', 'EINTR'),
              (130, 'online_movable', 'ok'), (131, 'online_movable', 'ok')], 'writes')
    check_eq(d.intents(), [], 'intent record left')
    check(d.count(r'memory129 offline failed: Connection timed out') == 1, 'the timeout is logged')
    wait_view(reader, sim)

    # Offlining Normal blocks: the same bound, and the rollback restores into Normal.
    sim.ctl('reset-counters')
    sim.ctl('hang', 256)
    t0 = time.monotonic()
    msg = expect_error(lambda: c.call('OfflineBlocks', 'au', ([256, 257],)), E_FAILED,
                       'hung offline of a Normal block')
    check(time.monotonic() - t0 < TIMEOUT + 2, 'bounded')
    check_eq(msg, 'Failed to change memory256: Connection timed out. Rolled back: memory257.',
             'message')
    check_eq(states(sim), prior, 'sim state after the second timeout')
    check_eq(wlog_since_reset(sim)[-1], (257, 'online_kernel', 'ok'), 'restored into Normal')

    # Onlines and rollbacks are bounded by the same TimeoutSec.
    sim.ctl('reset-counters')
    sim.ctl('hang', 33)
    t0 = time.monotonic()
    msg = expect_error(lambda: c.call('OnlineBlocks', 'aus', ([32, 33], 'movable')), E_FAILED,
                       'hung online')
    check(time.monotonic() - t0 < TIMEOUT + 2, 'bounded')
    check_eq(msg, 'Failed to change memory33: Connection timed out. Rolled back: memory32.',
             'message')
    check_eq(states(sim), prior, 'sim state after the online timeout')

    # A rollback write that hangs is bounded too: memory33 fails, the offline that would undo
    # memory32 hangs until TimeoutSec; memory32 is left online and named.
    sim.ctl('reset-counters')
    sim.ctl('hang', 33)
    sim.ctl('fail', 33, 'EIO')
    serial = c.send('OnlineBlocks', 'aus', ([32, 33], 'kernel'))
    sim.ctl('wait-hung', 33, 5000)
    sim.ctl('hang', 32)  # armed now, so that it catches the rollback and not the online
    sim.ctl('release', 33)
    t0 = time.monotonic()
    msg = expect_error(lambda: c.reply(serial, timeout=TIMEOUT + 10), E_INCOMPLETE,
                       'hung rollback')
    took = time.monotonic() - t0
    check(TIMEOUT - 0.2 < took < TIMEOUT + 2, f'hung rollback: {took:.2f}s')
    check_eq(msg, 'Failed to change memory33: Input/output error. Rollback incomplete; blocks '
                  'left changed: memory32 (Connection timed out). Restored: none.', 'message')
    check_eq(states(sim), {**prior, 32: ('online', 'Normal')}, 'memory32 left online')
    check_eq(wlog_since_reset(sim), [(32, 'online_kernel', 'ok'), (33, 'online_kernel', 'EIO'),
                                     (32, 'offline', 'EINTR')], 'writes')
    check_eq(d.intents(), [], 'intent record left')
    sim.ctl('offline', 32)

    # After all that memhpd is healthy and still pinging.
    t0 = time.monotonic()
    time.sleep(1.2)
    check(notify.times('WATCHDOG=1', since=t0), 'WATCHDOG=1 after the hang')
    check_eq(c.call('OfflineBlocks', 'au', ([131],))[0], [(131, 'offline', '')], 'a good offline')
    d.stop()
    # Sent before memhpd exited, but the receiver thread may not have read it yet.
    wait_until(lambda: notify.times('STOPPING=1'), timeout=2, what='STOPPING=1')


def test_waits_for_policy_write(tmp):
    """OfflineBlocks of a block the policy is onlining: the operation waits for that write (it
    must not race it), and starts as soon as the write is done, without any other event.
    KernelOnline=no: the policy write is memhpd's, not the sim kernel's auto-online."""
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus,
               quiet_config(timeout=30).replace('Default=ignore',
                                                'Default=online_movable\nKernelOnline=no'))
    c = bus.conn()
    sim.ctl('reset-counters')
    sim.ctl('hang', 300)
    sim.ctl('add-dimm', 0, 1, 300)
    sim.ctl('wait-hung', 300, 5000)
    serial = c.send('OfflineBlocks', 'au', ([300],))
    time.sleep(0.5)
    check_eq(d.count(r'Operation \d+: offline of 1 blocks started'), 0,
             'the operation started while the policy write was in flight')
    sim.ctl('release', 300)
    check_eq(c.reply(serial, timeout=10)[0], [(300, 'offline', '')], 'OfflineBlocks reply')
    check_eq(states(sim, [300]), {300: ('offline', '-')}, 'memory300 in the sim')
    check_eq(wlog_since_reset(sim), [(300, 'online_movable', 'ok'), (300, 'offline', 'ok')],
             'writes, in order')


run_tests([
    test_hang,
    test_waits_for_policy_write,
])
