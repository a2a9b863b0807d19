# SPDX-License-Identifier: LGPL-2.1-or-later
"""Harness for the D-Bus tier: a private dbus-daemon, memhpd on it against memhp-sim, and a
small D-Bus client in plain Python (no python3-dbus: the error *name* and the exact timing of
every call matter here, and a caller must be able to send a call and act before its reply).

The sim side (namespaces, memhp-sim, cleanup) comes from tests/sim/simlib.py, imported
read-only. Run as a script, this file is also the client for unprivileged callers:

    buslib.py call ADDRESS DESTINATION PATH MEMBER SIGNATURE JSON_ARGS INTERFACE

prints one JSON object, {"reply": [...]} or {"error": NAME, "message": MESSAGE}, so that a test
can run it under setpriv as another user.
"""

import glob
import json
import os
import socket
import struct
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, 'tests', 'sim'))

if __name__ == '__main__' and sys.argv[1:2] == ['call']:
    # The unprivileged client runs from a copy outside the source tree: stdlib only, and
    # run_as() hands it the names it needs.
    simlib = None
    API = {}
else:
    import simlib  # noqa: E402
    from simlib import (Sim, SimError, at_cleanup, check, check_eq, log,  # noqa: E402,F401
                        run_tests, skip, wait_until)
    sys.path.insert(0, os.path.join(SOURCE_ROOT, 'tests'))
    import memhp_api  # noqa: E402
    API = memhp_api.load()

MEMHPCTL = os.environ.get('MEMHPCTL', '')
POLICY = os.path.join(SOURCE_ROOT, 'conf', 'org.memhpd1.conf')
BUS_TEMPLATE = os.path.join(HERE, 'system-bus.conf.in')
ALLOW_ALL_TEMPLATE = os.path.join(HERE, 'allow-all-bus.conf.in')

NAME = API.get('MEMHP_BUS_NAME')
PATH = API.get('MEMHP_BUS_PATH')
IFACE = API.get('MEMHP_BUS_INTERFACE')
E_FAILED = API.get('MEMHP_ERROR_OPERATION_FAILED')
E_INCOMPLETE = API.get('MEMHP_ERROR_ROLLBACK_INCOMPLETE')
E_INVALID_CONFIG = API.get('MEMHP_ERROR_INVALID_CONFIG')
MAX_BLOCKS = API.get('MEMHP_MAX_BLOCKS_PER_CALL')
BLOCK_ID_MAX = API.get('MEMHP_BLOCK_ID_MAX')
NODE_UNKNOWN = API.get('MEMHP_NODE_UNKNOWN')
GROUP = API.get('MEMHP_BUS_GROUP')
E_ACCESS = 'org.freedesktop.DBus.Error.AccessDenied'
E_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
E_NOREPLY = 'org.freedesktop.DBus.Error.NoReply'

# ---- D-Bus wire format (little endian only, which is what we send and what x86 answers) ----

_FIXED = {'y': ('<B', 1), 'b': ('<I', 4), 'n': ('<h', 2), 'q': ('<H', 2), 'i': ('<i', 4),
          'u': ('<I', 4), 'x': ('<q', 8), 't': ('<Q', 8), 'd': ('<d', 8), 'h': ('<I', 4)}
_ALIGN = dict({k: v[1] for k, v in _FIXED.items()}, s=4, o=4, g=1, v=1, a=4)
_ALIGN['('] = 8
_ALIGN['{'] = 8


def _type_end(sig, i):
    """Index just past the single complete type starting at sig[i]."""
    c = sig[i]
    if c == 'a':
        return _type_end(sig, i + 1)
    if c in '({':
        close = ')' if c == '(' else '}'
        i += 1
        while sig[i] != close:
            i = _type_end(sig, i)
        return i + 1
    if c in _ALIGN:
        return i + 1
    raise ValueError(f'bad signature {sig!r} at {i}')


def split_sig(sig):
    out, i = [], 0
    while i < len(sig):
        j = _type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _pad(buf, n):
    buf.extend(b'\0' * (-len(buf) % n))


