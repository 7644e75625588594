#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The VM path of vhost-user-gpio: QEMU's vhost-user-gpio-pci front end on our
# back end, for a guest whose kernel has gpio-virtio (the debug
# kernel of kernel-module/scripts/build-debug-kernel.sh: Debian's own kernels
# build no gpio-virtio). This host has no GPIO chip and cannot load gpio-sim,
# so the back end serves its software chip (--chip wired:8: lines wired in
# pairs, 2k drives 2k+1); the loopback test (run-loopback-test.sh gpio) serves
# a real gpio-sim chip through the same logic. Bookworm's QEMU 7.2 has
# vhost-user-gpio-pci but never offers VIRTIO_GPIO_F_IRQ to the driver (its
# front end passes on only the feature bits its own device model holds), so
# lines work and interrupts do not; trixie's QEMU 10.0 passes the back end's
# features on, and runs here from a private root (fetch-trixie-qemu.sh).
#
# Guest checks are in guest/vm-gpio.sh. Host check, after the guest: the back
# end is alive, refused nothing, and exits 0 on SIGTERM.
#
# Environment: KERNEL_VERSION (default the debug kernel, built if missing),
# BIN_DIR (default out/linux-x64), plus the lib.sh tunables.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# KASAN, lockdep and kmemleak make the debug kernel slower under TCG.
export GUEST_TIMEOUT=${GUEST_TIMEOUT:-600} GUEST_MEM=${GUEST_MEM:-1024}
. "$HERE/lib.sh"
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"

if [[ -z ${KERNEL_VERSION:-} ]]; then
    KERNEL_VERSION=$("$REPO_ROOT/kernel-module/scripts/build-debug-kernel.sh")
    export KERNEL_VERSION
fi
"$HERE/fetch-trixie-qemu.sh" || die "trixie's QEMU cannot be fetched or run"
export QEMU_X86=${QEMU_TRIXIE_DIR:-$(dirname "$KERNELS_DIR")/qemu-trixie}/qemu-system-x86_64

begin_run vm-gpio
find_kernel
[[ -x $BIN_DIR/vhost-user-gpio ]] || die "$BIN_DIR/vhost-user-gpio missing: run 'make'"
gpiod_kit
log "kernel $KVER, $("$QEMU_X86" --version | head -n 1)"

W=$QEMU_WORK_DIR
start_backend gpio "$W/gpio.sock" "$BIN_DIR/vhost-user-gpio" --socket-path "$W/gpio.sock" \
    --chip wired:8 --log-level debug
GPIO_PID=$BACKEND_PID
GUEST_QEMU_ARGS=(-chardev "socket,id=gpio0,path=$W/gpio.sock" -device vhost-user-gpio-pci,chardev=gpio0)
GUEST_MODULES="virtio_pci gpio-virtio" \
    run_guest vm-gpio "$HERE/guest/vm-gpio.sh" "${GPIOD_KIT[@]}" || true

refused=$(grep -c 'refused with ERR' "$W/gpio.out" || true)
if kill -0 "$GPIO_PID" 2>/dev/null && [[ $refused == 0 ]]; then
    host_result vm_gpio_backend PASS "alive after the guest, no request refused; $(grep -o '[0-9]* interrupt(s) delivered.*' "$W/gpio.out" | tail -n 1)"
else
    host_result vm_gpio_backend FAIL "alive: $(kill -0 "$GPIO_PID" 2>/dev/null && echo yes || echo no), $refused refused: $(grep -i 'refused\|exception\|broken' "$W/gpio.out" | head -n 3)"
fi
stop_process gpio "$GPIO_PID" || true
BACKEND_PIDS=()
end_run 0
