#!/bin/bash
# SPDX-License-Identifier: MIT
#
# VM front-end tests: QEMU boots a Linux guest whose virtio-rng and virtio-blk
# devices are served over vhost-user by back ends running on this host.
#
#   tests/qemu/run-vm-tests.sh              our back ends from out/linux-x64
#   BLK_BACKEND=qsd tests/qemu/run-vm-tests.sh
#                                           reference run: blk served by
#                                           Debian's qemu-storage-daemon, no rng
#
# Environment:
#   BLK_BACKEND   ours (default) | qsd
#   RNG_BACKEND   ours | none   (default: ours, or none when BLK_BACKEND=qsd;
#                                Debian has no third-party vhost-user-rng)
#   BIN_DIR       where our back ends are (default out/linux-x64)
#   BLK_QUEUES    queues of the writable disk (default 1; QEMU's num-queues)
#   plus the lib.sh tunables (GUEST_TIMEOUT, VERBOSE, ...)
#
# Guest checks are in guest/vm-tests.sh. Host checks, after the guest: the
# image file holds what the guest wrote (raw regions and ext2 files via
# debugfs), the read-only image is unchanged, every back end is still alive
# and exits 0 on SIGTERM. Ends with "N passed, M failed"; exit 1 on failure.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

BLK_QUEUES=${BLK_QUEUES:-1}
RW_MIB=64
RO_MIB=16

begin_run vm-tests

T_START=$(now_ms)
find_kernel
log "kernel $KVER, blk back end: $BLK_BACKEND, rng back end: $RNG_BACKEND"
check_backends

# Images: a sparse writable disk and a read-only one full of random data.
RW_IMG=$W/rw.img
RO_IMG=$W/ro.img
truncate -s ${RW_MIB}M "$RW_IMG"
head -c ${RO_MIB}M /dev/urandom >"$RO_IMG"
RO_SHA=$(sha256sum "$RO_IMG" | cut -d' ' -f1)

start_blk blk-rw "$RW_IMG" "$W/blk-rw.sock" rw "$BLK_QUEUES"; BLK_RW_PID=$BACKEND_PID
start_blk blk-ro "$RO_IMG" "$W/blk-ro.sock" ro 1; BLK_RO_PID=$BACKEND_PID
GUEST_QEMU_ARGS=(
    -chardev "socket,id=blk0,path=$W/blk-rw.sock"
    -device "vhost-user-blk-pci,chardev=blk0,num-queues=$BLK_QUEUES"
    -chardev "socket,id=blk1,path=$W/blk-ro.sock"
    -device "vhost-user-blk-pci,chardev=blk1,num-queues=1"
)
RNG_ON=0
if [[ $RNG_BACKEND == ours ]]; then
    start_rng rng "$W/rng.sock"; RNG_PID=$BACKEND_PID; RNG_ON=1
    GUEST_QEMU_ARGS+=(-chardev "socket,id=rng0,path=$W/rng.sock" -device vhost-user-rng-pci,chardev=rng0)
fi
GUEST_APPEND="vltest.rng=$RNG_ON vltest.rw_kib=$((RW_MIB * 1024)) vltest.rw_queues=$BLK_QUEUES vltest.ro_kib=$((RO_MIB * 1024)) vltest.ro_sha=$RO_SHA"

T_KIT=$(now_ms)
build_kit vm-tests "$QEMU_LIB_DIR/guest/vm-tests.sh" >/dev/null
T_BOOT=$(now_ms)
run_guest vm-tests "$QEMU_LIB_DIR/guest/vm-tests.sh" || true
T_HOST=$(now_ms)

# ---- host-side cross checks on the image files ----
region_sha() { dd if="$1" bs=1M skip="$2" count="$3" 2>/dev/null | sha256sum | cut -d' ' -f1; }
cross_check() {
    local name=$1 want=$2 got=$3
    if [[ -z $want ]]; then host_result "$name" FAIL "guest reported no value"
    elif [[ $want == "$got" ]]; then host_result "$name" PASS "match (${want:0:12})"
    else host_result "$name" FAIL "image $got != guest $want"; fi
}
cross_check image_raw_direct "$(data_value "$GUEST_LOG" raw_sha256)" "$(region_sha "$RW_IMG" 48 8)"
cross_check image_raw_parallel "$(data_value "$GUEST_LOG" par_sha256)" "$(region_sha "$RW_IMG" 40 8)"
for f in small medium large; do
    got=$(debugfs -R "cat /$f" "$RW_IMG" 2>/dev/null | sha256sum | cut -d' ' -f1)
    cross_check "image_file_$f" "$(data_value "$GUEST_LOG" "file_sha256_$f")" "$got"
done
cross_check image_ro_unchanged "$RO_SHA" "$(sha256sum "$RO_IMG" | cut -d' ' -f1)"

# ---- back ends: alive after the guest, clean exit on SIGTERM ----
stop_process blk_rw "$BLK_RW_PID" || true
stop_process blk_ro "$BLK_RO_PID" || true
[[ $RNG_ON == 1 ]] && { stop_process rng "$RNG_PID" || true; }
BACKEND_PIDS=()

T_END=$(now_ms)
log "timings: setup $((T_KIT - T_START)) ms, kit $((T_BOOT - T_KIT)) ms, qemu run ${GUEST_RUN_MS} ms (guest userland at ${GUEST_BOOT_MS:-?} ms), host checks $((T_END - T_HOST)) ms, total $((T_END - T_START)) ms"
end_run 0
