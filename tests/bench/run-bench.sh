#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make bench: the benchmark (docs/PERFORMANCE.md explains the method). Four
# QEMU guests (TCG, 2 vCPUs), each running tests/bench/bench-guest.sh:
#
#   peers     Debian's 6.12 amd64 kernel: the peer table, BENCH_ROUNDS interleaved
#             rounds (the report gives each figure's median and every round's) of
#               a-brd    the guest kernel's brd RAM disk (the kernel's own ceiling),
#               b-ours   the loopback + our vhost-user-blk,
#               c-qsd    the loopback + qemu-storage-daemon's vhost-user-blk export,
#               e-vduse  VDUSE + qemu-storage-daemon's vduse-blk export (virtio_vdpa),
#               f-nbd    nbd.ko + qemu-nbd on a unix socket (nbd-client -u),
#               g-poll   b with the back end polling (--poll-us 200),
#               p-polled g with the driver polling too (a virtio_blk poll queue,
#                        fio on io_uring with hipri);
#   loopback  Debian's 6.1 amd64 kernel: a, b, g, c, then rng and input through the
#             loopback;
#   vm        Debian's 6.1 amd64 kernel with a vhost-user-blk-pci disk from QEMU on
#             our vhost-user-blk (image on the host's /dev/shm): subject d-vm;
#   arm64     Debian's 6.1 arm64 kernel under qemu-system-aarch64 -M virt, the
#             arm64 programs, fio and qemu-storage-daemon: a, b, g, c, rng, input.
#             (p needs Linux 6.12: bench-guest.sh's setup_p says why.)
#   engines   (only when BENCH_RUNS names it) Debian's 6.1 amd64 kernel: our
#             vhost-user-blk's I/O engines, t-threads, h-uring and o-direct (h
#             with --direct), against c-qsd and q-qsd-direct (O_DIRECT), with
#             the images on ext4 on a virtio disk (a file on the host's disk,
#             cache=none), then b, h, t and c on tmpfs.
#
# The numbers go to $BENCH_OUT (default docs/bench): results.json, results.md
# and PNG charts (gnuplot). The run fails when any subject of any run could
# not be set up, measured or verified: no silent omissions.
#
# Kernels: the host's /boot 6.1 (BENCH_KERNEL overrides), the newest fetched
# 6.12 amd64 (BENCH_PEER_KERNEL; fetched with fetch-kernels.sh trixie:amd64
# when missing) and the newest fetched 6.1 arm64 (BENCH_ARM64_KERNEL; fetched
# with bookworm:arm64). The module is built for each that lacks an up-to-date
# out/modules/<release>/virtio_loopback.ko.
#
# Environment: BENCH_RUNTIME (s per workload, default 10), BENCH_RAMP (s of
# warm-up per workload, default 1), BENCH_ROUNDS (the peers run's rounds, default
# 3), BENCH_SIZE_MB (default 128), BENCH_EVENTS
# (input samples, default 10000), BENCH_OUT, BENCH_RUNS (default
# "peers loopback vm arm64"; a subset is for working on one run, and the
# report then covers only those), BENCH_TIMING (1: the peers and loopback guests
# load the module with timing=1, and the report adds where b's module time goes;
# the clock reads cost a little of every request, so it is not for the tables).
# make bench-smoke runs 1-second workloads into tests/qemu/work/bench/out.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../qemu/lib.sh
. "$HERE/../qemu/lib.sh"
RT=${BENCH_RUNTIME:-10}
RAMP=${BENCH_RAMP:-1}
SIZE=${BENCH_SIZE_MB:-128}
EVENTS=${BENCH_EVENTS:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-$REPO_ROOT/docs/bench}
RUNS=${BENCH_RUNS:-peers loopback vm arm64}
for r in $RUNS; do
    case $r in peers|loopback|vm|arm64|engines) ;; *) die "BENCH_RUNS: unknown run '$r' (peers, loopback, vm, arm64, engines)" ;; esac
