# SPDX-License-Identifier: LGPL-2.1-or-later
"""Harness for the sim tier: namespaces, memhp-sim, udev listeners, memhpd, cleanup.

Every test script calls run_tests(), which re-executes the script inside private network
and mount namespaces (unshare -n -m). There the sim's FUSE mount and its netlink
multicasts are invisible to the host, and a tmpfs over /run provides /run/udev/control,
without which libudev refuses to subscribe to the "udev" group on hosts whose /dev is not
devtmpfs. Mounts are undone (fusermount3 -u) even when a test fails; the namespace going
away is the second line of defence.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77
SIM = os.environ.get('MEMHP_SIM', '')
UDEV_LISTEN = os.environ.get('MEMHP_UDEV_LISTEN', '')
MEMHPD = os.environ.get('MEMHPD', '')
KERNEL_SENDER = os.environ.get('MEMHP_KERNEL_SENDER', '')
MEM = 'sys/devices/system/memory'
NODE = 'sys/devices/system/node'
PAGES_PER_BLOCK = 0x8000000 // 4096



def memhpd_preload(shim):
    """LD_PRELOAD for a test shim in memhpd: a memhpd built with ASan needs the ASan runtime
    first in the list, or it refuses to start."""
    libs = subprocess.run(['ldd', MEMHPD], capture_output=True, text=True).stdout
    m = re.search(r'libasan\.so\S* => (\S+)', libs)
    return f'{m.group(1)} {shim}' if m else shim

class SimError(Exception):
    """The sim answered ERR: .errno is the errno name (e.g. 'EBUSY')."""

    def __init__(self, errno_name, message):
        super().__init__(f'{errno_name} {message}')
        self.errno = errno_name


def log(msg):
    print(msg, flush=True)


def skip(why):
    log(f'SKIP: {why}')
    sys.exit(SKIP)


def _pdeathsig():
    # If the outer process dies, so do we (and through --die-with-parent, our sims).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _enter_namespace():
    if os.environ.get('MEMHP_SIM_NS') == '1':
        _pdeathsig()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        if not os.path.exists('/run/udev/control'):
            subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'memhp-sim-run', '/run'],
                           check=True)
            os.makedirs('/run/udev')
            open('/run/udev/control', 'w').close()
        return
    if os.geteuid() != 0:
        skip('needs root (FUSE mounts, netlink multicast, namespaces)')
    if not SIM or not os.path.exists(SIM):
        log('MEMHP_SIM does not point at memhp-sim')
        sys.exit(1)
    if not os.path.exists('/dev/fuse'):
        skip('/dev/fuse is missing')
    for tool in ('unshare', 'fusermount3', 'mount'):
        if not shutil.which(tool):
            skip(f'{tool} is not installed')
    if subprocess.run(['unshare', '-n', '-m', 'true'], stderr=subprocess.DEVNULL).returncode:
        skip('unshare -n -m does not work here')
    env = dict(os.environ, MEMHP_SIM_NS='1')
    child = subprocess.Popen(['unshare', '-n', '-m', '--propagation', 'private',
                              sys.executable] + sys.argv, env=env)

    def forward(sig, _frame):
        child.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    rc = child.wait()
    sys.exit(rc if rc >= 0 else 1)


_cleanups = []
_problems = []  # found while cleaning up (a crashed sim, sanitizer reports): fail the test


def problem(msg):
    _problems.append(msg)


def at_cleanup(fn):
    _cleanups.append(fn)
    return fn


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # cleanup must go on
            traceback.print_exc()


def wait_until(pred, timeout=5.0, interval=0.02, what='condition', detail=None):
    """Polls pred until true; on timeout fails with what, plus detail() if given."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            extra = f': {detail()}' if detail else ''
            raise AssertionError(f'timed out after {timeout}s waiting for {what}{extra}')
        time.sleep(interval)


def wait_policy(sim, expect, ids, timeout=10, what='blocks placed per policy'):
    """Waits until no block among ids differs from expect (see policy_mismatches)."""
    wait_until(lambda: not policy_mismatches(sim, expect, ids), timeout=timeout, what=what,
               detail=lambda: '; '.join(policy_mismatches(sim, expect, ids)[:10]))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def check_eq(a, b, what=''):
    if a != b:
        raise AssertionError(f'{what}: {a!r} != {b!r}' if what else f'{a!r} != {b!r}')


def is_mounted(path):
    path = os.path.realpath(path)
    with open('/proc/self/mounts') as f:
        return any(line.split()[1] == path for line in f)


