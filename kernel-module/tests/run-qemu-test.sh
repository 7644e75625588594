#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot a Debian amd64 kernel in QEMU (TCG) with virtio_loopback.ko and the
# static vl-{rng,input,blk}-test, and run guest-{rng,input,blk}.sh. Uses tests/qemu/lib.sh.
#
# Usage: run-qemu-test.sh [KERNELRELEASE]   (default: the newest 6.1 in /boot)
# KERNELRELEASE is an installed kernel (/boot, /lib/modules) or one unpacked
# by scripts/fetch-kernels.sh under .cache/kernels/<release>/root (amd64).
# The module must be built for that kernel: out/modules/<release>/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
export QEMU_WORK_DIR=${QEMU_WORK_DIR:-/tmp/vl-qemu-work}
# shellcheck source=../../tests/qemu/lib.sh
. "$REPO_ROOT/tests/qemu/lib.sh"
KERNELS_DIR=${KERNELS_DIR:-$REPO_ROOT/.cache/kernels}
if [[ $# -gt 0 && ! -e /boot/vmlinuz-$1 && -d $KERNELS_DIR/$1/root ]]; then
	# A fetched kernel: point lib.sh at its unpacked tree.
	KVER=$1
	KROOT=$KERNELS_DIR/$1/root
	KERNEL=$KROOT/boot/vmlinuz-$KVER
	[[ -e $KROOT/lib || ! -d $KROOT/usr/lib/modules ]] || ln -s usr/lib "$KROOT/lib"
	MODDIR=$KROOT/lib/modules/$KVER
	[[ -f $MODDIR/modules.dep ]] || depmod -b "$KROOT" "$KVER"
	resolve_modules() {
		local m
		for m in "$@"; do
			modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" ||
				die "module $m not found for $KVER"
		done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
	}
else
	[[ $# -gt 0 ]] && export KERNEL_VERSION=$1
	find_kernel
fi
ko=$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
bin=$QEMU_WORK_DIR/vl-rng-test
ibin=$QEMU_WORK_DIR/vl-input-test
bbin=$QEMU_WORK_DIR/vl-blk-test
mkdir -p "$QEMU_WORK_DIR"
# build_kit wants executable inputs.
cp "$ko" "$QEMU_WORK_DIR/virtio_loopback.ko"
chmod +x "$QEMU_WORK_DIR/virtio_loopback.ko"
ko=$QEMU_WORK_DIR/virtio_loopback.ko
gcc -static -O2 -Wall -Wextra -Werror -I"$HERE/../include/uapi" \
    -o "$bin" "$HERE/vl-rng-test.c"
gcc -static -O2 -Wall -Wextra -Werror -I"$HERE/../include/uapi" \
    -o "$ibin" "$HERE/vl-input-test.c"
gcc -static -O2 -Wall -Wextra -Werror -I"$HERE/../include/uapi" \
    -o "$bbin" "$HERE/vl-blk-test.c"
GUEST_MODULES="virtio_rng" run_guest "vl-rng-$KVER" "$HERE/guest-rng.sh" \
    "$bin:/bin/vl-rng-test" "$ko:/lib/modules/virtio_loopback.ko" || true
GUEST_MODULES="virtio_input evdev" run_guest "vl-input-$KVER" "$HERE/guest-input.sh" \
    "$ibin:/bin/vl-input-test" "$ko:/lib/modules/virtio_loopback.ko" || true
GUEST_MODULES="virtio_blk" run_guest "vl-blk-$KVER" "$HERE/guest-blk.sh" \
    "$bbin:/bin/vl-blk-test" "$ko:/lib/modules/virtio_loopback.ko" || true
summary