done
[[ $RT =~ ^[1-9][0-9]*$ && $RAMP =~ ^[0-9]+$ && $SIZE =~ ^[1-9][0-9]*$ && $EVENTS =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] ||
    die "BENCH_RUNTIME, BENCH_SIZE_MB, BENCH_EVENTS and BENCH_ROUNDS must be positive integers, BENCH_RAMP a non-negative one"
TIMING=${BENCH_TIMING:-}
[[ -z $TIMING || $TIMING == 1 ]] || die "BENCH_TIMING: '$TIMING' (1 or unset)"
begin_run bench
mkdir -p "$OUT" "$W/kit"
T0=$(now_ms)

# Progress while a guest runs: its PROGRESS lines as they come (tail stops with
# the script, or when unfollow kills it by its pid).
FOLLOW_PID=
follow() {
    tail --pid=$$ -n +1 -F "$1" 2>/dev/null > >(sed -un 's/^PROGRESS /  ... /p') &
    FOLLOW_PID=$!
}
unfollow() { [[ -z $FOLLOW_PID ]] || kill "$FOLLOW_PID" 2>/dev/null || true; FOLLOW_PID=; }

# newest_fetched GLOB: the newest kernel release under $KERNELS_DIR matching GLOB
# that fetch-kernels.sh completed.
newest_fetched() {
    local d
    for d in "$KERNELS_DIR"/$1; do
        [[ -f $d/.done && -e $d/root/boot/vmlinuz-$(basename "$d") ]] && basename "$d"
    done | sort -V | tail -n 1
}

# fetched_kernel GLOB SUITE:ARCH: print the release, fetching it when missing.
fetched_kernel() {
    local rel
    rel=$(newest_fetched "$1")
    if [[ -z $rel ]]; then
        log "bench: no $1 kernel in $KERNELS_DIR; fetching $2"
        "$REPO_ROOT/kernel-module/scripts/fetch-kernels.sh" "$2" >&2 || die "fetch-kernels.sh $2 failed"
        rel=$(newest_fetched "$1")
    fi
    [[ -n $rel ]] || die "no $1 kernel after fetch-kernels.sh $2"
    echo "$rel"
}

# module_for: the module built for $KVER (find_kernel), rebuilt when missing or
# older than the module's sources; copied into the kit folder (build_kit wants
# executable inputs). Prints the copy's path.
module_for() {
    local ko=$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko tree
    if [[ ! -f $ko || -n $(find "$REPO_ROOT/kernel-module" -maxdepth 1 -type f \
        \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) -newer "$ko" -print -quit) ||
        -n $(find "$REPO_ROOT/kernel-module/include" -name '*.h' -newer "$ko" -print -quit) ]]; then
        if [[ -z $KROOT ]]; then tree=/usr/src/linux-headers-$KVER; else tree=$KERNELS_DIR/$KVER/build; fi
        log "bench: building virtio_loopback.ko for $KVER"
        OUT_DIR=$REPO_ROOT/out/modules "$REPO_ROOT/kernel-module/scripts/build-all.sh" "$tree" >"$W/module-$KVER.log" 2>&1 ||
            { tail -n 20 "$W/module-$KVER.log" >&2; die "the module does not build for $KVER"; }
    fi
    mkdir -p "$W/kit/$KVER"
    cp "$ko" "$W/kit/$KVER/virtio_loopback.ko"
    chmod +x "$W/kit/$KVER/virtio_loopback.ko"
    echo "$W/kit/$KVER/virtio_loopback.ko"
}

# kernel_module NAME: $KVER's NAME.ko, decompressed into the kit folder; prints its path.
kernel_module() {
    local f dst=$W/kit/$KVER/$1.ko
    f=$(resolve_modules "$1" | tail -n 1)
    [[ -n $f ]] || die "$1 is built into $KVER or missing"
    mkdir -p "$W/kit/$KVER"
    case $f in *.xz) xz -dc "$f" >"$dst" ;; *.zst) zstd -qdc "$f" >"$dst" ;; *) cp "$f" "$dst" ;; esac
    chmod +x "$dst"
    echo "$dst"
}

# add_programs DIR NAME...: our programs into the kit list (kit).
add_programs() {
    local p
    for p in "${@:2}"; do
        [[ -x $1/$p ]] || die "$1/$p missing: run 'make'"
        kit+=("$1/$p")
    done
}

# add_host_tools NAME...: host programs (bookworm's) into the kit list; build_kit copies
# the libraries ldd lists with them.
add_host_tools() {
    local t f
    for t in "$@"; do
        f=$(command -v "$t") || die "$t missing: run 'make deps'"
        kit+=("$f:/bin/$t")
    done
}

