#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd against memhp-sim, black box: the structured journal fields of per-block messages.

Inside the test's private mount namespace a tmpfs goes over /run (so nothing here can touch a
host's journald) and this script binds a unix datagram socket at
/run/systemd/journal/socket, the socket sd_journal_sendv() sends to. It decodes the native
journal protocol as journald does: "FIELD=value\\n" lines, binary-safe fields as
"FIELD\\n<64-bit LE length><data>\\n", and a whole entry in a memfd passed with SCM_RIGHTS
when it is too big for a datagram; the decoder is first checked against libsystemd's own
sd_journal_sendv() with a multi-line and a 16 MiB field.

memhpd uses the journal when its stderr is the stream named by JOURNAL_STREAM=<dev>:<ino>
(as systemd sets it for a service), so it is started with stderr on a file and
JOURNAL_STREAM naming that file. A DIMM is hot-added on each node, one block's first online
fails (sim "fail ... EIO 1") and is retried; every per-block entry must carry MESSAGE_ID
(one per kind, as daemon/blocklog.h defines them), MEMHP_BLOCK=, MEMHP_NODE=, MEMHP_ZONE=
(on success), MEMHP_ACTION=, ERRNO= (on failure), PRIORITY= and SYSLOG_IDENTIFIER=memhpd.
Without JOURNAL_STREAM (or with one naming another file) memhpd writes plain lines to
stderr and sends nothing to the journal socket."""

import ctypes
import os
import re
import socket
import struct
import subprocess
import threading
import time

import simlib
from simlib import Sim, at_cleanup, check, check_eq, log, run_tests, wait_policy, wait_until

JOURNAL_DIR = '/run/systemd/journal'
JOURNAL_SOCKET = JOURNAL_DIR + '/socket'
# libsystemd raises its send buffer to 8 MiB; an entry that does not fit comes as a memfd.
MAX_DATAGRAM = (8 << 20) + (64 << 10)
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BOOT = ('--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15')
CONFIG = '''[Daemon]
EventSource=udev
LogLevel=info
[Policy]
Default=online_movable
[Node 1]
Policy=online_kernel
'''
NODE0 = range(64, 68)  # node 0: online_movable -> Movable
NODE1 = range(68, 72)  # node 1: online_kernel -> Normal
FAILING = 70           # its first write fails with EIO, the retry succeeds
EIO = 5
LOG_ERR, LOG_INFO = 3, 6


def message_ids():
    """The MESSAGE_ID constants from daemon/blocklog.h: {'ONLINED': hex, 'FAILED': hex, ...}."""
    with open(os.path.join(SRC, 'daemon', 'blocklog.h')) as f:
        ids = dict(re.findall(r'#define MEMHP_MESSAGE_BLOCK_(\w+) "([0-9a-f]{32})"', f.read()))
    check('ONLINED' in ids and 'FAILED' in ids, f'MESSAGE_IDs not found in blocklog.h: {ids}')
    return ids


# --- the journal side ---------------------------------------------------------------------

def parse_native(data):
    """One native-protocol entry -> list of (name, value bytes), in order."""
    fields = []
    i = 0
    while i < len(data):
        nl = data.find(b'\n', i)
        eq = data.find(b'=', i)
        if nl < 0:
            raise AssertionError(f'entry does not end in a newline: {data[i:i + 80]!r}')
        if 0 <= eq < nl:
            fields.append((data[i:eq].decode(), data[eq + 1:nl]))
            i = nl + 1
            continue
        # Binary-safe: NAME\n, 64-bit little-endian size, data, \n.
        name = data[i:nl].decode()
        check(len(data) >= nl + 9, f'truncated size of binary field {name}')
        (size,) = struct.unpack_from('<Q', data, nl + 1)
        start = nl + 9
        check(len(data) >= start + size + 1 and data[start + size:start + size + 1] == b'\n',
              f'binary field {name} of {size} bytes is truncated or not newline-terminated')
        fields.append((name, data[start:start + size]))
        i = start + size + 1
    return fields


class Entry:
    def __init__(self, fields, via):
        self.fields = fields
        self.via = via  # 'datagram' or 'memfd'

    def get(self, name):
        vals = [v for k, v in self.fields if k == name]
        check(len(vals) <= 1, f'{name}= appears {len(vals)} times in {self}')
        return vals[0].decode(errors='replace') if vals else None

    def __repr__(self):
        return '{' + ', '.join(f'{k}={v[:60].decode(errors="replace")!r}'
                               for k, v in self.fields) + '}'


class Journal:
    """A stand-in for journald's native socket, decoding every entry into .entries."""

    _ns_ready = False

    def __init__(self):
        Journal._private_run()
        if os.path.exists(JOURNAL_SOCKET):
            os.unlink(JOURNAL_SOCKET)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(JOURNAL_SOCKET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.entries = []
        self.datagrams = 0
        self.errors = []
        self.lock = threading.Lock()
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        at_cleanup(self.close)

    @classmethod
    def _private_run(cls):
        """Our own tmpfs over /run in this private mount namespace: simlib mounts one only
        where /run/udev/control is missing, and a host's /run must never get our socket."""
        if cls._ns_ready:
            return
        check(os.environ.get('MEMHP_SIM_NS') == '1', 'not inside the test namespace')
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'memhp-journal-run', '/run'],
                       check=True)
        os.makedirs('/run/udev')
        open('/run/udev/control', 'w').close()
        os.makedirs(JOURNAL_DIR)
        cls._ns_ready = True

    def _run(self):
        self.sock.settimeout(0.1)
        fd_size = struct.calcsize('i')
        while not self._stop:
            try:
                data, anc, flags, _addr = self.sock.recvmsg(MAX_DATAGRAM,
                                                            socket.CMSG_SPACE(16 * fd_size))
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.datagrams += 1
            fds = []
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    n = len(payload) // fd_size
                    fds += struct.unpack(f'{n}i', payload[:n * fd_size])
            try:
                check(not flags & socket.MSG_TRUNC, f'datagram over {MAX_DATAGRAM} bytes')
                if fds:
                    # journald: a datagram with an fd carries the entry in that (sealed) memfd.
                    check(len(fds) == 1 and not data, f'{len(fds)} fds, {len(data)} bytes')
                    size = os.fstat(fds[0]).st_size
                    entry = Entry(parse_native(os.pread(fds[0], size, 0)), 'memfd')
                else:
                    entry = Entry(parse_native(data), 'datagram')
                with self.lock:
                    self.entries.append(entry)
            except Exception as e:  # keep receiving; the test reports it
                with self.lock:
                    self.errors.append(f'{e!r} in {data[:120]!r}')
            finally:
                for fd in fds:
                    os.close(fd)

    def snapshot(self):
        with self.lock:
            return list(self.entries)

    def find(self, **want):
        return [e for e in self.snapshot() if all(e.get(k) == v for k, v in want.items())]

    def wait(self, timeout=10, what='journal entry', **want):
        return wait_until(lambda: self.find(**want), timeout=timeout, what=what,
                          detail=lambda: f'{len(self.snapshot())} entries, last: '
                                         f'{self.snapshot()[-3:]}')

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()
        if os.path.exists(JOURNAL_SOCKET):
            os.unlink(JOURNAL_SOCKET)


