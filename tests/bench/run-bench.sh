#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make bench: the benchmark (docs/PERFORMANCE.md explains the method).
#
#   1. A QEMU guest (TCG) boots the Debian 6.1 kernel with virtio_loopback.ko
#      and runs tests/bench/bench-guest.sh loopback: fio against
#        a-brd    the guest kernel's brd RAM disk (the kernel's own ceiling),
#        b-ours   the loopback + our vhost-user-blk,
#        c-qsd    the loopback + qemu-storage-daemon's vhost-user-blk export,
#      all the same size, images on the guest's tmpfs; then rng throughput and
#      input latency through the loopback.
#   2. A second guest gets a vhost-user-blk-pci disk from QEMU on our
#      vhost-user-blk (image on the host's /dev/shm): subject d-vm.
#   3. The numbers go to $BENCH_OUT (default docs/bench): results.json,
#      results.md and PNG charts (gnuplot).
#
# Environment: BENCH_RUNTIME (s per workload, default 10), BENCH_SIZE_MB
# (default 128), BENCH_EVENTS (input samples, default 10000), BENCH_OUT.
# make bench-smoke runs 1-second workloads into tests/qemu/work/bench/out.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../qemu/lib.sh
. "$HERE/../qemu/lib.sh"
RT=${BENCH_RUNTIME:-10}
SIZE=${BENCH_SIZE_MB:-128}
EVENTS=${BENCH_EVENTS:-10000}
OUT=${BENCH_OUT:-$REPO_ROOT/docs/bench}
begin_run bench
find_kernel
ko=$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko
[[ -f $ko ]] || die "$ko missing: run 'make module'"
mkdir -p "$OUT" "$W/kit"
cp "$ko" "$W/kit/virtio_loopback.ko"
brd=$(modprobe -S "$KVER" --show-depends brd | awk '$1 == "insmod" { print $2 }' | tail -n 1)
case $brd in *.xz) xz -dc "$brd" >"$W/kit/brd.ko" ;; *.zst) zstd -qdc "$brd" >"$W/kit/brd.ko" ;; *) cp "$brd" "$W/kit/brd.ko" ;; esac
chmod +x "$W"/kit/*.ko
cp "$HERE/bench-guest.sh" "$W/kit/bench-guest.sh"
kit=("$W/kit/virtio_loopback.ko:/lib/modules/virtio_loopback.ko" "$W/kit/brd.ko:/lib/modules/brd.ko"
    "$W/kit/bench-guest.sh:/bin/bench-guest.sh")
for p in virtio-loopback-adapter vhost-user-blk vhost-user-rng vhost-user-input uinput-feeder; do
    [[ -x $BIN_DIR/$p ]] || die "$BIN_DIR/$p missing: run 'make'"
    kit+=("$BIN_DIR/$p")
done
for t in fio strace qemu-storage-daemon; do
    f=$(command -v $t) || die "$t missing: run 'make deps'"
    kit+=("$f")
done
export GUEST_APPEND="benchrt=$RT benchevents=$EVENTS benchsize=$SIZE"
export GUEST_TIMEOUT=$(( 600 + RT * 60 ))
export GUEST_MEM=$(( 512 + 3 * SIZE ))

# Progress while a guest runs: its PROGRESS lines as they come.
# tail stops with the script (--pid) and is stopped after its guest (unfollow).
follow() { tail --pid=$$ -n +1 -F "$1" 2>/dev/null | sed -un 's/^PROGRESS /  ... /p' & }
unfollow() { pkill -f -- "tail --pid=$$ .*-F $1" || true; }

rc=0
log "bench: loopback guest (subjects a, b, c, rng, input; ${RT} s per workload)"
follow "$W/bench-loopback.log"
VERBOSE=0 GUEST_MODULES="virtio_blk virtio_rng virtio_input evdev uinput" \
    run_guest bench-loopback "$HERE/guest-loopback.sh" "${kit[@]}" || rc=1
unfollow "$W/bench-loopback.log"

log "bench: VM guest (subject d: QEMU vhost-user-blk-pci on our vhost-user-blk)"
img=/dev/shm/virtio-loopback-bench.img
rm -f "$img"; truncate -s "${SIZE}M" "$img"
start_backend vm-blk "$W/vm-blk.sock" "$BIN_DIR/vhost-user-blk" --socket-path "$W/vm-blk.sock" --blk-file "$img"
GUEST_QEMU_ARGS=(-chardev "socket,id=b0,path=$W/vm-blk.sock" -device vhost-user-blk-pci,chardev=b0,num-queues=1)
follow "$W/bench-vm.log"
GUEST_MODULES="virtio_pci virtio_blk" \
    run_guest bench-vm "$HERE/guest-vm.sh" "$W/kit/bench-guest.sh:/bin/bench-guest.sh" "$(command -v fio)" || rc=1
unfollow "$W/bench-vm.log"
GUEST_QEMU_ARGS=()
stop_backends
rm -f "$img"

# ---- results ----------------------------------------------------------------------
cat "$W/bench-loopback.log" "$W/bench-vm.log" | grep -E '^(RESULT|COUNTER|SYSCALLS|ALLOC|RNG|INPUT|INFO) ' |
    grep -Ev '^RESULT [^ ]+ (PASS|FAIL|SKIP) ' >"$W/raw.txt" || true
if "$HERE/report.sh" "$W/raw.txt" "$OUT" "$(date -u +%FT%TZ)" "$KVER" "$RT" "$SIZE"; then
    host_result bench_report PASS "every subject measured, every verify pass clean: $OUT"
else
    host_result bench_report FAIL "a subject did not run or a verify pass failed (raw lines $W/raw.txt)"
    rc=1
fi
end_run $rc
