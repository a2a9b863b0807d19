#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The D-Bus API contract: runs memhpd on a private system bus against a fixture sysroot, asks it
# for the introspection XML of /org/memhpd1 and compares that with conf/org.memhpd1.xml. Any
# difference fails the test and is printed. An API change updates that file (run this script
# with --update) and man/org.memhpd1.5.scd in the same commit.
#
# Usage: test-introspect.sh SOURCE_ROOT MEMHPD [--update]
# Exit status: 0 same, 1 different or failed, 77 (skip) when dbus-daemon is not installed.
set -u

if [[ $# -lt 2 ]]; then
        echo "usage: $0 SOURCE_ROOT MEMHPD [--update]" >&2
        exit 1
fi
src=$1
memhpd=$2
update=${3:-}
expected=$src/conf/org.memhpd1.xml
# MEMHP_BUS_NAME, MEMHP_BUS_PATH, ...: the contract as lib/memhp-api.h writes it.
api=$(python3 "$src/tests/memhp_api.py") || exit 1
eval "$api"

if ! command -v dbus-daemon >/dev/null; then
        echo "dbus-daemon is not installed, skipping."
        exit 77
fi
if ! command -v busctl >/dev/null; then
        echo "busctl (systemd) is not installed." >&2
        exit 1
fi

t=$(mktemp -d /tmp/memhpd-introspect.XXXXXX) || exit 1
bus_pid=
daemon_pid=
cleanup() {
        [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        [[ -n $bus_pid ]] && kill "$bus_pid" 2>/dev/null
        rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The smallest sysroot memhpd starts on: one online 128 MiB block on node 0.
m=$t/root/sys/devices/system/memory
mkdir -p "$m/memory0" "$t/root/sys/devices/system/node/node0"
echo 8000000 >"$m/block_size_bytes"
echo online >"$m/memory0/state"
echo Normal >"$m/memory0/valid_zones"
echo 00000000 >"$m/memory0/phys_index"
ln -s ../../node/node0 "$m/memory0/node0"

# The shipped bus policy lets only root own org.memhpd1; let a non-root tester own it too.
policy=$src/conf/org.memhpd1.conf
if [[ $(id -u) != 0 ]]; then
        cat >"$t/policy.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
        "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
        <include>$policy</include>
        <policy user="$(id -un)">
                <allow own="$MEMHP_BUS_NAME"/>
                <allow send_destination="$MEMHP_BUS_NAME"/>
        </policy>
</busconfig>
EOF
        policy=$t/policy.conf
fi
sed -e "s|@LISTEN@|unix:path=$t/bus|" -e "s|@POLICY@|$policy|" \
        "$src/tests/dbus/system-bus.conf.in" >"$t/bus.conf"

dbus-daemon --config-file="$t/bus.conf" --fork --print-address=3 --print-pid=4 \
        3>"$t/address" 4>"$t/bus.pid" 2>"$t/bus.log"
bus_pid=$(cat "$t/bus.pid" 2>/dev/null)
address=$(head -n1 "$t/address")
if [[ -z $bus_pid || -z $address ]]; then
        echo "dbus-daemon did not start:" >&2
        cat "$t/bus.log" >&2
        exit 1
fi
export DBUS_SYSTEM_BUS_ADDRESS=$address

MEMHP_TESTING=1 "$memhpd" --sysroot "$t/root" --config /dev/null >"$t/memhpd.log" 2>&1 &
daemon_pid=$!

# Wait (up to 10 s) until memhpd owns its name and answers.
ok=
for _ in $(seq 100); do
        if busctl --address="$address" introspect --xml-interface "$MEMHP_BUS_NAME" "$MEMHP_BUS_PATH" \
                >"$t/live.xml" 2>"$t/busctl.log"; then
                ok=1
                break
        fi
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
done
if [[ -z $ok ]]; then
        echo "Could not introspect $MEMHP_BUS_NAME $MEMHP_BUS_PATH:" >&2
        cat "$t/busctl.log" >&2
        echo "--- memhpd log:" >&2
        cat "$t/memhpd.log" >&2
        exit 1
fi

if [[ $update == --update ]]; then
        cp "$t/live.xml" "$expected"
        echo "Wrote $expected."
        exit 0
fi
if ! diff -u "$expected" "$t/live.xml"; then
        echo "memhpd's D-Bus API differs from $expected (diff above, '+' is the live daemon)." >&2
        echo "If the change is intended, run $0 $src $memhpd --update" >&2
        echo "and update man/org.memhpd1.5.scd." >&2
        exit 1
fi
echo "The live API of org.memhpd1 matches conf/org.memhpd1.xml."
exit 0
