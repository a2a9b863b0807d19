#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpctl, the real CLI, against memhpd on a private bus and the sim. Ctrl-C during a slow
offline asks memhpd to cancel: memhpctl exits 2 and says it rolled back, and the sim shows every
block where it was. A caller that just disappears (kill -9) cancels the same way. A failed call
exits 2, a rollback that cannot finish exits 3, naming the blocks left changed. Cancel() from
another connection cancels nothing; a cancel during an EBUSY backoff and memhpd's own SIGTERM
roll back too."""

import os
import signal
import subprocess
import time

from buslib import (MEMHPCTL, Bus, Memhpd, Sim, at_cleanup, check, check_eq, log, quiet_config,
                    run_tests, set_states, skip, states, wait_until, wait_view, wlog_since_reset)

BOOT = ['--nodes', '0-1', '--boot', 'node0:0-7,node0:32-39/offline,node1:128-135/Movable']
BASE = {**{i: ('offline', '-') for i in range(32, 40)},
        **{i: ('online', 'Movable') for i in range(128, 136)}}


class Ctl:
    """memhpctl ARGS in the background, stdout and stderr collected."""

    def __init__(self, bus, *args):
        if not MEMHPCTL or not os.path.exists(MEMHPCTL):
            skip('memhpctl is not built (MEMHPCTL unset)')
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        self.args = args
        self.proc = subprocess.Popen([MEMHPCTL, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        at_cleanup(self.kill)

    def wait(self, timeout=20):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'memhpctl {self.args} still running after {timeout}s') from None
        log(f'   memhpctl {" ".join(self.args)}: exit {self.proc.returncode}; '
            f'{err.strip() or out.strip()}')
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def ctl(bus, *args):
    return Ctl(bus, *args).wait()


def ok_writes(sim):
    return [w for w in wlog_since_reset(sim) if w[2] == 'ok']


def in_flight(sim, block):
    """Waits until the two blocks above block are offline (offlining goes highest address
    first) and block's offline is in the (simulated) kernel."""
    wait_until(lambda: states(sim, [block])[block][0] == 'going-offline', timeout=10,
               what=f'the offline of memory{block} in flight')
    check_eq([w for w in ok_writes(sim)], [(block + 2, 'offline', 'ok'),
                                           (block + 1, 'offline', 'ok')], 'writes so far')


def test_ctrl_c(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=30, retries=0))
    c = bus.conn()
    set_states(sim, BASE)
    prior = states(sim)

    # Six slow offlines, highest first (500 ms, then 5 s); Ctrl-C while the third one is in the
    # kernel.
    sim.ctl('slow', '132-133', 500)
    sim.ctl('slow', '128-131', 5000)
    p = Ctl(bus, 'offline', '128-133')
    in_flight(sim, 131)
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGINT)
    rc, out, err = p.wait()
    took = time.monotonic() - t0
    check_eq(rc, 2, 'memhpctl exit after Ctrl-C (failed, rolled back)')
    check('Cancelling: memhpd rolls back what it changed' in err, f'stderr: {err}')
    check('Cancelled' in err and 'Rolled back: memory132, memory133.' in err, f'stderr: {err}')
    # The write in flight was interrupted, not waited for.
    check(took < 2, f'Ctrl-C took {took:.2f}s to take effect')
    check_eq(states(sim), prior, 'sim state after Ctrl-C')
    check_eq(wlog_since_reset(sim),
             [(133, 'offline', 'ok'), (132, 'offline', 'ok'), (131, 'offline', 'EINTR'),
              (132, 'online_movable', 'ok'), (133, 'online_movable', 'ok')], 'writes')
    check_eq(d.intents(), [], 'intent record left')

    # Ctrl-C during an online: same story.
    set_states(sim, BASE)
    sim.ctl('slow', '32-37', 500)
    p = Ctl(bus, 'online', '--zone', 'kernel', '32-37')
    wait_until(lambda: len(ok_writes(sim)) >= 3, timeout=10, what='three blocks online')
    p.proc.send_signal(signal.SIGINT)
    rc, out, err = p.wait()
    check_eq(rc, 2, 'memhpctl exit after Ctrl-C of an online')
    check('Rolled back: memory' in err, f'stderr: {err}')
    wait_until(lambda: states(sim) == prior, timeout=5, what='sim state after Ctrl-C of online')
    check(not [w for w in wlog_since_reset(sim) if w[0] in (36, 37)],
          'no writes to blocks after the cancel point')

    # Cancel() from another connection: only the caller's own operations are cancelled.
    set_states(sim, BASE)
    sim.ctl('slow', '128-130', 300)
    p = Ctl(bus, 'offline', '128-130')
    wait_until(lambda: len(ok_writes(sim)) >= 1, timeout=10, what='first offline')
    check_eq(c.call('Cancel'), [0], 'Cancel from a stranger')
    rc, out, err = p.wait()
    check_eq(rc, 0, 'memhpctl exit: not cancelled by a stranger')
    check_eq(out.strip(), 'memory128-memory130: offline', 'memhpctl output')
    check_eq(states(sim, [128, 129, 130]), {i: ('offline', '-') for i in (128, 129, 130)},
             'offlined')
    wait_view(c, sim)
    d.stop()


