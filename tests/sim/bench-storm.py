#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark (meson test --benchmark sim-storm-65536): a 65,536-block hot-add storm in the sim.

memhpd runs as in production: connected to a system bus (a private dbus-daemon with Debian's
default-deny policy plus conf/org.memhpd1.conf) with a BlockChanged subscriber on it
(`memhpctl monitor`, started first), its LogLevel= from the config, never --log-level. Each
run is a fresh sim (nodes 0 and 1 with 8 boot blocks each; half the storm on node 0 (policy
online_movable), half on node 1 (online_kernel)), once per event source: EventSource=udev
(libudev, the headline) and EventSource=kernel (under tests/sim/kernel-sender.so, which lets
memhpd take the sim's kernel-group messages for the kernel's).

  native      memhpd natively, default ReceiveBufferSize (128M), LogLevel=info. The storm is
              sent unpaced; then the sim's state is polled until every block is where policy
              puts it and memhpd has used no CPU for a while, or SETTLE seconds have passed.
                BENCH storm_lost_blocks[_kernel]    blocks whose final state differs from
                                                    policy; any makes the benchmark fail
                BENCH storm_peak_rss_kib[_kernel]   memhpd's VmHWM at the end
  callgrind   memhpd under valgrind --tool=callgrind with ReceiveBufferSize=256M, so that no
              uevent is lost even though callgrind slows memhpd some 50x (an overflow would
              make memhpd rescan, which is not the per-event path; the run fails if the kernel
              dropped any uevent for memhpd's socket, /proc/net/netlink). Start-up (coldplug
              of the 16 boot blocks) is excluded: once memhpd is READY and its bus name is
              owned, its counters are zeroed (callgrind_control -z); after the storm settled
              they are dumped (callgrind_control -d), so the total Ir is memhpd's own
              instructions, all threads, over the storm alone: uevents, writes, log lines and
              BlockChanged signals. The sim, the bus and the subscriber are not counted.
                BENCH storm_instructions_per_event[_suffix]   Ir / hot-added blocks (headline)
                BENCH storm_instructions_per_uevent[_suffix]  Ir / uevents memhpd received:
                                                    the add events plus the online
                                                    confirmations of its own writes, as the
                                                    sim counts them sent, checked against
                                                    memhpd's own count (the STATUS= it
                                                    sends at exit, at any LogLevel=)
              Runs: udev at LogLevel=info (the headline) and at LogLevel=notice (_notice), as
              one info line per onlined block is part of the cost; kernel at info (_kernel).
              If vgdb cannot reach memhpd (callgrind_control fails, or MEMHP_BENCH_SUBTRACT=1),
              the fallback subtracts the total of a run that only starts and stops (coldplug
              included) from that of one that starts, takes the storm and stops.
              Callgrind printed the cost per hot-added block of memhpd's callbacks, inclusive,
              to show where it goes.

  iomem       the native and callgrind udev runs again (suffix _iomem) with sources to
              resolve: the sim serves a proc/iomem of MEMHP_BENCH_IOMEM_DEVICES (1024)
              virtio-mem devices that cover the storm, among as many other ranges (some 4,100
              lines), so every block gets its source and device. Same targets.

With --stopped-subscriber (meson test --benchmark sim-storm-65536-stopped) the same storm runs
with the subscriber SIGSTOPped once memhpd is on the bus, before the storm: it reads nothing, so
BlockChanged signals can only pile up, in dbus-daemon (which holds up to max_outgoing_bytes,
127 MiB by default, for a slow reader) and, once it stops reading memhpd, in memhpd, which
bounds them by its backlog of one entry per block (daemon/manager-signals.c). Runs: native and
callgrind at LogLevel=info for both event sources, every BENCH line suffixed _stopped, plus
                BENCH storm_bus_peak_rss_kib_stopped[_kernel]   dbus-daemon's VmHWM: where the
                                                    unread signals went
                BENCH storm_idle_wakeups_stopped[_kernel]       memhpd's context switches over
                                                    IDLE_S seconds after the storm, the
                                                    subscriber still stopped (target 0: no
                                                    flush timer left spinning)
and, after SIGCONT, how many "online" signals the subscriber then read (all N: none lost).

