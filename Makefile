# SPDX-License-Identifier: GPL-2.0
#
# dspm top-level build.  kbuild builds driver/ against Debian's 6.1 kernel
# (the one the test VMs boot); CMake builds everything in user space.
# make install builds the module again for the running kernel (uname -r).
#
#   make demo     install what is needed, build, show dspm in a VM
#   make check    install what is needed, build, run every test
#   make check-debug  the VM suites again on a lockdep/KASAN kernel
#                 (make debug-kernel: ~NN min once on 2 cores, then cached)
#
# Nothing here loads a module into the machine's own kernel (make install
# and make dkms-install install one for it, and load nothing): the driver is
# loaded only inside the QEMU VMs that tools/vm/dspm-vm boots.

REPO	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD	:= $(REPO)/build
KVER	?= $(shell $(REPO)/tools/kver.sh 6.1 2>/dev/null)
KDIR	?= /lib/modules/$(KVER)/build
JOBS	?= $(shell nproc)
CMAKE_BUILD_TYPE ?= RelWithDebInfo
PREFIX	?= /usr/local
# The test VMs need the driver's debugging aids (Kconfig DSPM_DEBUG:
# fault injection, pmem dumps, transport benchmarks); DSPM_DEBUG=n leaves
# them out.
DSPM_DEBUG ?= y

export DSPM_KVER := $(KVER)

# make install: the module for the kernel it is to run on (the running one
# unless INSTALL_KVER says otherwise), without the debugging aids, built in a
# copy of driver/ + uapi/ per kernel so that driver/dspm.ko stays the 6.1
# build the VM tests load.  INSTALL_MOD_DIR is where under
# /lib/modules/KVER it goes (updates/ overrides an in-tree dspm, if any).
# DSPM_AUTOLOAD=y also installs /etc/modules-load.d/dspm.conf (boot-time
# modprobe without dspm-node.service).
VERSION		:= $(shell sed -n 's/^  VERSION \([0-9.]*\)$$/\1/p' $(REPO)/CMakeLists.txt)
INSTALL_KVER	?= $(shell uname -r)
INSTALL_KDIR	?= /lib/modules/$(INSTALL_KVER)/build
INSTALL_MOD_DIR	?= updates
RELEASE_DRIVER	:= $(BUILD)/release-driver/$(INSTALL_KVER)
DSPM_AUTOLOAD	?= n
# The DKMS source tree (make dkms-install; the dspm-dkms package ships the same).
DKMS_SRC	?= /usr/src/dspm-$(VERSION)

# The debug kernel (tools/debug-kernel.sh, tools/debug-kernel.config) and
# dspm.ko built against it, in a copy of driver/ + uapi/ (kbuild's M= builds
# in the source dir; the Kbuild's -I$$(src)/.. needs uapi/ next to driver/).
DEBUG_KDIR	:= $(BUILD)/debug-kernel
DEBUG_DRIVER	:= $(BUILD)/debug-driver
# The VM suites make check-debug runs (stage names of tools/check.sh).
CHECK_DEBUG_STAGES ?= selftests cluster-tcp cluster-rdma crash \
	cluster-crash-tcp cluster-crash-rdma

# all          driver + user + selftests
# deps         install the Debian packages (tools/deps.sh)
# driver       driver/dspm.ko against Debian's 6.1 headers
# user         user space (CMake, build/user)
# selftests    the kselftest binaries (build/selftests)
# check        every test, one summary line "check: N passed, M failed"
# debug-kernel 6.1 with PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, KASAN (build/debug-kernel)
# driver-debug dspm.ko against it (build/debug-driver/driver/dspm.ko)
# check-debug  the VM suites with DSPM_VM_KERNEL=debug, "check-debug: N passed, M failed"
# driver-release dspm.ko for INSTALL_KVER (default uname -r), no debugging aids
# install      driver-release + user space into PREFIX (default /usr/local), depmod
# dkms-install the DKMS source tree in DKMS_SRC, then dkms add/build/install
# dkms-tree    only the DKMS source tree, into DKMS_SRC (packaging)
# deb          Debian packages into build/deb (packaging/deb.sh)
# deb-test     install, check and purge them in a throwaway chroot (root; loads nothing)
# vm-selftests, cluster, crash, soak, demo, bench, unit, kernel-checks, clean
.PHONY: all deps driver user selftests check unit kernel-checks \
	vm-selftests cluster crash soak demo bench install clean \
	debug-kernel driver-debug check-debug driver-release dkms-tree \
	dkms-install deb deb-test

