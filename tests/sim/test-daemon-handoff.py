#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: handed off to the kernel's auto-online.

With one policy the kernel can apply (Default=online_movable), memhpd sets the sim's
auto_online_blocks and supervises. A growth like virtio-mem's (one block at a time, a few ms
apart) is then read in batches, and memhpd opens none of the sim's files until the growth is
over: under TCG those reads took the CPU the growth needed (tests/vm/README.md, vm-vmem-grow).
It still reads every block afterwards, and a block an admin offlines in the middle of the
burst, after the kernel onlined it, stays offline. A stream of uevents that never pauses does
not hold the pass (nor READY=1) past the grace, a DIMM whose pass comes after the grace is still
found (also when an overflow lost its add), and with a receive buffer too small to leave
unread, each uevent is read as it comes.
Every verdict is the sim's: its count of opens during the add, its block states, its write log
and the log lines memhpd writes for what the sim did."""

import os
import threading
import time

from simlib import MEM, Daemon, Extra, Sim, SimError, check, check_eq, run_tests, wait_until

CONFIG = '''[Daemon]
EventSource=udev
[Policy]
Default=online_movable
'''


def opens(sim):
    return int(dict(line.split() for line in sim.ctl('fuse-stats'))['open'])


class Stream:
    """Somebody toggles memory7 every 20 ms, a uevent each time, until stop() (or 30 s): a
    paced burst that never ends on its own. Without the grace timer this held the pass for as
    long as the stream ran."""

    def __init__(self, sim):
        self.sim = sim
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
        time.sleep(0.2)

    def run(self):
        end = time.monotonic() + 30
        while not self.done.is_set() and time.monotonic() < end:
            for action in ('offline', 'online'):
                try:
                    self.sim.ctl(action, 7)
                except SimError:
                    pass  # memhpd onlined it first (not handed off yet at its start)
                time.sleep(0.02)

    def running(self):
        return self.thread.is_alive()

    def stop(self):
        self.done.set()
        self.thread.join()


def test_growth_read_after_the_burst(tmp):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG)
    d.wait_log(r'the kernel onlines new memory itself')
    check_eq(sim.read(f'{MEM}/auto_online_blocks').strip(), 'online_movable',
             'auto_online_blocks while memhpd runs')
    before = opens(sim)
    out = sim.ctl('add-dimm', 1, 24, 64, 'gap=10')
    check_eq(out[-1], 'opens during the add: 0', 'memhpd read nothing while the device grew')
    # Then it reads each new block once the burst is over: state, and the zone of an online one.
    wait_until(lambda: opens(sim) - before >= 48, what='memhpd reading the 24 new blocks')
    d.wait_quiet(0.3)
    check_eq({i: sim.blocks()[i][:2] for i in range(64, 88)},
             {i: ('online', 'Movable') for i in range(64, 88)}, 'the kernel onlined them')
    check_eq(sim.writes()[0].keys() & set(range(64, 88)), set(), 'memhpd wrote none of them')
    d.stop()
    check_eq(sim.read(f'{MEM}/auto_online_blocks').strip(), 'offline', 'restored at stop')


def test_admin_offline_inside_the_burst(tmp):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG)
    d.wait_log(r'the kernel onlines new memory itself')
    grow = threading.Thread(target=sim.ctl, args=('add-dimm', 1, 12, 96, 'gap=40'))
    grow.start()
    wait_until(lambda: sim.blocks().get(96, ('',))[0] == 'online', what='memory96 online')
    check_eq(sim.write(f'{MEM}/memory96/state', 'offline'), 'ok', 'offlining memory96 by hand')
    grow.join()
    check(sim.blocks()[107][0] == 'online', 'the growth went on')
    # Past the hand-off grace (1 s), when memhpd onlines a block the kernel left offline.
    time.sleep(1.5)
    check_eq(sim.blocks()[96][0], 'offline', 'memory96 stays offline')
    check_eq([w for w in sim.wlog() if w[0] == '96'], [('96', 'state', 'offline', 'ok')],
             'the only write to memory96 was the admin\'s')
    check(os.path.exists(os.path.join(d.runtime, 'hold-96')),
          'memhpd recorded the admin\'s offline (hold-96)')
    d.stop()


def test_endless_stream_does_not_hold_the_pass(tmp):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG)
    d.wait_log(r'the kernel onlines new memory itself')
    # Somebody else turns the kernel's onlining off: the new block comes offline, memhpd's job.
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'offline'), 'ok', 'auto_online_blocks off')
    stream = Stream(sim)
    sim.ctl('add-dimm', 1, 1, 64)
    wait_until(lambda: sim.blocks()[64][0] == 'online' or not stream.running(), timeout=40,
               what='memory64 online or the stream over')
    held = not stream.running()
    stream.stop()
    check(not held, 'memhpd onlined memory64 while the stream of uevents still ran')
    check_eq([w[2] for w in sim.wlog() if w[0] == '64'], ['online_movable'],
             'memhpd wrote memory64 once')
    d.stop()


def test_startup_inside_a_stream(tmp):
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    stream = Stream(sim)
    d = Daemon(tmp, sim, CONFIG, wait=False)
    wait_until(lambda: d.count(r'Startup scan complete') > 0 or not stream.running(),
               timeout=40, what='startup complete or the stream over')
    held = not stream.running()
    stream.stop()
    check(not held, 'memhpd finished its startup scan (READY=1) while the stream still ran')
    d.stop()


def test_dimm_found_after_a_held_pass(tmp):
    """A DIMM's blocks, handed off: their device is looked for after the pass (its
    firmware_node comes 4 s late), and the pass comes after the 1 s grace while a stream goes
    on. Without a rechecked source the blocks stayed "unknown" for good."""
    extra = Extra(tmp)
    extra.dimm('PNP0C80:02', 40, 2)
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', '--late-firmware-node',
              '4000', *extra.args())
    d = Daemon(tmp, sim, CONFIG)
    d.wait_log(r'the kernel onlines new memory itself')
    stream = Stream(sim)
    sim.ctl('add-dimm', 1, 2, 40)
    time.sleep(2.5)
    stream.stop()
    d.wait_log(r'Device PNP0C80:02 \(dimm\) added', timeout=30)
    check_eq(d.count(r'memory40 \(node 1\): no ACPI memory device'), 0,
             'memory40 not called of unknown source')
    d.stop()


def test_small_buffer_reads_each_uevent(tmp):
    """Leaving a 4 KiB queue unread for 50 ms would overflow it and lose the online uevent
    that proves an admin's offline on purpose: memhpd reads each uevent at once then."""
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7')
    d = Daemon(tmp, sim, CONFIG.replace('[Policy]', 'ReceiveBufferSize=4K\n[Policy]'))
    d.wait_log(r'the kernel onlines new memory itself')
    out = sim.ctl('add-dimm', 1, 24, 64, 'gap=10')
    n = int(out[-1].rsplit(' ', 1)[1])
    check(n > 0, f'memhpd read blocks during the add ({n} opens): it did not batch')
    grow = threading.Thread(target=sim.ctl, args=('add-dimm', 1, 12, 96, 'gap=5'))
    grow.start()
    wait_until(lambda: sim.blocks().get(100, ('',))[0] == 'online', what='memory100 online',
               interval=0.001)
    check_eq(sim.write(f'{MEM}/memory100/state', 'offline'), 'ok', 'offlining memory100')
    grow.join()
    time.sleep(1.5)
    check_eq(sim.blocks()[100][0], 'offline', 'memory100 stays offline')
    check_eq(d.count(r'overflowed'), 0, 'no overflow')
    d.stop()


