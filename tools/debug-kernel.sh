#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the dspm debug kernel: Debian's linux-source-6.1 with lockdep
# (PROVE_LOCKING), DEBUG_ATOMIC_SLEEP and KASAN, everything the dspm-vm
# guests need built in (tools/debug-kernel.config).  The VMs boot it with
# DSPM_VM_KERNEL=debug; dspm.ko is built against it by `make driver-debug`.
#
#   tools/debug-kernel.sh            build (a no-op when up to date)
#   tools/debug-kernel.sh --force    rebuild even if the stamp matches
#
# Output, in $DSPM_DEBUG_KERNEL_DIR (default <repo>/build/debug-kernel):
#   linux-source-6.1/       the source tree, built in place
#   kdir -> linux-source-6.1  the KDIR of dspm.ko (make driver-debug)
#   bzImage                 the kernel the VMs boot
#   kver                    its release, e.g. 6.1.192-dspm-debug
#   root/lib/modules/KVER/  modules_install output (modules.builtin, modules.dep...):
#                           the guest bind-mounts it at /lib/modules/KVER
#   build-seconds           wall-clock time of the last build
#   .stamp                  hash of tarball + fragment + this script
#
# Environment: KSRC_TAR (default /usr/src/linux-source-6.1.tar.xz), JOBS
# (default nproc), DSPM_DEBUG_KERNEL_DIR.  The build runs under nice -n 10.
# Nothing is installed on the host and nothing is loaded into its kernel.
set -eu -o pipefail

repo=$(cd "$(dirname "$0")/.." && pwd -P)
out=${DSPM_DEBUG_KERNEL_DIR:-$repo/build/debug-kernel}
tar=${KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
fragment=$repo/tools/debug-kernel.config
jobs=${JOBS:-$(nproc)}
force=0

die() { echo "debug-kernel: $*" >&2; exit 1; }
note() { echo "debug-kernel: $*" >&2; }

case "${1:-}" in
"") ;;
--force) force=1 ;;
-h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument '$1' (try --help)" ;;
esac

[ -r "$tar" ] || die "$tar missing: install linux-source-6.1 (make deps)"
[ -r "$fragment" ] || die "$fragment missing"
for t in gcc make bc flex bison perl xz:xz-utils depmod:kmod; do
	command -v "${t%%:*}" >/dev/null 2>&1 ||
		die "'${t%%:*}' not found: install the Debian package '${t#*:}' (make deps)"
done
[ -e /usr/include/libelf.h ] || die "libelf.h missing: install libelf-dev (make deps)"
[ -e /usr/include/openssl/ssl.h ] || die "openssl headers missing: install libssl-dev (make deps)"

key=$({
	echo "dspm debug kernel v1"
	stat -L -c '%n %s %Y' "$tar"
	cat "$fragment" "$0"
} | sha256sum | cut -d' ' -f1)
if [ "$force" = 0 ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$key" ] &&
	[ -s "$out/bzImage" ] && [ -s "$out/kver" ] && [ -e "$out/kdir/Makefile" ] && [ -d "$out/root/lib/modules/$(cat "$out/kver")" ]; then
	echo "debug-kernel: up to date: $(cat "$out/kver") ($out)"
	exit 0
fi

mkdir -p "$out"
start=$SECONDS
top=$(basename "$tar" .tar.xz)
src=$out/$top
# A different tarball (a Debian point release) means a fresh tree.
if [ -d "$src" ] && [ "$(cat "$out/.tarball" 2>/dev/null)" != "$(stat -L -c '%s %Y' "$tar")" ]; then
	note "source tarball changed: removing the old tree"
	rm -rf "$src"
fi
if [ ! -e "$src/Makefile" ]; then
	note "extracting $tar"
	rm -rf "$src"
	nice -n 10 tar -xJf "$tar" -C "$out"
	[ -e "$src/Makefile" ] || die "$tar did not contain $top/Makefile"
	stat -L -c '%s %Y' "$tar" > "$out/.tarball"
fi

kmake() { nice -n 10 make -C "$src" -j "$jobs" "$@"; }

note "configuring: x86_64_defconfig + kvm_guest.config + $(basename "$fragment")"
kmake -s x86_64_defconfig
(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$src" .config \
	kernel/configs/kvm_guest.config "$fragment") > "$out/merge_config.log" 2>&1 ||
	{ cat "$out/merge_config.log" >&2; die "merge_config.sh failed"; }
kmake -s olddefconfig

# Every symbol the fragment asks for must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		sym=${line%%=*}
		if ! grep -qxF -- "$line" "$src/.config"; then
			note "config: wanted $line, got: $(grep -E "^(# )?$sym[= ]" "$src/.config" || echo 'absent')"
			bad=1
		fi
		;;
	"# CONFIG_"*" is not set")
		sym=${line#"# "}
		sym=${sym%" is not set"}
		if grep -qE "^$sym=" "$src/.config"; then
			note "config: wanted $sym off, got: $(grep -E "^$sym=" "$src/.config")"
			bad=1
		fi
		;;
	esac
done < "$fragment"
# ...and what they imply (not settable on their own).
for sym in TRACING EVENT_TRACING TRACEPOINTS LOCKDEP PROVE_RCU DEBUG_SPINLOCK \
	DEBUG_MUTEXES PREEMPT_COUNT KASAN_SHADOW_OFFSET; do
	grep -qE "^CONFIG_$sym=" "$src/.config" || { note "config: CONFIG_$sym is not set"; bad=1; }
done
[ "$bad" = 0 ] || die "the config lost symbols of $fragment (a missing dependency?)"
# Nothing but dspm.ko is a module: the guests must not need to find any.
if grep -q '=m$' "$src/.config"; then
	note "modules besides dspm.ko (installed in $out/root): $(grep '=m$' "$src/.config" | tr '\n' ' ')"
fi

note "building with $jobs jobs (nice 10), log $out/build.log"
if ! kmake bzImage modules > "$out/build.log" 2>&1; then
	grep -E 'error|Error' "$out/build.log" | head -n 30 >&2
	die "kernel build failed (see $out/build.log)"
fi
# (make kernelrelease only knows LOCALVERSION once the build wrote auto.conf)
kver=$(cat "$src/include/config/kernel.release")
case "$kver" in *-dspm-debug) ;; *) die "kernel release '$kver' does not end in -dspm-debug" ;; esac
rm -rf "$out/root"
kmake -s INSTALL_MOD_PATH="$out/root" modules_install > "$out/modules_install.log" 2>&1 ||
	{ cat "$out/modules_install.log" >&2; die "modules_install failed"; }
[ -e "$out/root/lib/modules/$kver/modules.builtin" ] || die "modules_install wrote no modules.builtin"
# build/source point at the tree (same absolute path inside the guests)
cp "$src/arch/x86/boot/bzImage" "$out/bzImage.tmp" && mv -f "$out/bzImage.tmp" "$out/bzImage"
cp "$src/.config" "$out/config"
ln -sfn "$top" "$out/kdir" # the KDIR of make driver-debug
echo "$kver" > "$out/kver"
echo $((SECONDS - start)) > "$out/build-seconds"
echo "$key" > "$out/.stamp"
echo "debug-kernel: built $kver in $((SECONDS - start)) s ($out/bzImage)"
