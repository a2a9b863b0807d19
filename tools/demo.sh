#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README demo: builds memhpd (tools/bootstrap.sh), boots Debian 12's own kernel under QEMU,
# starts memhpd inside the VM (with the shipped memhpd.conf plus a drop-in for node 2, on the
# guest's own system bus), hot-adds memory on two NUMA nodes and shows `memhpctl list` (with
# each block's SOURCE and DEVICE) before and after and `memhpctl devices`, then a transactional
# offline the kernel refuses halfway and its rollback, then a DIMM offlined as one device
# (`memhpctl offline --device`) and unplugged, then memhpd's log. memhpd only ever runs inside the VM; this machine's memory is not touched.
#
#   MEMHPD=path/to/memhpd      use that binary and skip the build
#   MEMHPCTL=path/to/memhpctl  (default: ctl/memhpctl of the build directory)
#   BUILD=dir                  build directory (default: build/)
# Extra arguments go to tests/vm/vmtest.py demo (e.g. --cache DIR).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$SRC/build}

if [ -z "${MEMHPD:-}" ]; then
    "$SRC/tools/bootstrap.sh"
    MEMHPD=$BUILD/daemon/memhpd
fi
MEMHPCTL=${MEMHPCTL:-$BUILD/ctl/memhpctl}
# A pyenv or venv shim in PATH costs time on every start; the system python3 has all we use.
PYTHON=$(command -v /usr/bin/python3 || command -v python3) ||
    { echo "demo: python3 not found: apt-get install python3" >&2; exit 1; }
exec "$PYTHON" "$SRC/tests/vm/vmtest.py" demo --memhpd "$MEMHPD" --memhpctl "$MEMHPCTL" \
    --conf "$SRC/memhpd.conf" --workdir "$BUILD/tests/vm/demo" "$@"