Environment: MEMHP_BENCH_STORM_BLOCKS (65536), MEMHP_BENCH_SETTLE (s, 300),
MEMHP_BENCH_CG_SETTLE (s, 420), MEMHP_BENCH_PACE (blocks per storm command under callgrind,
0 = unpaced, the default), MEMHP_BENCH_PACE_MS (pause between those commands, 0).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import simlib
from simlib import (Sim, at_cleanup, check, log, policy_mismatches, run_tests, uevent_sockets,
                    wait_until)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'dbus'))
import buslib  # noqa: E402  (the private system bus of the D-Bus tier)

N = int(os.environ.get('MEMHP_BENCH_STORM_BLOCKS', '65536'))
SETTLE = float(os.environ.get('MEMHP_BENCH_SETTLE', '300'))
CG_SETTLE = float(os.environ.get('MEMHP_BENCH_CG_SETTLE', '420'))
PACE = int(os.environ.get('MEMHP_BENCH_PACE', '0'))
PACE_MS = int(os.environ.get('MEMHP_BENCH_PACE_MS', '0'))
FIRST = 64
IOMEM_DEVICES = int(os.environ.get('MEMHP_BENCH_IOMEM_DEVICES', '1024'))
EXPECT = {0: 'Movable', 1: 'Normal'}
TARGET_LOST = 0
TARGET_IR = 100000
TARGET_RSS_KIB = 16 * 1024
STOPPED = '--stopped-subscriber' in sys.argv[1:]
IDLE_S = 5.0

POLICY = '''[Policy]
Default=online_movable
[Node 1]
Policy=online_kernel
'''


def config(source, level, rcvbuf=None):
    text = f'[Daemon]\nEventSource={source}\nLogLevel={level}\n'
    if rcvbuf:
        text += f'ReceiveBufferSize={rcvbuf}\n'
    return text + POLICY


