# SPDX-License-Identifier: MIT
#
# virtio-loopback: the one build entry point.
#
#   make            publish every program with NativeAOT for linux-x64 and
#                   linux-arm64 into out/<rid>/
#   make test       unit + integration tests (dotnet test), then the QEMU
#                   guest tests against our back ends
#   make demo       the main job: build everything, boot a QEMU guest whose
#                   own virtio_rng, virtio_blk and virtio_input drivers are
#                   served by our back ends through virtio_loopback.ko and
#                   the adapter, and print what each device did
#   make deps       install the Debian packages the build and tests need
#   make install    install what an image holds into DESTDIR (see "Install"):
#                   programs, virtio_loopback.ko, systemd units, udev rules,
#                   tmpfiles.d, sysusers.d, modules-load.d, default configs
#   make clean      remove build output, test results and the QEMU cache
#
# Extra targets:
#   make demo-vm          the VM path: QEMU's vhost-user front end on our back ends
#   make vm-test          only the QEMU guest tests (tests/qemu/run-*.sh)
#   make vm-test-qsd      the same guest tests with Debian's qemu-storage-daemon
#                         as the vhost-user-blk back end (harness reference run)
#   make module           build kernel-module/ against the Debian 6.1 amd64
#                         headers of the guest kernel the QEMU tests boot into
#                         out/modules/<ver>/virtio_loopback.ko
#   make yocto-test       CI checks of the Yocto/AGL layers (tests/yocto/): the
#                         class's publish offline from the -nuget.inc packages,
#                         the module recipe's build for arm64, oe-init.sh
#   make arm64-smoke      download the Debian arm64 kernel and boot it once in
#                         qemu-system-aarch64 (prints uname -m)

# Programs published for every RID, from src/<name>/<name>.csproj.
PROGRAMS   := vhost-user-rng vhost-user-blk vhost-user-input vhost-user-console vhost-user-sound vhost-user-gpio virtio-loopback-adapter touch-sensitivity
# Test tools from tests/tools/<name>/<name>.csproj, published when present:
# all for linux-x64; for linux-arm64 only those the arm64 guests run (the
# arm64 test's probe, the loopback "all" suite's input tools, the console suite's stream peer,
# the system test's display double, the faults suite's faulty-blk).
TEST_TOOLS := vhost-user-probe uinput-feeder evdev-inspect htt-double signal-storm stream-peer wav-tool faulty-blk
TEST_TOOLS_linux-arm64 := vhost-user-probe uinput-feeder evdev-inspect htt-double stream-peer faulty-blk
RIDS       := linux-x64 linux-arm64

DOTNET        ?= dotnet
CONFIGURATION ?= Release
SOLUTION      := VirtioLoopback.sln
OUT           := out
RESULTS       := TestResults

# Cross-publishing to arm64 uses the host's clang/lld with the Debian arm64
# cross toolchain (see shared/notes/TOOLCHAIN.md).
PUBLISH_FLAGS_linux-x64   :=
PUBLISH_FLAGS_linux-arm64 := -p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy

# Debian packages for building, cross-building and the QEMU tests.
APT_PACKAGES := clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
	binutils-aarch64-linux-gnu qemu-system-x86 qemu-system-arm qemu-utils \
	qemu-system-common busybox-static cpio kmod e2fsprogs linux-image-amd64 \
	linux-headers-amd64 fio evtest zstd xz-utils curl ca-certificates \
	strace gnuplot-nox nbd-client iproute2 file mmdebstrap qemu-user-static alsa-utils gpiod \
	linux-source-6.1 flex bison bc libelf-dev

# ---------------------------------------------------------------------------

TOOLS_PRESENT := $(foreach t,$(TEST_TOOLS),$(if $(wildcard tests/tools/$(t)/$(t).csproj),$(t)))
project_of     = $(if $(filter $(1),$(PROGRAMS)),src/$(1)/$(1).csproj,tests/tools/$(1)/$(1).csproj)

# Anything that can change a published binary (the probe uses TestDriver).
# Not packages.lock.json: restore rewrites it, and the package versions come
# from the props files.
SOURCES := $(shell find src tests/tools tests/TestDriver -type f \( -name '*.cs' -o -name '*.csproj' \) \
	-not -path '*/obj/*' -not -path '*/bin/*' 2>/dev/null) \
	$(wildcard Directory.*.props Directory.*.targets global.json nuget.config)

