#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim with the files that tell sources apart (simlib.Extra): per-source
policies on one node, a DIMM whose firmware_node appears late, an unexplained block. Every
check of placement reads the sim's zones, never what memhpd says it did."""

from simlib import MEM, Daemon, Extra, Sim, check, check_eq, run_tests, wait_policy, wait_until

BASE = '''[Daemon]
EventSource=udev
[Policy]
Default=online_movable
'''


def zones_of(sim, ids):
    b = sim.blocks()
    return {i: (b[i][0], b[i][1]) for i in ids}


def test_sources_on_one_node(tmp):
    """A DIMM, a virtio-mem device and a dax device on node 1 follow three [Source] rules."""
    extra = Extra(tmp)
    extra.dimm('PNP0C80:00', 32, 4)
    extra.virtio_mem('virtio3', 64, 8)
    extra.dax('dax0.0', 96, 4, backing='cxl')
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', *extra.args())
    d = Daemon(tmp, sim, BASE + '''[Source dimm]
Policy=online_movable
[Source virtio-mem]
Policy=online_kernel
[Source dax]
Policy=ignore
''')
    for first, n in ((32, 4), (64, 8), (96, 4)):
        sim.ctl('add-dimm', 1, n, first)
    wait_policy(sim, {1: 'Movable'}, range(32, 36))
    wait_policy(sim, {1: 'Normal'}, range(64, 72))
    d.wait_log(r'dax0\.0 \(dax, cxl, node 1\): ignore from \[Source dax\]')
    check(all(sim.blocks()[i][0] == 'offline' for i in range(96, 100)),
          f'dax blocks left offline: {zones_of(sim, range(96, 100))}')
    check_eq(sim.writes()[0].keys() & set(range(96, 100)), set(), 'no write to the dax blocks')
    d.wait_log(r'PNP0C80:00 \(dimm, node 1\): online_movable from \[Source dimm\]')
    d.wait_log(r'virtio3 \(virtio-mem, node 1\): online_kernel from \[Source virtio-mem\]')
    # Once per device, not per block.
    check_eq(d.count(r'^memhpd: virtio3 \(virtio-mem, node'), 1, 'info lines about virtio3')
    d.stop()


def test_late_firmware_node(tmp):
    """firmware_node appears 300 ms after the blocks: where a DIMM's policy differs from the
    unknown rule memhpd waits for it; a block no device ever claims follows the unknown rule,
    with one line naming it; where they agree nothing waits and the device is still found."""
    extra = Extra(tmp)
    extra.dimm('PNP0C80:01', 40, 4)
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', '--late-firmware-node',
              '300', *extra.args())
    d = Daemon(tmp, sim, BASE + '''[Source dimm]
Policy=online_movable
[Source unknown]
Policy=online_kernel
''')
    sim.ctl('add-dimm', 1, 4, 40)
    sim.ctl('add-dimm', 1, 1, 48)  # no ACPI device covers it
    wait_policy(sim, {1: 'Movable'}, range(40, 44), timeout=15)
    wait_policy(sim, {1: 'Normal'}, [48], timeout=15)
    d.wait_log(r'memory48 \(node 1\): no firmware_node after \d+ lookups over ~1 s.*as unknown '
               r'it gets online_kernel from \[Source unknown\] \(a DIMM would get '
               r'online_movable from \[Source dimm\]\)')
    check_eq(d.count(r'memory4[0-3] \(node 1\): no firmware_node'), 0,
             'the DIMM blocks were not given up')
    d.wait_log(r'PNP0C80:01 \(dimm, node 1\): online_movable from \[Source dimm\]')
    d.stop()

    # Policies that agree (Default= for both): decided at once, the device found later. Written
    # by memhpd, as under Default=auto (handed off, the kernel would decide them).
    extra2 = Extra(tmp, name='agree')
    extra2.dimm('PNP0C80:02', 40, 2)
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', '--late-firmware-node',
              '1500', *extra2.args(), name='agree')
    d = Daemon(tmp, sim, BASE + 'KernelOnline=no\n', name='memhpd-agree')
    sim.ctl('add-dimm', 1, 2, 40)
    # Before its firmware_node exists: nobody waited for it.
    wait_policy(sim, {1: 'Movable'}, range(40, 42), timeout=1.2)
    d.wait_log(r'PNP0C80:02 \(dimm, node 1\): its blocks were decided before its firmware_node '
               r'appeared', timeout=10)
    check_eq(d.count(r'no firmware_node after'), 0, 'no block waited')
    check_eq(d.count(r'memory4[01] \(node 1\): no ACPI memory device'), 0,
             'the DIMM\'s blocks were never said to be of no device')
    d.stop()


