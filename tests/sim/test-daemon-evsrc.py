#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: both event sources.

EventSource=udev reads udevd's re-broadcasts through libudev; EventSource=kernel reads the
kernel's own messages. The sim sends every uevent both ways. Its kernel-group messages come
from its own netlink port, not the kernel's port 0: memhpd must drop them (a forged "add"
must not make it write), and, under tests/sim/kernel-sender.so, which reports the sim's port
as 0, act on them exactly as on the kernel's. Every result is read from the sim (block state,
writes) and from the kernel (/proc/net/netlink: the socket drained, nothing dropped)."""

import re

from simlib import (Daemon, Sim, check, check_eq, run_tests, uevent_sockets, wait_policy,
                    wait_until)

CONFIG = '''[Daemon]
EventSource={source}
[Policy]
Default=online_movable
[Node 1]
Policy=online_kernel
'''
EXPECT = {0: 'Movable', 1: 'Normal'}


def drained(d, group):
    """(memhpd has read everything the kernel queued on its uevent socket, messages dropped)"""
    socks = [s for s in uevent_sockets(d.proc.pid) if s['groups'] == group]
    check_eq(len(socks), 1, f'memhpd uevent sockets on group {group}')
    return socks[0]['rmem'] == 0, socks[0]['drops']


def uevents_received(d):
    m = re.search(r'Stopped after (\d+) uevents', d.log())
    check(m, 'memhpd logged no "Stopped after N uevents"')
    return int(m.group(1))


def start(tmp, source, sender=False):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', '--kernel-group')
    env = sim.kernel_sender_env() if sender else None
    d = Daemon(tmp, sim, CONFIG.format(source=source), env=env)
    check(re.search(rf'Listening for {source} uevents', d.log()),
          f'memhpd does not say it listens for {source} uevents')
    sim.ctl('reset-counters')
    return sim, d, sim.events()['sent']


def hot_add(tmp, source, sender=False):
    sim, d, sent0 = start(tmp, source, sender)
    sim.ctl('add-dimm', 0, 8, 32)
    sim.ctl('add-dimm', 1, 8, 40)
    ids = range(32, 48)
    wait_policy(sim, EXPECT, ids)
    counts, total = sim.writes()
    check_eq(total, 16, 'writes')
    check(all(counts.get(i) == 1 for i in ids), f'one write per block: {counts}')
    group = 2 if source == 'udev' else 1
    wait_until(lambda: drained(d, group)[0], timeout=10, what='memhpd to drain its socket')
    check_eq(drained(d, group)[1], 0, 'uevents the kernel dropped for memhpd')
    sent = sim.events()['sent'] - sent0
    d.stop()
    # 16 adds and 16 online confirmations of its own writes.
    check_eq(sent, 32, 'uevents the sim sent')
    check_eq(uevents_received(d), sent, 'uevents memhpd acted on')


def test_udev_source(tmp):
    hot_add(tmp, 'udev')


def test_kernel_source(tmp):
    hot_add(tmp, 'kernel', sender=True)


def test_kernel_source_drops_forged(tmp):
    """Without the shim the sim's kernel-group messages are what they are, forged: memhpd
    reads them off its socket and does nothing."""
    sim, d, sent0 = start(tmp, 'kernel')
    sim.ctl('add-dimm', 0, 8, 32)
    check_eq(sim.events()['sent'] - sent0, 8, 'add uevents the sim sent')
    wait_until(lambda: drained(d, 1)[0], timeout=10, what='memhpd to drain its socket')
    check_eq(drained(d, 1)[1], 0, 'uevents the kernel dropped for memhpd')
    d.stop()
    check_eq(uevents_received(d), 0, 'forged uevents memhpd acted on')
    check_eq(sim.writes()[1], 0, 'writes after forged uevents')
    check(all(sim.blocks()[i][0] == 'offline' for i in range(32, 40)), 'blocks still offline')


run_tests([test_udev_source, test_kernel_source, test_kernel_source_drops_forged])