def _marshal(buf, t, v):
    c = t[0]
    _pad(buf, _ALIGN[c])
    if c in _FIXED:
        buf.extend(struct.pack(_FIXED[c][0], v))
    elif c in 'so':
        b = v.encode()
        buf.extend(struct.pack('<I', len(b)) + b + b'\0')
    elif c == 'g':
        b = v.encode()
        buf.extend(struct.pack('<B', len(b)) + b + b'\0')
    elif c == 'v':
        vt, vv = v
        _marshal(buf, 'g', vt)
        _marshal(buf, vt, vv)
    elif c == 'a':
        et = t[1:]
        at = len(buf)
        buf.extend(b'\0\0\0\0')
        _pad(buf, _ALIGN[et[0]])
        start = len(buf)
        items = v.items() if et[0] == '{' else v
        if et[0] == 'u' and not isinstance(v, dict):
            buf.extend(struct.pack(f'<{len(v)}I', *v))   # fast path: au with 65537 ids
        else:
            for item in items:
                _marshal(buf, et, item)
        struct.pack_into('<I', buf, at, len(buf) - start)
    elif c in '({':
        for ft, fv in zip(split_sig(t[1:-1]), v):
            _marshal(buf, ft, fv)
    else:
        raise ValueError(f'cannot marshal {t}')


def marshal(sig, values):
    buf = bytearray()
    for t, v in zip(split_sig(sig), values):
        _marshal(buf, t, v)
    return bytes(buf)


def _unmarshal(data, pos, t):
    c = t[0]
    pos += -pos % _ALIGN[c]
    if c in _FIXED:
        fmt, size = _FIXED[c]
        v = struct.unpack_from(fmt, data, pos)[0]
        return (bool(v) if c == 'b' else v), pos + size
    if c in 'so':
        n = struct.unpack_from('<I', data, pos)[0]
        return data[pos + 4:pos + 4 + n].decode(), pos + 5 + n
    if c == 'g':
        n = data[pos]
        return data[pos + 1:pos + 1 + n].decode(), pos + 2 + n
    if c == 'v':
        vt, pos = _unmarshal(data, pos, 'g')
        v, pos = _unmarshal(data, pos, vt)
        return v, pos
    if c == 'a':
        n = struct.unpack_from('<I', data, pos)[0]
        pos += 4
        et = t[1:]
        pos += -pos % _ALIGN[et[0]]
        end = pos + n
        items = []
        while pos < end:
            item, pos = _unmarshal(data, pos, et)
            items.append(item)
        return (dict(items) if et[0] == '{' else items), end
    if c in '({':
        out = []
        for ft in split_sig(t[1:-1]):
            v, pos = _unmarshal(data, pos, ft)
            out.append(v)
        return tuple(out), pos
    raise ValueError(f'cannot unmarshal {t}')


def unmarshal(sig, data, pos=0):
    out = []
    for t in split_sig(sig):
        v, pos = _unmarshal(data, pos, t)
        out.append(v)
    return out


class DBusError(Exception):
    def __init__(self, name, message):
        super().__init__(f'{name}: {message}')
        self.name = name
        self.message = message


METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4