tools_for = $(if $(TEST_TOOLS_$(1)),$(filter $(TEST_TOOLS_$(1)),$(TOOLS_PRESENT)),$(TOOLS_PRESENT))
BINARIES := $(foreach r,$(RIDS),$(foreach p,$(PROGRAMS) $(call tools_for,$(r)),$(OUT)/$(r)/$(p)))

.PHONY: all test dotnet-test vm-test vm-test-qsd demo demo-vm bench bench-smoke bench-modules deps arm64-smoke clean module yocto-test \
	install install-bin install-module module-kbuild install-data system-test
# dotnet builds of programs that share library projects must not overlap.
.NOTPARALLEL:

all: $(BINARIES)

# out/<rid>/<program>: one NativeAOT publish per program and RID into its own
# folder under obj/publish (a publish folder also gets the .pdb files of the
# referenced libraries), then only the ELF is copied to out/<rid>/.
PUBLISH_DIR := obj/publish
rid = $(patsubst $(OUT)/%/,%,$(dir $@))
$(BINARIES): $(OUT)/%: $(SOURCES)
	$(DOTNET) publish $(call project_of,$(notdir $@)) -c $(CONFIGURATION) -r $(rid) \
		-o $(PUBLISH_DIR)/$* -nologo $(PUBLISH_FLAGS_$(rid))
	@mkdir -p $(@D)
	@# A rename, not an overwrite: a running copy (a test's back end) keeps its file.
	cp $(PUBLISH_DIR)/$*/$(notdir $@) $@.new && mv -f $@.new $@

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

# The guest kernel of the QEMU tests (tests/qemu/lib.sh find_kernel: the newest
# /boot/vmlinuz-6.1.*-amd64, or KERNEL_VERSION) and its headers from
# linux-headers-amd64. The script looks the kernel up when it runs, after
# `deps` installed it: never when make reads this file (a fresh machine has
# no kernel yet then).
module:
	@scripts/build-guest-module.sh

# ---------------------------------------------------------------------------
# Install: the one list of what the system gets. The Yocto recipes call these
# targets (recipes-dotnet/virtio-loopback-dotnet.inc: install-bin; the module
# recipe: module-kbuild and install-module; virtio-loopback-services:
# install-data), and tests/system/ boots a Debian root file system holding
# exactly what `make install` put into DESTDIR.
#
#   make install DESTDIR=D [RID=linux-arm64] [KERNEL_SRC=TREE ARCH=.. CROSS_COMPILE=..]
#   install-bin     INSTALL_PROGRAMS from BIN_DIR (default out/$(RID), published
#                   first) to $(bindir)
#   install-module  virtio_loopback.ko built in MODULE_DIR against KERNEL_SRC
#                   (default: the running kernel's build tree), installed by
#                   kbuild's modules_install to $(DESTDIR)/lib/modules/<release>/extra,
#                   and the UAPI header to $(includedir)/linux
#   install-data    systemd units (templates, sockets, generator, preset), udev
#                   rules, tmpfiles.d, sysusers.d, modules-load.d and the default
#                   instance configs in $(sysconfdir)/virtio-loopback
#
# The folders take the Yocto variable names, so a recipe passes its own.
RID                    ?= $(if $(filter aarch64,$(shell uname -m)),linux-arm64,linux-x64)
BIN_DIR                ?= $(OUT)/$(RID)
INSTALL_PROGRAMS       ?= $(PROGRAMS)
MODULE_DIR             ?= kernel-module
prefix                 ?= /usr
bindir                 ?= $(prefix)/bin
includedir             ?= $(prefix)/include
sysconfdir             ?= /etc
nonarch_base_libdir    ?= /lib
nonarch_libdir         ?= $(prefix)/lib
systemd_system_unitdir ?= $(nonarch_base_libdir)/systemd/system
systemd_generatordir   ?= $(nonarch_base_libdir)/systemd/system-generators
systemd_presetdir      ?= $(nonarch_base_libdir)/systemd/system-preset
udevrulesdir           ?= $(nonarch_base_libdir)/udev/rules.d
tmpfilesdir            ?= $(nonarch_libdir)/tmpfiles.d
sysusersdir            ?= $(nonarch_libdir)/sysusers.d
modulesloaddir         ?= $(nonarch_libdir)/modules-load.d
# The group that may use HTT touch displays' hidraw nodes (91-htt-touch.rules).
HTT_TOUCH_GROUP        ?= input