class Sim:
    """One memhp-sim instance mounted at <tmp>/root."""

    def __init__(self, tmp, *args, name='sim'):
        self.tmp = tmp
        self.root = os.path.join(tmp, f'{name}-root')
        self.ctl_path = os.path.join(tmp, f'{name}.sock')
        self.log_path = os.path.join(tmp, f'{name}.log')
        os.mkdir(self.root)
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen([SIM, 'serve', self.root, '--ctl', self.ctl_path,
                                      '--die-with-parent', *args],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        at_cleanup(self.stop)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f'memhp-sim exited with {self.proc.returncode}: '
                                     f'{self.log()}')
            try:
                self.ctl('ping')
                if is_mounted(self.root):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError('memhp-sim did not come up')
            time.sleep(0.02)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def ctl(self, *words, check=True):
        """Sends one command; returns the output lines (without the status line)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.ctl_path)
            s.sendall((' '.join(str(w) for w in words) + '\n').encode())
            chunks = []
            while True:
                b = s.recv(1 << 16)
                if not b:
                    break
                chunks.append(b)
        lines = b''.join(chunks).decode().rstrip('\n').split('\n')
        status = lines.pop()
        if status != 'OK':
            m = re.match(r'ERR (\S+) ?(.*)', status)
            if check:
                raise SimError(m.group(1) if m else '?', m.group(2) if m else status)
            return status
        return lines

    def events(self):
        """The uevent counters: {'seqnum', 'sent', 'failed', 'port'}."""
        words = self.ctl('events')[0].split()
        return {k: int(v) for k, v in zip(words[::2], words[1::2])}

    def kernel_sender_env(self):
        """Environment under which memhpd takes this sim's kernel-group uevents for the
        kernel's (tests/sim/kernel-sender.c); for EventSource=kernel."""
        if not KERNEL_SENDER or not os.path.exists(KERNEL_SENDER):
            raise AssertionError('MEMHP_KERNEL_SENDER does not point at kernel-sender.so')
        return {'LD_PRELOAD': memhpd_preload(KERNEL_SENDER),
                'MEMHP_SIM_KERNEL_PORT': str(self.events()['port'])}

    def blocks(self):
        """{id: (state, zone, node)} from the sim's own truth."""
        out = {}
        for line in self.ctl('state'):
            if line:
                i, state, zone, node = line.split()
                out[int(i)] = (state, zone, int(node))
        return out

    def writes(self):
        counts = {}
        total = 0
        for line in self.ctl('writes'):
            k, v = line.split()
            if k == 'total':
                total = int(v)
            else:
                counts[int(k)] = int(v)
        return counts, total

    def wlog(self, n=65536):
        return [tuple(line.split()) for line in self.ctl('wlog', n) if line]

    def zones(self):
        """{(node, zone): present_pages}"""
        out = {}
        for line in self.ctl('zones'):
            n, z, present, _spanned = line.split()
            out[(int(n), z)] = int(present)
        return out

    def path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        with open(self.path(rel)) as f:
            return f.read()

    def write(self, rel, value, timeout_ms=None, hold_ms=None):
        """Writes like memhpd (one write(2)); returns 'ok' or the errno name."""
        cmd = [SIM, 'write']
        if timeout_ms:
            cmd += ['--timeout', str(timeout_ms)]
        if hold_ms:
            cmd += ['--hold', str(hold_ms)]
        r = subprocess.run(cmd + [self.path(rel), value], capture_output=True, text=True,
                           timeout=60)
        return r.stdout.strip()

    def write_async(self, rel, value, timeout_ms=None, hold_ms=None):
        """Starts write() in the background; .result() waits for 'ok'/errno name.

        With hold_ms it returns only once the writer has its fd open, however slow the
        machine (ASan, load), so a test can act between the open and the write."""
        cmd = [SIM, 'write']
        if timeout_ms:
            cmd += ['--timeout', str(timeout_ms)]
        if hold_ms:
            cmd += ['--hold', str(hold_ms)]
        proc = subprocess.Popen(cmd + [self.path(rel), value], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if hold_ms:
            line = proc.stderr.readline()
            if line.strip() != 'opened' and proc.poll() is None:
                proc.kill()
                raise AssertionError(f'write {value} to {rel}: no "opened" but {line!r}')

        class Pending:
            @staticmethod
            def done():
                return proc.poll() is not None

            @staticmethod
            def result(timeout=30):
                try:
                    out, _ = proc.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    raise AssertionError(f'write {value} to {rel} still blocked')
                return out.strip()
        return Pending()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.ctl('quit', check=False)
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if is_mounted(self.root):
            problem(f'{self.root} still mounted after memhp-sim exited')
            subprocess.run(['fusermount3', '-u', '-z', self.root], check=False)
        self._log.close()
        if self.proc.returncode != 0:
            problem(f'memhp-sim exited with {self.proc.returncode}')
        if 'Sanitizer' in self.log() or 'runtime error:' in self.log():
            problem(f'sanitizer report in {self.log_path}')


class Extra:
    """The --extra directory of a sim: the files the model does not compute, by which memhpd
    tells a block's source (proc/iomem, the ACPI and dax buses, balloon drivers, the
    hypervisor). The sim serves them read-only under its root; memoryN/firmware_node links
    appear `--late-firmware-node` ms after the block's node links, as ACPI creates them once
    the whole device is added. Files are replaced atomically, so a read never sees half."""

    def __init__(self, tmp, name='extra', block_size=0x8000000):
        self.dir = os.path.join(tmp, f'{name}-files')
        self.block_size = block_size
        self.ram = [(0x100000, 0x7fffffff, 'System RAM')]  # boot memory below 2 GiB
        self.devices = []  # (start, end, parent, child)
        os.makedirs(self.dir)
        self.write_iomem()

    def args(self):
        return ['--extra', self.dir]

    def write(self, rel, text):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.rename(path + '.tmp', path)

    def link(self, rel, target):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def span(self, first, count):
        return first * self.block_size, (first + count) * self.block_size - 1

    def write_iomem(self):
        lines = ['00000000-00000fff : Reserved']
        for start, end, name in self.ram:
            lines.append(f'{start:08x}-{end:08x} : {name}')
        for start, end, parent, child in sorted(self.devices):
            lines.append(f'{start:08x}-{end:08x} : {parent}')
            lines.append(f'  {start:08x}-{end:08x} : {child}')
        self.write('proc/iomem', '\n'.join(lines) + '\n')

    def virtio_mem(self, name, first, count):
        """virtioN's plugged memory: blocks first..first+count-1 (one merged range)."""
        self.devices.append((*self.span(first, count), name, 'System RAM (virtio_mem)'))
        self.write_iomem()

    def dimm(self, name, first, count):
        """An ACPI memory device (PNP0C80:XX) and the firmware_node links of its blocks."""
        dev = f'LNXSYSTM:00/LNXSYBUS:00/PNP0A06:00/{name}'
        os.makedirs(os.path.join(self.dir, 'sys/devices', dev), exist_ok=True)
        self.link(f'sys/bus/acpi/devices/{name}', f'../../../devices/{dev}')
        for i in range(first, first + count):
            self.link(f'sys/devices/system/memory/memory{i}/firmware_node',
                      f'../../../{dev}')

    def dax(self, name, first, count, backing='hmem'):
        """daxX.Y in kmem mode: its dax bus link, mapping0 and its iomem entry."""
        parent = {'hmem': 'platform/hmem.0',
                  'nvdimm': 'LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0',
                  'cxl': 'platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0'}[backing]
        start, end = self.span(first, count)
        self.write(f'sys/devices/{parent}/{name}/mapping0/start', f'{start:#x}\n')
        self.write(f'sys/devices/{parent}/{name}/mapping0/end', f'{end:#x}\n')
        self.link(f'sys/bus/dax/devices/{name}', f'../../../devices/{parent}/{name}')
        self.devices.append((start, end, name, 'System RAM (kmem)'))
        self.write_iomem()

    def hyperv(self):
        """A Hyper-V guest whose hv_balloon driver is bound to its VMBus device."""
        dev = 'sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/1eccfd72-4b41-45ef-b73a'
        os.makedirs(os.path.join(self.dir, dev), exist_ok=True)
        self.link('sys/bus/vmbus/drivers/hv_balloon/1eccfd72-4b41-45ef-b73a',
                  '../../../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/'
                  '1eccfd72-4b41-45ef-b73a')

    def xen(self):
        self.write('sys/hypervisor/type', 'xen\n')
        os.makedirs(os.path.join(self.dir, 'sys/devices/system/xen_memory/xen_memory0'),
                    exist_ok=True)

    def s390(self):
        os.makedirs(os.path.join(self.dir, 'sys/bus/ccw/devices'), exist_ok=True)


class Listener:
    """udev-listen: a real libudev monitor ("udev" source, subsystem filter)."""

    def __init__(self, *args, count=None, idle_ms=3000):
        cmd = [UDEV_LISTEN, '--idle-ms', str(idle_ms), *args]
        if count is not None:
            cmd += ['--count', str(count)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        at_cleanup(self.kill)
        line = self.proc.stdout.readline()
        if line.strip() != 'READY':
            raise AssertionError(f'udev-listen did not start: {line!r}')

    def finish(self, timeout=60):
        """Waits for the listener to end; returns (events, enobufs, total)."""
        out, _ = self.proc.communicate(timeout=timeout)
        events, enobufs, total = [], 0, None
        for line in out.splitlines():
            if line == 'ENOBUFS':
                enobufs += 1
            elif line.startswith('TOTAL '):
                total = int(line.split()[1])
            elif line:
                action, devpath, seqnum, subsystem = line.split()
                events.append((action, devpath, int(seqnum), subsystem))
        return events, enobufs, total

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _die_with_parent():
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# What memhpd may see of the caller's environment: the way to programs and the settings of the
# sanitizer and malloc checks that CI runs it under. Nothing else gets through, so a test run from
# a systemd unit, a desktop session or a shell with leftovers starts memhpd exactly as CI does:
# no inherited NOTIFY_SOCKET, JOURNAL_STREAM, WATCHDOG_*, LISTEN_*, INVOCATION_ID,
# RUNTIME_DIRECTORY, DBUS_*_BUS_ADDRESS, SYSTEMD_*, LD_PRELOAD or test hooks.
MEMHPD_ENV_KEEP = ('PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'ASAN_OPTIONS',
                   'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'MALLOC_PERTURB_', 'GLIBC_TUNABLES')


def memhpd_env(runtime, bus_address, extra=None):
    """memhpd's whole environment: MEMHP_TESTING=1 (sysfs_open() refuses the host's sysfs), its
    runtime directory (intent records), the system bus address, then `extra` (set by the test:
    NOTIFY_SOCKET, crash points...)."""
    env = {k: os.environ[k] for k in MEMHPD_ENV_KEEP if k in os.environ}
    env.update(MEMHP_TESTING='1', RUNTIME_DIRECTORY=runtime, DBUS_SYSTEM_BUS_ADDRESS=bus_address)
    env.update(extra or {})
    return env


class Daemon:
    """memhpd as a black box, the one way the Python tiers start it: --sysroot at a sim, a
    config file and a runtime directory in the test's temporary directory, the environment of
    memhpd_env(), its stdout and stderr appended to <tmp>/<name>.log, killed at cleanup and
    when the test process dies.

    bus_address: the system bus (default: a socket that does not exist; memhpd onlines without
    a bus). log_level: --log-level, None for the config's LogLevel=. env: set on top of
    memhpd_env() (extra_env() may add more once the log file is open). ready: log lines to wait
    for before returning (wait=False: do not wait)."""

    ready = (r'Startup scan complete',)

    def __init__(self, tmp, sim, config, *args, name='memhpd', bus_address=None, env=None,
                 runtime=None, log_level='debug', wait=True):
        if not MEMHPD or not os.path.exists(MEMHPD):
            skip('memhpd is not built (MEMHPD unset)')
        self.tmp = tmp
        self.name = name
        self.conf_path = os.path.join(tmp, f'{name}.conf')
        self.log_path = os.path.join(tmp, f'{name}.log')
        self.runtime = runtime or os.path.join(tmp, f'{name}-run')
        # Safety: intent records of a test must never land where the real daemon looks.
        real = os.path.realpath(self.runtime)
        check(real.startswith(os.path.realpath(tmp) + '/'),
              f'runtime directory {real} outside the test directory')
        os.makedirs(self.runtime, exist_ok=True)
        self.prepare_runtime()
        with open(self.conf_path, 'w') as f:
            f.write(config)
        self._log = open(self.log_path, 'a')
        e = memhpd_env(self.runtime, bus_address or 'unix:path=' + os.path.join(tmp, 'no-bus'),
                       env)
        e.update(self.extra_env())
        self.env = e
        argv = [MEMHPD, '--sysroot', sim.root, '--config', self.conf_path]
        if log_level:
            argv += ['--log-level', log_level]
        self.proc = subprocess.Popen(argv + list(args), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, env=e,
                                     preexec_fn=_die_with_parent)
        at_cleanup(self.kill)
        if wait:
            self.wait_ready()

    def prepare_runtime(self):
        """Called once the runtime directory exists, before memhpd starts."""

    def extra_env(self):
        """Variables set last, once the log file (self._log) is open."""
        return {}

    def wait_ready(self, timeout=15):
        for pattern in self.ready:
            self.wait_log(pattern, timeout=timeout)

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def count(self, pattern, flags=0):
        return len(re.findall(pattern, self.log(), flags | re.M))

    def wait_log(self, pattern, timeout=10, count=1, flags=0):
        def seen():
            if self.count(pattern, flags) >= count:
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f'memhpd exited with {self.proc.returncode} while waiting '
                                     f'for /{pattern}/')
            return False
        wait_until(seen, timeout=timeout, what=f'memhpd log /{pattern}/ x{count}')

    def alive(self):
        return self.proc.poll() is None

    def wait_quiet(self, quiet=1.0, timeout=30):
        """Waits until memhpd has logged nothing for `quiet` seconds."""
        last = (-1, time.monotonic())

        def settled():
            nonlocal last
            size = os.path.getsize(self.log_path)
            if size != last[0]:
                last = (size, time.monotonic())
            return time.monotonic() - last[1] >= quiet
        wait_until(settled, timeout=timeout, interval=0.1, what='memhpd to go quiet')

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout=15):
        """SIGTERM; asserts a clean exit (no crash, no hang on the way out)."""
        check(self.alive(), f'memhpd died early with {self.proc.returncode}')
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'memhpd did not stop within {timeout}s of SIGTERM') from None
        check_eq(rc, 0, 'memhpd exit status')
        for bad in ('AddressSanitizer', 'runtime error:', 'LeakSanitizer'):
            check(bad not in self.log(), f'{bad} in the memhpd log')

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        if not self._log.closed:
            self._log.close()


