#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest-rng.sh, guest-input.sh, guest-blk.sh, guest-fuzz.sh and
# guest-churn.sh checks on the Debian arm64 kernel under qemu-system-aarch64
# -M virt (TCG), through tests/qemu/lib.sh boot_arm64, all in one boot.
# Needs out/modules/<arm64 release>/virtio_loopback.ko (build-all.sh) and the
# arm64 kernel modules from fetch-kernels.sh bookworm:arm64.
# Environment: VL_GUESTS (default "rng input blk fuzz churn"), VL_FUZZ_OPS,
# VL_FUZZ_SEED as for run-qemu-test.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
export QEMU_WORK_DIR=${QEMU_WORK_DIR:-/tmp/vl-qemu-work}
# All guests share one boot: allow for five of them under TCG.
export GUEST_TIMEOUT=${GUEST_TIMEOUT:-900}
# shellcheck source=../../tests/qemu/lib.sh
. "$REPO_ROOT/tests/qemu/lib.sh"
fetch_arm64_kit
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
mods=$KERNELS_DIR/$ARM64_KVER/root/lib/modules/$ARM64_KVER
[[ -d $mods ]] || mods=$ARM64_MODDIR
ko=$REPO_ROOT/out/modules/$ARM64_KVER/virtio_loopback.ko
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
guests=${VL_GUESTS:-rng input blk fuzz churn}

w=$QEMU_WORK_DIR/arm64-kit
rm -rf "$w"
mkdir -p "$w"
cp "$ko" "$w/"
# virtio core and rng-core are built in on arm64; these are modules.
for m in drivers/char/hw_random/virtio-rng drivers/virtio/virtio_input drivers/input/evdev drivers/block/virtio_blk; do
	f=$(ls "$mods/kernel/$m.ko"* | head -n1)
	case $f in
		*.xz) xz -dc "$f" >"$w/$(basename "$m").ko" ;;
		*) cp "$f" "$w/$(basename "$m").ko" ;;
	esac
done
progs=()
for g in $guests; do
	cp "$HERE/guest-$g.sh" "$w/"
	progs+=("$w/guest-$g.sh")
done
# The test programs of those guests (churn also runs vl-rng-test).
for t in $(for g in $guests; do
		[[ -f $HERE/vl-$g-test.c ]] && echo "vl-$g-test" || echo "vl-$g"
		[[ $g == churn ]] && echo vl-rng-test
	done | sort -u); do
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror \
		-I"$HERE/../include/uapi" -o "$w/$t" "$HERE/$t.c" "$HERE/vl-test-lib.c"
	progs+=("$w/$t")
done
cp "$HERE/vl-guest-lib.sh" "$w/"
printf 'VL_FUZZ_OPS=%s\nVL_FUZZ_SEED=%s\n' "${VL_FUZZ_OPS:-}" "${VL_FUZZ_SEED:-}" >"$w/vl-test.env"
{
	echo '#!/bin/sh'
	echo '# SPDX-License-Identifier: GPL-2.0-only'
	for g in $guests; do sed -n 's/^# EXPECT:/# EXPECT:/p' "$HERE/guest-$g.sh"; done
	echo 'mkdir -p /lib/modules && ln -s /bin/virtio_loopback.ko /lib/modules/virtio_loopback.ko'
	echo 'for m in virtio-rng virtio_input evdev virtio_blk; do insmod /bin/$m.ko || echo "INIT insmod $m failed"; done'
	echo 'echo "INFO arch $(uname -m) kernel $(uname -r)"'
	for g in $guests; do echo "sh /bin/guest-$g.sh"; done
} >"$w/guest.sh"
chmod +x "$w"/*
boot_arm64 "$w/guest.sh" "$w"/virtio_loopback.ko "$w"/virtio-rng.ko \
	"$w"/virtio_input.ko "$w"/evdev.ko "$w"/virtio_blk.ko "${progs[@]}" \
	"$w/vl-guest-lib.sh" "$w/vl-test.env" || true
summary
