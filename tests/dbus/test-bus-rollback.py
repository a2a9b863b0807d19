#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The rollback matrix through D-Bus. For OnlineBlocks (zone movable and kernel) and
OfflineBlocks (of Movable and of Normal blocks) of n = 1, 2, 8, 64 blocks, the k-th write fails,
for every k: the call fails with OperationFailed naming the block and the errno, the sim's write
log shows the forward writes (onlines in the order given, offlines highest address first
whatever the order given) then the rollback in reverse order, and every block's state and zone
equal the prior ones. Then: failures during the rollback (RollbackIncomplete names exactly
the blocks left changed, and exactly those are); blocks already in the target state (skipped:
no write, no rollback); a block another agent onlined first; a block removed mid-write;
operations on overlapping blocks (queued, cancellable while queued); EBUSY retries (forward
offlines Retries= times, rollback writes once, onlines never)."""

import time

from buslib import (E_FAILED, E_INCOMPLETE, Bus, Memhpd, Sim, check, check_eq, expect_error,
                    log, quiet_config, run_tests, set_states, states, strerror, wait_view,
                    wlog_since_reset)

# Node 0: boot 0-7, offline 32-95 (online pool). Node 1: 128-191 online Movable, 256-263
# online Normal (offline pools).
BOOT = ['--nodes', '0-1', '--boot',
        'node0:0-7,node0:32-95/offline,node1:128-191/Movable,node1:256-263/Normal']
ONLINE_POOL = list(range(32, 96))
MOVABLE_POOL = list(range(128, 192))
NORMAL_POOL = list(range(256, 264))
# Errnos a kernel write can fail with and memhpd does not retry (Retries=0 for EBUSY/EAGAIN).
ERRNOS = ['EIO', 'EBUSY', 'EINVAL', 'ENOMEM', 'EHWPOISON', 'EPERM', 'EAGAIN', 'ENOSPC']
ZONE = {'movable': 'Movable', 'kernel': 'Normal'}
VALUE = {'movable': 'online_movable', 'kernel': 'online_kernel'}

# (name, method, zone argument or None, pool, forward write, rollback write, state after
# a forward write)
KINDS = [
    ('online movable', 'OnlineBlocks', 'movable', ONLINE_POOL, 'online_movable', 'offline',
     ('online', 'Movable')),
    ('online kernel', 'OnlineBlocks', 'kernel', ONLINE_POOL, 'online_kernel', 'offline',
     ('online', 'Normal')),
    ('offline Movable', 'OfflineBlocks', None, MOVABLE_POOL, 'offline', 'online_movable',
     ('offline', '-')),
    ('offline Normal', 'OfflineBlocks', None, NORMAL_POOL, 'offline', 'online_kernel',
     ('offline', '-')),
]


def base_states():
    s = {i: ('offline', '-') for i in ONLINE_POOL}
    s.update({i: ('online', 'Movable') for i in MOVABLE_POOL})
    s.update({i: ('online', 'Normal') for i in NORMAL_POOL})
    return s


def call(c, method, zone, ids):
    if method == 'OnlineBlocks':
        return c.call(method, 'aus', (ids, zone))
    return c.call(method, 'au', (ids,))


def send(c, method, zone, ids):
    if method == 'OnlineBlocks':
        return c.send(method, 'aus', (ids, zone))
    return c.send(method, 'au', (ids,))


def mem_list(ids):
    return ', '.join(f'memory{i}' for i in ids)


def written(method, ids):
    """The order memhpd writes ids in: as given for onlines, highest address first for
    offlines."""
    return sorted(ids, reverse=True) if method == 'OfflineBlocks' else list(ids)


def order(n, pool):
    """The first n ids of pool, in an order that is not sorted (for n > 2): the order given is
    the order written, and the rollback runs it backwards."""
    ids = pool[:n]
    if n <= 2:
        return ids
    return ids[1::2] + ids[0::2][::-1]


def one_case(c, d, sim, kind, ids, k, err):
    name, method, zone, _pool, fwd, back, _after = kind
    set_states(sim, base_states())
    prior = states(sim)
    w = written(method, ids)
    failing = w[k - 1]
    sim.ctl('fail', failing, err)
    what = f'{name}, n={len(ids)}, k={k} ({err})'
    msg = expect_error(lambda: call(c, method, zone, ids), E_FAILED, what)
    done = w[:k - 1]
    want = (f'Failed to change memory{failing}: {strerror(err)}. Rolled back: '
            f'{mem_list(reversed(done)) or "nothing had changed"}.')
    check_eq(msg, want, f'{what}: message')
    check_eq(states(sim), prior, f'{what}: sim state')
    check_eq(wlog_since_reset(sim),
             [(i, fwd, 'ok') for i in done] + [(failing, fwd, err)] +
             [(i, back, 'ok') for i in reversed(done)], f'{what}: writes')
    check_eq(d.intents(), [], f'{what}: intent record left')


def test_matrix(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=10, retries=0))
    c = bus.conn()
    t0 = time.monotonic()
    calls = 0
    for kind in KINDS:
        sizes = (1, 2, 8) if kind[3] is NORMAL_POOL else (1, 2, 8, 64)
        for n in sizes:
            ids = order(n, kind[3])
            for k in range(1, n + 1):
                one_case(c, d, sim, kind, ids, k, ERRNOS[(k + n) % len(ERRNOS)])
                calls += 1
        # Success after all that: every block reaches the target, the reply reads sysfs.
        set_states(sim, base_states())
        ids = order(8, kind[3])
        reply = call(c, kind[1], kind[2], ids)[0]
        after = kind[6]
        check_eq(reply, [(i, after[0], after[1] if after[0] == 'online' else '') for i in ids],
                 f'{kind[0]}: reply of a successful call')
        check_eq(states(sim, ids), {i: after for i in ids}, f'{kind[0]}: sim after success')
        wait_view(c, sim)
        log(f'   {kind[0]}: ok')
    log(f'   {calls} failing calls in {time.monotonic() - t0:.1f}s')
    d.stop()


def rollback_case(c, d, sim, kind, ids, k, js, fwd_err='EIO', back_err='EIO'):
    """Forward write k fails; the rollback writes of blocks js (1-based) fail as well."""
    name, method, zone, _pool, fwd, back, after = kind
    set_states(sim, base_states())
    prior = states(sim)
    w = written(method, ids)
    failing = w[k - 1]
    what = f'{name}, n={len(ids)}, k={k}, rollback of {js} fails'
    # Block k's write waits in the "kernel" until the earlier blocks are done and their
    # rollback faults are armed (a fault armed earlier would hit the forward write).
    sim.ctl('hang', failing)
    sim.ctl('fail', failing, fwd_err)
    serial = send(c, method, zone, ids)
    sim.ctl('wait-hung', failing, 5000)
    for j in js:
        sim.ctl('fail', w[j - 1], back_err)
    sim.ctl('release', failing)
    try:
        c.reply(serial, timeout=30)
        raise AssertionError(f'{what}: succeeded')
    except Exception as e:
        if not hasattr(e, 'name'):
            raise
        check_eq(e.name, E_INCOMPLETE, f'{what}: error ({e.message})')
        msg = e.message
    done = w[:k - 1]
    left = [w[j - 1] for j in sorted(js, reverse=True)]
    restored = [i for i in reversed(done) if i not in left]
    want = (f'Failed to change memory{failing}: {strerror(fwd_err)}. Rollback incomplete; '
            f'blocks left changed: '
            f'{", ".join(f"memory{i} ({strerror(back_err)})" for i in left)}. '
            f'Restored: {mem_list(restored) or "none"}.')
    check_eq(msg, want, f'{what}: message')
    check_eq(states(sim), {**prior, **{i: after for i in left}},
             f'{what}: sim state (exactly the named blocks changed)')
    check_eq(wlog_since_reset(sim),
             [(i, fwd, 'ok') for i in done] + [(failing, fwd, fwd_err)] +
             [(i, back, back_err if i in left else 'ok') for i in reversed(done)],
             f'{what}: writes')
    check_eq(d.intents(), [], f'{what}: intent record left')
    wait_view(c, sim)


def test_rollback_failures(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=10, retries=0))
    c = bus.conn()
    for kind in KINDS:
        ids = order(8, kind[3])
        for k, js in ((2, [1]), (8, [1]), (8, [7]), (5, [2, 4]), (8, [1, 2, 3, 4, 5, 6, 7])):
            rollback_case(c, d, sim, kind, ids, k, js, fwd_err='ENOMEM', back_err='EIO')
        # EBUSY during the rollback with Retries=0: no second try.
        rollback_case(c, d, sim, kind, ids, 3, [2], fwd_err='EIO', back_err='EBUSY')
        # n = 64, the last block fails and so does the rollback of the first.
        if kind[3] is not NORMAL_POOL:
            rollback_case(c, d, sim, kind, order(64, kind[3]), 64, [1, 33])
        log(f'   {kind[0]}: ok')
    d.stop()


def test_skip_and_others(tmp):
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=10, retries=0))
    c = bus.conn()

    # Online: 33 is online in Normal already, 34 in Movable. Neither is written, neither is
    # undone when 35 fails; 32 is.
    set_states(sim, {**base_states(), 33: ('online', 'Normal'), 34: ('online', 'Movable')})
    prior = states(sim)
    sim.ctl('fail', 35, 'EIO')
    msg = expect_error(lambda: call(c, 'OnlineBlocks', 'movable', [32, 33, 34, 35]), E_FAILED,
                       'online with blocks online already')
    check_eq(msg, 'Failed to change memory35: Input/output error. Rolled back: memory32.',
             'message')
    check_eq(wlog_since_reset(sim), [(32, 'online_movable', 'ok'), (35, 'online_movable', 'EIO'),
                                     (32, 'offline', 'ok')], 'writes: none to 33, 34')
    check_eq(states(sim), prior, 'sim state')
    # The same request succeeds: 33 stays in Normal (a transaction does not move zones) and
    # the reply says so.
    sim.ctl('reset-counters')
    check_eq(call(c, 'OnlineBlocks', 'movable', [32, 33, 34, 35])[0],
             [(32, 'online', 'Movable'), (33, 'online', 'Normal'), (34, 'online', 'Movable'),
              (35, 'online', 'Movable')], 'reply with blocks online already')
    check_eq([w[0] for w in wlog_since_reset(sim)], [32, 35], 'writes only to offline blocks')
    # Everything online already: success without a single write.
    sim.ctl('reset-counters')
    check_eq(len(call(c, 'OnlineBlocks', 'kernel', [32, 33, 34, 35])[0]), 4, 'no-op reply')
    check_eq(sim.writes(), ({}, 0), 'a no-op online writes nothing')

    # Offline, highest address first: 129 is offline already; 128 fails; only 130 is brought
    # back.
    set_states(sim, {**base_states(), 129: ('offline', '-')})
    prior = states(sim)
    sim.ctl('fail', 128, 'EBUSY')
    msg = expect_error(lambda: call(c, 'OfflineBlocks', None, [128, 129, 130]), E_FAILED,
                       'offline with a block offline already')
    check_eq(msg, 'Failed to change memory128: Device or resource busy. Rolled back: memory130.',
             'message')
    check_eq(wlog_since_reset(sim), [(130, 'offline', 'ok'), (128, 'offline', 'EBUSY'),
                                     (130, 'online_movable', 'ok')], 'writes: none to 129')
    check_eq(states(sim), prior, 'sim state')

    # Another onliner wins the race for 33 just before memhpd's write (the kernel answers
    # EINVAL, the block is online): done, but not memhpd's change, so not undone.
    set_states(sim, base_states())
    prior = states(sim)
    sim.ctl('race', 33, 'online_kernel')
    sim.ctl('fail', 34, 'EIO')
    msg = expect_error(lambda: call(c, 'OnlineBlocks', 'movable', [32, 33, 34]), E_FAILED,
                       'online racing another onliner')
    check_eq(msg, 'Failed to change memory34: Input/output error. Rolled back: memory32.',
             'message')
    check_eq(wlog_since_reset(sim), [(32, 'online_movable', 'ok'),
                                     (33, 'online_movable', 'EINVAL'),
                                     (34, 'online_movable', 'EIO'), (32, 'offline', 'ok')],
             'writes')
    check_eq(states(sim), {**prior, 33: ('online', 'Normal')}, 'the racer\'s block stays')
    wait_view(c, sim)

    # A block hot-removed while memhpd writes to it (ENOENT): no retry, the rest rolled back,
    # and memhpd's list drops it.
    set_states(sim, base_states())
    prior = states(sim)
    sim.ctl('vanish', 129)
    msg = expect_error(lambda: call(c, 'OfflineBlocks', None, [128, 129, 130, 131]), E_FAILED,
                       'offline of a block that vanishes')
    check_eq(msg, 'Failed to change memory129: No such file or directory. '
                  'Rolled back: memory130, memory131.', 'message')
    del prior[129]
    check_eq(states(sim), prior, 'sim state: memory129 gone, the rest as before')
    check_eq([w for w in wlog_since_reset(sim) if w[0] in (128, 129)],
             [(129, 'offline', 'ENOENT')], 'one write to memory129, none to memory128')
    wait_view(c, sim)
    d.stop()


def test_overlap(tmp):
    # Operations on overlapping blocks run one after the other, in arrival order; the second
    # reads its prior states when it starts, after the first. Cancelling a queued operation
    # leaves it nothing to undo.
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=10, retries=0))
    a, b, c = bus.conn(), bus.conn(), bus.conn()
    set_states(sim, base_states())
    prior = states(sim)
    sim.ctl('hang', 128)
    sa = a.send('OfflineBlocks', 'au', ([128, 129],))
    sim.ctl('wait-hung', 128, 5000)
    sb = b.send('OnlineBlocks', 'aus', ([129, 32], 'kernel'))
    sc = c.send('OfflineBlocks', 'au', ([129],))
    d.wait_log(r'Operation 1: offline of 2 blocks started')
    time.sleep(0.3)
    check_eq(d.count(r'Operation [23]: .* started'), 0, 'the overlapping operations wait')
    check_eq(c.call('Cancel'), [1], 'cancel the queued third operation')
    sim.ctl('release', 128)
    check_eq(a.reply(sa)[0], [(128, 'offline', ''), (129, 'offline', '')], 'first reply')
    check_eq(b.reply(sb)[0], [(129, 'online', 'Normal'), (32, 'online', 'Normal')],
             'second reply: 129 was offline when it started')
    msg = expect_error(lambda: c.reply(sc), E_FAILED, 'the cancelled queued operation')
    check_eq(msg, 'Cancelled. Rolled back: nothing had changed.', 'its message')
    check_eq(wlog_since_reset(sim), [(129, 'offline', 'ok'), (128, 'offline', 'ok'),
                                     (129, 'online_kernel', 'ok'), (32, 'online_kernel', 'ok')],
             'writes in arrival order (the offline highest first), none by the cancelled one')
    check_eq(states(sim), {**prior, 128: ('offline', '-'), 129: ('online', 'Normal'),
                           32: ('online', 'Normal')}, 'sim state')
    check_eq(d.intents(), [], 'intent records left')
    d.stop()


def test_retries(tmp):
    # With Retries=1 (and the 1 s backoff), a rollback write failing with EBUSY gets exactly
    # one more try: once is absorbed, twice leaves the block changed.
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config(timeout=10, retries=1))
    c = bus.conn()
    for busy, outcome in ((1, E_FAILED), (2, E_INCOMPLETE)):
        set_states(sim, base_states())
        prior = states(sim)
        sim.ctl('hang', 34)
        sim.ctl('fail', 34, 'EIO')  # online: not retried
        serial = send(c, 'OnlineBlocks', 'movable', [32, 33, 34])
        sim.ctl('wait-hung', 34, 5000)
        sim.ctl('fail', 33, 'EBUSY', busy)
        sim.ctl('release', 34)
        t0 = time.monotonic()
        try:
            c.reply(serial, timeout=30)
            raise AssertionError('succeeded')
        except Exception as e:
            if not hasattr(e, 'name'):
                raise
            check_eq(e.name, outcome, f'EBUSY x{busy} in the rollback: {e.message}')
        dt = time.monotonic() - t0
        check(0.8 < dt < 5, f'EBUSY x{busy}: {dt:.2f}s, expected one ~1 s backoff')
        writes_33 = [w for w in wlog_since_reset(sim) if w[0] == 33]
        check_eq(writes_33, [(33, 'online_movable', 'ok'), (33, 'offline', 'EBUSY'),
                             (33, 'offline', 'EBUSY' if busy == 2 else 'ok')],
                 f'EBUSY x{busy}: writes to memory33')
        want = prior if busy == 1 else {**prior, 33: ('online', 'Movable')}
        check_eq(states(sim), want, f'EBUSY x{busy}: sim state')
        check_eq(states(sim, [32]), {32: ('offline', '-')}, 'memory32 restored either way')

    # Forward: an offline failing with EBUSY is retried Retries=1 times after 1 s; an online is
    # never retried.
    set_states(sim, base_states())
    prior = states(sim)
    sim.ctl('fail', 129, 'EBUSY', 1)
    t0 = time.monotonic()
    check_eq(len(call(c, 'OfflineBlocks', None, [128, 129, 130])[0]), 3, 'EBUSY once: success')
    dt = time.monotonic() - t0
    check(0.8 < dt < 3, f'EBUSY once: {dt:.2f}s, expected one ~1 s backoff')
    check_eq([w for w in wlog_since_reset(sim) if w[0] == 129],
             [(129, 'offline', 'EBUSY'), (129, 'offline', 'ok')], 'EBUSY once: writes')
    set_states(sim, base_states())
    sim.ctl('fail', 129, 'EBUSY', 2)
    msg = expect_error(lambda: call(c, 'OfflineBlocks', None, [128, 129, 130]), E_FAILED,
                       'EBUSY twice')
    check_eq(msg, 'Failed to change memory129: Device or resource busy. Rolled back: memory130.',
             'EBUSY twice: message')
    check_eq([w for w in wlog_since_reset(sim) if w[0] == 129],
             [(129, 'offline', 'EBUSY'), (129, 'offline', 'EBUSY')], 'EBUSY twice: writes')
    check_eq(states(sim), prior, 'EBUSY twice: sim state')
    set_states(sim, base_states())
    sim.ctl('fail', 33, 'EBUSY', 1)
    t0 = time.monotonic()
    expect_error(lambda: call(c, 'OnlineBlocks', 'movable', [32, 33]), E_FAILED, 'online EBUSY')
    check(time.monotonic() - t0 < 0.8, 'an online EBUSY is not retried')
    check_eq([w for w in wlog_since_reset(sim) if w[0] == 33], [(33, 'online_movable', 'EBUSY')],
             'online EBUSY: one write')
    check_eq(states(sim), prior, 'online EBUSY: sim state')
    d.stop()


run_tests([
    test_matrix,
    test_rollback_failures,
    test_skip_and_others,
    test_overlap,
    test_retries,
])
