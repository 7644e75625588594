#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The hostile back-end suite: one vl-hostile attack per guest boot
# (guest-hostile.sh), on one kernel. Each boot has its own watchdog: the
# guest bounds every wait and dumps blocked tasks on a hang, and the host
# kills a guest that does not finish in GUEST_TIMEOUT (default 150 s).
#
# Usage: run-hostile.sh [KERNELRELEASE]   (default: the newest 6.1 in /boot)
# KERNELRELEASE may be any kernel find_kernel knows, arm64 included.
# Environment: VL_ATTACKS (default: all thirteen), MODULE (default
# out/modules/<release>/virtio_loopback.ko, e.g. an older build to compare).
# Results: $QEMU_WORK_DIR/summary.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
export QEMU_WORK_DIR=${QEMU_WORK_DIR:-/tmp/vl-hostile-work}
export GUEST_TIMEOUT=${GUEST_TIMEOUT:-150}
# shellcheck source=../../tests/qemu/lib.sh
. "$REPO_ROOT/tests/qemu/lib.sh"
[[ $# -gt 0 ]] && export KERNEL_VERSION=$1
find_kernel
ko=${MODULE:-$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko}
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
mkdir -p "$QEMU_WORK_DIR"
cp "$ko" "$QEMU_WORK_DIR/virtio_loopback.ko"
chmod +x "$QEMU_WORK_DIR/virtio_loopback.ko"
cp "$HERE/vl-guest-lib.sh" "$QEMU_WORK_DIR/"
: >"$QEMU_WORK_DIR/vl-test.env"
chmod +x "$QEMU_WORK_DIR/vl-guest-lib.sh" "$QEMU_WORK_DIR/vl-test.env"

cc=gcc
[[ ${KARCH:-amd64} == arm64 ]] && cc=aarch64-linux-gnu-gcc
$cc -static -O2 -Wall -Wextra -Werror -I"$HERE/../include/uapi" \
	-o "$QEMU_WORK_DIR/vl-hostile" "$HERE/vl-hostile.c" "$HERE/vl-test-lib.c" -lpthread

for a in ${VL_ATTACKS:-next-loop next-clear bad-id dup-id bad-len idx-jump outlive call-race refused silent-console silent-console-port console-swap console-bad-id}; do
	GUEST_APPEND="vlattack=$a" GUEST_MODULES="virtio_rng virtio_blk virtio_console" \
		run_guest "vh-$a-$KVER" "$HERE/guest-hostile.sh" \
		"$QEMU_WORK_DIR/vl-hostile:/bin/vl-hostile" \
		"$QEMU_WORK_DIR/virtio_loopback.ko:/lib/modules/virtio_loopback.ko" \
		"$QEMU_WORK_DIR/vl-guest-lib.sh:/bin/vl-guest-lib.sh" \
		"$QEMU_WORK_DIR/vl-test.env:/bin/vl-test.env" || true
done
write_summary "$QEMU_WORK_DIR/summary"
