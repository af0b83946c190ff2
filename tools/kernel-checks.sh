#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of the kernel code: the driver builds with no warning under
# W=1 and with sparse (C=1) against Debian's 6.1 and 6.12 headers, and the
# kernel C sources are checkpatch --strict clean.  TAP lines, then a
# summary line; exits non-zero on any failure.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build/kcheck
pass=0 fail=0 n=0

result() { # status description [log]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		pass=$((pass + 1)); echo "ok $n - $2"
	else
		fail=$((fail + 1)); echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' "$3" | tail -n 40
	fi
}

mkdir -p "$build"
"$repo/tools/ksrc.sh" "$repo/build/ksrc" || result 1 "extract checkpatch"

# Each kernel with the debugging aids (as the tests build it), and 6.1
# without them too (as a production build would).
for build_case in 6.1:y 6.12:y 6.1:n; do
	series=${build_case%%:*} debug=${build_case#*:}
	what="driver builds W=1, sparse clean"
	[ "$debug" = n ] && what="$what without CONFIG_DSPM_DEBUG"
	if ! kver=$("$repo/tools/kver.sh" "$series"); then
		result 1 "$what on $series (no headers)"
		continue
	fi
	dir=$build/$kver-debug-$debug
	rm -rf "$dir" && mkdir -p "$dir"
	cp -r "$repo/driver" "$repo/uapi" "$dir/"
	find "$dir/driver" -name '*.o' -o -name '*.ko' -o -name '.*.cmd' | xargs rm -f
	log=$dir/build.log
	make -C "/lib/modules/$kver/build" M="$dir/driver" CONFIG_DSPM=m \
		CONFIG_DSPM_DEBUG=$debug W=1 C=1 modules >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || grep -qE '(warning|error):' "$log" || [ ! -e "$dir/driver/dspm.ko" ]; then
		result 1 "$what on $kver" "$log"
	else
		result 0 "$what on $kver"
	fi
done

cd "$repo"
if git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files -co --exclude-standard -- \
		'driver/*.c' 'driver/*.h' 'driver/Kbuild' 'uapi/*.h' \
		'selftests/*.c' 'selftests/*.h' 'Kconfig')
else
	mapfile -t files < <(find driver uapi selftests Kconfig \
		\( -name '*.[ch]' -o -name Kbuild -o -name Kconfig \) ! -name '*.mod.c')
fi
for f in "${files[@]}"; do
	log=$build/checkpatch.$(echo "$f" | tr / _).log
	perl "$repo/build/ksrc/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types -f "$f" >"$log" 2>&1
	result $? "checkpatch --strict $f" "$log"
done

echo "kernel-checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
