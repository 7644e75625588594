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
PROGRAMS   := vhost-user-rng vhost-user-blk vhost-user-input virtio-loopback-adapter touch-sensitivity
# Test tools from tests/tools/<name>/<name>.csproj, published when present.
TEST_TOOLS := vhost-user-probe uinput-feeder evdev-inspect htt-double
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
	strace gnuplot-nox

# ---------------------------------------------------------------------------

TOOLS_PRESENT := $(foreach t,$(TEST_TOOLS),$(if $(wildcard tests/tools/$(t)/$(t).csproj),$(t)))
project_of     = $(if $(filter $(1),$(PROGRAMS)),src/$(1)/$(1).csproj,tests/tools/$(1)/$(1).csproj)

# Anything that can change a published binary (the probe uses TestDriver).
# Not packages.lock.json: restore rewrites it, and the package versions come
# from the props files.
SOURCES := $(shell find src tests/tools tests/TestDriver -type f \( -name '*.cs' -o -name '*.csproj' \) \
	-not -path '*/obj/*' -not -path '*/bin/*' 2>/dev/null) \
	$(wildcard Directory.*.props Directory.*.targets global.json nuget.config)

BINARIES := $(foreach r,$(RIDS),$(foreach p,$(PROGRAMS) $(TOOLS_PRESENT),$(OUT)/$(r)/$(p)))

.PHONY: all test dotnet-test vm-test vm-test-qsd demo demo-vm bench bench-smoke deps arm64-smoke clean module yocto-test
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
# linux-headers-amd64.
GUEST_KVER    ?= $(or $(KERNEL_VERSION),$(patsubst /boot/vmlinuz-%,%,$(lastword $(shell ls /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sort -V))))
MODULE_KO     := $(OUT)/modules/$(GUEST_KVER)/virtio_loopback.ko
MODULE_SOURCES := $(wildcard kernel-module/*.c kernel-module/*.h kernel-module/include/*/*.h \
	kernel-module/include/*/*/*.h kernel-module/Kbuild kernel-module/Makefile kernel-module/scripts/build-all.sh)

module: $(MODULE_KO)

$(MODULE_KO): $(MODULE_SOURCES)
	@test -n "$(GUEST_KVER)" || { echo "no /boot/vmlinuz-6.1.*-amd64: run 'make deps'"; exit 1; }
	@test -d /usr/src/linux-headers-$(GUEST_KVER) || { echo "/usr/src/linux-headers-$(GUEST_KVER) missing: run 'make deps'"; exit 1; }
	OUT_DIR=$(CURDIR)/$(OUT)/modules kernel-module/scripts/build-all.sh /usr/src/linux-headers-$(GUEST_KVER)
	@test -f $@ && touch $@

# The README's test command: unit + integration, then the QEMU guest tests.
# Both halves run even if the first fails; the last line sums them up.
test: deps all
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
# arm64 (tests/qemu/run-loopback-kernels.sh, one summary per kernel); and
# third-party back ends that provide no config space behind the adapter's
# device profiles (Debian's virtiofsd, DPDK's vhost PMD) on 6.1 amd64 and
# arm64, with libblkio as a second front end for our vhost-user-blk
# (tests/qemu/run-peer-kernels.sh).
VM_SUMMARIES := tests/qemu/work/vm-tests/summary tests/qemu/work/blk-features/summary \
	tests/qemu/work/blk-restart/summary \
	tests/qemu/work/input-test/summary tests/qemu/work/arm64-test/summary \
	tests/qemu/work/touch-test/summary tests/qemu/work/touch-test-loopback/summary \
	tests/qemu/work/loopback-*/summary tests/qemu/work/bench/summary \
	tests/qemu/work/module/summary tests/qemu/work/peers-*/summary tests/qemu/work/blkio/summary
vm-test: $(BINARIES) $(MODULE_KO)
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
	tail -n 1 tests/qemu/work/module/run.log | tee tests/qemu/work/module/summary; \
	tests/qemu/run-loopback-kernels.sh || rc=1; \
	tests/qemu/run-peer-kernels.sh || rc=1; \
	$(MAKE) --no-print-directory bench-smoke || rc=1; \
	exit $$rc

# The Yocto/AGL layer checks CI can run (the BitBake parse itself is manual:
# tests/yocto/bitbake-parse.sh).
YOCTO_SUMMARY := tests/qemu/work/yocto/summary
yocto-test:
	tests/yocto/run-yocto-tests.sh

vm-test-qsd:
	BLK_BACKEND=qsd tests/qemu/run-vm-tests.sh

demo: deps all $(MODULE_KO)
	tests/qemu/demo.sh

# The benchmark (docs/PERFORMANCE.md): every blk workload on brd, the
# loopback with our back end and with qemu-storage-daemon, and the VM path;
# rng and input through the loopback. Writes docs/bench/. bench-smoke is the
# 1-second version that make test runs (into tests/qemu/work/bench/out).
bench: deps all $(MODULE_KO)
	tests/bench/run-bench.sh

bench-smoke: all $(MODULE_KO)
	BENCH_RUNTIME=1 BENCH_EVENTS=500 BENCH_OUT=tests/qemu/work/bench/out tests/bench/run-bench.sh

demo-vm: deps all
	tests/qemu/demo-vm.sh

arm64-smoke:
	bash -c '. tests/qemu/lib.sh && boot_arm64 && summary'

clean:
	rm -rf $(OUT) $(PUBLISH_DIR) $(RESULTS) .cache tests/qemu/work
	$(DOTNET) clean $(SOLUTION) -nologo -v q || true
