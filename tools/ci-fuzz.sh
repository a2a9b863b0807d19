#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets (fuzz/fuzz-*.c) with clang, -fsanitize=fuzzer,address,undefined
# and coverage instrumentation of the whole tree, in a build directory of its own, then runs each
# target for FUZZ_SECONDS, starting from its committed seed corpus (fuzz/corpus/<target>/).
#
# Prints "BENCH fuzz_<target>_execs_per_s <n> execs/s" per target and a summary. Exits non-zero
# when a target does not build or finds anything (crash, leak, timeout, out-of-memory); the
# reproducer is kept in $FUZZ_BUILD/fuzz-findings/<target>/ and the command that replays it is
# printed. A reproducer is committed to fuzz/corpus/<target>/ only once the bug is fixed: the
# 'fuzz-replay' tests run every file there.
#
# Usage: tools/ci-fuzz.sh [TARGET...]     (default: every target)
# Environment:
#   FUZZ_SECONDS  run time per target (default 60)
#   FUZZ_JOBS     targets run at the same time (default: the number of CPUs)
#   FUZZ_BUILD    build directory (default build-fuzz/)
#   CC            clang (default clang; clang-14 on Debian 12)
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD:-$SRC/build-fuzz}
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc)}
export CC=${CC:-clang}
START=$(date +%s)

ALL_TARGETS=()
for f in "$SRC"/fuzz/fuzz-*.c; do
    t=${f##*/fuzz-}
    ALL_TARGETS+=("${t%.c}")
done
if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi

if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ]; then
    echo "ci-fuzz: FUZZ_SECONDS must be a positive integer, not '$SECS'" >&2
    exit 2
fi
for t in "${TARGETS[@]}"; do
    if [ ! -f "$SRC/fuzz/fuzz-$t.c" ]; then
        echo "ci-fuzz: no target '$t' (have: ${ALL_TARGETS[*]})" >&2
        exit 2
    fi
done

# libFuzzer and the sanitizer runtimes are in libclang-rt-14-dev on Debian 12.
if ! command -v "$CC" >/dev/null; then
    echo "ci-fuzz: $CC not found (apt-get install clang)" >&2
    exit 1
fi
if command -v dpkg-query >/dev/null &&
    ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'install ok installed'; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "ci-fuzz: installing libclang-rt-14-dev"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            libclang-rt-14-dev >/dev/null || exit 1
    else
        echo "ci-fuzz: libclang-rt-14-dev is not installed (libFuzzer runtime); need root" >&2
        exit 1
    fi
fi

# --- build ---------------------------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
    setup_log=$(mktemp)
    # fuzzer-no-link: coverage instrumentation of lib/ too, so libFuzzer sees into the parsers.
    # -fno-sanitize-recover: UBSan findings abort, so libFuzzer keeps them as crashes.
    if ! meson setup "$BUILD" "$SRC" \
        -Dfuzz=true -Dtests=false -Dvm_tests=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
        >"$setup_log" 2>&1; then
        cat "$setup_log" >&2
        rm -f "$setup_log"
        rm -rf "$BUILD"
        echo "ci-fuzz: meson setup failed" >&2
        exit 1
    fi
    rm -f "$setup_log"
fi
ninja_targets=()
for t in "${TARGETS[@]}"; do
    ninja_targets+=("fuzz/fuzz-$t")
done
if ! ninja -C "$BUILD" "${ninja_targets[@]}" >"$BUILD/fuzz-build.log" 2>&1; then
    tail -n 40 "$BUILD/fuzz-build.log" >&2
    echo "ci-fuzz: build failed (log: $BUILD/fuzz-build.log)" >&2
    exit 1
fi
BUILT=$(date +%s)

# --- run -----------------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {
    local t=$1 dir="$BUILD/fuzz-run/$1" dict=()
    # New inputs go to the first directory, a work corpus kept between runs in the build
    # directory; the committed seeds are only read.
    rm -rf "$dir/artifacts"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    [ -f "$SRC/fuzz/dict/$t.dict" ] && dict=(-dict="$SRC/fuzz/dict/$t.dict")
    "$BUILD/fuzz/fuzz-$t" \
        -max_total_time="$SECS" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" "${dict[@]}" \
        "$dir/corpus" "$SRC/fuzz/corpus/$t" >"$dir/log" 2>&1
    echo $? >"$dir/rc"
}

echo "ci-fuzz: ${#TARGETS[@]} targets, ${SECS}s each, $JOBS at a time (built in $((BUILT - START))s)"
running=0
for t in "${TARGETS[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
wait

# --- report --------------------------------------------------------------------------------------
failed=()
summary=()
for t in "${TARGETS[@]}"; do
    dir="$BUILD/fuzz-run/$t"
    rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
    log="$dir/log"
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    corpus=$(find "$dir/corpus" -type f | wc -l)
    findings=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | sort)
    echo "BENCH fuzz_${t//-/_}_execs_per_s ${eps:-0} execs/s"
    status=ok
    if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
        status=FAILED
        failed+=("$t")
        keep="$BUILD/fuzz-findings/$t"
        mkdir -p "$keep"
        echo "ci-fuzz: $t FAILED (exit $rc); log: $log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)' "$log" | head -n 5
        for f in $findings; do
            cp "$f" "$keep/"
            echo "ci-fuzz:   reproducer $keep/${f##*/}"
            echo "ci-fuzz:   replay with: $BUILD/fuzz/fuzz-$t $keep/${f##*/}"
        done
        [ -z "$findings" ] && tail -n 20 "$log"
    fi
    summary+=("$(printf '%-10s %-7s %12s runs %8s execs/s  cov %5s  corpus %5s' \
        "$t" "$status" "${runs:-0}" "${eps:-0}" "${cov:-?}" "$corpus")")
done

echo "ci-fuzz: summary (${SECS}s per target, ASan+UBSan+libFuzzer)"
printf '  %s\n' "${summary[@]}"
echo "ci-fuzz: ${#TARGETS[@]} targets, ${#failed[@]} failed, $(($(date +%s) - START))s in total"
[ ${#failed[@]} -eq 0 ]