# use_kernel RELEASE ARCH: find_kernel for RELEASE (empty: the host's 6.1), which must be
# an ARCH kernel.
use_kernel() {
    KERNEL_VERSION=$1 find_kernel
    [[ $KARCH == "$2" ]] || die "$KVER is an $KARCH kernel, not $2"
}

# guest RUN SCRIPT KIT...: boot one bench guest and keep its numbers in $W/raw-RUN.txt.
# Only the peers run has rounds (GUEST_ROUNDS).
rc=0
guest() {
    local run=$1 script=$2; shift 2
    local t0; t0=$(now_ms)
    export GUEST_APPEND="benchrt=$RT benchramp=$RAMP benchevents=$EVENTS benchsize=$SIZE benchrounds=${GUEST_ROUNDS:-1}${TIMING:+ benchtiming=$TIMING}"
    export GUEST_TIMEOUT=$(( 900 + (RT + RAMP + 4) * 60 * ${GUEST_ROUNDS:-1} ))
    follow "$W/bench-$run.log"
    VERBOSE=0 run_guest "bench-$run" "$script" "$@" || rc=1
    unfollow
    grep -E '^(RESULT|COUNTER|SYSCALLS|ALLOC|RNG|INPUT|INFO|VERSION) ' "$W/bench-$run.log" |
        grep -Ev '^RESULT [^ ]+ (PASS|FAIL|SKIP) ' >"$W/raw-$run.txt" || true
    log "bench: $run took $(( ($(now_ms) - t0) / 1000 )) s"
}

