#!/bin/bash
# SPDX-License-Identifier: MIT
#
# virtio-input against a real evdev device, entirely inside one QEMU guest
# (the host has no /dev/input and no uinput; the guest kernel has both):
#
#   uinput-feeder      creates a uinput device -> /dev/input/eventN (evdev)
#   vhost-user-input   our back end on /run/in.sock, --evdev-path /dev/input/eventN
#   vhost-user-probe   our front end (VhostUser.Frontend + TestDriver rings):
#                      config space, events, LED writes
#
# The guest script is guest/input-test.sh; it prints RESULT lines that
# lib.sh's check_log judges (plus kernel BUG/WARNING/Oops, timeout).
#
#   tests/qemu/run-input-test.sh          the full test
#   tests/qemu/run-input-test.sh smoke    uinput-feeder alone (guest/uinput-smoke.sh)
#
# Binaries come from out/linux-x64 (BIN_DIR; `make` builds them); a missing
# one fails the test. Output: tests/qemu/work/input-test/.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:-full}
case $mode in
    full) script=$QEMU_LIB_DIR/guest/input-test.sh; tools=(uinput-feeder vhost-user-input vhost-user-probe) ;;
    smoke) script=$QEMU_LIB_DIR/guest/uinput-smoke.sh; tools=(uinput-feeder) ;;
    *) echo "usage: $0 [full|smoke]" >&2; exit 2 ;;
esac

begin_run input-test

bins=()
for p in "${tools[@]}"; do
    if [[ ! -x $BIN_DIR/$p ]]; then
        log "input test: $BIN_DIR/$p is not built (run 'make')"
        echo "0 passed, 1 failed" >"$W/summary"
        cat "$W/summary"
        exit 1
    fi
    bins+=("$BIN_DIR/$p")
done

# Only what the test needs: uinput for the feeder, evdev for /dev/input/eventN.
GUEST_MODULES="uinput evdev"
GUEST_QEMU_ARGS=()
rc=0
t0=$(now_ms)
run_guest "input-$mode" "$script" "${bins[@]}" || rc=1
log "input-$mode: total $(( $(now_ms) - t0 )) ms; guest log $GUEST_LOG"
grep -E '^INFO ' "$GUEST_LOG" >"$W/info.txt" || true
end_run "$rc"
