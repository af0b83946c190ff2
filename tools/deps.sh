#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian 12 package the build, the tests and the demo need,
# and those make deb needs (debhelper, dh-dkms, lintian; scdoc for the man
# pages, libsystemd-dev for sd_notify).
# Idempotent: does nothing (and needs no network) when all are present.
set -eu
packages=(
	build-essential gcc g++ make cmake pkg-config perl python3 bc flex bison
	libelf-dev libssl-dev kmod cpio xz-utils
	linux-image-amd64 linux-headers-amd64 linux-headers-6.12-amd64
	linux-source-6.1 sparse rsync
	qemu-system-x86 qemu-utils vde2 busybox-static ndctl e2fsprogs iproute2
	rdma-core ibverbs-utils perftest libibverbs-dev librdmacm-dev
	libgtest-dev libcli11-dev nlohmann-json3-dev libsqlite3-dev sqlite3
	clang-format
	libsystemd-dev systemd udev scdoc
	debhelper dh-dkms dkms lintian
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
