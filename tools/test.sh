#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test tier after bootstrap.sh:
#   1. meson test: unit, sim (simulated kernel), dbus, fuzz-replay and vm (QEMU) suites;
#   2. tools/ci-sanitizers.sh: unit, fuzz-replay and sim suites under ASan+UBSan, and the
#      compiled tests under valgrind memcheck;
#   3. tools/ci-fuzz.sh: every libFuzzer target for FUZZ_SECONDS (default 60) each.
# Ends with one line "N passed, N failed, N skipped" (each meson test counts once, each of
# phases 2 and 3 once) and exits non-zero when anything failed.
# QUICK=1 runs phase 1 only. Extra arguments go to "meson test" (e.g. --suite unit).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$SRC/build}

"$SRC/tools/bootstrap.sh" || exit 1

rm -f "$BUILD/meson-logs/testlog.json"
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?

read -r passed failed skipped < <(python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
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
print(passed, failed, skipped)
PY
)

if [ "${QUICK:-0}" != 1 ] && [ $# -eq 0 ]; then
    for phase in ci-sanitizers ci-fuzz; do
        echo "== $phase"
        if "$SRC/tools/$phase.sh"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            rc=1
        fi
    done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && exit "$rc"
exit 1
