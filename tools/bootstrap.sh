#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what building and testing memhpd needs on Debian 12 (apt-get, only what is missing),
# then configures and builds into $BUILD (default: build/). Used by tools/demo.sh, tools/test.sh
# and .ci/run, so a fresh machine needs nothing else.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}

PACKAGES=(
    # build
    meson ninja-build pkg-config gcc libc6-dev
    libudev-dev libsystemd-dev libnuma-dev libinih-dev libsmartcols-dev scdoc
    # tests: VM tier (the guest kernel and busybox-static are downloaded, not installed)
    qemu-system-x86 xz-utils python3 ca-certificates
    # tests: system tier (the guest root; the .deb is built with what debian/ needs)
    mmdebstrap e2fsprogs
    # tests: simulator tier, D-Bus, unit checks
    libfuse3-dev fuse3 dbus-daemon dbus-bin systemd util-linux procps passwd valgrind strace
    # the Debian package (tools/build-deb.sh) and its lint
    debhelper dpkg-dev lintian bash-completion
    # fuzzing: clang with libFuzzer and the sanitizer runtimes
    clang libclang-rt-14-dev
    # the code style check (tests/test-format.sh)
    clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: need root to apt-get install the packages above" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$SRC" -Dwerror=true >/dev/null
else
    # A build dir configured without a test tier (-Dvm_tests=false, -Dsystem_tests=false,
    # -Dtests=false, or -Dfuzz=true, which replaces the fuzz-replay tests by libFuzzer binaries)
    # would let that tier pass by not running: turn the tiers back on.
    off=$(meson introspect --buildoptions "$BUILD" | python3 -c '
import json, sys
want = {"tests": True, "vm_tests": True, "system_tests": True, "fuzz": False}
off = [o["name"] for o in json.load(sys.stdin) if want.get(o["name"], o["value"]) != o["value"]]
print(" ".join("-D%s=%s" % (n, str(want[n]).lower()) for n in off))')
    if [ -n "$off" ]; then
        echo "bootstrap: $BUILD had test tiers off, reconfiguring with $off"
        meson configure "$BUILD" $off >/dev/null
    fi
fi
meson compile -C "$BUILD" >/dev/null
echo "bootstrap: built $BUILD/daemon/memhpd"