def cpu_ticks(pid):
    """utime + stime of the whole process (every thread), in clock ticks."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_state(pid):
    with open(f'/proc/{pid}/stat') as f:
        return f.read().rsplit(')', 1)[1].split()[0]


def _die_with_parent():
    import ctypes
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Subscriber:
    """`memhpctl monitor` on the bus: the BlockChanged subscriber of a production system.
    Started before memhpd, so it also says when memhpd took its name ("memhpd started")."""

    def __init__(self, tmp, bus, name):
        memhpctl = os.environ.get('MEMHPCTL', '')
        if not memhpctl or not os.path.exists(memhpctl):
            raise AssertionError('memhpctl is not built (MEMHPCTL unset)')
        self.out_path = os.path.join(tmp, f'{name}.monitor.txt')
        self.err_path = os.path.join(tmp, f'{name}.monitor-stderr.txt')
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        for k in ('NOTIFY_SOCKET', 'JOURNAL_STREAM', 'LD_PRELOAD'):
            env.pop(k, None)
        self._out = open(self.out_path, 'w')
        self._err = open(self.err_path, 'w')
        self.proc = subprocess.Popen([memhpctl, 'monitor'], stdout=self._out, stderr=self._err,
                                     env=env, preexec_fn=_die_with_parent)
        at_cleanup(self.stop)
        # Its notice comes after the match is in place (ctl-monitor.c).
        wait_until(lambda: 'waiting for it to start' in self.text(self.err_path), timeout=10,
                   what='memhpctl monitor subscribed')

    @staticmethod
    def text(path):
        with open(path, errors='replace') as f:
            return f.read()

    def wait_started(self, timeout):
        wait_until(lambda: 'memhpd started' in self.text(self.out_path), timeout=timeout,
                   what='memhpd on the bus (memhpctl monitor: "memhpd started")')

    def onlined(self):
        return len(re.findall(r'^\S+ \S+ memory\d+: online', self.text(self.out_path), re.M))

    def pause(self):
        """SIGSTOP: the subscriber stays connected and subscribed but reads nothing."""
        self.proc.send_signal(signal.SIGSTOP)
        wait_until(lambda: proc_state(self.proc.pid) == 'T', timeout=10,
                   what='memhpctl monitor stopped')
        self.paused = True

    def resume(self):
        if getattr(self, 'paused', False) and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self):
        self.resume()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        self._err.close()


class BenchDaemon:
    """memhpd with the config's LogLevel= (no --log-level), optionally under callgrind, on a
    private system bus with a BlockChanged subscriber."""

    def __init__(self, tmp, sim, conf, name, callgrind=False, source='udev'):
        if not simlib.MEMHPD or not os.path.exists(simlib.MEMHPD):
            raise AssertionError('memhpd is not built (MEMHPD unset)')
        self.name = name
        self.conf_path = os.path.join(tmp, f'{name}.conf')
        self.log_path = os.path.join(tmp, f'{name}.log')
        self.cg_out = os.path.join(tmp, f'{name}.callgrind.out')
        # Not *.log: run_tests() would print its tail on failure, and that is openat2 noise.
        self.vg_log = os.path.join(tmp, f'{name}.valgrind.txt')
        runtime = os.path.join(tmp, f'{name}-run')
        os.makedirs(runtime, exist_ok=True)
        with open(self.conf_path, 'w') as f:
            f.write(conf)
        self.bus = buslib.Bus(tmp, name=f'{name}-bus')
        self.subscriber = Subscriber(tmp, self.bus, name)
        env = dict(os.environ, MEMHP_TESTING='1', RUNTIME_DIRECTORY=runtime,
                   DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        for k in ('JOURNAL_STREAM', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LD_PRELOAD'):
            env.pop(k, None)
        if source == 'kernel':
            env.update(sim.kernel_sender_env())
        self.status = []
        # READY=1 tells when start-up is done at any LogLevel= ("Startup scan complete" is
        # an info line).
        self.notify_path = os.path.join(tmp, f'{name}.notify')
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.setblocking(False)
        env['NOTIFY_SOCKET'] = self.notify_path
        self.argv = [simlib.MEMHPD, '--sysroot', sim.root, '--config', self.conf_path]
        if callgrind:
            # Valgrind's messages go to a file of their own: 3.19 lacks openat2() and warns at
            # every open (memhpd falls back to openat() on ENOSYS, as on kernels before 5.6).
            self.argv = ['valgrind', '--tool=callgrind', '-q',
                         f'--log-file={self.vg_log}',
                         f'--callgrind-out-file={self.cg_out}',
                         '--dump-instr=no', '--dump-line=no'] + self.argv
        log(f'   [{name}] command: MEMHP_TESTING=1 {" ".join(self.argv)}')
        log('   [{}] config: {}'.format(name, conf.strip().replace('\n', ' | ')))
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        at_cleanup(self.kill)
        self.wait_ready(timeout=180 if callgrind else 30)
        self.subscriber.wait_started(timeout=120 if callgrind else 15)
        if STOPPED:
            self.subscriber.pause()
            log(f'   [{name}] memhpctl monitor (pid {self.subscriber.proc.pid}) SIGSTOPped: '
                'subscribed, reading nothing')
        m = re.search(r'receive buffer (\d+ \w+)', self.log())
        if m:
            log(f'   [{name}] memhpd reports a receive buffer of {m.group(1)}')

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def count(self, pattern):
        return len(re.findall(pattern, self.log(), re.M | re.I))

    def wait_ready(self, timeout):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f'memhpd exited with {self.proc.returncode} before READY=1')
            return any(b'READY=1' in msg.split(b'\n') for msg in self.read_notify())
        wait_until(ready, timeout=timeout, what='READY=1 from memhpd')

    def read_notify(self):
        """The sd_notify() messages that arrived since the last call."""
        out = []
        try:
            while True:
                out.append(self.notify.recv(4096))
        except BlockingIOError:
            pass
        self.status += [line[7:].decode() for msg in out for line in msg.split(b'\n')
                        if line.startswith(b'STATUS=')]
        return out

    def uevents_received(self):
        """memhpd's own count, from the STATUS= it sends at exit (independent of LogLevel=)."""
        self.read_notify()
        for st in reversed(self.status):
            m = re.match(r'Stopped after (\d+) uevents', st)
            if m:
                return int(m.group(1))
        raise AssertionError(f'memhpd sent no "Stopped after N uevents" status: {self.status}')

    def uevent_drops(self):
        """Messages the kernel dropped for memhpd's uevent socket (receive buffer full)."""
        socks = uevent_sockets(self.pid)
        check(len(socks) == 1, f'memhpd has {len(socks)} uevent sockets, want 1')
        return socks[0]['drops']

    def wait_idle(self, quiet=1.0, timeout=60):
        """Until memhpd has used no CPU for `quiet` seconds."""
        last = [-1, time.monotonic()]

        def idle():
            t = cpu_ticks(self.pid)
            if t != last[0]:
                last[0], last[1] = t, time.monotonic()
            return time.monotonic() - last[1] >= quiet
        wait_until(idle, timeout=timeout, interval=0.1, what=f'{self.name} to go idle')

    def valgrind_report(self):
        """Valgrind's own messages, the openat2 warnings counted rather than repeated."""
        if not os.path.exists(self.vg_log):
            return
        openat2, other = 0, []
        with open(self.vg_log, errors='replace') as f:
            for line in f:
                if 'unhandled amd64-linux syscall: 437' in line:
                    openat2 += 1
                elif not re.match(r'^--\d+-- (You may be able|Read the file README_MISSING|'
                                  r'Nevertheless we consider|it at http)|'
                                  r'^==\d+== Using source line as position', line) and line.strip():
                    other.append(line.rstrip())
        if openat2:
            log(f'   [{self.name}] valgrind {self.vg_version()} does not know openat2() '
                f'({openat2} calls): memhpd fell back to openat() on ENOSYS, as on kernels '
                'before 5.6')
        for line in other[:20]:
            log(f'   [{self.name}] valgrind: {line}')

    @staticmethod
    def vg_version():
        r = subprocess.run(['valgrind', '--version'], capture_output=True, text=True)
        return r.stdout.strip()

    def stop(self, timeout=60):
        check(self.proc.poll() is None, f'memhpd died early with {self.proc.returncode}')
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'memhpd did not stop within {timeout}s of SIGTERM')
        check(rc == 0, f'memhpd exit status {rc}')

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        self.notify.close()