all: driver user selftests

deps:
	@$(REPO)/tools/deps.sh

driver:
	@test -n "$(KVER)" || { echo "no 6.1 kernel headers: run make deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(REPO)/driver CONFIG_DSPM=m \
		CONFIG_DSPM_DEBUG=$(DSPM_DEBUG) W=1 modules

user:
	cmake -S $(REPO) -B $(BUILD)/user -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) \
		-DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD)/user -j $(JOBS)

selftests:
	$(REPO)/tools/ksrc.sh $(BUILD)/ksrc
	$(MAKE) -C $(REPO)/selftests/dspm O=$(BUILD)/selftests

# The test command: every test, one summary line, non-zero on any failure.
check: deps
	@$(MAKE) --no-print-directory all
	@$(REPO)/tools/check.sh

# A kernel for the VMs with lockdep, sleep-in-atomic checks and KASAN; a
# no-op when build/debug-kernel is up to date (stamp).
debug-kernel:
	@$(REPO)/tools/debug-kernel.sh

driver-debug: debug-kernel
	@command -v rsync >/dev/null || { echo "rsync not found: run make deps" >&2; exit 1; }
	@mkdir -p $(DEBUG_DRIVER)
	@# no -t: a changed file gets a new mtime, so kbuild rebuilds what it must
	rsync -rlc --delete --exclude-from=$(REPO)/tools/debug-driver.exclude \
		$(REPO)/driver $(REPO)/uapi $(DEBUG_DRIVER)/
	$(MAKE) -C $(DEBUG_KDIR)/kdir M=$(DEBUG_DRIVER)/driver CONFIG_DSPM=m \
		CONFIG_DSPM_DEBUG=$(DSPM_DEBUG) W=1 modules

# The VM suites of make check on the debug kernel; any lockdep, KASAN or
# sleep-in-atomic report fails the suite through dspm-vm dmesg-check.
check-debug: deps
	@$(MAKE) --no-print-directory debug-kernel driver-debug user selftests
	@DSPM_VM_KERNEL=debug DSPM_CHECK_NAME=check-debug \
		DSPM_CHECK_STAGES="$(CHECK_DEBUG_STAGES)" $(REPO)/tools/check.sh

unit: user
	ctest --test-dir $(BUILD)/user --output-on-failure

kernel-checks:
	$(REPO)/tools/kernel-checks.sh

vm-selftests: driver selftests
	$(REPO)/selftests/dspm/run_vm_tests.sh

cluster: driver user selftests
	$(REPO)/selftests/dspm/cluster_test.sh tcp
	$(REPO)/selftests/dspm/cluster_test.sh rdma

crash: driver user selftests
	$(REPO)/selftests/dspm/crash_test.sh
	$(REPO)/selftests/dspm/cluster_crash_test.sh 10 tcp
	$(REPO)/selftests/dspm/cluster_crash_test.sh 10 rdma

soak: deps
	@$(MAKE) --no-print-directory all
	DSPM_CRASH_ROUNDS=$${DSPM_CRASH_ROUNDS:-200} $(REPO)/selftests/dspm/crash_test.sh
	$(REPO)/selftests/dspm/cluster_crash_test.sh $${DSPM_CLUSTER_CRASH_ROUNDS:-50} tcp
	$(REPO)/selftests/dspm/cluster_crash_test.sh $${DSPM_CLUSTER_CRASH_ROUNDS:-50} rdma
	DSPM_GARBAGE_COUNT=$${DSPM_GARBAGE_COUNT:-20000} $(REPO)/tests/dispatcher/vm_transport_test.sh

# The run command: a power failure on a virtual node, and what survives it.
demo: deps
	@$(MAKE) --no-print-directory all
	$(REPO)/tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	$(REPO)/bench/run.sh
	$(REPO)/bench/transport.sh
	$(REPO)/bench/cluster.sh

