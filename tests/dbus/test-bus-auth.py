#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Who may change memory through org.memhpd1. Under the project's bus policy (on a private bus
with Debian's default-deny system.conf rules) uid nobody is refused every mutating method and may
read everything; with a bus that allows everything, memhpd's own check still refuses nobody, with
zero writes reaching the (simulated) kernel. Group memhp members are allowed under both."""

import grp
import os
import subprocess

from buslib import (E_ACCESS, GROUP, IFACE, NAME, PATH, Bus, Memhpd, Sim, check, check_eq, log,
                    quiet_config, run_as, run_tests, skip, states)

BOOT = ['--nodes', '0-1', '--boot', 'node0:0-7,node0:32-39/offline,node1:128-135/Movable']
NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups']

# Every mutating method, with arguments that would succeed for root (and change the sim).
MUTATING = [
    ('OnlineBlocks', 'aus', [[32, 33], 'movable']),
    ('OfflineBlocks', 'au', [[128, 129]]),
    ('SetNodePolicy', 'us', [0, 'online_movable']),
    ('Reload', '', []),
    ('Rescan', '', []),
    ('Cancel', '', []),
    # Refused before the device is looked up (fixtures without devices have none).
    ('OnlineDevice', 'ss', ['PNP0C80:00', 'movable']),
    ('OfflineDevice', 's', ['PNP0C80:00']),
]


def memhp_gid():
    """The memhp group, created (as sysusers would) when this test machine lacks it."""
    try:
        return grp.getgrnam(GROUP).gr_gid
    except KeyError:
        pass
    r = subprocess.run(['groupadd', '--system', GROUP], capture_output=True, text=True)
    if r.returncode not in (0, 9):  # 9: created meanwhile by someone else
        skip(f'cannot create group {GROUP}: {r.stderr.strip()}')
    return grp.getgrnam(GROUP).gr_gid


def as_user(bus, who, member, sig='', args=(), iface=IFACE):
    return run_as(who, member, sig, args, iface=iface, address_path=bus.path)


def expect_denied(bus, who, member, sig, args, what):
    r = as_user(bus, who, member, sig, args)
    check(r[0] == 'error', f'{what}: {member} succeeded: {r}')
    check_eq(r[1], E_ACCESS, f'{what}: {member} error ({r[2]})')
    return r[2]


def check_reads(bus, who, root_conn, what):
    """Everything a reader needs works for who, and says the same as for root."""
    r = as_user(bus, who, 'ListBlocks')
    check_eq(r[0], 'reply', f'{what}: ListBlocks {r}')
    check_eq([tuple(b) for b in r[1][0]], root_conn.call('ListBlocks')[0], f'{what}: ListBlocks')
    r = as_user(bus, who, 'ListNodes')
    check_eq(r[0], 'reply', f'{what}: ListNodes {r}')
    check_eq([tuple(n) for n in r[1][0]], root_conn.call('ListNodes')[0], f'{what}: ListNodes')
    for member, sig, args in (('ListDevices', '', []), ('GetBlockSources', 'au', [[]]),
                              ('GetBlockSources', 'au', [[0, 128]]), ('DescribeNodes', '', []),
                              ('GetEffectivePolicies', '', [])):
        r = as_user(bus, who, member, sig, args)
        check_eq(r[0], 'reply', f'{what}: {member} {r}')
        check_eq(json_tuples(r[1][0]), root_conn.call(member, sig, args)[0], f'{what}: {member}')
    for prop, want in (('Version', root_conn.get('Version')),
                       ('BlockSizeBytes', 0x8000000), ('EventSource', 'udev')):
        r = as_user(bus, who, 'Get', 'ss', [IFACE, prop], iface='org.freedesktop.DBus.Properties')
        check_eq(r, ('reply', [want]), f'{what}: property {prop}')
    r = as_user(bus, who, 'GetAll', 's', [IFACE], iface='org.freedesktop.DBus.Properties')
    check_eq(r[0], 'reply', f'{what}: GetAll {r}')
    check_eq(sorted(r[1][0]), ['BlockSizeBytes', 'EventSource', 'HeldBlocks', 'Version'],
             f'{what}: GetAll')
    # The counters are for monitoring agents, which need no privilege.
    r = as_user(bus, who, 'GetAll', 's', ['org.memhpd1.Metrics'],
                iface='org.freedesktop.DBus.Properties')
    check_eq(r[0], 'reply', f'{what}: GetAll org.memhpd1.Metrics {r}')
    check_eq(sorted(r[1][0]), sorted(root_conn.call('GetAll', 's', ('org.memhpd1.Metrics',),
                                                    iface='org.freedesktop.DBus.Properties')[0]),
             f'{what}: GetAll org.memhpd1.Metrics')
    r = as_user(bus, who, 'Introspect', iface='org.freedesktop.DBus.Introspectable')
    check_eq(r[0], 'reply', f'{what}: Introspect {r}')
    for member in ('OnlineBlocks', 'OfflineBlocks', 'Cancel', 'BlockChanged'):
        check(f'name="{member}"' in r[1][0], f'{what}: Introspect lacks {member}')
    r = as_user(bus, who, 'Ping', iface='org.freedesktop.DBus.Peer')
    check_eq(r, ('reply', []), f'{what}: Peer.Ping')


def json_tuples(v):
    """A reply that went through JSON (lists) in the shape Conn returns (structs as tuples)."""
    if isinstance(v, list):
        return [tuple(json_tuples(x) for x in i) if isinstance(i, list) else i for i in v]
    return v


def quiet_log(d, what):
    """Nothing a refused call could have triggered shows in memhpd's log."""
    text = d.log()
    for pattern in ('Operation ', 'policy set to', 'Configuration reloaded',
                    'requested over D-Bus'):
        check(pattern not in text, f'{what}: memhpd log has "{pattern}":\n{text}')