class Conn:
    """One connection to a bus at a unix socket path, authenticated as our euid."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b''
        self.serial = 0
        self.replies = {}
        uid = str(os.geteuid()).encode().hex().encode()
        self.sock.sendall(b'\0AUTH EXTERNAL ' + uid + b'\r\n')
        line = self._line()
        if not line.startswith(b'OK '):
            raise OSError(f'bus refused authentication: {line!r}')
        self.sock.sendall(b'BEGIN\r\n')
        self.unique_name = self.call('Hello', dest='org.freedesktop.DBus',
                                     path='/org/freedesktop/DBus',
                                     iface='org.freedesktop.DBus')[0]

    def _line(self):
        while b'\r\n' not in self.buf:
            b = self.sock.recv(4096)
            if not b:
                raise OSError('bus closed the connection during authentication')
            self.buf += b
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, member, sig='', args=(), dest=NAME, path=PATH, iface=IFACE, no_reply=False):
        """Sends a method call; returns its serial (see reply())."""
        self.serial += 1
        body = marshal(sig, args)
        fields = [(1, ('o', path)), (3, ('s', member))]
        if iface:
            fields.append((2, ('s', iface)))
        if dest:
            fields.append((6, ('s', dest)))
        if sig:
            fields.append((8, ('g', sig)))
        hdr = bytearray(struct.pack('<cBBBII', b'l', METHOD_CALL, 1 if no_reply else 0, 1,
                                    len(body), self.serial))
        _marshal(hdr, 'a(yv)', fields)
        _pad(hdr, 8)
        self.sock.sendall(bytes(hdr) + body)
        return self.serial

    def _recv_exact(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('no message from the bus in time')
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(1 << 16)
            except socket.timeout:
                raise TimeoutError('no message from the bus in time') from None
            if not b:
                raise OSError('the bus closed the connection')
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_message(self, deadline):
        fixed = self._recv_exact(16, deadline)
        if fixed[0:1] != b'l':
            raise OSError('big-endian message: not supported by this client')
        mtype, _flags, _ver, body_len, _serial, fields_len = struct.unpack('<BBBIII',
                                                                             fixed[1:16])
        hdr_len = 16 + fields_len
        hdr_len += -hdr_len % 8
        rest = self._recv_exact(hdr_len - 16 + body_len, deadline)
        data = fixed + rest
        fields = dict(_unmarshal(data, 12, 'a(yv)')[0])
        sig = fields.get(8, '')
        body = unmarshal(sig, data, hdr_len) if sig else []
        return mtype, fields, body

    def reply(self, serial, timeout=25):
        """Waits for the reply to serial: the body list, or raises DBusError."""
        deadline = time.monotonic() + timeout
        while serial not in self.replies:
            mtype, fields, body = self._read_message(deadline)
            if mtype in (METHOD_RETURN, ERROR) and 5 in fields:
                self.replies[fields[5]] = (mtype, fields, body)
            # Signals and calls to us (none expected) are dropped.
        mtype, fields, body = self.replies.pop(serial)
        if mtype == ERROR:
            raise DBusError(fields.get(4, '?'), body[0] if body else '')
        return body

    def call(self, member, sig='', args=(), timeout=25, **kw):
        return self.reply(self.send(member, sig, args, **kw), timeout)

    # Conveniences for org.memhpd1.
    def list_blocks(self):
        return {b[0]: (b[2], b[3], b[1]) for b in self.call('ListBlocks')[0]}

    def get(self, prop):
        return self.call('Get', 'ss', (IFACE, prop), iface='org.freedesktop.DBus.Properties')[0]


def expect_error(fn, name, what):
    """Runs fn(); it must raise DBusError name. Returns the error message."""
    try:
        r = fn()
    except DBusError as e:
        check_eq(e.name, name, f'{what}: error name (message: {e.message})')
        return e.message
    raise AssertionError(f'{what}: succeeded ({r!r}), expected {name}')


# ---- the private bus ---------------------------------------------------------------------

class Bus:
    """A private dbus-daemon: 'system' (Debian's default-deny context plus conf/org.memhpd1.conf)
    or 'allow-all' (everything allowed: only memhpd's own check stands)."""

    def __init__(self, tmp, kind='system', name='bus'):
        if not shutil_which('dbus-daemon'):
            skip('dbus-daemon is not installed')
        # Unprivileged callers (setpriv) must reach the socket.
        os.chmod(tmp, 0o755)
        self.path = os.path.join(tmp, f'{name}.sock')
        self.address = 'unix:path=' + self.path
        template = BUS_TEMPLATE if kind == 'system' else ALLOW_ALL_TEMPLATE
        with open(template) as f:
            text = f.read()
        text = text.replace('@LISTEN@', self.address).replace('@POLICY@', POLICY)
        self.conf = os.path.join(tmp, f'{name}.conf')
        with open(self.conf, 'w') as f:
            f.write(text)
        self.log_path = os.path.join(tmp, f'{name}.log')
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(['dbus-daemon', '--config-file', self.conf, '--nofork',
                                      '--nopidfile', '--nosyslog'],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     preexec_fn=simlib._die_with_parent)
        at_cleanup(self.stop)
        # The socket file appears at bind(), before listen(): wait for a real connection.
        wait_until(self._ready, timeout=10, what='dbus-daemon accepting connections')
        check(self.proc.poll() is None, f'dbus-daemon exited: {self.log()}')

    def _ready(self):
        if self.proc.poll() is not None:
            return True
        try:
            Conn(self.path, timeout=2).close()
            return True
        except OSError:
            return False

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def conn(self):
        c = Conn(self.path)
        at_cleanup(c.close)
        return c

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def shutil_which(tool):
    import shutil
    return shutil.which(tool)


# ---- memhpd --------------------------------------------------------------------------------

CONFIG = '''[Daemon]
EventSource=udev
Coldplug={coldplug}
[Policy]
Default={default}
[Offline]
TimeoutSec={timeout}
Retries={retries}
'''


def config(default, coldplug=True, timeout=10, retries=0):
    """memhpd.conf for a test: udev events, one default policy, bounded offlines."""
    return CONFIG.format(default=default, coldplug='yes' if coldplug else 'no', timeout=timeout,
                         retries=retries)


def quiet_config(timeout=10, retries=0):
    """Nothing moves behind a test's back: no coldplug, new or offline blocks are left alone."""
    return config('ignore', coldplug=False, timeout=timeout, retries=retries)


# (object: in the unprivileged client, which has no simlib and starts no memhpd.)
class Memhpd(simlib.Daemon if simlib else object):
    """memhpd (simlib.Daemon) on a private bus: ready once it serves org.memhpd1, its runtime
    directory (intent records) a tmpfs in the test's temporary directory."""

    ready = (r'Startup scan complete', r'Serving org\.memhpd1 on the system bus')

    def __init__(self, tmp, sim, bus, config, name='memhpd', env=None, runtime=None, wait=True):
        super().__init__(tmp, sim, config, name=name, bus_address=bus.address, env=env,
                         runtime=runtime, wait=wait)

    def prepare_runtime(self):
        # tmpfs, like the real /run: an intent record is fsync()ed at every step, which costs
        # milliseconds on a disk and would dominate the rollback matrix.
        if not simlib.is_mounted(self.runtime):
            runtime = self.runtime
            subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=700,size=16m', 'memhpd-run',
                            runtime], check=True)
            at_cleanup(lambda: subprocess.run(['umount', '-l', runtime], check=False))

    def intents(self):
        return sorted(glob.glob(os.path.join(self.runtime, 'txn-*.intent')))


