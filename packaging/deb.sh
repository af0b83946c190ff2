#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make deb: the Debian packages (debian/) into build/deb, then lintian on
# them.  Built in a copy of the tree (build/deb-work) so that debhelper's
# files never land in the checkout.  DEB_BUILD_OPTIONS passes through
# (nocheck skips the unit tests); DSPM_LINTIAN=0 skips lintian.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/build/deb
work=$repo/build/deb-work
version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
src=$work/dspm-$version

for tool in dpkg-buildpackage dh rsync; do
	command -v "$tool" >/dev/null || { echo "deb: $tool not found: run make deps" >&2; exit 1; }
done
mkdir -p "$work" "$out"
rsync -a --delete --exclude=/build/ --exclude=/.git --exclude-from="$repo/tools/debug-driver.exclude" \
	"$repo/" "$src/"
rm -f "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo
(
	cd "$src"
	export DEB_BUILD_OPTIONS="parallel=${DSPM_DEB_JOBS:-2} ${DEB_BUILD_OPTIONS:-}"
	nice -n 19 dpkg-buildpackage -b -us -uc
)
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls -l "$out"
if [ "${DSPM_LINTIAN:-1}" != 0 ] && command -v lintian >/dev/null; then
	# Errors fail the build; warnings and the rest are shown.
	lintian --fail-on error --info "$out"/dspm_"${version}"_*.changes
fi
