#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Loopback level: boot the Debian amd64 kernel (TCG) with virtio_loopback.ko,
# our vhost-user back ends and virtio-loopback-adapter, and let the guest's
# own virtio drivers use the back ends (guest/loopback-*.sh).
#
# Usage: run-loopback-test.sh [rng|blk]...   (default: rng blk)
# Environment: BIN_DIR (default out/linux-x64; needs virtio-loopback-adapter,
# vhost-user-rng, vhost-user-blk), KERNEL_VERSION, MODULE (default
# out/modules/<kver>/virtio_loopback.ko), plus the lib.sh knobs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
begin_run loopback
find_kernel
ko=${MODULE:-$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko}
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
adapter=$BIN_DIR/virtio-loopback-adapter
[[ -x $adapter ]] || die "$adapter missing: run 'make' first"
# build_kit wants executable inputs.
cp "$ko" "$QEMU_WORK_DIR/virtio_loopback.ko"
chmod +x "$QEMU_WORK_DIR/virtio_loopback.ko"
ko=$QEMU_WORK_DIR/virtio_loopback.ko

rc=0
tests=("$@")
[[ ${#tests[@]} -gt 0 ]] || tests=(rng blk)
for t in "${tests[@]}"; do
    case $t in
        rng)
            [[ -x $BIN_DIR/vhost-user-rng ]] || die "$BIN_DIR/vhost-user-rng missing"
            GUEST_MODULES="virtio_rng" run_guest loopback-rng "$HERE/guest/loopback-rng.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "$adapter:/bin/virtio-loopback-adapter" \
                "$BIN_DIR/vhost-user-rng:/bin/vhost-user-rng" || rc=1
            ;;
        blk)
            [[ -x $BIN_DIR/vhost-user-blk ]] || die "$BIN_DIR/vhost-user-blk missing"
            GUEST_MODULES="virtio_blk ext4 crc32c_generic" run_guest loopback-blk "$HERE/guest/loopback-blk.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "$adapter:/bin/virtio-loopback-adapter" \
                "$BIN_DIR/vhost-user-blk:/bin/vhost-user-blk" || rc=1
            ;;
        *) die "unknown test '$t' (rng or blk)" ;;
    esac
done
end_run $rc