def test_disconnect(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=30, retries=0))
    set_states(sim, BASE)
    prior = states(sim)
    sim.ctl('slow', '128-133', 500)
    p = Ctl(bus, 'offline', '128-133')
    in_flight(sim, 131)
    p.proc.kill()
    p.proc.wait()
    t0 = time.monotonic()
    wait_until(lambda: states(sim) == prior, timeout=5, what='rollback after the caller left')
    log(f'   rolled back {time.monotonic() - t0:.2f}s after kill -9')
    d.wait_log(r'Caller of operation \d+ disconnected, cancelling it')
    d.wait_log(r'Cancelled\. Rolled back: memory132, memory133\.')
    check(not [w for w in wlog_since_reset(sim) if w[0] < 131], 'nothing after memory131')
    check_eq(d.intents(), [], 'intent record left')
    d.stop()


def test_cancel_in_backoff(tmp):
    # Ctrl-C while memhpd waits to retry an EBUSY offline (Retries=3: 1, 2, 4 s): the
    # operation is rolled back without further attempts.
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=30, retries=3))
    set_states(sim, BASE)
    prior = states(sim)
    sim.ctl('fail', 129, 'EBUSY', 'always')
    p = Ctl(bus, 'offline', '128-131')
    wait_until(lambda: [w for w in wlog_since_reset(sim) if w[0] == 129], timeout=10,
               what='the first EBUSY')
    time.sleep(0.2)
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGINT)
    rc, out, err = p.wait()
    took = time.monotonic() - t0
    check_eq(rc, 2, 'memhpctl exit after Ctrl-C in the backoff')
    check('Rolled back: memory130, memory131.' in err, f'stderr: {err}')
    check_eq(states(sim), prior, 'sim state')
    check_eq([w for w in wlog_since_reset(sim) if w[0] == 129], [(129, 'offline', 'EBUSY')],
             'no retry after the cancel')
    # memhpd lets the pending backoff run out before it acts on the cancel (< 1 s left here).
    check(took < 1.5, f'the cancel took {took:.2f}s')
    log(f'   cancel in the backoff took {took:.2f}s')
    d.stop()


def test_stop(tmp):
    # SIGTERM to memhpd during an operation: it cancels, rolls back, replies, then exits 0.
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=30, retries=0))
    set_states(sim, BASE)
    prior = states(sim)
    sim.ctl('slow', '132-133', 300)
    sim.ctl('slow', '128-131', 5000)
    p = Ctl(bus, 'offline', '128-133')
    in_flight(sim, 131)
    t0 = time.monotonic()
    d.stop()
    took = time.monotonic() - t0
    check(took < 2, f'memhpd took {took:.2f}s to stop')
    rc, out, err = p.wait()
    check_eq(rc, 2, 'memhpctl exit when memhpd stops mid-operation')
    check('Rolled back: memory132, memory133.' in err, f'stderr: {err}')
    check_eq(states(sim), prior, 'sim state after the stop')
    check_eq(d.intents(), [], 'intent record left')
    d.wait_log(r'cancelling 1 running operations and rolling them back first')


def test_exit_codes(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=30, retries=0))
    set_states(sim, BASE)
    prior = states(sim)

    rc, out, err = ctl(bus, 'online', '--zone', 'movable', '32-33')
    check_eq(rc, 0, 'memhpctl online')
    check_eq(out.strip(), 'memory32-memory33: online (Movable)', 'output')

    # 2: failed, every change rolled back.
    set_states(sim, BASE)
    sim.ctl('fail', 34, 'EIO')
    rc, out, err = ctl(bus, 'online', '--zone', 'kernel', '32-35')
    check_eq(rc, 2, 'exit of a failed, rolled back online')
    check_eq(err.strip(), 'memhpctl: Failed to change memory34: Input/output error. '
                          'Rolled back: memory33, memory32.', 'stderr')
    check_eq(states(sim), prior, 'sim state after exit 2')

    # 3: the rollback of memory33 fails too: left changed, named, and really changed.
    set_states(sim, BASE)
    sim.ctl('hang', 35)
    sim.ctl('fail', 35, 'EIO')
    p = Ctl(bus, 'online', '--zone', 'movable', '32-35')
    sim.ctl('wait-hung', 35, 5000)
    sim.ctl('fail', 33, 'EBUSY')
    sim.ctl('release', 35)
    rc, out, err = p.wait()
    check_eq(rc, 3, 'exit of an online whose rollback failed')
    check_eq(err.strip(), 'memhpctl: Failed to change memory35: Input/output error. Rollback '
                          'incomplete; blocks left changed: memory33 (Device or resource busy). '
                          'Restored: memory34, memory32.', 'stderr')
    check_eq(states(sim), {**prior, 33: ('online', 'Movable')}, 'sim state after exit 3')

    # 3 for an offline as well (highest address first: memory128 is the last one).
    set_states(sim, BASE)
    sim.ctl('hang', 128)
    sim.ctl('fail', 128, 'ENOMEM')
    p = Ctl(bus, 'offline', '128-130')
    sim.ctl('wait-hung', 128, 5000)
    sim.ctl('fail', 130, 'EIO')
    sim.ctl('release', 128)
    rc, out, err = p.wait()
    check_eq(rc, 3, 'exit of an offline whose rollback failed')
    check('blocks left changed: memory130 (Input/output error)' in err, f'stderr: {err}')
    check_eq(states(sim), {**prior, 130: ('offline', '-')}, 'sim state after offline exit 3')
    d.stop()


run_tests([
    test_ctrl_c,
    test_disconnect,
    test_cancel_in_backoff,
    test_stop,
    test_exit_codes,
])
