#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# memhpctl against a real memhpd (suite 'dbus'): a private dbus-daemon that allows everything, a
# fixture sysroot of plain files, MEMHP_TESTING=1 so memhpd refuses the host's real sysfs.
# Checks status, list (table and JSON), policy, --dry-run, a successful offline, monitor, the
# error paths memhpd reports before it writes (unknown block, access denied, not running), and
# every bad-usage exit code. Plain files cannot refuse a write, so failures and rollbacks (exit
# codes 2 and 3, Ctrl-C) are left to the simulator tier.
#
# Usage: test-memhpctl.sh MEMHPD MEMHPCTL
set -uo pipefail

MEMHPD=${1:?usage: test-memhpctl.sh MEMHPD MEMHPCTL}
MEMHPCTL=${2:?usage: test-memhpctl.sh MEMHPD MEMHPCTL}
SRC=$(cd "$(dirname "$0")/.." && pwd)
export MEMHP_TESTING=1
# memhpd lets only root (or group memhp) change anything: other users get the read-only checks.
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
unset RUNTIME_DIRECTORY NOTIFY_SOCKET JOURNAL_STREAM

if ! command -v dbus-daemon >/dev/null; then
        echo "SKIP: dbus-daemon is not installed"
        exit 77
fi

tmp=$(mktemp -d /tmp/test-memhpctl.XXXXXX)
bus_pid=
daemon_pid=
cleanup() {
        [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null && wait "$bus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

# The fixture: 128M blocks. Node 0: memory0-7 online (Normal), memory8-11 offline.
# Node 1: memory32-39 online (Movable), memory40-47 offline.
root=$tmp/root
mem=$root/sys/devices/system/memory
nodes=$root/sys/devices/system/node
mkdir -p "$mem" "$nodes" "$root/proc"
echo 8000000 >"$mem/block_size_bytes"
echo offline >"$mem/auto_online_blocks"
echo 0-1 >"$nodes/possible"
echo 0-1 >"$nodes/online"
echo 0 >"$nodes/has_cpu"
tiers=$root/sys/devices/virtual/memory_tiering
mkdir -p "$tiers/memory_tier4" "$tiers/memory_tier22"
echo 0 >"$tiers/memory_tier4/nodelist"
echo 1 >"$tiers/memory_tier22/nodelist"

add_blocks() { # FIRST LAST NODE STATE VALID_ZONES
        local id d
        mkdir -p "$nodes/node$3"
        for ((id = $1; id <= $2; id++)); do
                d=$mem/memory$id
                mkdir "$d"
                echo "$4" >"$d/state"
                echo "$5" >"$d/valid_zones"
                printf '%08x\n' "$id" >"$d/phys_index"
                echo 1 >"$d/removable"
                ln -s "../../node/node$3" "$d/node$3"
                ln -s "../../memory/memory$id" "$nodes/node$3/memory$id"
        done
}
add_blocks 0 7 0 online Normal
add_blocks 8 11 0 offline "Normal Movable"
add_blocks 32 39 1 online Movable
add_blocks 40 47 1 offline "Movable Normal"
# Sources (lib/memsource.h): 0-7 boot memory; 8-9 virtio-mem device virtio0, found through
# /proc/iomem; 10-11 unexplained (unknown); 32-39 and 40-47 two ACPI memory devices (DIMMs),
# found through firmware_node.
acpi=$root/sys/devices/LNXSYSTM:00/LNXSYBUS:00
add_dimm() { # FIRST LAST DEVICE
        local id
        mkdir -p "$acpi/$3" "$root/sys/bus/acpi/devices"
        # The kernel registers the device on the ACPI bus before it adds its memory.
        ln -s "../../../devices/LNXSYSTM:00/LNXSYBUS:00/$3" "$root/sys/bus/acpi/devices/$3"
        for ((id = $1; id <= $2; id++)); do
                ln -s "../../../LNXSYSTM:00/LNXSYBUS:00/$3" "$mem/memory$id/firmware_node"
        done
}
add_dimm 32 39 PNP0C80:00
add_dimm 40 47 PNP0C80:01
cat >"$root/proc/iomem" <<'EOF'
00000000-3fffffff : System RAM
40000000-4fffffff : virtio0
  40000000-4fffffff : System RAM (virtio_mem)
100000000-17fffffff : System RAM
EOF
cat >"$root/proc/zoneinfo" <<'EOF'
Node 0, zone   Normal
  pages free     1000
        present  262144
Node 1, zone  Movable
  pages free     1000
        present  262144
EOF

# Nothing onlines behind the test's back: no coldplug, node 0 ignores new blocks.
cat >"$tmp/memhpd.conf" <<'EOF'
[Daemon]
EventSource=kernel
Coldplug=no
[Policy]
Default=ignore
[Node 1]
Policy=auto-movable
[Node 0 Source virtio-mem]
Policy=online_movable
EOF

cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
        "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
        <type>system</type>
        <listen>unix:path=$tmp/bus</listen>
        <auth>EXTERNAL</auth>
        <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_type="method_call"/>
                <allow send_type="signal"/>
                <allow send_requested_reply="true"/>
                <allow receive_type="method_call"/>
                <allow receive_type="method_return"/>
                <allow receive_type="error"/>
                <allow receive_type="signal"/>
        </policy>
</busconfig>
EOF
# Lets the unprivileged caller below reach the socket.
chmod 755 "$tmp"

dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile --nosyslog 2>"$tmp/dbus.log" &
bus_pid=$!
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus
# The socket file exists before dbus-daemon accepts connections: wait for a real answer.
bus_up=false
for _ in $(seq 100); do
        if busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" list >/dev/null 2>&1; then
                bus_up=true
                break
        fi
        sleep 0.1
done
$bus_up || { echo "FAIL: the private dbus-daemon did not start"; exit 1; }

# Runs memhpctl; sets $out, $err and $rc.
ctl() {
        out=$("$MEMHPCTL" "$@" 2>"$tmp/stderr")
        rc=$?
        err=$(cat "$tmp/stderr")
}
expect_rc() { # WANT ARGS...
        local want=$1
        shift
        ctl "$@"
        [ "$rc" -eq "$want" ] || fail "memhpctl $*: exit $rc, expected $want (stderr: $err)"
}
expect_out() { # SUBSTRING: in $out
        grep -qF -- "$1" <<<"$out" || fail "output of the last command lacks '$1':"$'\n'"$out"
}
expect_err() { # SUBSTRING: in $err
        grep -qF -- "$1" <<<"$err" || fail "stderr of the last command lacks '$1': $err"
}
# Table output with runs of blanks squeezed, so that column widths do not matter.
squeezed() { tr -s ' ' <<<"$out" | sed 's/^ //; s/ $//'; }

start_daemon() {
        "$MEMHPD" --sysroot "$root" --config "$tmp/memhpd.conf" --log-level debug \
                >>"$tmp/memhpd.log" 2>&1 &
        daemon_pid=$!
        for _ in $(seq 100); do
                "$MEMHPCTL" status >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        echo "FAIL: memhpd did not appear on the bus; its log:"
        cat "$tmp/memhpd.log"
        exit 1
}

# --- before memhpd runs --------------------------------------------------------------------
expect_rc 1 status
[ "$err" = "memhpctl: memhpd is not running (no org.memhpd1 on the system bus)." ] ||
        fail "not-running message: '$err'"
expect_rc 1 list
expect_err "memhpd is not running"
# Bad usage is reported as such even without memhpd.
expect_rc 64 online 32,x
expect_err "'x'"

start_daemon
tree_before=$(cd "$root" && find . -type f -exec md5sum {} + | sort)

# --- version and help ----------------------------------------------------------------------
expect_rc 0 --version
[[ "$out" =~ ^memhpctl\ [0-9] ]] || fail "--version: '$out'"
expect_rc 0 --help
for code in " 0  success" " 1  failure" " 2  online/offline failed and memhpd rolled" \
        " 3  online/offline failed and left" "64  bad usage"; do
        expect_out "$code"
done

# --- status --------------------------------------------------------------------------------
expect_rc 0 status
expect_out "Event source: kernel"
expect_out "Block size:   128M"
[[ "$out" =~ Version:\ +[0-9] ]] || fail "status lacks the version: $out"
s=$(squeezed)
grep -qx "NODE POLICY KERNEL MOVABLE ONLINE OFFLINE GOING-OFFLINE CPUS TIER SOURCES" <<<"$s" ||
        fail "status header: $s"
# CPUs and tiers as the fixture's has_cpu and memory_tiering say.
# Sources as the fixture's firmware_node links and proc/iomem say.
grep -qx "0 ignore 1G 0B 8 4 0 yes 4 unknown,boot,virtio-mem" <<<"$s" || fail "status node 0: $s"
grep -qx "1 auto-movable 0B 1G 8 8 0 no 22 dimm" <<<"$s" || fail "status node 1: $s"
# The effective policy per node and source, with the rule that decided it.
grep -qx "NODE SOURCE POLICY RULE" <<<"$s" || fail "status policies header: $s"
grep -qx "0 dimm ignore Default=ignore" <<<"$s" || fail "status rule node 0 dimm: $s"
grep -qx "0 virtio-mem online_movable \[Node 0 Source virtio-mem\]" <<<"$s" ||
        fail "status rule node 0 virtio-mem: $s"
grep -qx "1 dimm auto-movable \[Node 1\]" <<<"$s" || fail "status rule node 1 dimm: $s"
[ "$(grep -c " Default=ignore$" <<<"$s")" -eq 6 ] || fail "status: not 6 sources on node 0: $s"
expect_rc 0 status --json
python3 - "$out" <<'EOF' || fail "status --json: $out"
import json, sys
nodes = {n["node"]: n for n in json.loads(sys.argv[1])["nodes"]}
assert (nodes[0]["cpus"], nodes[0]["tier"]) == (True, 4), nodes[0]
assert (nodes[1]["cpus"], nodes[1]["tier"]) == (False, 22), nodes[1]
assert nodes[0]["sources"] == ["unknown", "boot", "virtio-mem"], nodes[0]
assert nodes[1]["sources"] == ["dimm"], nodes[1]
pol = {p["source"]: p for p in nodes[1]["policies"]}
assert pol["dimm"] == {"source": "dimm", "policy": "auto-movable", "rule": "[Node 1]"}, pol
assert set(pol) >= {"unknown", "boot", "dimm", "virtio-mem", "dax"}, pol
EOF

# --- list ----------------------------------------------------------------------------------
expect_rc 0 list
s=$(squeezed)
grep -qx "RANGE SIZE STATE ZONE NODE BLOCK SOURCE DEVICE HELD" <<<"$s" || fail "list header: $s"
grep -qx "Memory block size: 128M" <<<"$s" || fail "list summary, block size: $s"
grep -qx "Total online memory: 2G" <<<"$s" || fail "list summary, online: $s"
grep -qx "Total offline memory: 1.5G" <<<"$s" || fail "list summary, offline: $s"
# The columns every memhpd has; SOURCE and DEVICE are checked against the simulator (tests/dbus).
cols=RANGE,SIZE,STATE,ZONE,NODE,BLOCK,HELD
expect_rc 0 list -o $cols
s=$(squeezed)
grep -qx "RANGE SIZE STATE ZONE NODE BLOCK HELD" <<<"$s" || fail "list -o header: $s"
grep -qx "0x0000000000000000-0x000000003fffffff 1G online Normal 0 0-7" <<<"$s" ||
        fail "list row 0-7: $s"
grep -qx "0x0000000040000000-0x000000005fffffff 512M offline - 0 8-11" <<<"$s" ||
        fail "list row 8-11: $s"
grep -qx "0x0000000100000000-0x000000013fffffff 1G online Movable 1 32-39" <<<"$s" ||
        fail "list row 32-39: $s"
grep -qx "0x0000000140000000-0x000000017fffffff 1G offline - 1 40-47" <<<"$s" ||
        fail "list row 40-47: $s"

# As lsmem: ranges merge over the columns shown, so without STATE and ZONE one row per node.
expect_rc 0 --no-legend list --output block,NODE
s=$(squeezed)
[ "$s" = $'0-11 0\n32-47 1' ] || fail "list -o block,NODE: $s"
expect_rc 64 list -o +SIZE
expect_err "Column 'SIZE' is named twice"
expect_rc 0 list -o help
for c in RANGE SIZE STATE ZONE NODE BLOCK SOURCE DEVICE HELD; do
        grep -q "^  $c " <<<"$out" || fail "list -o help lacks $c: $out"
done
expect_rc 0 devices -o help
for c in DEVICE SOURCE BACKING NODE RANGE SIZE BLOCKS ONLINE ZONES; do
        grep -q "^  $c " <<<"$out" || fail "devices -o help lacks $c: $out"
done
expect_rc 64 list -o RANGE,SOURCES
[ "$err" = "memhpctl: Unknown column 'SOURCES' for 'list'; 'memhpctl list -o help' lists them." ] ||
        fail "unknown column: '$err'"
expect_rc 64 devices -o DEVICE,HELD
expect_err "Unknown column 'HELD' for 'devices'"

expect_rc 0 list --node 1 --no-legend -o $cols
s=$(squeezed)
[ "$(wc -l <<<"$s")" -eq 2 ] || fail "list --node 1 --no-legend: $s"
grep -q "RANGE\|Memory block size" <<<"$s" && fail "--no-legend printed a legend: $s"
grep -qx "0x0000000100000000-0x000000013fffffff 1G online Movable 1 32-39" <<<"$s" ||
        fail "list --node 1: $s"

expect_rc 0 list --json -o ${cols,,}
python3 - "$out" <<'EOF' || fail "list --json: $out"
import json, sys
doc = json.loads(sys.argv[1])
rows = doc["memory"]
assert len(rows) == 4, rows
assert rows[0] == {"range": "0x0000000000000000-0x000000003fffffff", "size": 1073741824,
                   "state": "online", "zone": "Normal", "node": 0, "block": "0-7",
                   "held": False}, rows[0]
assert rows[1]["zone"] is None and rows[1]["size"] == 536870912, rows[1]
assert rows[3]["node"] == 1 and rows[3]["block"] == "40-47", rows[3]
EOF

# --- sources and devices, as the fixture's firmware_node links and proc/iomem say ------------
expect_rc 0 list -o BLOCK,SOURCE,DEVICE --no-legend
s=$(squeezed)
[ "$s" = $'0-7 boot -\n8-9 virtio-mem virtio0\n10-11 unknown -\n32-39 dimm PNP0C80:00\n40-47 dimm PNP0C80:01' ] ||
        fail "list -o BLOCK,SOURCE,DEVICE: $s"
expect_rc 0 list --json -o block,source,device
python3 - "$out" <<'EOF' || fail "list --json sources: $out"
import json, sys
rows = json.loads(sys.argv[1])["memory"]
assert rows[0] == {"block": "0-7", "source": "boot", "device": None}, rows[0]
assert rows[3] == {"block": "32-39", "source": "dimm", "device": "PNP0C80:00"}, rows[3]
EOF

expect_rc 0 devices -o DEVICE,SOURCE,BACKING,NODE,BLOCKS,ONLINE,ZONES
s=$(squeezed)
grep -qx "DEVICE SOURCE BACKING NODE BLOCKS ONLINE ZONES" <<<"$s" || fail "devices header: $s"
grep -qx "PNP0C80:00 dimm - 1 8 8 Movable" <<<"$s" || fail "devices PNP0C80:00: $s"
grep -qx "PNP0C80:01 dimm - 1 8 0 -" <<<"$s" || fail "devices PNP0C80:01: $s"
grep -qx "virtio0 virtio-mem - 0 2 0 -" <<<"$s" || fail "devices virtio0: $s"
[ "$(wc -l <<<"$s")" -eq 4 ] || fail "devices: not 3 devices: $s"
expect_rc 0 devices --json
python3 - "$out" <<'EOF' || fail "devices --json: $out"
import json, sys
devs = {d["device"]: d for d in json.loads(sys.argv[1])["devices"]}
assert sorted(devs) == ["PNP0C80:00", "PNP0C80:01", "virtio0"], devs
d = devs["PNP0C80:00"]
assert (d["source"], d["backing"], d["node"], d["blocks"], d["online"], d["zones"]) == \
    ("dimm", None, 1, 8, 8, "Movable"), d
v = devs["virtio0"]
assert (v["range"], v["size"]) == ("0x0000000040000000-0x000000004fffffff", 256 << 20), v
EOF
expect_rc 0 devices --node 0 --no-legend -o device
[ "$out" = virtio0 ] || fail "devices --node 0: '$out'"

# Completion offers the devices that have blocks to change: online ones for offline.
comp() { # WORDS...: what bash completion offers for the last word
        PATH=$(dirname "$MEMHPCTL"):$PATH bash -c '
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _memhpctl
                printf "%s\n" "${COMPREPLY[@]}"' comp "$SRC/completion/memhpctl" "$@"
}
[ "$(comp memhpctl offline --device "")" = PNP0C80:00 ] ||
        fail "completion of offline --device: $(comp memhpctl offline --device "")"
[ "$(comp memhpctl online --device "" | sort | tr '\n' ' ')" = "PNP0C80:01 virtio0 " ] ||
        fail "completion of online --device: $(comp memhpctl online --device "")"
[ "$(comp memhpctl list -o BLOCK,SO)" = BLOCK,SOURCE ] ||
        fail "completion of list -o: $(comp memhpctl list -o BLOCK,SO)"

# The plan for a device: its blocks, highest address first when offlining.
expect_rc 0 offline --dry-run --no-legend --device PNP0C80:00
s=$(squeezed)
[ "$(cut -d' ' -f1 <<<"$s" | tr '\n' ' ')" = \
        "memory39 memory38 memory37 memory36 memory35 memory34 memory33 memory32 " ] ||
        fail "offline --dry-run --device: $s"
# --- devices: an unknown id is an error naming it, and nothing is written -------------------
expect_rc 0 online --dry-run --no-legend --device virtio0
s=$(squeezed)
[ "$s" = $'memory8 0 offline online by policy online_movable ([Node 0 Source virtio-mem])\nmemory9 0 offline online by policy online_movable ([Node 0 Source virtio-mem])' ] ||
        fail "online --dry-run --device: $s"
expect_rc 1 offline --dry-run --device PNP0C80:99
expect_err "No such device: 'PNP0C80:99'"
expect_rc 1 offline --device PNP0C80:99
$is_root && expect_err "PNP0C80:99"
expect_rc 1 online --device nonsense --zone movable
$is_root && expect_err "nonsense"

# --- policy --------------------------------------------------------------------------------
expect_rc 0 policy
s=$(squeezed)
grep -qx "0 ignore" <<<"$s" || fail "policy, node 0: $s"
grep -qx "1 auto-movable" <<<"$s" || fail "policy, node 1: $s"
expect_rc 0 policy 1
[ "$out" = "auto-movable" ] || fail "policy 1: '$out'"
expect_rc 0 policy node1
[ "$out" = "auto-movable" ] || fail "policy node1: '$out'"
expect_rc 1 policy 7
expect_err "memhpd knows no node 7"
if $is_root; then
        expect_rc 0 policy 0 online_kernel
        expect_out "until memhpd reloads or restarts"
        expect_rc 0 policy 0
        [ "$out" = "online_kernel" ] || fail "policy 0 after setting it: '$out'"
        expect_rc 1 policy 9 online
        expect_err "Node 9 is not a possible node"
        # Runtime only: a reload brings back memhpd.conf's policy.
        expect_rc 0 reload
        expect_rc 0 policy 0
        [ "$out" = "ignore" ] || fail "policy 0 after reload: '$out'"
        expect_rc 0 rescan
else
        # memhpd lets only root and group memhp change anything.
        expect_rc 1 policy 0 online_kernel
        expect_err "memhpctl: Permission denied: SetNodePolicy needs root"
        expect_rc 1 reload
        expect_err "memhpctl: Permission denied: Reload needs root"
        echo "skipped: setting a policy, reload and rescan (not root)"
fi

# --- dry runs: each block, its node and what would happen; nothing is written -------------
expect_rc 0 online --dry-run --zone movable 8-11
s=$(squeezed)
grep -qx "BLOCK NODE NOW PLAN" <<<"$s" || fail "dry-run header: $s"
grep -qx "memory8 0 offline online to movable" <<<"$s" || fail "dry-run movable: $s"
expect_out "Dry run: nothing was changed (4 of 4 blocks would change)."

expect_rc 0 online --dry-run --node 1
s=$(squeezed)
[ "$(grep -c "online by policy auto-movable" <<<"$s")" -eq 8 ] || fail "dry-run auto: $s"
# The policy of the block's source on its node, with the rule that decides it.
grep -qx "memory40 1 offline online by policy auto-movable (\[Node 1\])" <<<"$s" ||
        fail "dry-run auto: $s"

expect_rc 0 online --dry-run 8,10,0x0-0x7ffffff
s=$(squeezed)
grep -qx "memory0 0 online Normal nothing, online already" <<<"$s" || fail "dry-run online: $s"
grep -qx "memory8 0 offline online by policy online_movable (\[Node 0 Source virtio-mem\])" \
        <<<"$s" || fail "dry-run by source: $s"
grep -qx "memory10 0 offline online by policy ignore (Default=ignore): the kernel picks the zone" \
        <<<"$s" || fail "dry-run ignore: $s"
expect_out "(2 of 3 blocks would change)"

# --size picks the highest addresses first.
expect_rc 0 offline --dry-run --no-legend --node 1 --size 256M
s=$(squeezed)
# ... and offlines them in that order.
[ "$s" = $'memory39 1 online Movable offline\nmemory38 1 online Movable offline' ] ||
        fail "offline --size: $s"
expect_rc 0 online --dry-run --no-legend --node 0 --size 256M --zone kernel
s=$(squeezed)
[ "$s" = $'memory10 0 offline online to kernel\nmemory11 0 offline online to kernel' ] ||
        fail "online --size: $s"
expect_rc 1 online --dry-run --node 0 --size 1G
expect_err "node 0 has only 512M offline (4 blocks), 1G requested"
expect_rc 1 offline --dry-run --node 5
expect_err "node 5 has no online memory blocks"
expect_rc 1 online --dry-run 99
expect_err "No such memory block: memory99."

tree_after=$(cd "$root" && find . -type f -exec md5sum {} + | sort)
[ "$tree_before" = "$tree_after" ] || fail "a dry run or a read changed the fixture"

# --- bad usage: 64, before anything is sent ------------------------------------------------
for args in "" "frobnicate" "--frobnicate status" "-x status" "status extra" \
        "list --zone movable" "policy --json" "offline --zone movable 32" "monitor --dry-run" \
        "online" "online 32 --node 1" "online 32 40" "online --size 1G 32" \
        "online --zone sideways 32" "online 32,32" "online 47-32" "online 4294967296" \
        "online 0x100000001-0x13fffffff" "online 0x100000000-0x13ffffffe" "online 0x100000000" \
        "online --node 1 --size 100M" "online --node 1 --size 0" "online --node x" \
        "list --node" "policy x" "policy 0 sometimes" "policy 0 online extra" "reload now" \
        "list -o NOPE" "list -o RANGE,,SIZE" "list -o RANGE,RANGE" "list -o" "devices -o +X" \
        "status -o RANGE" "devices --zone movable" "devices extra" "list --device dax0.0" \
        "offline --device dax0.0 32" "offline --device dax0.0 --node 1" \
        "online --device dax0.0 --size 1G" "offline --device=" "offline --device"; do
        # shellcheck disable=SC2086 # word splitting is the point
        expect_rc 64 $args
        if [ "$(wc -l <<<"$err")" -ne 1 ] || [[ "$err" != memhpctl:* ]]; then
                fail "memhpctl $args: not a one-line error: $err"
        fi
done
expect_rc 64 online 0x100000001-0x13fffffff
expect_err "start address 0x100000001 is not aligned"
expect_rc 64 online 0x100000000-0x13ffffffe
expect_err "end address 0x13ffffffe"
expect_rc 64 online 32-40,35
expect_err "memory35 is named twice: '32-40' and '35'"
expect_rc 64 online --node 1 --size 100M
expect_err "'100M' is not a multiple of the block size 128M"

# --- unprivileged callers may look but not touch --------------------------------------------
if $is_root && command -v setpriv >/dev/null; then
        nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$MEMHPCTL" "$@"; }
        nobody list >/dev/null 2>"$tmp/stderr" || fail "list as nobody: $(cat "$tmp/stderr")"
        nobody offline 39 >/dev/null 2>"$tmp/stderr"
        rc=$?
        err=$(cat "$tmp/stderr")
        [ "$rc" -eq 1 ] || fail "offline as nobody: exit $rc ($err)"
        expect_err "memhpctl: Permission denied: OfflineBlocks needs root"
else
        echo "skipped: unprivileged caller (needs root and setpriv)"
fi

# --- a real offline, watched by monitor ----------------------------------------------------
if $is_root; then
        "$MEMHPCTL" monitor >"$tmp/monitor" 2>"$tmp/monitor.err" &
        monitor_pid=$!
        sleep 0.5
        expect_rc 0 offline 38-39
        [ "$out" = "memory38-memory39: offline" ] || fail "offline 38-39 printed '$out' ($err)"
        # A plain file, not sysfs: "offline" lands over "online\n" (same length, nothing left over).
        [ "$(cat "$mem/memory38/state")" = offline ] || fail "memory38/state was not written"
        expect_rc 0 list --node 1 --no-legend -o $cols
        s=$(squeezed)
        grep -qx "0x0000000100000000-0x000000012fffffff 768M online Movable 1 32-37" <<<"$s" ||
                fail "list after offline, online part: $s"
        # Offlined through memhpctl: held (kept offline across restarts), unlike 40-47.
        grep -qx "0x0000000130000000-0x000000013fffffff 256M offline - 1 38-39 held" <<<"$s" ||
                fail "list after offline, offline part: $s"
        grep -qx "0x0000000140000000-0x000000017fffffff 1G offline - 1 40-47" <<<"$s" ||
                fail "list after offline, offline part never held: $s"
        # The rest of the DIMM: memhpd offlines its online blocks and says it may go.
        expect_rc 0 offline --device PNP0C80:00
        [ "$out" = $'memory32-memory39: offline\nPNP0C80:00 is safe to remove: all its memory blocks are offline.' ] ||
                fail "offline --device printed '$out' ($err)"
        for id in 32 33 34 35 36 37 38 39; do
                [ "$(cat "$mem/memory$id/state")" = offline ] || fail "memory$id/state: not offline"
        done
        # Nothing else: the other DIMM and boot memory.
        [ "$(cat "$mem/memory40/state")" = offline ] || fail "memory40 changed"
        [ "$(cat "$mem/memory7/state")" = online ] ||
                fail "memory7 changed"
        expect_rc 0 devices --no-legend -o DEVICE,ONLINE
        grep -qx "PNP0C80:00 *0" <<<"$out" || fail "devices after offline --device: $out"
        for _ in $(seq 50); do
                grep -q "memory32: offline" "$tmp/monitor" &&
                        grep -q "device PNP0C80:00 (dimm): changed" "$tmp/monitor" && break
                sleep 0.1
        done
        kill -INT "$monitor_pid"
        wait "$monitor_pid"
        rc=$?
        [ "$rc" -eq 0 ] || fail "monitor exited $rc after SIGINT: $(cat "$tmp/monitor.err")"
        grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{3} memory38: offline$' \
                "$tmp/monitor" || fail "monitor output: $(cat "$tmp/monitor")"
else
        expect_rc 1 offline 38-39
        expect_err "memhpctl: Permission denied: OfflineBlocks needs root"
        echo "skipped: a real offline and its BlockChanged signals (not root)"
fi

# --- memhpd goes away ----------------------------------------------------------------------
"$MEMHPCTL" monitor >"$tmp/monitor" 2>&1 &
monitor_pid=$!
sleep 0.5
kill "$daemon_pid"
wait "$daemon_pid"
daemon_pid=
for _ in $(seq 50); do
        grep -q "memhpd stopped" "$tmp/monitor" && break
        sleep 0.1
done
kill -TERM "$monitor_pid"
wait "$monitor_pid" || fail "monitor exited $? after SIGTERM"
grep -q "memhpd stopped" "$tmp/monitor" ||
        fail "monitor missed memhpd stopping: $(cat "$tmp/monitor")"
expect_rc 1 offline 37
[ "$err" = "memhpctl: memhpd is not running (no org.memhpd1 on the system bus)." ] ||
        fail "not-running message after stop: '$err'"

if [ "$failures" -gt 0 ]; then
        echo "memhpd log:"
        cat "$tmp/memhpd.log"
        echo "$failures failure(s)"
        exit 1
fi
echo "all memhpctl checks passed"