def storm(sim, paced=False):
    """Hot-adds N blocks from FIRST, half on node 0, half on node 1."""
    half = N // 2
    parts = [(half, 0, FIRST), (N - half, 1, FIRST + half)]
    step = PACE if paced and PACE > 0 else N
    out = []
    for n, node, start in parts:
        for s in range(start, start + n, step):
            out += sim.ctl('storm', min(step, start + n - s), node, s)
            if paced and PACE_MS:
                time.sleep(PACE_MS / 1000)
    log(f'   sim storm: {N} blocks at {FIRST}-{FIRST + N - 1}, '
        f'{"in commands of " + str(step) if step < N else "unpaced"}'
        + ('' if step < N else ': ' + ' / '.join(out)))


def settle(sim, d, deadline):
    """Polls the sim until every storm block is placed by policy and memhpd is idle, or the
    deadline passes. Returns (seconds, mismatching blocks)."""
    ids = range(FIRST, FIRST + N)
    t0 = time.monotonic()
    bad = policy_mismatches(sim, EXPECT, ids)
    while bad and time.monotonic() - t0 < deadline:
        check(d.proc.poll() is None, f'memhpd exited with {d.proc.returncode}')
        time.sleep(0.5)
        bad = policy_mismatches(sim, EXPECT, ids)
    took = time.monotonic() - t0
    try:
        d.wait_idle(quiet=2.0, timeout=max(30.0, deadline - took))
    except AssertionError as e:
        log(f'   {e}')
    return took, policy_mismatches(sim, EXPECT, ids)


def events_sent(sim):
    m = re.search(r'sent (\d+)', sim.ctl('events')[0])
    return int(m.group(1))


