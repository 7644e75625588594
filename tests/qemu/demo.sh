#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make demo: the main job. Boot a QEMU guest (TCG) whose own kernel drivers
# virtio_rng, virtio_blk and virtio_input are served by our unmodified
# vhost-user back ends through virtio_loopback.ko and virtio-loopback-adapter
# (the Non-Virt AGL path), and print what each device did.
# make demo-vm shows the same back ends behind QEMU's vhost-user front end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
begin_run demo
find_kernel
ko=${MODULE:-$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko}
[[ -f $ko ]] || die "$ko missing: run 'make module'"
cp "$ko" "$W/virtio_loopback.ko"; chmod +x "$W/virtio_loopback.ko"
kit=("$W/virtio_loopback.ko:/lib/modules/virtio_loopback.ko")
for p in virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input uinput-feeder evdev-inspect; do
    [[ -x $BIN_DIR/$p ]] || die "$BIN_DIR/$p missing: run 'make'"
    kit+=("$BIN_DIR/$p")
done
echo "== virtio-loopback demo: guest kernel $KVER under $( [[ $KARCH == arm64 ]] && echo qemu-system-aarch64 || echo qemu-system-x86_64) (TCG)"
echo "== booting (a few seconds), then the guest's own drivers meet our back ends"
rc=0
GUEST_MODULES="virtio_rng virtio_blk virtio_input evdev uinput ext4 crc32c_generic" \
    run_guest demo "$QEMU_LIB_DIR/guest/demo.sh" "${kit[@]}" 2>"$W/harness.err" || rc=1
sed -n 's/^DEMO /   guest| /p' "$GUEST_LOG"
echo "== guest run ${GUEST_RUN_MS} ms, log $GUEST_LOG"
if [[ $rc != 0 ]]; then
    cat "$W/harness.err" >&2
    echo "== demo FAILED"
    exit 1
fi
echo "== demo OK"
