#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Memory-safety runs of the test suites, each in a build directory of its own:
#
#   asan      gcc -fsanitize=address,undefined (build-asan/): suites 'unit' and 'fuzz-replay',
#             and 'sim' when it is registered (SANITIZE_SIM=no skips it) except the tests in
#             ASAN_SKIP, with halt_on_error and leak detection: any report fails its test.
#   valgrind  plain build (build-vg/): every compiled test of 'unit' and 'fuzz-replay' under
#             valgrind --leak-check=full; an error or a definite leak fails the test. Script
#             tests (python, sh) are not wrapped: valgrind would measure the interpreter.
#
# Both must end with 0 failed tests, 0 sanitizer reports, 0 valgrind errors, 0 definite leaks.
# Prints a summary and "TIME ci_sanitizers_<phase> <s> s" per phase; exit status non-zero on any
# failure. Usage: tools/ci-sanitizers.sh [asan] [valgrind]   (default: both)
# Environment: ASAN_BUILD, VG_BUILD (build directories), SANITIZE_SIM=auto|no,
# ASAN_SKIP (test names left out of the ASan run, default "daemon-storm"; "" runs all),
# MESON_TEST_JOBS (default: the number of CPUs).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ASAN_BUILD=${ASAN_BUILD:-$SRC/build-asan}
VG_BUILD=${VG_BUILD:-$SRC/build-vg}
SIM=${SANITIZE_SIM:-auto}
# Tests with wall-clock budgets that ASan's 2-3x slowdown breaks (names without the suite).
# daemon-storm: "20000 blocks took 10.6 s after SIGCONT: more than 2.0 s over the sim floor".
ASAN_SKIP=${ASAN_SKIP-daemon-storm}
JOBS=${MESON_TEST_JOBS:-$(nproc)}
PHASES=("$@")
[ ${#PHASES[@]} -eq 0 ] && PHASES=(asan valgrind)

for p in "${PHASES[@]}"; do
    case $p in
    asan | valgrind) ;;
    *)
        echo "usage: $0 [asan] [valgrind]" >&2
        exit 2
        ;;
    esac
done
if [[ " ${PHASES[*]} " == *" valgrind "* ]] && ! command -v valgrind >/dev/null; then
    echo "ci-sanitizers: valgrind is not installed (apt-get install valgrind)" >&2
    exit 1
fi