class _IoVec(ctypes.Structure):
    _fields_ = [('iov_base', ctypes.c_void_p), ('iov_len', ctypes.c_size_t)]


def sd_journal_sendv(fields):
    """libsystemd's own sender, from this process."""
    lib = ctypes.CDLL('libsystemd.so.0', use_errno=True)
    bufs = [ctypes.create_string_buffer(f, len(f)) for f in fields]
    iov = (_IoVec * len(fields))(*[_IoVec(ctypes.cast(b, ctypes.c_void_p), len(f))
                                   for b, f in zip(bufs, fields)])
    r = lib.sd_journal_sendv(iov, len(fields))
    check(r >= 0, f'sd_journal_sendv: {os.strerror(-r)}')


# --- memhpd -------------------------------------------------------------------------------

class JournalDaemon(simlib.Daemon):
    """memhpd with stderr on <tmp>/<name>.log and the config's LogLevel=; journal_stream: 'self'
    (JOURNAL_STREAM names that file), 'other' (names another file) or None (unset)."""

    def __init__(self, tmp, sim, journal_stream, name='memhpd'):
        self.journal_stream = journal_stream
        super().__init__(tmp, sim, CONFIG, name=name, log_level=None, wait=False)
        self.stderr_path = self.log_path
        self.env_note = (f'JOURNAL_STREAM={self.env["JOURNAL_STREAM"]}'
                         if 'JOURNAL_STREAM' in self.env else 'JOURNAL_STREAM unset')

    def extra_env(self):
        if self.journal_stream == 'self':
            st = os.fstat(self._log.fileno())
        elif self.journal_stream == 'other':
            other = os.path.join(self.tmp, 'other-stream')
            open(other, 'w').close()
            st = os.stat(other)
        else:
            return {}
        return {'JOURNAL_STREAM': f'{st.st_dev}:{st.st_ino}'}

    def stderr(self):
        return self.log()


