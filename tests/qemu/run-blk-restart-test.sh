#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Back-end restart under real QEMU (guest checks: guest/blk-restart.sh).
# When the guest prints KILL-NOW, vhost-user-blk gets SIGKILL while the guest
# writes; a new one starts on the same socket a moment later. QEMU's chardev
# has reconnect=1, so it reconnects and restores the rings, passing the
# inflight area (INFLIGHT_SHMFD) it kept. Ends with "N passed, M failed".

set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_run blk-restart

find_kernel
IMG=$W/rw.img
truncate -s 64M "$IMG"
SOCK=$W/blk.sock
blk_cmd=("$BIN_DIR/vhost-user-blk" --socket-path "$SOCK" --blk-file "$IMG" --log-level debug)
start_backend blk "$SOCK" "${blk_cmd[@]}"
FIRST=$BACKEND_PID
GUEST_QEMU_ARGS=(-chardev "socket,id=blk0,path=$SOCK,reconnect=1" -device "vhost-user-blk-pci,chardev=blk0,num-queues=1")

# The kill-and-restart: on the guest's marker, SIGKILL the back end, then
# start a new one on the same socket (QEMU retries every second).
(
    for _ in $(seq 1 3000); do
        if grep -q '^KILL-NOW' "$W/blk-restart.log" 2>/dev/null; then
            sleep 0.2
            kill -KILL "$FIRST"
            echo "$(date +%T.%3N) killed $FIRST" >"$W/restart.out"
            sleep 0.5
            "${blk_cmd[@]}" >>"$W/restart.out" 2>&1 &
            echo $! >"$W/second.pid"
            # Only this shell can wait for it: record its exit status.
            wait $! && echo 0 >"$W/second.rc" || echo $? >"$W/second.rc"
            exit 0
        fi
        sleep 0.05
    done
) &
WATCHER=$!

rc=0
run_guest blk-restart "$QEMU_LIB_DIR/guest/blk-restart.sh" || rc=1
if [[ -s $W/second.pid ]] && kill -0 "$(cat "$W/second.pid")" 2>/dev/null; then
    host_result restarted PASS "first back end killed, the second (pid $(cat "$W/second.pid")) served the rest and is alive"
    kill -TERM "$(cat "$W/second.pid")"
    wait "$WATCHER" 2>/dev/null || true
    if [[ $(cat "$W/second.rc" 2>/dev/null) == 0 ]]; then
        host_result blk_second_sigterm PASS "exit 0 on SIGTERM"
    else
        host_result blk_second_sigterm FAIL "exit status $(cat "$W/second.rc" 2>/dev/null)"
        rc=1
    fi
else
    host_result restarted FAIL "the kill and restart never happened, or the second back end died"
    kill "$WATCHER" 2>/dev/null || true
    rc=1
fi
BACKEND_PIDS=()
end_run $rc
