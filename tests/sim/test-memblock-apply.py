#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memblock_apply() against the simulated kernel (memblock-apply.c): the bytes it writes, and its
reading of the kernel's answers. EINVAL means "already in that state" only when the state read
back says so; then the block counts as done (1) with the zone it really is in. Every result is
checked against the sim's own state and its log of writes, not against what memblock_apply()
believes."""

import os
import subprocess

from simlib import Sim, check_eq, log, run_tests

APPLY = os.environ.get('MEMHP_MEMBLOCK_APPLY', '')
# memory0 spans DMA and DMA32 (valid_zones "none"): the kernel refuses to offline it.
BOOT = ['--nodes', '0', '--boot',
        'node0:0-3,node0:32-39/offline,node0:40-40/Normal,node0:41-41/Movable']


def apply(sim, block, action):
    r = subprocess.run([APPLY, sim.root, str(block), action], capture_output=True, text=True,
                       timeout=30)
    check_eq(r.returncode, 0, f'memblock-apply {block} {action}: {r.stderr}')
    return r.stdout.strip()


def last_write(sim):
    """(block, value, result) of the sim's last state write."""
    w = sim.wlog(1)[-1]
    return int(w[0]), w[2], w[3]


def test_apply(tmp):
    sim = Sim(tmp, *BOOT)
    check_eq(os.path.exists(APPLY), True, f'memblock-apply is built ({APPLY!r})')

    # A change: exactly the kernel's spelling is written, the zone comes with the result.
    check_eq(apply(sim, 32, 'online_movable'), '0 Movable', 'online_movable of an offline block')
    check_eq(last_write(sim)[:2], (32, 'online_movable'), 'the bytes written')
    check_eq(sim.blocks()[32][:2], ('online', 'Movable'), 'memory32 in the sim')
    check_eq(apply(sim, 33, 'online_kernel'), f'0 {sim.blocks()[33][1]}', 'online_kernel')
    check_eq(sim.blocks()[33][0], 'online', 'memory33 in the sim')
    check_eq(apply(sim, 37, 'online'), f'0 {sim.blocks()[37][1]}', 'plain online: zone read back')
    check_eq(apply(sim, 41, 'offline'), '0 -', 'offline of a Movable block')
    check_eq(sim.blocks()[41][0], 'offline', 'memory41 in the sim')
    check_eq(apply(sim, 99, 'online'), 'ENOENT -', 'no such block')


def test_already_in_state(tmp):
    sim = Sim(tmp, *BOOT)
    # The kernel answers EINVAL when the block already is in the requested state.
    apply(sim, 32, 'online_movable')
    check_eq(apply(sim, 32, 'online_movable'), '1 Movable', 'online_movable twice')
    check_eq(last_write(sim), (32, 'online_movable', 'EINVAL'), 'the kernel said EINVAL')
    # online_movable of a block online in Normal is not a zone change: done, and in Normal.
    check_eq(apply(sim, 40, 'online_movable'), '1 Normal', 'online_movable of a Normal block')
    check_eq(apply(sim, 40, 'online_kernel'), '1 Normal', 'online_kernel of a Normal block')
    check_eq(sim.blocks()[40][:2], ('online', 'Normal'), 'memory40 untouched')
    check_eq(apply(sim, 34, 'offline'), '1 -', 'offline of an offline block')
    # Another onliner was first: the block went online just before our write.
    sim.ctl('race', 35, 'online_kernel')
    check_eq(apply(sim, 35, 'online_movable'), f'1 {sim.blocks()[35][1]}', 'lost the race')
    check_eq(sim.blocks()[35][0], 'online', 'memory35 online by the other onliner')


def test_real_failures(tmp):
    sim = Sim(tmp, *BOOT)
    # EINVAL while the block is not in the target state is a failure.
    check_eq(apply(sim, 0, 'offline'), 'EINVAL -', 'offline of a block spanning zones')
    check_eq(sim.blocks()[0][0], 'online', 'memory0 stays online')
    sim.ctl('fail', 36, 'EINVAL')
    check_eq(apply(sim, 36, 'online'), 'EINVAL -', 'an injected EINVAL, block still offline')
    check_eq(sim.blocks()[36][0], 'offline', 'memory36 stays offline')
    # EINVAL and the state cannot be read back (the block went away): a failure too.
    sim.ctl('vanish', 39, 'EINVAL')
    check_eq(apply(sim, 39, 'online'), 'EINVAL -', 'EINVAL from a block that vanished')
    check_eq(39 in sim.blocks(), False, 'memory39 is gone')
    # Other errors pass through untouched.
    sim.ctl('fail', 38, 'EBUSY')
    check_eq(apply(sim, 38, 'online_movable'), 'EBUSY -', 'EBUSY')
    check_eq(sim.blocks()[38][0], 'offline', 'memory38 stays offline')
    log('   memblock_apply() read every answer of the sim right')


run_tests([test_apply, test_already_in_state, test_real_failures])
