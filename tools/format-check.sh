#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The C++ sources are clang-format clean (.clang-format at the top; the
# kernel C code is checked by checkpatch instead).  TAP lines, a summary.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
pass=0 fail=0 n=0
if git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cpp' '*.hpp')
else
	mapfile -t files < <(find . -path ./build -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print)
fi
for f in "${files[@]}"; do
	n=$((n + 1))
	if out=$(clang-format --style=file --dry-run -Werror "$f" 2>&1); then
		pass=$((pass + 1)); echo "ok $n - clang-format $f"
	else
		fail=$((fail + 1)); echo "not ok $n - clang-format $f"
		echo "$out" | head -n 10 | sed 's/^/# /'
	fi
done
echo "format: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
