#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test tier (unit, sim, vm, ...) after bootstrap.sh, and ends with one line
# "N passed, N failed, N skipped". Exit status is non-zero when any test failed.
# Extra arguments go to "meson test" (e.g. --suite unit).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$SRC/build}

"$SRC/tools/bootstrap.sh" || exit 1

rm -f "$BUILD/meson-logs/testlog.json"
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?

python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
except FileNotFoundError:
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