# ---- sim helpers ---------------------------------------------------------------------------

def set_states(sim, want):
    """Puts blocks into {id: (state, zone)} through the sim's own hands ('Normal'/'Movable'),
    then drops faults and counters."""
    have = sim.blocks()
    for i, (state, zone) in want.items():
        if have[i][:2] == (state, zone):
            continue
        if have[i][0] != 'offline':
            sim.ctl('offline', i)
        if state == 'online':
            sim.ctl('online', i, zone)
    sim.ctl('clear')
    sim.ctl('reset-counters')


def states(sim, ids=None):
    """{id: (state, zone)} from the sim's truth."""
    b = sim.blocks()
    return {i: b[i][:2] for i in (ids if ids is not None else b)}


def view_mismatches(conn, sim):
    """Blocks whose state or zone memhpd's ListBlocks reports differently from the sim."""
    truth = states(sim)
    view = {i: (s, z or '-') for i, (s, z, _n) in conn.list_blocks().items()}
    return [f'memory{i}: memhpd {view.get(i)}, sim {truth[i]}'
            for i in sorted(set(truth) | set(view)) if view.get(i) != truth.get(i)]


def wait_view(conn, sim, timeout=5):
    """Waits until memhpd's view (ListBlocks) agrees with the sim's truth."""
    try:
        wait_until(lambda: not view_mismatches(conn, sim), timeout=timeout,
                   what='memhpd\'s ListBlocks to agree with the sim')
    except AssertionError as e:
        raise AssertionError(f'{e}: {view_mismatches(conn, sim)[:8]}') from None


def wlog_since_reset(sim):
    """[(block, value, result)] of every write since the last reset-counters."""
    return [(int(w[0]), w[2], w[3]) for w in sim.wlog()]


def strerror(name):
    """strerror() of an errno name as the sim takes it ('EIO'); Python lacks EHWPOISON."""
    import errno as _errno
    return os.strerror(getattr(_errno, name, None) or {'EHWPOISON': 133}[name])


# ---- the unprivileged client (run as a script) ----------------------------------------------

def run_as(user_args, member, sig='', args=(), iface=IFACE, address_path=None, timeout=30):
    """Runs this file as a client under setpriv USER_ARGS; returns ('reply', body) or
    ('error', name, message)."""
    # The checkout may sit in a directory the unprivileged user cannot read (a clone under
    # /root): run a copy placed next to the bus socket, in the directory made reachable for it.
    script = os.path.join(os.path.dirname(address_path), 'buslib-client.py')
    if not os.path.exists(script):
        shutil.copyfile(os.path.abspath(__file__), script)
        os.chmod(script, 0o644)
    dest, path = NAME, PATH
    if iface.startswith('org.freedesktop.DBus') and iface not in (
            'org.freedesktop.DBus.Properties', 'org.freedesktop.DBus.Introspectable',
            'org.freedesktop.DBus.Peer'):
        dest, path = 'org.freedesktop.DBus', '/org/freedesktop/DBus'
    cmd = ['setpriv', *user_args, sys.executable, script, 'call',
           address_path, dest, path, member, sig, json.dumps(list(args)), iface]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f'client {cmd} failed ({r.returncode}): {r.stderr}')
    doc = json.loads(r.stdout)
    if 'error' in doc:
        return ('error', doc['error'], doc['message'])
    return ('reply', doc['reply'])


def _client_main(argv):
    _, address_path, dest, path, member, sig, args, iface = argv[:8]
    c = Conn(address_path)
    try:
        body = c.call(member, sig, json.loads(args), iface=iface, dest=dest, path=path)
        print(json.dumps({'reply': body}))
    except DBusError as e:
        print(json.dumps({'error': e.name, 'message': e.message}))
    return 0


if __name__ == '__main__' and len(sys.argv) > 1 and sys.argv[1] == 'call':
    sys.exit(_client_main(sys.argv[1:]))
