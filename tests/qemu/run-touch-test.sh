#!/bin/bash
# SPDX-License-Identifier: MIT
#
# touch-sensitivity against htt-double (an HTT display made with /dev/uhid),
# entirely inside one QEMU guest (the host has no uhid; the guest kernel has
# uhid, hid-generic and hidraw):
#
#   natively      touch-sensitivity -> /dev/hidrawN -> uhid -> htt-double
#   guest path    touch-sensitivity -> /dev/input/eventX (a virtio-input
#                 device) -> vhost-user-input --hidraw -> /dev/hidrawN
#
# The guest script is guest/touch-test.sh (+ guest/touch-guest-path.sh); it
# prints RESULT lines that lib.sh's check_log judges.
#
#   tests/qemu/run-touch-test.sh           the virtio-input device comes from
#                                          vhost-user-probe input-relay (our
#                                          front end + uinput in the guest)
#   RELAY=loopback tests/qemu/run-touch-test.sh
#                                          from the guest kernel's own
#                                          virtio_input through
#                                          virtio_loopback.ko and
#                                          virtio-loopback-adapter --device input
#
# Binaries come from out/linux-x64 (BIN_DIR; `make` builds them); a missing
# one fails the test. MODULE overrides out/modules/<kver>/virtio_loopback.ko.
# Output: tests/qemu/work/touch-test/ (touch-test-loopback/ for the loopback).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

RELAY=${RELAY:-probe}
if [[ $RELAY == loopback ]]; then begin_run touch-test-loopback; else begin_run touch-test; fi

tools=(htt-double touch-sensitivity vhost-user-input)
case $RELAY in
    probe) tools+=(vhost-user-probe) ;;
    loopback) tools+=(virtio-loopback-adapter) ;;
    *) echo "RELAY must be probe or loopback" >&2; exit 2 ;;
esac

bins=()
for p in "${tools[@]}"; do
    if [[ ! -x $BIN_DIR/$p ]]; then
        log "touch test: $BIN_DIR/$p is not built (run 'make')"
        echo "0 passed, 1 failed" >"$W/summary"
        cat "$W/summary"
        exit 1
    fi
    bins+=("$BIN_DIR/$p")
done
bins+=("$QEMU_LIB_DIR/guest/touch-guest-path.sh:/lib/touch-guest-path.sh")
echo "$RELAY" >"$W/relay"
chmod +x "$W/relay"
bins+=("$W/relay:/etc/touch-relay")

# uhid + hid-generic make the double's hidraw (built into Debian's kernel) and
# evdev nodes; uinput is the probe relay's stand-in for virtio_input.
GUEST_MODULES="uhid hid_generic evdev uinput"
if [[ $RELAY == loopback ]]; then
    find_kernel
    ko=${MODULE:-$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko}
    [[ -f $ko ]] || die "$ko missing: run 'make module'"
    cp "$ko" "$W/virtio_loopback.ko"; chmod +x "$W/virtio_loopback.ko"
    bins+=("$W/virtio_loopback.ko:/lib/modules/virtio_loopback.ko")
    GUEST_MODULES="$GUEST_MODULES virtio_input"
fi
GUEST_QEMU_ARGS=()
rc=0
t0=$(now_ms)
run_guest "touch-$RELAY" "$QEMU_LIB_DIR/guest/touch-test.sh" "${bins[@]}" || rc=1
log "touch-$RELAY: total $(( $(now_ms) - t0 )) ms; guest log $GUEST_LOG"
end_run "$rc"