def iomem_files(tmp, name):
    """proc/iomem with IOMEM_DEVICES virtio-mem devices covering the storm, between as many
    other top-level ranges (PCI windows, reserved areas) from 2 GiB up."""
    extra = simlib.Extra(tmp, name=name)
    per = max(1, N // IOMEM_DEVICES)
    for k in range(0, N, per):
        start, end = extra.span(FIRST + k, min(per, N - k))
        extra.devices.append((start, end, f'virtio{k // per}', 'System RAM (virtio_mem)'))
    for i in range(IOMEM_DEVICES):
        base = 0x80000000 + i * 0x80000
        extra.ram.append((base, base + 0x7ffff, f'PCI Bus 0000:{i % 256:02x}'))
    extra.write_iomem()
    return extra


def new_sim(tmp, name, source, iomem=False):
    extra = iomem_files(tmp, name + '-files').args() if iomem else []
    return Sim(tmp, '--nodes', '0-1', '--boot', 'node0:0-7,node1:8-15',
               *(['--kernel-group'] if source == 'kernel' else []), *extra, name=name)


def reproduce_line():
    build = os.path.dirname(os.path.dirname(simlib.MEMHPD))
    name = 'sim-storm-65536-stopped' if STOPPED else 'sim-storm-65536'
    return f'meson test -C {build} --benchmark {name} -v'


def native(tmp, source, suffix, iomem=False):
    """Lost blocks and peak RSS over a native storm with production settings."""
    sim = new_sim(tmp, f'sim-native{suffix}', source, iomem)
    d = BenchDaemon(tmp, sim, config(source, 'info'), f'memhpd-native{suffix}', source=source)
    d.wait_idle(quiet=1.0)
    rss0 = simlib.status_kib(d.pid, 'VmHWM')
    sim.ctl('reset-counters')
    t0 = time.monotonic()
    storm(sim)
    took, bad = settle(sim, d, SETTLE)
    hwm = simlib.status_kib(d.pid, 'VmHWM')
    rss = simlib.status_kib(d.pid, 'VmRSS')
    counts, total = sim.writes()
    drops = d.uevent_drops()
    overflows = d.count(r'receive queue overflowed')
    rescans = d.count(r'Rescanning all memory blocks')
    log(f'   [{source}] storm settled {took:.1f}s after the first add ({time.monotonic() - t0:.1f}s '
        f'incl. idle wait); {total} writes, {sum(1 for c in counts.values() if c != 1)} blocks '
        f'not written exactly once; {drops} uevents dropped by the kernel, {overflows} '
        f'overflow(s), {rescans} rescan(s)')
    log(f'   [{source}] memhpd VmHWM {rss0} KiB after start-up, {hwm} KiB after the storm; VmRSS '
        f'now {rss} KiB')
    if bad:
        log('   still differing from policy: ' + '; '.join(bad[:10]))
    if STOPPED:
        stopped_extras(d, source, suffix)
    d.stop()
    log(f'   [{source}] the subscriber saw {d.subscriber.onlined()} BlockChanged "online" '
        f'signals; memhpd says it received {d.uevents_received()} uevents')
    if iomem:
        devices = d.count(r'^memhpd: virtio\d+ \(virtio-mem, node \d\): ')
        log(f'   [{source}] {devices} virtio-mem devices announced (of '
            f'{-(-N // max(1, N // IOMEM_DEVICES))} in proc/iomem)')
        check(devices == -(-N // max(1, N // IOMEM_DEVICES)),
              f'{devices} devices resolved, not every one of proc/iomem')
    log(f'BENCH storm_lost_blocks{suffix} {len(bad)} blocks')
    log(f'BENCH storm_peak_rss_kib{suffix} {hwm} KiB')
    log(f'   [{source}] lost blocks: {len(bad)} (target {TARGET_LOST}) '
        f'{"met" if len(bad) <= TARGET_LOST else "MISSED"}; peak RSS {hwm} KiB (target '
        f'{TARGET_RSS_KIB} KiB) {"met" if hwm <= TARGET_RSS_KIB else "MISSED"}')
    check(len(bad) <= TARGET_LOST, f'{source}: {len(bad)} blocks missed (not placed by policy '
          f'within {SETTLE:.0f}s)')
    # With nobody reading, memhpd's memory is the point: its bound is a backlog entry per block.
    check(not STOPPED or hwm <= TARGET_RSS_KIB, f'{source}: memhpd peaked at {hwm} KiB with the '
          f'subscriber stopped (bound {TARGET_RSS_KIB} KiB)')


def stopped_extras(d, source, suffix):
    """With the subscriber still stopped: memhpd stays asleep, dbus-daemon holds what it could
    not deliver; after SIGCONT the subscriber reads every block's "online"."""
    n0 = simlib.ctx_switches(d.pid)
    time.sleep(IDLE_S)
    wakeups = simlib.ctx_switches(d.pid) - n0
    bus_hwm = simlib.status_kib(d.bus.proc.pid, 'VmHWM')
    log(f'BENCH storm_idle_wakeups{suffix} {wakeups} wakeups')
    log(f'BENCH storm_bus_peak_rss_kib{suffix} {bus_hwm} KiB')
    log(f'   [{source}] memhpd woke {wakeups} times in {IDLE_S:.0f}s after the storm with the '
        f'subscriber stopped (target 0); dbus-daemon VmHWM {bus_hwm} KiB')
    d.subscriber.resume()
    # Until it has all, or reads nothing more for 10 s (what dbus-daemon dropped never comes).
    last = [-1, time.monotonic()]

    def caught_up():
        n = d.subscriber.onlined()
        if n != last[0]:
            last[0], last[1] = n, time.monotonic()
        return n >= N or time.monotonic() - last[1] >= 10
    try:
        wait_until(caught_up, timeout=600, interval=0.5,
                   what='the resumed subscriber to read every "online"')
    except AssertionError as e:
        log(f'   {e}')
    seen = d.subscriber.onlined()
    log(f'BENCH storm_signals_seen_after_resume{suffix} {seen} signals')
    log(f'   [{source}] after SIGCONT the subscriber read {seen} of {N} "online" BlockChanged '
        'signals')
    check(wakeups == 0, f'{source}: memhpd woke {wakeups} times while idle with a stopped '
          'subscriber')


def sfx(suffix):
    """The BENCH suffix: _stopped after the source's own (storm_lost_blocks_kernel_stopped)."""
    return suffix + ('_stopped' if STOPPED else '')


def bench_native_udev(tmp):
    native(tmp, 'udev', sfx(''))


def bench_native_kernel(tmp):
    native(tmp, 'kernel', sfx('_kernel'))


def bench_native_udev_iomem(tmp):
    native(tmp, 'udev', '_iomem', iomem=True)


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(('totals:', 'summary:')):
                return int(line.split()[1])
    raise AssertionError(f'no totals in {path}')


# Where the storm's instructions go, inclusive, per hot-added block: memhpd's callbacks and
# the library calls that dominate them.
BREAKDOWN = [
    ('on_io', 'uevent socket: read and parse every uevent'),
    ('udev_monitor_receive_device', '  of which libudev receive + device object'),
    ('udev_device_unref', '  of which libudev device free'),
    ('kernel_receive', '  of which the kernel reader (EventSource=kernel)'),
    ('on_process', 'pass over queued blocks: read state/node, submit the write'),
    ('manager_block_resolve', '  of which source and device resolution'),
    ('writer_thread', 'writer thread: the sysfs write'),
    ('on_done', 'write completions'),
    ('log_block', '  of which the per-block log line'),
    ('emit_block_changed', '  of which the BlockChanged signal'),
]


def callgrind_breakdown(path, blocks):
    r = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--threshold=100', '--auto=no',
                        path], capture_output=True, text=True, timeout=300)
    if r.returncode:
        return
    incl = {}
    for line in r.stdout.splitlines():
        m = re.match(r'\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*:(\w+) \[', line)
        if m and m.group(2) not in incl:
            incl[m.group(2)] = int(m.group(1).replace(',', ''))
    for fn, what in BREAKDOWN:
        if fn in incl:
            log(f'     {incl[fn] / blocks:9.0f} Ir/block  {fn}: {what}')