def policy_mismatches(sim, expect, ids):
    """Blocks among ids whose (state, zone) differs from expect[node] ('Movable', 'Normal' or
    None for "stays offline"). Returns ["memoryN node N: state zone, want X", ...]."""
    bad = []
    blocks = sim.blocks()
    for i in ids:
        if i not in blocks:
            bad.append(f'memory{i}: missing')
            continue
        state, zone, node = blocks[i]
        want = expect[node]
        have = zone if state == 'online' else None
        if have != want or state == 'going-offline':
            bad.append(f'memory{i} node {node}: {state} {zone}, want {want or "offline"}')
    return bad


def uevent_sockets(pid):
    """The kernel's view of pid's uevent sockets (NETLINK_KOBJECT_UEVENT), from this network
    namespace's /proc/net/netlink: [{'groups', 'rmem', 'drops'}, ...]. 'drops' counts the
    messages the kernel could not queue (receive buffer full): uevents lost, whatever pid logs."""
    inodes = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            m = re.match(r'socket:\[(\d+)\]', os.readlink(f'/proc/{pid}/fd/{fd}'))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    out = []
    with open('/proc/net/netlink') as f:
        next(f)
        for line in f:
            w = line.split()
            if w[1] == '15' and w[9] in inodes:
                out.append({'groups': int(w[3], 16), 'rmem': int(w[4]), 'drops': int(w[8])})
    return out