def test_dimm_found_after_an_overflow(tmp):
    """A DIMM's blocks whose add uevents an overflow lost: the rescan finds them online, and
    their device is still looked for when its firmware_node comes late."""
    extra = Extra(tmp)
    extra.dimm('PNP0C80:03', 64, 64)
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7', '--late-firmware-node', '3000',
              *extra.args())
    d = Daemon(tmp, sim, CONFIG.replace('[Policy]', 'ReceiveBufferSize=4K\n[Policy]'))
    d.wait_log(r'the kernel onlines new memory itself')
    sim.ctl('add-dimm', 1, 64, 64)
    d.wait_log(r'Rescanning all memory blocks: uevents were lost')
    d.wait_log(r'Device PNP0C80:03 \(dimm\) added', timeout=30)
    wait_until(lambda: d.count(r'memory(6[4-9]|[7-9]\d|1[01]\d|12[0-7]): source dimm, '
                               r'device PNP0C80:03') >= 64,
               timeout=15, what='all 64 blocks attached to PNP0C80:03',
               detail=lambda: d.count(r'source dimm, device PNP0C80:03'))
    check_eq(d.count(r'no ACPI memory device'), 0, 'no block called of unknown source')
    d.stop()


run_tests([test_growth_read_after_the_burst, test_admin_offline_inside_the_burst,
           test_endless_stream_does_not_hold_the_pass, test_startup_inside_a_stream,
           test_dimm_found_after_a_held_pass, test_small_buffer_reads_each_uevent,
           test_dimm_found_after_an_overflow])