for run in $RUNS; do
    case $run in
    peers)
        rel=${BENCH_PEER_KERNEL:-}
        [[ -n $rel ]] || rel=$(fetched_kernel '6.12.*-amd64' trixie:amd64)
        use_kernel "$rel" amd64
        log "bench: peers guest, $KVER (subjects a, b, g, p, c, e, f; $ROUNDS rounds, ${RT} s per workload)"
        ko=$(module_for); brd=$(kernel_module brd)
        kit=()
        add_programs "$BIN_DIR" virtio-loopback-adapter vhost-user-blk
        add_host_tools fio strace qemu-storage-daemon qemu-nbd nbd-client vdpa
        # The images live on the guest's /tmp, a tmpfs of half its memory: six of them here.
        GUEST_MEM=$(( 640 + 8 * SIZE )) GUEST_MODULES="virtio_blk vdpa vduse virtio_vdpa nbd" GUEST_ROUNDS=$ROUNDS \
            guest peers "$HERE/guest-peers.sh" "$ko:/lib/modules/virtio_loopback.ko" "$brd:/lib/modules/brd.ko" \
            "$HERE/bench-guest.sh:/bin/bench-guest.sh" "${kit[@]}"
        ;;
    loopback)
        use_kernel "${BENCH_KERNEL:-}" amd64
        log "bench: loopback guest, $KVER (subjects a, b, g, c, rng, input; ${RT} s per workload)"
        ko=$(module_for); brd=$(kernel_module brd)
        kit=()
        add_programs "$BIN_DIR" virtio-loopback-adapter vhost-user-blk vhost-user-rng vhost-user-input uinput-feeder
        add_host_tools fio strace qemu-storage-daemon
        GUEST_MEM=$(( 512 + 4 * SIZE )) GUEST_MODULES="virtio_blk virtio_rng virtio_input evdev uinput" \
            guest loopback "$HERE/guest-loopback.sh" "$ko:/lib/modules/virtio_loopback.ko" "$brd:/lib/modules/brd.ko" \
            "$HERE/bench-guest.sh:/bin/bench-guest.sh" "${kit[@]}"
        ;;
    vm)
        use_kernel "${BENCH_KERNEL:-}" amd64
        log "bench: VM guest, $KVER (subject d: QEMU vhost-user-blk-pci on our vhost-user-blk)"
        img=/dev/shm/virtio-loopback-bench-$$.img
        rm -f "$img"; truncate -s "${SIZE}M" "$img"
        [[ -x $BIN_DIR/vhost-user-blk ]] || die "$BIN_DIR/vhost-user-blk missing: run 'make'"
        start_backend vm-blk "$W/vm-blk.sock" "$BIN_DIR/vhost-user-blk" --socket-path "$W/vm-blk.sock" --blk-file "$img"
        GUEST_QEMU_ARGS=(-chardev "socket,id=b0,path=$W/vm-blk.sock" -device vhost-user-blk-pci,chardev=b0,num-queues=1)
        GUEST_MEM=512 GUEST_MODULES="virtio_pci virtio_blk" \
            guest vm "$HERE/guest-vm.sh" "$HERE/bench-guest.sh:/bin/bench-guest.sh" "$(command -v fio)"
        GUEST_QEMU_ARGS=()
        stop_process vm-blk "$BACKEND_PID" || rc=1
        rm -f "$img"
        ;;
    engines)
        use_kernel "${BENCH_KERNEL:-}" amd64
        log "bench: engines guest, $KVER (t, h, o, c, q on ext4 on a virtio disk, then b, h, t, c on tmpfs)"
        ko=$(module_for)
        disk=$W/engines-ext4.img
        rm -f "$disk"; truncate -s $(( 6 * SIZE + 256 ))M "$disk"
        mkfs.ext4 -q -F "$disk" || die "mkfs.ext4 failed"
        kit=()
        add_programs "$BIN_DIR" virtio-loopback-adapter vhost-user-blk
        add_host_tools fio strace qemu-storage-daemon
        GUEST_QEMU_ARGS=(-drive "file=$disk,if=none,id=disk1,format=raw,cache=none,aio=threads" -device virtio-blk-pci,drive=disk1)
        GUEST_MEM=$(( 640 + 6 * SIZE )) GUEST_MODULES="virtio_pci virtio_blk ext4" \
            guest engines "$HERE/guest-engines.sh" "$ko:/lib/modules/virtio_loopback.ko" \
            "$HERE/bench-guest.sh:/bin/bench-guest.sh" "${kit[@]}"
        GUEST_QEMU_ARGS=()
        rm -f "$disk"
        ;;
    arm64)
        rel=${BENCH_ARM64_KERNEL:-}
        [[ -n $rel ]] || rel=$(fetched_kernel '6.1.*-arm64' bookworm:arm64)
        use_kernel "$rel" arm64
        log "bench: arm64 guest, $KVER (subjects a, b, g, c, rng, input; ${RT} s per workload)"
        ko=$(module_for); brd=$(kernel_module brd)
        kit=()
        add_programs "${ARM64_BIN_DIR:-$REPO_ROOT/out/linux-arm64}" virtio-loopback-adapter vhost-user-blk vhost-user-rng \
            vhost-user-input uinput-feeder
        # bookworm's arm64 fio and qemu-storage-daemon (downloaded, never installed).
        tools=$(fetch_arm64_tools fio qemu-storage-daemon)
        mapfile -t tools <<<"$tools"
        [[ ${#tools[@]} == 2 ]] || die "arm64: fio and qemu-storage-daemon were not both found"
        GUEST_MEM=$(( 768 + 4 * SIZE )) GUEST_MODULES="virtio_blk virtio_rng virtio_input evdev uinput" \
            guest arm64 "$HERE/guest-loopback.sh" "$ko:/lib/modules/virtio_loopback.ko" "$brd:/lib/modules/brd.ko" \
            "$HERE/bench-guest.sh:/bin/bench-guest.sh" "${kit[@]}" "${tools[0]}:/bin/fio" "${tools[1]}:/bin/qemu-storage-daemon"
        ;;
    esac
done

# ---- results ----------------------------------------------------------------------
{
    echo "HOST kernel=$(uname -r) cpus=$(nproc) qemu=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')" \
        "qemu_aarch64=$(qemu-system-aarch64 --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p')" \
        "debian=$(cat /etc/debian_version 2>/dev/null)"
    echo "MODEL $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n 1)"
} >"$W/raw-host.txt"
raws=()
for run in $RUNS; do raws+=("$run=$W/raw-$run.txt"); done
if "$HERE/report.sh" "$OUT" "$(date -u +%FT%TZ)" "$RT" "$RAMP" "$SIZE" "$W/raw-host.txt" "${raws[@]}"; then
    host_result bench_report PASS "every subject of every run ($RUNS) measured, every verify pass clean: $OUT"
else
    host_result bench_report FAIL "a subject did not run or a verify pass failed (raw lines in $W/raw-*.txt)"
    rc=1
fi
log "bench: $(( ($(now_ms) - T0) / 1000 )) s in all"
end_run $rc