def status_kib(pid, key):
    """A KiB field of /proc/PID/status (VmRSS, VmHWM, ...), 0 when it has none."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return status_kib(pid, 'VmRSS')


def run_tests(tests):
    """Runs each test(tmpdir) in order; a failure is reported and the rest still run."""
    _enter_namespace()
    only = os.environ.get('MEMHP_SIM_ONLY')
    failed = []
    for fn in tests:
        if only and fn.__name__ not in only.split(','):
            continue
        tmp = tempfile.mkdtemp(prefix=f'memhp-{fn.__name__}-')
        log(f'== {fn.__name__}')
        t0 = time.monotonic()
        try:
            fn(tmp)
            log(f'   ok ({time.monotonic() - t0:.2f}s)')
        except Exception:
            traceback.print_exc()
            failed.append(fn.__name__)
            for name in sorted(os.listdir(tmp)):
                if name.endswith('.log'):
                    with open(os.path.join(tmp, name), errors='replace') as f:
                        text = f.read()
                    log(f'--- {name} (last 60 lines)')
                    log(''.join(text.splitlines(True)[-60:]))
        finally:
            _run_cleanups()
            if _problems and fn.__name__ not in failed:
                log('   ' + '\n   '.join(_problems))
                failed.append(fn.__name__)
            _problems.clear()
            if os.environ.get('MEMHP_SIM_KEEP'):
                log(f'   kept {tmp}')
            elif not any(is_mounted(os.path.join(tmp, d)) for d in os.listdir(tmp)):
                shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        log(f'FAILED: {" ".join(failed)}')
        sys.exit(1)
    log('all passed')
    sys.exit(0)


def ctx_switches(pid):
    """Voluntary + involuntary context switches of every thread of @pid: each is a wake-up."""
    n = 0
    for tid in os.listdir(f'/proc/{pid}/task'):
        with open(f'/proc/{pid}/task/{tid}/status') as f:
            for line in f:
                if line.startswith(('voluntary_ctxt_switches:', 'nonvoluntary_ctxt_switches:')):
                    n += int(line.split()[1])
    return n