def test_system_policy(tmp):
    gid = memhp_gid()  # before the bus starts: dbus-daemon resolves policy groups at load
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp, 'system')
    d = Memhpd(tmp, sim, bus, quiet_config())
    root = bus.conn()
    prior = states(sim)
    sim.ctl('reset-counters')

    for member, sig, args in MUTATING:
        msg = expect_denied(bus, NOBODY, member, sig, args, 'nobody, project policy')
        # The bus refuses before memhpd sees the call.
        check(msg.startswith('Rejected send message'), f'{member}: not the bus policy: {msg}')
    # Refused before any validation: bad arguments are not worth a different answer.
    expect_denied(bus, NOBODY, 'OnlineBlocks', 'aus', [[], 'sideways'], 'nobody, bad args')
    # Only root may own the name.
    r = run_as(NOBODY, 'RequestName', 'su', [NAME, 0], iface='org.freedesktop.DBus',
               address_path=bus.path)
    check_eq(r[:2], ('error', E_ACCESS), f'nobody owning {NAME}: {r}')
    check_reads(bus, NOBODY, root, 'nobody, project policy')
    check_eq(sim.writes(), ({}, 0), 'sim writes after refused calls')
    check_eq(states(sim), prior, 'sim state after refused calls')
    quiet_log(d, 'project policy')
    check_eq(d.count(r'Denied '), 0, 'memhpd never saw the refused calls')

    # The memhp group may do everything: policy <policy group="memhp"> and memhpd agree.
    member = ['--reuid=nobody', '--regid=nogroup', f'--groups={gid}']
    r = as_user(bus, member, 'OnlineBlocks', 'aus', [[32, 33], 'movable'])
    check_eq(r, ('reply', [[[32, 'online', 'Movable'], [33, 'online', 'Movable']]]),
             'memhp member: OnlineBlocks')
    r = as_user(bus, member, 'OfflineBlocks', 'au', [[128]])
    check_eq(r, ('reply', [[[128, 'offline', '']]]), 'memhp member: OfflineBlocks')
    check_eq(as_user(bus, member, 'SetNodePolicy', 'us', [1, 'online_kernel']), ('reply', []),
             'memhp member: SetNodePolicy')
    check_eq(root.call('ListNodes')[0][1][1], 'online_kernel', 'node 1 policy after SetNodePolicy')
    check_eq(as_user(bus, member, 'Cancel'), ('reply', [0]), 'memhp member: Cancel')
    check_eq(as_user(bus, member, 'Rescan'), ('reply', []), 'memhp member: Rescan')
    check_eq(as_user(bus, member, 'Reload'), ('reply', []), 'memhp member: Reload')
    want = {**prior, 32: ('online', 'Movable'), 33: ('online', 'Movable'),
            128: ('offline', '-')}
    check_eq(states(sim), want, 'sim state after the memhp member\'s calls')
    check_eq(sim.writes()[0], {32: 1, 33: 1, 128: 1}, 'one write per changed block')
    d.stop()


