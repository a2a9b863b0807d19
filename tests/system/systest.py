#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhpd's system tier: the package of this tree, installed into Debian 12, booted by systemd.

  systest.py test  --source SRC [--deb DEB] [--upgrade-deb DEB] [--only boot,hotadd]
  systest.py shell --source SRC [--deb DEB]                        boot and drive the guest
  systest.py root                                                  build (or show) the root

Common options: --workdir DIR (logs, package, image; default ./system-work), --cache DIR (the
guest root; default $MEMHPD_SYSTEM_CACHE, /var/cache/memhpd-system, or WORKDIR/cache).
Without --deb the package is built from SRC with tools/build-deb.sh; without --upgrade-deb the
upgrade scenario's package is that one repacked at a higher version. Scenarios are the files
tests/system/scenarios/NN_name.py, run in NN order on one boot (see the README there).
"""

import argparse
import importlib.util
import json
import os
import resource
import sys
import time

sys.dont_write_bytecode = True      # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vm"))

import vmlib  # noqa: E402
import syslib  # noqa: E402
import sysroot  # noqa: E402
from vmlib import MiB, VMError, log  # noqa: E402

# Present at boot, added offline by the kernel before memhpd starts: coldplug's work. One on a
# node with CPUs, one on the CPU-less node 2.
COLD_DIMMS = [("cold1", 1, 256 * MiB), ("cold2", 2, 256 * MiB)]


def scenarios():
    """[(name, module)] of scenarios/NN_name.py, in NN order."""
    d = os.path.join(HERE, "scenarios")
    found = []
    for f in sorted(os.listdir(d)):
        if not (f.endswith(".py") and f[:2].isdigit() and f[2] == "_"):
            continue
        spec = importlib.util.spec_from_file_location("scenario_" + f[3:-3], os.path.join(d, f))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        found.append((f[3:-3], mod))
    return found


def cpu_of(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def children_cpu():
    """CPU seconds of every finished child process and its descendants (package builds,
    QEMU once stopped)."""
    return cpu_of(resource.RUSAGE_CHILDREN)


def prepare(args, work):
    """(root cache, image, the installed deb, the upgrade deb) for this run."""
    t0 = time.monotonic()
    root = sysroot.RootCache(args.cache or sysroot.default_cache_dir(
        os.path.join(work, "cache"))).prepare()
    timings = [("root", time.monotonic() - t0)]
    t0 = time.monotonic()
    deb = os.path.abspath(args.deb) if args.deb else \
        syslib.build_package(args.source, os.path.join(work, "pkg"))
    # The upgrade scenario's package: the same one at a higher version.
    upgrade = os.path.abspath(args.upgrade_deb) if args.upgrade_deb else \
        syslib.repack_version(deb, os.path.join(work, "pkg-upgrade"),
                              syslib.deb_field(deb, "Version") + "+systest1")
    timings.append(("package", time.monotonic() - t0))
    print("BENCH system_package_cpu_s %.1f s" % children_cpu(), flush=True)
    t0 = time.monotonic()
    image = syslib.make_image(root, work, [deb, upgrade], install=deb)
    timings.append(("image", time.monotonic() - t0))
    return root, image, deb, upgrade, timings


def save_logs(tier, vm, work):
    """The guest's journal and memhpd's part of it, for a look after the run."""
    try:
        with open(os.path.join(work, "journal.txt"), "w") as f:
            f.write(vm.sh("journalctl -b -o short-monotonic --no-pager", timeout=60)[0])
    except VMError as e:
        log("could not fetch the guest's journal: %s" % e)
        return
    if tier.failed:
        out, _ = vm.sh("journalctl -b -u memhpd -o short-monotonic --no-pager | tail -n 60")
        print("# memhpd's journal (tail; the whole boot in %s):"
              % os.path.join(work, "journal.txt"))
        for line in out.splitlines():
            print("#   " + line)


def cmd_test(args, work):
    t_total = time.monotonic()
    root, image, deb, upgrade, timings = prepare(args, work)
    only = set(args.only.split(",")) if args.only else None
    all_scenarios = scenarios()
    unknown = (only or set()) - {n for n, _ in all_scenarios}
    if unknown:
        print("unknown scenario(s) %s; there are: %s" % (
            ", ".join(sorted(unknown)), ", ".join(n for n, _ in all_scenarios)))
        return 1
    with syslib.SystemVM(root, image, work, cold_dimms=COLD_DIMMS) as vm:
        log("guest booted to its command channel in %.1f s" % vm.boot_seconds)
        timings.append(("vm-boot", vm.boot_seconds))
        tier = syslib.Tier(vm, deb, upgrade, work)
        for name, mod in all_scenarios:
            if only and name not in only:
                continue
            tier.scenario = name
            print("# %s: %s" % (name, " ".join((mod.__doc__ or "").split())), flush=True)
            t0 = time.monotonic()
            if not tier.run_scenario(vm, lambda: mod.run(tier)):
                break
            timings.append((name, time.monotonic() - t0))
        save_logs(tier, vm, work)
    timings.append(("total", time.monotonic() - t_total))
    print("# timings: " + " ".join("%s=%.1fs" % t for t in timings))
    # What the run cost in CPU time (QEMU, the package builds, this script): unlike the wall
    # clock, it does not grow with what else the machine runs. Under 480 s fits 4 min on 2 cores.
    print("BENCH system_tier_cpu_s %.1f s" % (children_cpu() + cpu_of(resource.RUSAGE_SELF)))
    print("BENCH system_tier_wall_s %.1f s" % timings[-1][1])
    return tier.exit_status


def cmd_shell(args, work):
    root, image, _, _, _ = prepare(args, work)
    with syslib.SystemVM(root, image, work, cold_dimms=COLD_DIMMS) as vm:
        return vmlib.shell(vm, timeout=300)

def cmd_root(args, work):
    root = sysroot.RootCache(args.cache or sysroot.default_cache_dir(
        os.path.join(work, "cache"))).prepare()
    with open(os.path.join(root.dir, "build.json")) as f:
        print(json.dumps(json.load(f), indent=1))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["test", "shell", "root"])
    p.add_argument("--source", default=os.path.dirname(os.path.dirname(HERE)),
                   help="the tree whose package is built (default: this one)")
    p.add_argument("--deb", help="install this memhpd .deb instead of building one")
    p.add_argument("--upgrade-deb", help="upgrade to this .deb instead of building one")
    p.add_argument("--workdir", default="system-work")
    p.add_argument("--cache")
    p.add_argument("--only", help="test: comma-separated scenario names")
    args = p.parse_args()
    vmlib.install_signal_handlers()
    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    args.source = os.path.abspath(args.source)
    try:
        return {"test": cmd_test, "shell": cmd_shell, "root": cmd_root}[args.command](args, work)
    except VMError as e:
        print("systest: %s" % e, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