# Configures $1 (once) with the remaining arguments and builds it.
setup_and_build() {
    local dir=$1 log
    shift
    log=$(mktemp)
    if [ ! -f "$dir/build.ninja" ]; then
        if ! meson setup "$dir" "$SRC" -Dvm_tests=false "$@" >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            rm -rf "$dir"
            return 1
        fi
    fi
    if ! meson compile -C "$dir" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# Test names of suites $2... in build dir $1; with ELF_ONLY=1, only compiled executables.
list_tests() {
    local dir=$1
    shift
    meson introspect --tests "$dir" | ELF_ONLY=${ELF_ONLY:-0} python3 -c '
import json, os, sys
want = set(sys.argv[1:])
for t in json.load(sys.stdin):
    # Suites are "project:suite" in the introspection data.
    if not want & {s.split(":")[-1] for s in t["suite"]}:
        continue
    if os.environ["ELF_ONLY"] == "1":
        try:
            with open(t["cmd"][0], "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
        except OSError:
            continue
    print(t["name"])
' "$@"
}

# Summarizes test log $1 (meson-logs/testlog*.json) for phase $2; non-zero on any problem.
summarize() {
    python3 - "$1" "$2" <<'PY'
import json, re, sys
path, phase = sys.argv[1], sys.argv[2]
ok = failed = skipped = 0
reports = errors = definite = watched = 0
bad = []
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    print(f"ci-sanitizers: {phase}: no test log ({path})")
    sys.exit(1)
for line in lines:
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    r = t["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
        bad.append(f'{t["name"]} ({r})')
    n = len(re.findall(r"ERROR: (?:AddressSanitizer|LeakSanitizer)|runtime error:", out))
    reports += n
    e = sum(int(x) for x in re.findall(r"ERROR SUMMARY: ([0-9,]+) errors", out.replace(",", "")))
    d = sum(int(x) for x in re.findall(r"definitely lost: ([0-9]+) bytes", out.replace(",", "")))
    errors += e
    definite += d
    if "ERROR SUMMARY:" in out:
        watched += 1
    elif phase == "valgrind":
        bad.append(f'{t["name"]} (no valgrind summary in its output)')
    if (n or e or d) and r in ("OK", "EXPECTEDFAIL"):
        bad.append(f'{t["name"]} (passed, but with reports in its output)')
what = (f"sanitizer reports {reports}" if phase == "asan"
        else f"valgrind errors {errors}, definitely lost {definite} bytes "
             f"(valgrind summaries from {watched} tests)")
print(f"ci-sanitizers: {phase}: {ok + failed + skipped} tests, {ok} passed, {failed} failed, "
      f"{skipped} skipped; {what}")
for b in bad:
    print(f"ci-sanitizers: {phase}:   FAILED {b}")
sys.exit(1 if bad or reports or errors or definite else 0)
PY
}

rc=0
results=()

run_asan() {
    local suites=(unit fuzz-replay) names=() skipped=() t0 n
    t0=$(date +%s)
    echo "ci-sanitizers: asan: building $ASAN_BUILD (gcc, -fsanitize=address,undefined)"
    setup_and_build "$ASAN_BUILD" -Db_sanitize=address,undefined || {
        echo "ci-sanitizers: asan: build failed" >&2
        return 1
    }
    if [ "$SIM" != no ] && [ -n "$(list_tests "$ASAN_BUILD" sim)" ]; then
        suites+=(sim)
    fi
    while read -r n; do
        if [[ " $ASAN_SKIP " == *" ${n##* / } "* ]]; then
            skipped+=("${n##* / }")
        else
            names+=("$n")
        fi
    done < <(list_tests "$ASAN_BUILD" "${suites[@]}")
    echo "ci-sanitizers: asan: ${#names[@]} tests of suites ${suites[*]}${skipped[*]:+ (skipped: ${skipped[*]})}"
    rm -f "$ASAN_BUILD"/meson-logs/testlog*.json
    # Never remove halt_on_error from UBSAN_OPTIONS: without it UBSan only prints and goes on.
    # No strict_string_checks: it makes every strchr() scan to the end of the string, and the
    # line-by-line parsers quadratic (test-intent's 65,536-block record: 0.4 s -> 120 s).
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1 \
        meson test -C "$ASAN_BUILD" --no-rebuild --print-errorlogs --num-processes "$JOBS" \
        --timeout-multiplier 3 "${names[@]}" >"$ASAN_BUILD/ci-sanitizers.log" 2>&1
    summarize "$ASAN_BUILD/meson-logs/testlog.json" asan
    local r=$?
    [ $r -ne 0 ] && echo "ci-sanitizers: asan: details in $ASAN_BUILD/meson-logs/testlog.txt"
    echo "TIME ci_sanitizers_asan $(($(date +%s) - t0)) s"
    return $r
}

run_valgrind() {
    local t0 names skipped
    t0=$(date +%s)
    echo "ci-sanitizers: valgrind: building $VG_BUILD (plain)"
    setup_and_build "$VG_BUILD" || {
        echo "ci-sanitizers: valgrind: build failed" >&2
        return 1
    }
    mapfile -t names < <(ELF_ONLY=1 list_tests "$VG_BUILD" unit fuzz-replay)
    skipped=$(comm -23 <(list_tests "$VG_BUILD" unit fuzz-replay | sort) <(printf '%s\n' "${names[@]}" | sort) | tr '\n' ' ')
    echo "ci-sanitizers: valgrind: ${#names[@]} compiled tests of suites unit fuzz-replay${skipped:+ (not wrapped, scripts: $skipped)}"
    if [ ${#names[@]} -eq 0 ]; then
        echo "ci-sanitizers: valgrind: no tests found" >&2
        return 1
    fi
    rm -f "$VG_BUILD"/meson-logs/testlog*.json
    meson test -C "$VG_BUILD" --no-rebuild --print-errorlogs --num-processes "$JOBS" \
        --timeout-multiplier 10 \
        --wrap='valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 --show-leak-kinds=definite' \
        "${names[@]}" >"$VG_BUILD/ci-sanitizers.log" 2>&1
    # With --wrap, meson names the log after the wrapper.
    summarize "$VG_BUILD/meson-logs/testlog-valgrind.json" valgrind
    local r=$?
    [ $r -ne 0 ] && echo "ci-sanitizers: valgrind: details in $VG_BUILD/meson-logs/testlog-valgrind.txt"
    echo "TIME ci_sanitizers_valgrind $(($(date +%s) - t0)) s"
    return $r
}

START=$(date +%s)
for p in "${PHASES[@]}"; do
    if "run_$p"; then
        results+=("$p: ok")
    else
        results+=("$p: FAILED")
        rc=1
    fi
done
echo "ci-sanitizers: $(IFS=,; echo "${results[*]}" | sed 's/,/, /g'); $(($(date +%s) - START))s in total"
exit $rc
