#!/bin/bash
# SPDX-License-Identifier: MIT
#
# virtio-blk features under real QEMU (guest checks: guest/blk-features.sh):
# write-zeroes, discard, limits, serial, cache mode, seg_max above the ring's
# size (1 MiB writes verified), and a live resize, all on an image opened with
# --direct (O_DIRECT on the host; the host checks that every guest transfer,
# page-aligned in guest RAM, went direct). When
# the guest prints RESIZE-NOW, this script grows the image from 64 to 128 MiB
# and sends SIGHUP to vhost-user-blk, which tells QEMU through the back-end
# channel (CONFIG_CHANGE_MSG). Ends with "N passed, M failed".

set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_run blk-features

find_kernel
IMG=$W/rw.img
truncate -s 64M "$IMG"
# --queue-size 256 (seg_max 254) while QEMU's vhost-user-blk-pci gives the ring 128 (its default):
# a request may be an indirect table longer than the ring (long_requests).
start_backend blk "$W/blk.sock" "$BIN_DIR/vhost-user-blk" --socket-path "$W/blk.sock" \
    --blk-file "$IMG" --serial features-serial --queue-size 256 --direct
PID=$BACKEND_PID
GUEST_QEMU_ARGS=(-chardev "socket,id=blk0,path=$W/blk.sock" -device "vhost-user-blk-pci,chardev=blk0,num-queues=1")

# The resize trigger: wait for the guest's marker in the console log.
(
    for _ in $(seq 1 3000); do
        if grep -q '^RESIZE-NOW' "$W"/*.log 2>/dev/null; then
            truncate -s 128M "$IMG"
            if kill -HUP "$PID"; then
                log "blk-features: image grown to $(stat -c %s "$IMG") bytes, SIGHUP sent to $PID"
            else
                log "blk-features: SIGHUP to $PID failed"
            fi
            exit 0
        fi
        sleep 0.1
    done
) &
WATCHER=$!

rc=0
run_guest blk-features "$QEMU_LIB_DIR/guest/blk-features.sh" \
    /usr/sbin/blkdiscard:/opt/ul/blkdiscard /usr/bin/fallocate:/opt/ul/fallocate "$(command -v fio)" || rc=1
kill "$WATCHER" 2>/dev/null || true
# A resize the back end never logged: what its signal state and threads were.
if ! grep -q 'Capacity changed' "$W/blk.out"; then
    log "blk-features: the back end logged no resize; its signal masks and threads:"
    grep -E '^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|Threads)' "/proc/$PID/status" >&2 || true
    cat /proc/"$PID"/task/*/comm 2>/dev/null | sort | uniq -c >&2 || true
fi
stop_process blk "$PID" || rc=1
# --direct: the image was opened O_DIRECT, and no guest transfer needed the page cache.
if grep -q 'Direct I/O (O_DIRECT)' "$W/blk.out" && ! grep -q 'not aligned for direct I/O' "$W/blk.out"; then
    host_result direct_io PASS "$(grep -o 'Direct I/O (O_DIRECT)[^;]*' "$W/blk.out" | head -n 1); no transfer fell back to the page cache"
else
    host_result direct_io FAIL "$(grep -E 'O_DIRECT|direct I/O' "$W/blk.out" | head -n 2 | tr '\n' ' ')"
fi
BACKEND_PIDS=()
end_run $rc