def test_platform_balloons(tmp):
    """Hyper-V with hv_balloon bound: a block no device covers is the balloon's and follows
    [Source hyperv-balloon]; the source is logged once per node, not per block."""
    extra = Extra(tmp)
    extra.hyperv()
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', *extra.args())
    d = Daemon(tmp, sim, BASE + '''[Source hyperv-balloon]
Policy=online_kernel
''')
    sim.ctl('add-dimm', 0, 4, 32)
    wait_policy(sim, {0: 'Normal'}, range(32, 36))
    d.wait_log(r'hyperv-balloon memory on node 0 \(memory32 first\): online_kernel from '
               r'\[Source hyperv-balloon\]')
    check_eq(d.count(r'hyperv-balloon memory on node 0'), 1, 'logged once for the node')
    d.stop()


def test_auto_platforms(tmp):
    """Default=auto on an s390-like machine (sys/bus/ccw): virtio-mem is onlined, memory no
    device explains stays offline (standby memory); in a Xen guest the balloon's is onlined."""
    extra = Extra(tmp)
    extra.s390()
    extra.virtio_mem('virtio1', 64, 4)
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', *extra.args())
    d = Daemon(tmp, sim, '[Daemon]\nEventSource=udev\n[Policy]\nDefault=auto\n')
    sim.ctl('add-dimm', 0, 2, 32)
    sim.ctl('add-dimm', 0, 4, 64)
    wait_until(lambda: all(sim.blocks()[i][0] == 'online' for i in range(64, 68)),
               what='virtio-mem blocks online')
    d.wait_log(r'memory32 \(node 0\): no ACPI memory device, virtio-mem or dax range covers it, '
               r'source unknown: ignore from Default=auto')
    d.wait_quiet(0.5)
    check_eq([sim.blocks()[i][0] for i in (32, 33)], ['offline', 'offline'],
             'unexplained memory on s390 left offline')
    d.wait_log(r'virtio1 \(virtio-mem, node 0\): auto-movable from Default=auto')
    d.stop()

    extra = Extra(tmp, name='xen')
    extra.xen()
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', *extra.args(), name='xen')
    d = Daemon(tmp, sim, '[Daemon]\nEventSource=udev\n[Policy]\nDefault=auto\n', name='xen')
    sim.ctl('add-dimm', 0, 4, 32)
    wait_until(lambda: all(sim.blocks()[i][0] == 'online' for i in range(32, 36)),
               what='xen balloon blocks online')
    d.wait_log(r'xen-balloon memory on node 0 \(memory32 first\): online from Default=auto')
    d.stop()


def test_iomem_hidden(tmp):
    """proc/iomem with zeros (memhpd could not open it with CAP_SYS_ADMIN): said once, and the
    virtio-mem memory is unknown rather than guessed."""
    extra = Extra(tmp)
    extra.write('proc/iomem', '00000000-00000000 : System RAM\n00000000-00000000 : virtio0\n'
                '  00000000-00000000 : System RAM (virtio_mem)\n')
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-7', *extra.args())
    d = Daemon(tmp, sim, BASE + '''[Source virtio-mem]
Policy=online_kernel
''')
    sim.ctl('add-dimm', 0, 2, 32)
    wait_policy(sim, {0: 'Movable'}, range(32, 34))
    d.wait_log(r'proc/iomem shows no addresses')
    d.wait_log(r'memory32 \(node 0\): no ACPI memory device, virtio-mem or dax range covers it')
    check_eq(d.count(r'proc/iomem shows no addresses'), 1, 'said once')
    d.stop()