def hotplug(sim):
    """Node 0 and node 1 DIMMs; FAILING's first online fails with EIO, its retry succeeds."""
    sim.ctl('fail', FAILING, 'EIO', 1)
    sim.ctl('add-dimm', 0, len(NODE0), NODE0[0])
    sim.ctl('add-dimm', 1, len(NODE1), NODE1[0])
    wait_policy(sim, {0: 'Movable', 1: 'Normal'}, list(NODE0) + list(NODE1), timeout=15)


# --- tests --------------------------------------------------------------------------------

def test_protocol_decoder(tmp):
    """The decoder reads what libsystemd sends: text, binary-safe and memfd entries (16 MiB
    does not fit the 8 MiB send buffer libsystemd asks for)."""
    j = Journal()
    big = b'X' * (16 << 20)
    sd_journal_sendv([b'MESSAGE=plain', b'SYSLOG_IDENTIFIER=memhp-selftest', b'T=1'])
    sd_journal_sendv([b'MESSAGE=two\nlines', b'SYSLOG_IDENTIFIER=memhp-selftest', b'T=2',
                      b'EMPTY='])
    sd_journal_sendv([b'MESSAGE=big', b'SYSLOG_IDENTIFIER=memhp-selftest', b'T=3',
                      b'BIG=' + big])
    wait_until(lambda: len(j.snapshot()) >= 3 or j.errors, what='3 self-test entries')
    check(not j.errors, f'decoder errors: {j.errors}')
    e1, e2, e3 = (j.find(T=str(t))[0] for t in (1, 2, 3))
    check_eq(e1.get('MESSAGE'), 'plain', 'text field')
    check_eq(e2.get('MESSAGE'), 'two\nlines', 'binary-safe field')
    check_eq(e2.get('EMPTY'), '', 'empty field')
    check(e3.get('BIG') == big.decode(), '16 MiB field differs')
    log(f'   libsystemd sent: plain via {e1.via}, multi-line via {e2.via}, 16 MiB via {e3.via}')
    check_eq(e3.via, 'memfd', 'a 16 MiB entry comes as')


def test_journal_fields(tmp):
    ids = message_ids()
    j = Journal()
    sim = Sim(tmp, *BOOT)
    d = JournalDaemon(tmp, sim, 'self')
    log(f'   memhpd with stderr on {d.stderr_path}, {d.env_note}')
    wait_until(lambda: any(re.match(r'Startup scan complete', e.get('MESSAGE') or '')
                           for e in j.snapshot()),
               timeout=15, what='"Startup scan complete" in the journal',
               detail=lambda: f'stderr: {d.stderr()[-500:]!r}, entries: {j.snapshot()[-3:]}')
    hotplug(sim)
    j.wait(MESSAGE_ID=ids['ONLINED'], MEMHP_BLOCK=str(FAILING), what='the retried block onlined')
    d.stop()
    check(not j.errors, f'undecodable journal entries: {j.errors}')
    entries = j.snapshot()
    mine = [e for e in entries if e.get('SYSLOG_IDENTIFIER') == 'memhpd']
    log(f'   {len(entries)} journal entries, {len(mine)} with SYSLOG_IDENTIFIER=memhpd')
    errors = []
    for e in entries:
        if e.get('SYSLOG_IDENTIFIER') != 'memhpd':
            errors.append(f'entry without SYSLOG_IDENTIFIER=memhpd: {e}')
        if not re.fullmatch(r'[0-7]', e.get('PRIORITY') or ''):
            errors.append(f'entry without a PRIORITY= of 0-7: {e}')
        if not e.get('MESSAGE'):
            errors.append(f'entry without MESSAGE=: {e}')
    by_id = {}
    for e in entries:
        if e.get('MESSAGE_ID'):
            by_id.setdefault(e.get('MESSAGE_ID'), []).append(e)
    log('   MESSAGE_IDs seen: ' + ', '.join(
        f'{next((k for k, v in ids.items() if v == mid), "?")}={mid} x{len(es)}'
        for mid, es in by_id.items()))

    def expect(block, node, zone, action, message_id, priority, errno=None):
        found = [e for e in by_id.get(message_id, []) if e.get('MEMHP_BLOCK') == str(block)]
        if len(found) != 1:
            errors.append(f'memory{block}: {len(found)} entries with MESSAGE_ID={message_id}, '
                          f'want 1: {found}')
            return
        e = found[0]
        want = {'MEMHP_NODE': str(node), 'MEMHP_ZONE': zone, 'MEMHP_ACTION': action,
                'PRIORITY': str(priority), 'ERRNO': None if errno is None else str(errno),
                'SYSLOG_IDENTIFIER': 'memhpd'}
        for k, v in want.items():
            if e.get(k) != v:
                errors.append(f'memory{block}: {k}={e.get(k)!r}, want {v!r} in {e}')
        if not re.search(rf'\bmemory{block}\b', e.get('MESSAGE') or ''):
            errors.append(f'memory{block}: MESSAGE= does not name the block: {e}')

    for b in NODE0:
        expect(b, 0, 'Movable', 'online_movable', ids['ONLINED'], LOG_INFO)
    for b in NODE1:
        expect(b, 1, 'Normal', 'online_kernel', ids['ONLINED'], LOG_INFO)
    expect(FAILING, 1, None, 'online_kernel', ids['FAILED'], LOG_ERR, errno=EIO)
    fail = (by_id.get(ids['FAILED']) or [None])[0]
    if fail:
        log(f'   failure entry: {fail}')
    ok = [e for e in by_id.get(ids['ONLINED'], []) if e.get('MEMHP_BLOCK') == str(NODE0[0])]
    if ok:
        log(f'   success entry: {ok[0]}')
    if ids['ONLINED'] == ids['FAILED']:
        errors.append('onlined and failed share a MESSAGE_ID')
    unknown = set(by_id) - set(ids.values())
    if unknown:
        errors.append(f'MESSAGE_IDs not in blocklog.h: {unknown}')
    for mid, es in by_id.items():
        for e in es:
            if e.get('MEMHP_BLOCK') is None or e.get('MEMHP_ACTION') is None:
                errors.append(f'per-block entry without MEMHP_BLOCK=/MEMHP_ACTION=: {e}')
    # With the journal taken, nothing per block goes to stderr as well.
    err = d.stderr()
    log(f'   stderr: {len(err)} bytes')
    if re.search(r'memory\d+', err):
        errors.append(f'per-block lines on stderr besides the journal: {err[:300]!r}')
    check(not errors, '\n     '.join([f'{len(errors)} problem(s):'] + errors[:20]))