def test_daemon_check(tmp):
    gid = memhp_gid()
    sim = Sim(tmp, *BOOT)
    bus = Bus(tmp, 'allow-all')
    d = Memhpd(tmp, sim, bus, quiet_config())
    root = bus.conn()
    prior = states(sim)
    nodes = root.call('ListNodes')[0]
    sim.ctl('reset-counters')

    users_gid = 100 if gid != 100 else 101
    for who, what in ((NOBODY, 'nobody'),
                      (['--reuid=nobody', '--regid=nogroup', f'--groups={users_gid}'],
                       'nobody in another group')):
        for member, sig, args in MUTATING:
            msg = expect_denied(bus, who, member, sig, args, f'{what}, allow-all bus')
            check_eq(msg, f"{member} needs root or membership in group '{GROUP}'.",
                     f'{what}: {member} message')
        # Authorization comes before argument checks.
        expect_denied(bus, who, 'OnlineBlocks', 'aus', [[], 'sideways'], f'{what}, bad args')
    for member, _, _ in MUTATING:
        check_eq(d.count(rf"Denied {member} to uid 65534 \(not root, not in group '{GROUP}'\)"),
                 4 if member == 'OnlineBlocks' else 2, f'memhpd logs each refused {member}')
    check_eq(sim.writes(), ({}, 0), 'sim writes after refused calls')
    check_eq(states(sim), prior, 'sim state after refused calls')
    check_eq(root.call('ListNodes')[0], nodes, 'node policies after refused SetNodePolicy')
    quiet_log(d, 'allow-all bus')
    check_reads(bus, NOBODY, root, 'nobody, allow-all bus')

    # busctl, the tool an admin would try, gets the same answer.
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    r = subprocess.run(['setpriv', *NOBODY, 'busctl', '--system', 'call', NAME, PATH, IFACE,
                        'OnlineBlocks', 'aus', '1', '34', 'movable'],
                       capture_output=True, text=True, env=env, timeout=30)
    check(r.returncode != 0, f'busctl as nobody succeeded: {r.stdout}')
    # busctl shows only the errno it maps AccessDenied to.
    check('Access denied' in r.stderr, f'busctl as nobody: {r.stderr}')
    check_eq(sim.writes(), ({}, 0), 'sim writes after busctl as nobody')

    member = ['--reuid=nobody', '--regid=nogroup', f'--groups={gid}']
    r = as_user(bus, member, 'OnlineBlocks', 'aus', [[34], 'kernel'])
    check_eq(r, ('reply', [[[34, 'online', 'Normal']]]), 'memhp member: OnlineBlocks')
    check_eq(states(sim), {**prior, 34: ('online', 'Normal')},
             'sim state after the memhp member\'s online')
    check_eq(sim.writes()[0], {34: 1}, 'one write')
    log(f'   {d.count("Denied ")} refusals logged')
    d.stop()


run_tests([
    test_system_policy,
    test_daemon_check,
])
