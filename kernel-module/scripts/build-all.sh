#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build virtio_loopback.ko with W=1 against every kernel tree available:
#   - /usr/src/linux-headers-*-{amd64,arm64} installed on the host, and
#   - $KERNELS_DIR/*/build from fetch-kernels.sh (default: scripts/kernels-dir.sh).
# Each build runs in its own copy of the sources under $BUILD_DIR, so builds
# never clash; results go to <repo>/out/modules/<kernelrelease>/. arm64 trees
# are cross-built with CROSS_COMPILE=aarch64-linux-gnu-. Any compiler warning
# fails the build (set ALLOW_WARNINGS=1 to only report them).
#
# Usage: build-all.sh [KERNEL_TREE...]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
REPO_ROOT=$(cd "$SRC/.." && pwd)
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
BUILD_DIR=${BUILD_DIR:-${TMPDIR:-/tmp}/virtio-loopback-build}
OUT_DIR=${OUT_DIR:-$REPO_ROOT/out/modules}
JOBS=${JOBS:-2}

log() { printf '[build-all] %s\n' "$*" >&2; }

tree_arch() {
	local cfg=$1/.config
	if grep -q '^CONFIG_ARM64=y' "$cfg"; then echo arm64
	elif grep -q '^CONFIG_X86_64=y' "$cfg"; then echo x86_64
	else echo unknown
	fi
}

build_one() {
	local tree arch krel work log_file
	tree=$(cd "$1" && pwd -P)
	arch=$(tree_arch "$tree")
	# Debian trees name the real release in .kernelvariables.
	krel=$(sed -n 's/^override KERNELRELEASE = //p' "$tree/.kernelvariables" 2>/dev/null)
	[[ -n $krel ]] || krel=$(cat "$tree/include/config/kernel.release")
	work=$BUILD_DIR/$krel
	rm -rf "$work"
	mkdir -p "$work"
	cp -r "$SRC/Kbuild" "$SRC/Makefile" "$SRC"/*.c "$SRC"/*.h "$SRC/include" "$work/"
	local CC_CHECK=gcc
	[[ $arch == arm64 ]] && CC_CHECK=aarch64-linux-gnu-gcc
	local -a mk=(make -C "$work" KERNEL_SRC="$tree" W=1 -j"$JOBS")
	# The trees name the compiler their kernel was built with (gcc-10,
	# gcc-14, ...); build with the host's gcc instead. A module built by a
	# different gcc major loads fine; the headers only warn about it.
	case $arch in
		x86_64) mk+=(CC=gcc) ;;
	esac
	# Flags the tree's configured compiler had and the host's gcc lacks:
	# fall back to the equivalent older spelling (-falign-functions).
	if [[ $($CC_CHECK -fmin-function-alignment=16 -x c -c -o /dev/null /dev/null 2>&1) ]]; then
		mk+=(CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=)
	fi
	# Module BTF needs pahole (dwarves); without it, skip BTF.
	command -v pahole >/dev/null || mk+=(CONFIG_DEBUG_INFO_BTF_MODULES=)
	case $arch in
		x86_64) ;;
		arm64) mk+=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- CC=aarch64-linux-gnu-gcc) ;;
		*) log "$krel: unknown architecture, skipped"; return 1 ;;
	esac
	log_file=$work/build.log
	if ! "${mk[@]}" modules >"$log_file" 2>&1; then
		cat "$log_file" >&2
		log "$krel ($arch): FAILED"
		return 1
	fi
	if grep -E -q 'warning:|error:' "$log_file"; then
		grep -E 'warning:|error:' "$log_file" >&2
		if [[ ${ALLOW_WARNINGS:-0} != 1 ]]; then
			log "$krel ($arch): warnings"
			return 1
		fi
	fi
	mkdir -p "$OUT_DIR/$krel"
	cp "$work/virtio_loopback.ko" "$OUT_DIR/$krel/"
	log "$krel ($arch): OK -> $OUT_DIR/$krel/virtio_loopback.ko ($(modinfo -F vermagic "$OUT_DIR/$krel/virtio_loopback.ko"))"
}

trees=("$@")
if [[ ${#trees[@]} -eq 0 ]]; then
	for t in /usr/src/linux-headers-*-amd64 /usr/src/linux-headers-*-arm64; do
		[[ -f $t/.config ]] && trees+=("$t")
	done
	# Complete cache entries only (a debug kernel may be building).
	for t in "$KERNELS_DIR"/*/build; do
		[[ -f $t/.config && -f $(dirname "$t")/.done ]] && trees+=("$t")
	done
fi
[[ ${#trees[@]} -gt 0 ]] || { log "no kernel trees found"; exit 1; }
fail=0
for t in "${trees[@]}"; do
	build_one "$t" || fail=1
done
exit $fail