def callgrind_control(*args):
    r = subprocess.run(['callgrind_control', *[str(a) for a in args]], capture_output=True,
                       text=True, timeout=120)
    return r.returncode == 0 and 'OK' in r.stdout, (r.stdout + r.stderr).strip()


def one_callgrind_run(tmp, source, level, name, with_storm, control=True, iomem=False):
    """Returns (Ir, adds, uevents, how): Ir over the storm (control=True) or of the whole
    run (control=False)."""
    sim = new_sim(tmp, f'sim-{name}', source, iomem)
    d = BenchDaemon(tmp, sim, config(source, level, '256M'), name, callgrind=True, source=source)
    d.wait_idle(quiet=2.0, timeout=120)
    if control:
        ok, out = callgrind_control('-z', d.pid)
        if os.environ.get('MEMHP_BENCH_SUBTRACT'):
            ok, out = False, 'MEMHP_BENCH_SUBTRACT is set'
        if not ok:
            d.stop(timeout=120)
            sim.stop()
            return None, 0, 0, out
    ev0 = events_sent(sim)
    adds = uevents = 0
    if with_storm:
        t0 = time.monotonic()
        storm(sim, paced=True)
        took, bad = settle(sim, d, CG_SETTLE)
        uevents = events_sent(sim) - ev0
        adds = N
        drops = d.uevent_drops()
        log(f'   [{name}] storm settled {took:.1f}s after the first add '
            f'({time.monotonic() - t0:.1f}s with the idle wait); {uevents} uevents sent, '
            f'{drops} dropped by the kernel for memhpd, {len(bad)} block(s) differing from '
            'policy')
        check(drops == 0, f'{name}: the kernel dropped {drops} uevents for memhpd (receive '
              'queue overflow), so the count is not the per-event path: raise '
              'ReceiveBufferSize= or MEMHP_BENCH_PACE')
        check(not bad, f'{name}: {len(bad)} blocks not placed within {CG_SETTLE}s')
    if control:
        for f in os.listdir(tmp):
            if f.startswith(os.path.basename(d.cg_out) + '.'):
                os.unlink(os.path.join(tmp, f))
        ok, out = callgrind_control('-d', d.pid)
        check(ok, f'callgrind_control -d failed: {out}')
        dumps = [f for f in os.listdir(tmp) if f.startswith(os.path.basename(d.cg_out) + '.')]
        check(len(dumps) == 1, f'expected one callgrind dump, found {dumps}')
        ir = callgrind_total(os.path.join(tmp, dumps[0]))
        log(f'   [{name}] inclusive cost per hot-added block (callgrind_annotate):')
        callgrind_breakdown(os.path.join(tmp, dumps[0]), N)
        d.stop(timeout=120)
    else:
        d.stop(timeout=120)
        ir = callgrind_total(d.cg_out)
    d.valgrind_report()
    # memhpd's own count (its STATUS= at exit, at any LogLevel=), beside the sim's.
    if with_storm:
        got = d.uevents_received()
        log(f'   [{name}] memhpd says it received {got} uevents; the sim sent {uevents}; the '
            f'subscriber saw {d.subscriber.onlined()} BlockChanged "online" signals')
        check(got == uevents, f'{name}: memhpd received {got} uevents, the sim sent {uevents}')
    sim.stop()
    return ir, adds, uevents, 'callgrind_control -z after start-up, -d after the storm'


