#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpctl's devices, list's SOURCE and DEVICE columns, and online/offline --device, against
memhpd on a private bus and the sim with the files that tell sources apart (simlib.Extra).
Every outcome is read from the sim: its block states and zones and its log of writes (which
shows that a device offline goes highest address first and rolls back in reverse). Bad input
(an unknown device, --device with block ids, an unknown column) fails with one clear line and
writes nothing."""

import json
import os
import subprocess

from buslib import (MEMHPCTL, Bus, Memhpd, Sim, check, check_eq, log, quiet_config, run_tests,
                    set_states, skip, states, wait_view, wlog_since_reset)
from simlib import Extra

# Node 0: boot memory 0-7. Node 1: a DIMM at 32-35 (online, Movable), a CXL-backed dax device
# at 96-99 (offline), boot memory 8-15 (online).
BOOT = ['--nodes', '0-1', '--boot',
        'node0:0-7,node1:8-15,node1:32-35/Movable,node1:96-99/offline']
DIMM, DAX = 'PNP0C80:00', 'dax0.0'


def ctl(bus, *args):
    if not MEMHPCTL or not os.path.exists(MEMHPCTL):
        skip('memhpctl is not built (MEMHPCTL unset)')
    p = subprocess.run([MEMHPCTL, *args], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address))
    log(f'   memhpctl {" ".join(args)}: exit {p.returncode}; '
        f'{(p.stderr.strip() or p.stdout.strip())[:200]}')
    return p.returncode, p.stdout, p.stderr


def devices(bus):
    rc, out, err = ctl(bus, 'devices', '--json')
    check_eq(rc, 0, f'devices --json ({err})')
    return {d['device']: d for d in json.loads(out)['devices']}


def online_count(sim, ids):
    return sum(1 for i, (s, _z) in states(sim, ids).items() if s == 'online')


def test_devices(tmp):
    extra = Extra(tmp)
    extra.dimm(DIMM, 32, 4)
    extra.dax(DAX, 96, 4, backing='cxl')
    sim = Sim(tmp, *BOOT, *extra.args())
    bus = Bus(tmp)
    d = Memhpd(tmp, sim, bus, quiet_config())
    c = bus.conn()
    wait_view(c, sim)

    # devices: what the sim holds, device by device.
    devs = devices(bus)
    check_eq(sorted(devs), [DIMM, DAX], 'devices')
    dimm, dax = devs[DIMM], devs[DAX]
    check_eq((dimm['source'], dimm['backing'], dimm['node'], dimm['blocks'], dimm['online'],
              dimm['zones']), ('dimm', None, 1, 4, online_count(sim, range(32, 36)), 'Movable'),
             'the DIMM')
    check_eq((dax['source'], dax['backing'], dax['node'], dax['blocks'], dax['online'],
              dax['zones']), ('dax', 'cxl', 1, 4, online_count(sim, range(96, 100)), None),
             'the dax device')
    check_eq((dax['range'], dax['size']), ('0x%016x-0x%016x' % extra.span(96, 4), 4 << 27),
             'the dax device\'s range')

    # list: SOURCE and DEVICE per block range, as the sim's extra files say.
    rc, out, err = ctl(bus, 'list', '--no-legend', '-o', 'BLOCK,SOURCE,DEVICE')
    check_eq(rc, 0, f'list -o ({err})')
    check_eq([line.split() for line in out.splitlines()],
             [['0-15', 'boot', '-'], ['32-35', 'dimm', DIMM], ['96-99', 'dax', DAX]],
             'list -o BLOCK,SOURCE,DEVICE')

    # Bad input: one line naming what is wrong, no write.
    sim.ctl('reset-counters')
    for args, want_rc, words in (
            (['offline', '--device', 'dax9.9'], 1, ['dax9.9']),
            (['online', '--device', 'PNP0C80:77', '--zone', 'movable'], 1, ['PNP0C80:77']),
            (['offline', '--device', DIMM, '32-35'], 64, ['--device']),
            (['online', '--device', DAX, '--node', '1'], 64, ['--device']),
            (['list', '-o', 'BLOCK,BACKING'], 64, ["Unknown column 'BACKING'"]),
            (['devices', '-o', 'DEVICE,HELD'], 64, ["Unknown column 'HELD'"])):
        rc, out, err = ctl(bus, *args)
        check_eq(rc, want_rc, f'memhpctl {args}')
        check(len(err.strip().splitlines()) == 1 and err.startswith('memhpctl: '),
              f'memhpctl {args}: not one line: {err!r}')
        for w in words:
            check(w in err, f'memhpctl {args}: {err!r} lacks {w!r}')
    check_eq(sim.writes(), ({}, 0), 'writes after bad input')

    # online --device: the dax device's blocks into ZONE_MOVABLE, one transaction.
    rc, out, err = ctl(bus, 'online', '--device', DAX, '--zone', 'movable')
    check_eq(rc, 0, f'online --device ({err})')
    check_eq(out, 'memory96-memory99: online (Movable)\n', 'online --device output')
    check_eq(states(sim, range(96, 100)), {i: ('online', 'Movable') for i in range(96, 100)},
             'the dax device online')
    check_eq(devices(bus)[DAX]['online'], 4, 'devices after online --device')

    # offline --device: highest address first, and the device may go.
    sim.ctl('reset-counters')
    rc, out, err = ctl(bus, 'offline', '--device', DAX)
    check_eq(rc, 0, f'offline --device ({err})')
    check_eq(out, f'memory96-memory99: offline\n{DAX} is safe to remove: all its memory blocks '
             'are offline.\n', 'offline --device output')
    check_eq(wlog_since_reset(sim), [(i, 'offline', 'ok') for i in (99, 98, 97, 96)],
             'offline writes, highest address first')

    # The kernel refuses one of the DIMM's blocks: the whole device is rolled back.
    set_states(sim, {i: ('online', 'Movable') for i in range(32, 36)})
    prior = states(sim)
    sim.ctl('fail', 33, 'EBUSY', 'always')
    rc, out, err = ctl(bus, 'offline', '--device', DIMM)
    check_eq(rc, 2, f'offline --device refused ({err})')
    check(f'Device {DIMM} not offlined: Failed to change memory33: Device or resource busy '
          '(EBUSY). Rolled back: memory34, memory35.' in err, f'stderr: {err}')
    check('safe to remove' not in out, f'stdout: {out}')
    check_eq(states(sim), prior, 'sim state after the rollback')
    check_eq(wlog_since_reset(sim),
             [(35, 'offline', 'ok'), (34, 'offline', 'ok'), (33, 'offline', 'EBUSY'),
              (34, 'online_movable', 'ok'), (35, 'online_movable', 'ok')], 'writes')
    check_eq(d.intents(), [], 'intent record left')
    wait_view(c, sim)
    d.stop()


run_tests([
    test_devices,
])
