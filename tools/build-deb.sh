#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the memhpd Debian package from this tree (tracked and untracked-but-not-ignored files,
# as they are in the working tree) in a scratch copy, so the source tree is never written, then
# checks it with lintian. Usage: tools/build-deb.sh [OUTDIR] (default: build-deb/).
# Prints the path of the .deb last. Env: VERSION=x.y.z builds that version instead (the system
# tier's upgrade scenario), LINTIAN=0 skips lintian.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$SRC/build-deb}" && cd "${1:-$SRC/build-deb}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/memhpd"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$SRC" && tar --null -T - -cf - --ignore-failed-read) | tar -xf - -C "$work/memhpd"

if [ -n "${VERSION:-}" ]; then
        # meson's project version and the changelog must agree (debian/rules checks it).
        sed -i "0,/version : '[^']*'/s//version : '$VERSION'/" "$work/memhpd/meson.build"
        sed -i "1s/([^)]*)/($VERSION)/" "$work/memhpd/debian/changelog"
fi

(cd "$work/memhpd" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
        tail -n 60 "$work/build.log" >&2
        echo "build-deb: dpkg-buildpackage failed" >&2
        exit 1
}
deb=$(ls "$work"/memhpd_*.deb)
echo "build-deb: built $(basename "$deb")" >&2
if [ "${LINTIAN:-1}" != 0 ]; then
        # Errors and warnings fail the build; overrides in debian/ carry their reasons.
        lintian --fail-on error,warning --tag-display-limit 0 "$work"/memhpd_*.changes >&2
fi
cp "$deb" "$OUT/"
echo "$OUT/$(basename "$deb")"
