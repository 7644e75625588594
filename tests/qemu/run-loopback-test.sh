#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Loopback level: boot a Debian kernel (TCG) with virtio_loopback.ko, our
# vhost-user back ends and virtio-loopback-adapter, and let the guest's own
# virtio drivers use the back ends.
#
# Usage: run-loopback-test.sh [all|qsd|faults|signals|console|sound|gpio]...
#        (default: all qsd faults signals console)
#   all      rng + 2 blk + input at once through one adapter (guest/loopback-all.sh)
#   qsd      qemu-storage-daemon's vhost-user-blk export behind the adapter
#            (guest/loopback-qsd.sh)
#   faults   back end killed under write/verify, adapter killed, adapter
#            create/destroy churn (guest/loopback-faults.sh)
#   signals  adapter runs and blk write/verify while the adapter and the back
#            ends get SIGUSR1/SIGHUP/SIGCHLD every millisecond (guest/loopback-signals.sh)
#   console  our vhost-user-console, a console and a named serial port, 1 MiB
#            each way on both at once (guest/loopback-console.sh)
#   sound    our vhost-user-sound under aplay and arecord: a sine played into a
#            WAV file sample for sample, the pace of the device clock, capture
#            from a WAV file (guest/loopback-sound.sh; kernels with virtio_snd,
#            Debian 6.12, not 6.1)
#   gpio     our vhost-user-gpio on a gpio-sim chip, driven with libgpiod's
#            tools through gpio-virtio (guest/loopback-gpio.sh; kernels with
#            GPIO_SIM and GPIO_VIRTIO: Debian builds neither, the debug kernel
#            of kernel-module/scripts/build-debug-kernel.sh has both)
#
# Environment: LB_CHURN (adapter create/destroy cycles in "faults", default
# 100), LB_KILLS (more adapter SIGKILLs under readers in "faults", default 10),
# LB_SIG_CYCLES (adapter runs in "signals", default 8), KERNEL_VERSION
# (an installed amd64 kernel or one fetched by
# kernel-module/scripts/fetch-kernels.sh; default the host's 6.1), BIN_DIR
# (default out/linux-x64), MODULE (default out/modules/<kver>/virtio_loopback.ko),
# plus the lib.sh knobs. Results: tests/qemu/work/loopback-<kver>/summary.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
find_kernel
begin_run "loopback-$KVER"
ko=${MODULE:-$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko}
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
# build_kit wants executable inputs.
cp "$ko" "$QEMU_WORK_DIR/virtio_loopback.ko"
chmod +x "$QEMU_WORK_DIR/virtio_loopback.ko"
ko=$QEMU_WORK_DIR/virtio_loopback.ko

# bins NAME...: sets kit to the kit specs of our programs from BIN_DIR (a missing
# one is fatal: no subshell, so die ends the run).
bins() {
    local p
    kit=()
    for p in "$@"; do
        [[ -x $BIN_DIR/$p ]] || die "$BIN_DIR/$p missing: run 'make'"
        kit+=("$BIN_DIR/$p:/bin/$p")
    done
}

# The guest reads its knobs from the kernel command line.
export GUEST_APPEND="${GUEST_APPEND:-} lbchurn=${LB_CHURN:-100} lbkills=${LB_KILLS:-10} lbsigcycles=${LB_SIG_CYCLES:-8}"

rc=0
tests=("$@")
[[ ${#tests[@]} -gt 0 ]] || tests=(all qsd faults signals console)
for t in "${tests[@]}"; do
    case $t in
        all)
            bins virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input uinput-feeder evdev-inspect
            GUEST_MODULES="virtio_rng virtio_blk virtio_input evdev uinput ext4 crc32c_generic" \
                run_guest "loopback-all" "$HERE/guest/loopback-all.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" || rc=1
            ;;
        qsd)
            qsd=$(command -v qemu-storage-daemon) || die "qemu-storage-daemon missing: run 'make deps'"
            bins virtio-loopback-adapter
            GUEST_MODULES="virtio_blk ext4 crc32c_generic loop" \
                run_guest "loopback-qsd" "$HERE/guest/loopback-qsd.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" "$qsd:/bin/qemu-storage-daemon" || rc=1
            ;;
        faults)
            bins virtio-loopback-adapter vhost-user-rng vhost-user-blk faulty-blk
            GUEST_MODULES="virtio_rng virtio_blk" \
                run_guest "loopback-faults" "$HERE/guest/loopback-faults.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" || rc=1
            ;;
        signals)
            bins virtio-loopback-adapter vhost-user-rng vhost-user-blk signal-storm
            GUEST_MODULES="virtio_rng virtio_blk" \
                run_guest "loopback-signals" "$HERE/guest/loopback-signals.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" || rc=1
            ;;
        console)
            bins virtio-loopback-adapter vhost-user-console stream-peer
            # 2 vCPUs, as the other suites: virtio_console busy-waits for each console buffer with
            # interrupts off, which the module's posted queues make safe there (kernel-module/vq.c).
            GUEST_SMP=2 GUEST_MODULES="virtio_console" \
                run_guest "loopback-console" "$HERE/guest/loopback-console.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" || rc=1
            ;;
        sound)
            # Debian 6.12 and later build virtio_snd; 6.1 does not.
            bins virtio-loopback-adapter vhost-user-sound wav-tool
            aplay=$(command -v aplay) && arecord=$(command -v arecord) || die "aplay/arecord missing: run 'make deps' (alsa-utils)"
            # alsa-lib reads its configuration to resolve hw:0,0 (build_kit takes executable files).
            install -m 0755 /usr/share/alsa/alsa.conf "$QEMU_WORK_DIR/alsa.conf"
            GUEST_MODULES="virtio_snd snd_aloop" \
                run_guest "loopback-sound" "$HERE/guest/loopback-sound.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" "$aplay:/bin/aplay" "$arecord:/bin/arecord" \
                "$QEMU_WORK_DIR/alsa.conf:/usr/share/alsa/alsa.conf" || rc=1
            ;;
        gpio)
            bins virtio-loopback-adapter vhost-user-gpio
            gpiod_kit
            GUEST_MODULES="gpio-sim gpio-virtio" \
                run_guest "loopback-gpio" "$HERE/guest/loopback-gpio.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "${kit[@]}" "${GPIOD_KIT[@]}" || rc=1
            ;;
        *) die "unknown test '$t' (all, qsd, faults, signals, console, sound or gpio)" ;;
    esac
done
end_run $rc