def test_other_onliner(tmp):
    """Blocks another onliner put online before memhpd decided them are left where they are,
    with one line per device, whatever way memhpd found out: dax0.0's first 4 blocks are online
    when memhpd first reads them (it was stopped meanwhile, as when daxctl is quicker), its
    last 4 go online just before memhpd's write lands (the kernel answers EINVAL); virtio3's 4
    are onlined by the kernel's auto_online_blocks. A block of no device gets its own line."""
    extra = Extra(tmp)
    extra.dax('dax0.0', 96, 8, backing='nvdimm')
    extra.virtio_mem('virtio3', 64, 4)
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', *extra.args())
    # memhpd writes itself: handed off, the kernel's online would be memhpd's own decision.
    d = Daemon(tmp, sim, BASE + 'KernelOnline=no\n')
    d.pause()
    sim.ctl('add-dimm', 1, 8, 96)
    sim.ctl('race', '100-103', 'online_movable')
    for i in range(96, 100):
        sim.ctl('online', i, 'online_movable')
    d.resume()
    line = (r'^memhpd: dax0\.0 \(dax, nvdimm, node 1\): 8 of its 8 blocks onlined by another onliner '
            r'\(daxctl\?\) before memhpd, zone Movable; left as they are\.$')
    d.wait_log(line)
    check_eq([w for w in sim.wlog() if 96 <= int(w[0]) <= 103],
             [(str(i), 'state', 'online_movable', 'EINVAL') for i in range(100, 104)],
             'memhpd wrote only to the blocks that were offline when it read them')
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'online_movable'), 'ok', 'auto-online on')
    sim.ctl('add-dimm', 1, 4, 64)
    sim.ctl('add-dimm', 1, 1, 120)  # no device covers it
    d.wait_log(r'^memhpd: virtio3 \(virtio-mem, node 1\): 4 of its 4 blocks onlined by another '
               r'onliner \(kernel auto_online_blocks, a udev rule or a tool\?\) before memhpd, '
               r'zone Movable; left as they are\.$')
    d.wait_log(r'^memhpd: memory120 \(node 1\): already online in zone Movable, onlined by '
               r'another onliner')
    check_eq(sim.write(f'{MEM}/auto_online_blocks', 'offline'), 'ok', 'auto-online off')
    d.wait_quiet(0.5)
    check_eq(d.count(line), 1, 'one line for dax0.0')
    check_eq(d.count(r'onlined by another onliner'), 3, 'one line per device, one for memory120')
    check_eq(d.count(r'memory(9[6-9]|10[0-3]|6[4-7])\b.*already online'), 0,
             'no line per block of a device')
    check_eq({i: sim.blocks()[i][:2] for i in [*range(96, 104), *range(64, 68)]},
             {i: ('online', 'Movable') for i in [*range(96, 104), *range(64, 68)]},
             'left as the other onliner put them')
    d.stop()

    # Handed off to the kernel (KernelOnline=yes), its onlines are memhpd's: no such line.
    sim = Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15', *extra.args(),
              name='handoff')
    d = Daemon(tmp, sim, BASE, name='memhpd-handoff')
    d.wait_log(r'the kernel onlines new memory itself')
    sim.ctl('add-dimm', 1, 8, 96)
    wait_policy(sim, {1: 'Movable'}, range(96, 104))
    d.wait_quiet(0.5)
    check_eq(d.count(r'another onliner'), 0, 'no other onliner when the kernel is memhpd\'s')
    d.stop()


def test_auto_boot_offline(tmp):
    """Default=auto: boot memory someone offlined before memhpd started is boot memory
    (ignore), not unknown memory to online; a block added after the start, which no device
    explains either, is unknown and onlined. An explicit Default= onlines the boot block, as
    before. With a balloon bound the offline block may be the balloon's: onlined."""
    extra = Extra(tmp)
    boot = ['--nodes', '0', '--boot', 'node0:0-5,node0:6-7/offline', *extra.args()]
    sim = Sim(tmp, *boot)
    d = Daemon(tmp, sim, '[Daemon]\nEventSource=udev\n[Policy]\nDefault=auto\n')
    d.wait_log(r'boot memory on node 0 \(memory6 first\): ignore from Default=auto: boot memory '
               r'found offline')
    sim.ctl('add-dimm', 0, 1, 32)
    wait_policy(sim, {0: 'Movable'}, [32])
    d.wait_quiet(0.5)
    check_eq({i: sim.blocks()[i][0] for i in (6, 7)}, {6: 'offline', 7: 'offline'},
             'the offline boot blocks stay offline')
    check_eq(sim.writes()[0].keys() & {6, 7}, set(), 'no write to them')
    d.stop()

    sim = Sim(tmp, *boot, name='explicit')
    d = Daemon(tmp, sim, BASE, name='memhpd-explicit')
    wait_policy(sim, {0: 'Movable'}, [6, 7])
    d.stop()

    extra = Extra(tmp, name='hyperv')
    extra.hyperv()
    sim = Sim(tmp, '--nodes', '0', '--boot', 'node0:0-5,node0:6-7/offline', *extra.args(),
              name='hyperv')
    d = Daemon(tmp, sim, '[Daemon]\nEventSource=udev\n[Policy]\nDefault=auto\n',
               name='memhpd-hyperv')
    wait_until(lambda: all(sim.blocks()[i][0] == 'online' for i in (6, 7)),
               what='offline blocks of a Hyper-V guest onlined as the balloon\'s')
    d.wait_log(r'hyperv-balloon memory on node 0 \(memory6 first\): online from Default=auto')
    d.stop()


run_tests([
    test_sources_on_one_node,
    test_late_firmware_node,
    test_platform_balloons,
    test_auto_platforms,
    test_iomem_hidden,
    test_other_onliner,
    test_auto_boot_offline,
])