UNITS   := $(wildcard dist/systemd/*.service dist/systemd/*.socket)
CONFIGS := $(wildcard dist/config/*.conf)
# @bindir@ and friends in the installed files.
SUBST = sed -e 's|@bindir@|$(bindir)|g' -e 's|@systemd_system_unitdir@|$(systemd_system_unitdir)|g' \
	-e 's|@HTT_TOUCH_GROUP@|$(HTT_TOUCH_GROUP)|g'

install: install-bin install-module install-data

install-bin: $(addprefix $(BIN_DIR)/,$(INSTALL_PROGRAMS))
	install -d $(DESTDIR)$(bindir)
	for p in $(INSTALL_PROGRAMS); do install -m 0755 $(BIN_DIR)/$$p $(DESTDIR)$(bindir)/$$p || exit 1; done

# kbuild in MODULE_DIR (the sources; a recipe's copy of them): ARCH,
# CROSS_COMPILE, CC and the module class's other variables pass through.
module-kbuild:
	$(MAKE) -C $(MODULE_DIR) $(if $(KERNEL_SRC),KERNEL_SRC=$(KERNEL_SRC)) modules

install-module: module-kbuild
	$(MAKE) -C $(MODULE_DIR) $(if $(KERNEL_SRC),KERNEL_SRC=$(KERNEL_SRC)) \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(abspath $(DESTDIR))) modules_install
	install -D -m 0644 $(MODULE_DIR)/include/uapi/linux/virtio_loopback.h \
		$(DESTDIR)$(includedir)/linux/virtio_loopback.h

install-data:
	install -d $(DESTDIR)$(systemd_system_unitdir) $(DESTDIR)$(systemd_generatordir) \
		$(DESTDIR)$(systemd_presetdir) $(DESTDIR)$(udevrulesdir) $(DESTDIR)$(tmpfilesdir) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(modulesloaddir) $(DESTDIR)$(sysconfdir)/virtio-loopback
	for f in $(UNITS); do $(SUBST) $$f >$(DESTDIR)$(systemd_system_unitdir)/$${f##*/} && \
		chmod 0644 $(DESTDIR)$(systemd_system_unitdir)/$${f##*/} || exit 1; done
	$(SUBST) dist/systemd/virtio-loopback-generator >$(DESTDIR)$(systemd_generatordir)/virtio-loopback-generator
	chmod 0755 $(DESTDIR)$(systemd_generatordir)/virtio-loopback-generator
	install -m 0644 dist/systemd/virtio-loopback.preset $(DESTDIR)$(systemd_presetdir)/80-virtio-loopback.preset
	install -m 0644 dist/udev/90-virtio-loopback.rules dist/udev/92-gpiochip.rules $(DESTDIR)$(udevrulesdir)/
	$(SUBST) dist/udev/91-htt-touch.rules >$(DESTDIR)$(udevrulesdir)/91-htt-touch.rules
	chmod 0644 $(DESTDIR)$(udevrulesdir)/91-htt-touch.rules
	install -m 0644 dist/tmpfiles.d/virtio-loopback.conf $(DESTDIR)$(tmpfilesdir)/virtio-loopback.conf
	install -m 0644 dist/sysusers.d/virtio-loopback.conf $(DESTDIR)$(sysusersdir)/virtio-loopback.conf
	install -m 0644 dist/modules-load.d/virtio-loopback.conf $(DESTDIR)$(modulesloaddir)/virtio-loopback.conf
	install -m 0644 $(CONFIGS) $(DESTDIR)$(sysconfdir)/virtio-loopback/

# The README's test command: unit + integration, then the QEMU guest tests.
# Both halves run even if the first fails; the last line sums them up.
test: deps all
	@# The system test's Debian root file systems (cached outside the tree) are
	@# built meanwhile at the lowest priority, mostly in the CPU time the
	@# earlier tests leave idle; the system test waits for them.
	@mkdir -p tests/qemu/work; (nice -n 19 tests/system/mkrootfs.sh amd64; \
		nice -n 19 tests/system/mkrootfs.sh arm64) >tests/qemu/work/rootfs-build.log 2>&1 &
	@rm -f $(VM_SUMMARIES); rc=0; \
	$(MAKE) --no-print-directory dotnet-test || rc=1; \
	$(MAKE) --no-print-directory vm-test || rc=1; \
	$(MAKE) --no-print-directory yocto-test || rc=1; \
	scripts/test-summary.sh $(RESULTS) $(VM_SUMMARIES) $(YOCTO_SUMMARY) || rc=1; \
	exit $$rc

# One test project at a time, each with its own TRX name: TRX files named by
# time alone collide when two projects finish within the same second.
TEST_PROJECTS := $(sort $(wildcard tests/*.Tests/*.Tests.csproj))
dotnet-test:
	rm -rf $(RESULTS)
	$(DOTNET) build $(SOLUTION) -c $(CONFIGURATION) --nologo -v q
	@rc=0; for p in $(TEST_PROJECTS); do \
		$(DOTNET) test $$p -c $(CONFIGURATION) --nologo --no-build \
			--results-directory $(RESULTS) --logger "trx;LogFileName=$$(basename $$p .csproj).trx" \
			--logger "console;verbosity=normal" || rc=1; \
	done; exit $$rc

# The guest tests: rng + blk under QEMU vhost-user (and blk's discard, write
# zeroes, cache mode, live resize, and a back end killed and restarted under
# I/O), input inside a guest, touch sensitivity against a uhid display
# double (natively and through vhost-user-input --hidraw, over our front end
# and over the loopback), the arm64 programs inside an aarch64 guest, and the
# loopback: the guest kernel's own virtio_rng, virtio_blk and virtio_input
# through virtio_loopback.ko and the adapter, with our back ends and
# qemu-storage-daemon, under faults, on Debian 5.10/6.1/6.12 amd64 and 6.1
# arm64 (tests/qemu/run-loopback-kernels.sh, one summary per kernel); our
# vhost-user-sound under trixie's QEMU vhost-user-snd-pci (run-vm-sound-test.sh);
# vhost-user-gpio under trixie's QEMU vhost-user-gpio-pci (run-vm-gpio-test.sh); and
# third-party back ends that provide no config space behind the adapter's
# device profiles (Debian's virtiofsd in C and in Rust, DPDK's vhost PMD) on
# 6.1 amd64 and arm64, with libblkio as a second front end for our vhost-user-blk
# (tests/qemu/run-peer-kernels.sh). Before the bench smoke, the bench report's
# summing up of rounds on made-up lines (tests/bench/report-test.sh, no guest).
VM_SUMMARIES := tests/qemu/work/vm-tests/summary tests/qemu/work/blk-features/summary \
	tests/qemu/work/blk-restart/summary \
	tests/qemu/work/input-test/summary tests/qemu/work/arm64-test/summary \
	tests/qemu/work/touch-test/summary tests/qemu/work/touch-test-loopback/summary \
	tests/qemu/work/loopback-*/summary tests/qemu/work/bench/summary \
	tests/qemu/work/module/summary tests/qemu/work/hostile/summary \
	tests/qemu/work/debug-*/*.summary tests/qemu/work/system-*/summary \
	tests/qemu/work/peers-*/summary tests/qemu/work/blkio/summary tests/qemu/work/vm-sound/summary \
	tests/qemu/work/vm-gpio/summary tests/qemu/work/bench-report/summary
vm-test: $(BINARIES) module
	@rc=0; \
	tests/qemu/run-vm-tests.sh || rc=1; \
	tests/qemu/run-blk-features-test.sh || rc=1; \
	tests/qemu/run-blk-restart-test.sh || rc=1; \
	tests/qemu/run-input-test.sh || rc=1; \
	tests/qemu/run-touch-test.sh || rc=1; \
	RELAY=loopback tests/qemu/run-touch-test.sh || rc=1; \
	tests/qemu/run-arm64-test.sh || rc=1; \
	mkdir -p tests/qemu/work/module; \
	QEMU_WORK_DIR=$(CURDIR)/tests/qemu/work/module kernel-module/tests/run-qemu-test.sh \
		>tests/qemu/work/module/run.log 2>&1 || rc=1; \
	tail -n 1 tests/qemu/work/module/run.log; \
	QEMU_WORK_DIR=$(CURDIR)/tests/qemu/work/hostile kernel-module/tests/run-hostile.sh \
		>tests/qemu/work/hostile.log 2>&1 || rc=1; \
	tail -n 1 tests/qemu/work/hostile.log; \
	kernel-module/tests/run-debug-kernel.sh || rc=1; \
	tests/qemu/run-loopback-kernels.sh || rc=1; \
	tests/qemu/run-vm-sound-test.sh || rc=1; \
	tests/qemu/run-vm-gpio-test.sh || rc=1; \
	tests/qemu/run-peer-kernels.sh || rc=1; \
	tests/bench/report-test.sh >tests/qemu/work/bench-report.log 2>&1 || rc=1; \
	tail -n 1 tests/qemu/work/bench-report.log; \
	$(MAKE) --no-print-directory bench-smoke || rc=1; \
	$(MAKE) --no-print-directory system-test || rc=1; \
	exit $$rc

# The installed system (tests/system/): the units' exposure scores, then a
# Debian bookworm root file system (mmdebstrap, cached) with what `make install`
# puts there, booted with systemd under qemu-system-x86_64 and
# qemu-system-aarch64 -M virt (SYSTEM_ARCHES, default both).
SYSTEM_ARCHES ?= amd64 arm64
system-test: $(BINARIES)
	tests/system/run-system-test.sh $(SYSTEM_ARCHES)

# The Yocto/AGL layer checks CI can run (the BitBake parse itself is manual:
# tests/yocto/bitbake-parse.sh).
YOCTO_SUMMARY := tests/qemu/work/yocto/summary
yocto-test:
	tests/yocto/run-yocto-tests.sh

vm-test-qsd:
	BLK_BACKEND=qsd tests/qemu/run-vm-tests.sh

demo: deps all module
	tests/qemu/demo.sh

# The benchmark (docs/PERFORMANCE.md): the peer table on Debian 6.12 (brd,
# the loopback with our back end and with qemu-storage-daemon, VDUSE, NBD;
# BENCH_ROUNDS interleaved rounds, default 3, and their medians),
# the 6.1 run (brd, the loopback, the VM path; rng and input through the
# loopback) and the arm64 run (brd, the loopback). The 6.12 and arm64 kernels
# are fetched and the module built for them when missing. Writes docs/bench/.
# bench-smoke is the 1-second version, without warm-up and in one round, that make
# test runs (into tests/qemu/work/bench/out): the peers run (every blk subject) and the
# VM run, to keep CI's time; the 6.1 loopback run (rng, input) and the arm64
# run by hand, for example BENCH_RUNS="loopback arm64" make bench-smoke.
bench: deps all module
	tests/bench/run-bench.sh

# What a change of the module costs: this tree's module against BENCH_PREV_REF
# (a git ref), and call_context=1, alternating (tests/bench/run-bench-modules.sh);
# with BENCH_PREV_STACK=1, this tree's module, adapter and back end against the
# ref's. It builds both modules for its kernel (KERNEL_VERSION: any fetched one).
bench-modules: deps all
	tests/bench/run-bench-modules.sh

bench-smoke: all module
	BENCH_RUNTIME=1 BENCH_RAMP=0 BENCH_EVENTS=500 BENCH_ROUNDS="$${BENCH_ROUNDS:-1}" BENCH_RUNS="$${BENCH_RUNS:-peers vm}" \
		BENCH_OUT=tests/qemu/work/bench/out tests/bench/run-bench.sh

demo-vm: deps all
	tests/qemu/demo-vm.sh

arm64-smoke:
	bash -c '. tests/qemu/lib.sh && boot_arm64 && summary'

clean:
	rm -rf $(OUT) $(PUBLISH_DIR) $(RESULTS) .cache tests/qemu/work
	$(DOTNET) clean $(SOLUTION) -nologo -v q || true
