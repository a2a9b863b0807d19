#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test tier after bootstrap.sh:
#   1. meson test: unit, sim (simulated kernel), dbus, fuzz-replay and vm (QEMU) suites;
#   2. tools/ci-sanitizers.sh: unit, fuzz-replay and sim suites under ASan+UBSan, and the
#      compiled tests under valgrind memcheck;
#   3. tools/ci-fuzz.sh: every libFuzzer target for FUZZ_SECONDS (default 60) each.
# Ends with one line "N passed, N failed, N skipped" (each meson test counts once, each of
# phases 2 and 3 once) and exits non-zero when anything failed.
#
# A tier cannot pass by not running: a skipped test in any suite, or a suite of REQUIRED_SUITES
# that registered no test (a build configured with -Dvm_tests=false or -Dsystem_tests=false, a
# tier that vanished), counts as one more failure per suite, unless MEMHPD_ALLOW_SKIP names the
# suite (MEMHPD_ALLOW_SKIP=vm, or "vm,sim"); then the closing line starts with
# "MEMHPD_ALLOW_SKIP=<the suites it excused>:".
# QUICK=1 runs phase 1 only. Extra arguments go to "meson test" (e.g. --suite unit); then only
# the suites named with --suite must have registered tests.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$SRC/build}
REQUIRED_SUITES="unit sim dbus vm system fuzz-replay"

"$SRC/tools/bootstrap.sh" || exit 1

rm -f "$BUILD/meson-logs/testlog.json"
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?

# Which suites must exist: all of REQUIRED_SUITES, or those named by --suite.
named=()
prev=
for a in "$@"; do
    case $a in
    --suite=*) named+=("${a#--suite=}") ;;
    *) [ "$prev" = --suite ] && named+=("$a") ;;
    esac
    prev=$a
done
if [ $# -eq 0 ]; then
    must_exist=$REQUIRED_SUITES
else
    must_exist=${named[*]:-}
fi

summary=$(meson introspect --tests "$BUILD" | python3 -c '
import json, re, sys
log_path, must_exist, allow = sys.argv[1], sys.argv[2].split(), sys.argv[3]
allow = {s for s in re.split(r"[\s,]+", allow) if s}
registered = {}
for t in json.load(sys.stdin):
    for s in t["suite"]:
        s = s.split(":")[-1]
        registered[s] = registered.get(s, 0) + 1
passed = failed = skipped = 0
skips = {}
try:
    with open(log_path) as f:
        for line in f:
            r = json.loads(line)
            # "project:suite1+suite2 / name"
            suites = r["name"].split(" / ", 1)[0].split(":", 1)[-1].split("+")
            if r["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r["result"] == "SKIP":
                skipped += 1
                for s in suites:
                    skips.setdefault(s, []).append(r["name"].split(" / ", 1)[-1])
            else:
                failed += 1
except FileNotFoundError:
    print("test: FAIL: meson wrote no test log")
    failed += 1
excused = []
for s in sorted(set(must_exist) | set(skips)):
    if registered.get(s, 0) == 0:
        why = "registered no tests (configured with -Dtests, -Dvm_tests or -Dsystem_tests false?)"
    elif s in skips:
        why = "skipped " + ", ".join(skips[s])
    else:
        continue
    if s in allow:
        print(f"test: suite {s} {why}: allowed by MEMHPD_ALLOW_SKIP")
        excused.append(s)
    else:
        print(f"test: FAIL: suite {s} {why} (MEMHPD_ALLOW_SKIP={s} would allow it)")
        failed += 1
print(passed, failed, skipped, ",".join(excused))
' "$BUILD/meson-logs/testlog.json" "$must_exist" "${MEMHPD_ALLOW_SKIP:-}")
# The last line holds the counts; the lines before it say which suites skipped.
notes=$(sed '$d' <<<"$summary")
read -r passed failed skipped excused <<<"$(tail -n 1 <<<"$summary")"
if ! [[ ${passed:-} =~ ^[0-9]+$ ]]; then
    notes="test: FAIL: could not count the test results"
    passed=0 failed=1 skipped=0 excused=
fi

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

[ -n "$notes" ] && echo "$notes"
echo "${excused:+MEMHPD_ALLOW_SKIP=$excused: }$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && exit "$rc"
exit 1
