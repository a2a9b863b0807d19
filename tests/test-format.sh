#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The code style is .clang-format's: every C file of the tree, formatted by clang-format, is
# unchanged. A difference fails the test and names the files; `clang-format -i FILE` fixes one.
# clang-format is a test dependency (tools/bootstrap.sh installs it): without it this fails,
# it does not skip, so that a style check never passes by not running.
#
# Usage: test-format.sh SOURCE_ROOT
set -u

src=${1:?usage: $0 SOURCE_ROOT}
if ! command -v clang-format >/dev/null; then
        echo "test-format: clang-format not found (apt-get install clang-format)" >&2
        exit 1
fi
cd "$src" || exit 1
mapfile -d '' files < <(find lib daemon ctl tests fuzz -name '*.[ch]' -print0 | sort -z)
if [[ ${#files[@]} -lt 50 ]]; then
        echo "test-format: found only ${#files[@]} C files under $src" >&2
        exit 1
fi
# One clang-format for all files; only a failure looks at them one by one.
if clang-format --dry-run --Werror "${files[@]}" 2>/dev/null; then
        echo "test-format: ${#files[@]} files, all formatted"
        exit 0
fi
bad=0
for f in "${files[@]}"; do
        if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
                echo "test-format: $f differs from clang-format's output:"
                clang-format "$f" | diff -u "$f" - | head -20
                bad=$((bad + 1))
        fi
done
echo "test-format: ${#files[@]} files, $bad not formatted"
exit 1