driver-release:
	@test -e $(INSTALL_KDIR)/Makefile || { echo "no kernel headers for $(INSTALL_KVER) in $(INSTALL_KDIR):" \
		"apt-get install linux-headers-$(INSTALL_KVER), or set INSTALL_KVER=" >&2; exit 1; }
	@command -v rsync >/dev/null || { echo "rsync not found: run make deps" >&2; exit 1; }
	@mkdir -p $(RELEASE_DRIVER)
	rsync -rlc --delete --exclude-from=$(REPO)/tools/debug-driver.exclude \
		$(REPO)/driver $(REPO)/uapi $(RELEASE_DRIVER)/
	$(MAKE) -C $(INSTALL_KDIR) M=$(RELEASE_DRIVER)/driver CONFIG_DSPM=m \
		CONFIG_DSPM_DEBUG=n modules

# Installs; loads nothing.  With DESTDIR (staging, packaging) depmod, the
# group and the reloads are left to whoever installs the staged tree.
install: driver-release user
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)/user --prefix $(PREFIX)
	@# Distribution headers have MODULE_SIG_ALL but not the distribution's key:
	@# kbuild's signing would only fail noisily.  Secure Boot: DKMS signs with its MOK.
	$(MAKE) -C $(INSTALL_KDIR) M=$(RELEASE_DRIVER)/driver INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) CONFIG_MODULE_SIG_ALL= modules_install
	@if [ "$(DSPM_AUTOLOAD)" = y ]; then \
		echo "install $(DESTDIR)/etc/modules-load.d/dspm.conf"; \
		install -D -m 0644 $(REPO)/packaging/modules-load/dspm.conf \
			$(DESTDIR)/etc/modules-load.d/dspm.conf; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
		set -e; \
		echo "depmod -a $(INSTALL_KVER)"; depmod -a $(INSTALL_KVER); \
		getent group dspm >/dev/null || { echo "groupadd --system dspm"; groupadd --system dspm; }; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		if command -v udevadm >/dev/null; then udevadm control --reload 2>/dev/null || true; fi; \
		echo "installed; load it with: modprobe dspm (or systemctl enable --now dspm-node, Documentation/install.md)"; \
	fi

# The DKMS source tree: the module's sources, the ABI headers the Kbuild
# finds through -I$(src)/.., Kconfig, and dkms.conf with this version.
dkms-tree:
	@test -n "$(VERSION)" || { echo "no VERSION in CMakeLists.txt" >&2; exit 1; }
	@command -v rsync >/dev/null || { echo "rsync not found: run make deps" >&2; exit 1; }
	install -d $(DESTDIR)$(DKMS_SRC)
	rsync -rlc --delete --exclude-from=$(REPO)/tools/debug-driver.exclude \
		$(REPO)/driver $(REPO)/uapi $(DESTDIR)$(DKMS_SRC)/
	install -m 0644 $(REPO)/Kconfig $(DESTDIR)$(DKMS_SRC)/Kconfig
	sed 's/#MODULE_VERSION#/$(VERSION)/' $(REPO)/packaging/dkms/dkms.conf.in > $(DESTDIR)$(DKMS_SRC)/dkms.conf

# Builds and installs dspm.ko for every installed kernel with headers (and
# dkms does so by itself for kernels installed later: AUTOINSTALL); loads
# nothing.  dkms exits 77 for a kernel dkms.conf excludes (BUILD_EXCLUSIVE_*).
dkms-install: dkms-tree
	@command -v dkms >/dev/null || { echo "dkms not found: apt-get install dkms (or make deps)" >&2; exit 1; }
	dkms status -m dspm -v $(VERSION) | grep -q . || dkms add -m dspm -v $(VERSION)
	@set -e; for b in /lib/modules/*/build; do \
		[ -e "$$b/Makefile" ] || continue; k=$${b%/build}; k=$${k##*/}; \
		echo "dkms install -m dspm -v $(VERSION) -k $$k"; \
		rc=0; dkms install -m dspm -v $(VERSION) -k "$$k" || rc=$$?; \
		[ $$rc -eq 0 ] || [ $$rc -eq 77 ] || exit $$rc; \
	done

deb:
	@$(REPO)/packaging/deb.sh

deb-test:
	@$(REPO)/packaging/deb-install-test.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(REPO)/driver clean
	rm -rf $(BUILD)/user $(BUILD)/selftests $(BUILD)/kcheck $(DEBUG_DRIVER) \
		$(BUILD)/release-driver $(BUILD)/deb $(BUILD)/deb-work
	@echo "(the debug kernel stays: rm -rf $(DEBUG_KDIR) to rebuild it from scratch)"
