#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
The failing twin of test-docs.py: proves that each of its check families can fail, and fails
with its own diagnostic, not with a traceback or a diagnostic of another family.

Each case runs test-docs.py with --pretend-missing=WORD (WORD deleted from every man page) and
expects exit status 1, a "FAIL: ..." line matching the case's pattern, and no traceback.

Usage: test-docs-fails.py SOURCE_ROOT MEMHPD FAMILY     (FAMILY: one of CASES below)
"""
import os
import re
import subprocess
import sys

# family: [(word deleted from the pages, pattern the diagnostic must match)]
CASES = {
    "config-keys": [
        ("*MovableRatio=*", r"memhpd\.conf\.5\.scd: key MovableRatio= .*has no entry"),
        ("[Offline]", r"memhpd\.conf\.5\.scd: section \[Offline\] is not described"),
        ("*auto-movable*", r"memhpd\.conf\.5\.scd: policy auto-movable is not described"),
    ],
    "dbus-members": [
        ("*OnlineBlocks*", r"org\.memhpd1\.5\.scd: method OnlineBlocks has no entry"),
        ("_au_ blocks, _s_ zone", r"org\.memhpd1\.5\.scd: method OnlineBlocks documented as "),
        ("*BlockChanged*", r"org\.memhpd1\.5\.scd: signal BlockChanged has no entry"),
        ("*OfflineDevice*", r"org\.memhpd1\.5\.scd: method OfflineDevice has no entry"),
        ("_a(uss)_ results, _b_ removable",
         r"org\.memhpd1\.5\.scd: method OfflineDevice documented as "),
        ("*DeviceChanged*", r"org\.memhpd1\.5\.scd: signal DeviceChanged has no entry"),
        ("*xen-balloon*", r"org\.memhpd1\.5\.scd: source xen-balloon is not documented"),
        ("*soft-reserved*",
         r"org\.memhpd1\.5\.scd: dax backing soft-reserved is not documented"),
        ("*added*", r"org\.memhpd1\.5\.scd: device change added is not documented"),
        ("*Version* _s_", r"org\.memhpd1\.5\.scd: property Version has no entry"),
        ("*org.memhpd1.Error.RollbackIncomplete*",
         r"org\.memhpd1\.5\.scd: error org\.memhpd1\.Error\.RollbackIncomplete is not documented"),
    ],
    "options": [
        ("*--sysroot*", r"memhpd\.8\.scd: option --sysroot is not documented"),
        ("*--dry-run*", r"memhpctl\.8\.scd: option --dry-run is not documented"),
        ("*-z*", r"memhpctl\.8\.scd: short option -z is not documented"),
    ],
    "exit-codes": [
        ("*64*", r"memhpctl\.8\.scd: exit status 64 is not listed under EXIT STATUS"),
        ("*3*", r"memhpctl\.8\.scd: exit status 3 is not listed under EXIT STATUS"),
    ],
    "defaults": [
        ("Default: *301*", r"memhpd\.conf\.5\.scd: entry MovableRatio= does not say "
                           r"'Default: \*301\*'"),
        ("Default: *auto*", r"memhpd\.conf\.5\.scd: entry EventSource= does not say "
                            r"'Default: \*auto\*'"),
    ],
}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__ + "\nfamilies: " + " ".join(CASES), file=sys.stderr)
        return 2
    src, memhpd, family = sys.argv[1:]
    checker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-docs.py")
    bad = 0
    for word, pattern in CASES[family]:
        r = subprocess.run([sys.executable, checker, src, memhpd, "--pretend-missing=" + word],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        fails = [ln for ln in out.splitlines() if ln.startswith("FAIL: ")]
        hit = [ln for ln in fails if re.search(pattern, ln)]
        if r.returncode == 1 and hit and "Traceback" not in out:
            print(f"ok: without {word!r}: {hit[0]}")
            continue
        bad += 1
        print(f"FAIL: without {word!r} test-docs.py exited {r.returncode}, wanted 1 with a line "
              f"matching /{pattern}/; its output:\n{out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
