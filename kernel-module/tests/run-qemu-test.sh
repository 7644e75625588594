#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot a Debian amd64 kernel in QEMU (TCG) with virtio_loopback.ko and the
# static test programs, one guest each: guest-rng.sh, guest-input.sh,
# guest-blk.sh, guest-fuzz.sh and guest-churn.sh. Uses tests/qemu/lib.sh.
#
# Usage: run-qemu-test.sh [KERNELRELEASE]   (default: the newest 6.1 in /boot)
# KERNELRELEASE is an installed kernel (/boot, /lib/modules) or one unpacked
# by scripts/fetch-kernels.sh (or built by build-debug-kernel.sh) under
# $KERNELS_DIR/<release>/root (amd64).
# The module must be built for that kernel: out/modules/<release>/.
# Environment: VL_GUESTS (default "rng input blk fuzz churn") picks guests;
# VL_FUZZ_OPS and VL_FUZZ_SEED are passed to vl-fuzz.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
export QEMU_WORK_DIR=${QEMU_WORK_DIR:-/tmp/vl-qemu-work}
# shellcheck source=../../tests/qemu/lib.sh
. "$REPO_ROOT/tests/qemu/lib.sh"
[[ $# -gt 0 ]] && export KERNEL_VERSION=$1
find_kernel
ko=$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
mkdir -p "$QEMU_WORK_DIR"
# build_kit wants executable inputs.
cp "$ko" "$QEMU_WORK_DIR/virtio_loopback.ko"
chmod +x "$QEMU_WORK_DIR/virtio_loopback.ko"
ko=$QEMU_WORK_DIR/virtio_loopback.ko

# The guest scripts' helpers and settings travel next to the programs.
printf 'VL_FUZZ_OPS=%s\nVL_FUZZ_SEED=%s\n' "${VL_FUZZ_OPS:-}" "${VL_FUZZ_SEED:-}" \
	>"$QEMU_WORK_DIR/vl-test.env"
cp "$HERE/vl-guest-lib.sh" "$QEMU_WORK_DIR/"
chmod +x "$QEMU_WORK_DIR/vl-test.env" "$QEMU_WORK_DIR/vl-guest-lib.sh"

# prog NAME: build the static test program NAME into the work folder and
# print its kit entry.
prog() {
	gcc -static -O2 -Wall -Wextra -Werror -I"$HERE/../include/uapi" \
		-o "$QEMU_WORK_DIR/$1" "$HERE/$1.c" "$HERE/vl-test-lib.c"
	echo "$QEMU_WORK_DIR/$1:/bin/$1"
}

# guest NAME MODULES [PROGRAM...]: run guest-NAME.sh with vl-NAME-test (or
# vl-NAME) and the other PROGRAMs.
guest() {
	local name=$1 modules=$2 p=vl-$1-test
	shift 2
	[[ -f $HERE/$p.c ]] || p=vl-$name
	local -a kit=("$(prog "$p")")
	for p in "$@"; do kit+=("$(prog "$p")"); done
	GUEST_MODULES=$modules run_guest "vl-$name-$KVER" "$HERE/guest-$name.sh" \
		"${kit[@]}" "$ko:/lib/modules/virtio_loopback.ko" \
		"$QEMU_WORK_DIR/vl-guest-lib.sh:/bin/vl-guest-lib.sh" \
		"$QEMU_WORK_DIR/vl-test.env:/bin/vl-test.env" || true
}

for g in ${VL_GUESTS:-rng input blk fuzz churn}; do
	case $g in
		rng|fuzz) guest "$g" virtio_rng ;;
		churn) guest churn virtio_rng vl-rng-test ;;
		input) guest input "virtio_input evdev" ;;
		blk) guest blk virtio_blk ;;
		*) die "unknown guest $g" ;;
	esac
done
write_summary "$QEMU_WORK_DIR/summary"