def check_plain_stderr(tmp, journal_stream):
    j = Journal()
    sim = Sim(tmp, *BOOT)
    d = JournalDaemon(tmp, sim, journal_stream)
    log(f'   memhpd with stderr on {d.stderr_path}, {d.env_note}')
    wait_until(lambda: 'Startup scan complete' in d.stderr(), timeout=15,
               what='"Startup scan complete" on stderr', detail=lambda: repr(d.stderr()[-500:]))
    hotplug(sim)
    wait_until(lambda: re.search(rf'memory{FAILING} \(node 1\): online', d.stderr()),
               what=f'memory{FAILING} onlined on the retry')
    d.stop()
    time.sleep(0.3)
    check_eq(j.datagrams, 0, 'datagrams memhpd sent to the journal socket')
    return d.stderr()


def test_plain_stderr_without_journal_stream(tmp):
    err = check_plain_stderr(tmp, None)
    lines = err.splitlines()
    log('   ' + '\n   '.join(lines[:3] + ['...'] + [x for x in lines if 'memory70' in x]))
    errors = []
    for line in lines:
        if not line.startswith('memhpd: '):
            errors.append(f'not a plain "memhpd: " line: {line!r}')
        if re.search(r'^<\d>|MESSAGE_ID=|MEMHP_[A-Z]+=', line):
            errors.append(f'journal syntax on plain stderr: {line!r}')
    for b in list(NODE0):
        if not re.search(rf'^memhpd: memory{b} \(node 0\): online, zone Movable \(online_movable',
                         err, re.M):
            errors.append(f'no plain success line for memory{b}')
    if not re.search(rf'^memhpd: Failed to online memory{FAILING} \(node 1\) as online_kernel: '
                     r'Input/output error', err, re.M):
        errors.append(f'no plain failure line for memory{FAILING}')
    check(not errors, '; '.join(errors[:10]))


def test_journal_stream_of_another_file(tmp):
    # stderr redirected away from the stream systemd set up: memhpd must not take the journal.
    err = check_plain_stderr(tmp, 'other')
    lines = [x for x in err.splitlines() if re.search(rf'memory{FAILING}\b', x)]
    log('   ' + '\n   '.join(lines))
    check(lines, f'no line about memory{FAILING} on stderr')


run_tests([
    test_protocol_decoder,
    test_journal_fields,
    test_plain_stderr_without_journal_stream,
    test_journal_stream_of_another_file,
])