def bench_callgrind(tmp, source, level, suffix, iomem=False):
    if not shutil.which('valgrind') or not shutil.which('callgrind_control'):
        raise AssertionError('valgrind (callgrind, callgrind_control) is not installed')
    name = f'memhpd-cg-{source}-{level}{suffix}'
    ir, adds, uevents, how = one_callgrind_run(tmp, source, level, name, True, iomem=iomem)
    if ir is None:
        log(f'   callgrind_control cannot reach memhpd ({how}); subtracting an idle run')
        ir_storm, adds, uevents, _ = one_callgrind_run(tmp, source, level, name + '-storm', True,
                                                       control=False, iomem=iomem)
        ir_idle, _, _, _ = one_callgrind_run(tmp, source, level, name + '-idle', False,
                                             control=False, iomem=iomem)
        ir = ir_storm - ir_idle
        how = (f'start+storm+stop {ir_storm} Ir minus start+stop {ir_idle} Ir')
    per_add = ir / adds
    per_uevent = ir / uevents
    log(f'   [{name}] {ir} Ir over the storm ({how}); {adds} hot-added blocks, {uevents} '
        f'uevents received')
    log(f'BENCH storm_instructions_per_event{suffix} {per_add:.0f} instructions')
    log(f'BENCH storm_instructions_per_uevent{suffix} {per_uevent:.0f} instructions')
    log(f'   EventSource={source} LogLevel={level}: {per_add:.0f} Ir per hot-added block '
        f'(target {TARGET_IR}) {"met" if per_add <= TARGET_IR else "MISSED"}')


def bench_callgrind_udev_info(tmp):
    bench_callgrind(tmp, 'udev', 'info', sfx(''))


def bench_callgrind_udev_notice(tmp):
    bench_callgrind(tmp, 'udev', 'notice', '_notice')


def bench_callgrind_kernel_info(tmp):
    bench_callgrind(tmp, 'kernel', 'info', sfx('_kernel'))


def bench_callgrind_udev_iomem(tmp):
    bench_callgrind(tmp, 'udev', 'info', '_iomem', iomem=True)


if __name__ == '__main__':
    if os.environ.get('MEMHP_SIM_NS') == '1':
        log(f'reproduce: {reproduce_line()}  ({N} blocks)')
    tests = [bench_native_udev, bench_native_kernel, bench_native_udev_iomem,
             bench_callgrind_udev_info, bench_callgrind_udev_notice, bench_callgrind_kernel_info,
             bench_callgrind_udev_iomem]
    if STOPPED:
        tests = [bench_native_udev, bench_native_kernel, bench_callgrind_udev_info,
                 bench_callgrind_kernel_info]
    # MEMHP_BENCH_ONLY=name,name: a subset (e.g. bench_native_udev_iomem), for a quick look.
    only = [t for t in os.environ.get('MEMHP_BENCH_ONLY', '').split(',') if t]
    run_tests([t for t in tests if not only or t.__name__ in only])
