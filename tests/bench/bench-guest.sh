#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The benchmark's measuring side. It runs inside the QEMU guest of
# run-bench.sh, and unchanged on a real board or a qemuarm64 image (no QEMU
# involved): it needs only a shell, fio, the programs on PATH and, for the
# loopback subjects, the module.
#
#   bench-guest.sh loopback   subjects a (brd), b (loopback + vhost-user-blk),
#                             c (loopback + qemu-storage-daemon), then rng and input
#   bench-guest.sh vm         subject d: the virtio-blk disk QEMU gives this guest
#                             (vhost-user-blk-pci on our back end), /dev/vda
#   bench-guest.sh modules    subject b under module variants, alternating: for each
#                             of BENCH_ROUNDS rounds (default 2), each variant of
#                             BENCH_VARIANTS ("label:path[:param=value,...] ...") is
#                             loaded, b set up and every workload run on it
#
# Environment: BENCH_RUNTIME (s per workload, default 10), BENCH_SIZE_MB (the
# disk, default 128), BENCH_MODULE (default /lib/modules/virtio_loopback.ko),
# BENCH_DIR (a tmpfs for the images, default /tmp/bench), BENCH_EVENTS (input
# latency samples, default 10000).
#
# Output, one line per number, for run-bench.sh (or a person):
#   RESULT <subject> <workload> iops=<n> bw_kib=<n> lat_us=<mean> p99_us=<n> [verify=ok|failed]
#   COUNTER <subject> <workload> <name>=<value>...
#   RNG bytes_per_s=<n> read_us=<mean per 64-byte read>
#   INPUT events=<n> p50_us=<n> p99_us=<n> max_us=<n> mean_us=<n>
#   PROGRESS <text>
set -u
RT=${BENCH_RUNTIME:-10}
SIZE=${BENCH_SIZE_MB:-128}
KO=${BENCH_MODULE:-/lib/modules/virtio_loopback.ko}
D=${BENCH_DIR:-/tmp/bench}
EVENTS=${BENCH_EVENTS:-10000}
mkdir -p "$D"
progress() { echo "PROGRESS $*"; }
msnow() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
waitfor() { _wf=$(( $1 * 10 )); shift; while [ $_wf -gt 0 ]; do "$@" && return 0; usleep 100000; _wf=$((_wf - 1)); done; return 1; }

# The workloads: name, fio arguments. 1 MiB sequential at queue depth 4.
WORKLOADS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m write-1m"
fio_args() {
    case $1 in
        randread-4k-qd1) echo "--rw=randread --bs=4k --iodepth=1" ;;
        randread-4k-qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
        randwrite-4k-qd1) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
        randwrite-4k-qd32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
        read-1m) echo "--rw=read --bs=1M --iodepth=4" ;;
        write-1m) echo "--rw=write --bs=1M --iodepth=4" ;;
    esac
}

# counters SYSFS_DIR DEV: the loopback device's counters (sysfs), summed over its queues, and
# the requests DEV completed (reads + writes from /sys/block/X/stat): fio's own count leaves out
# its ramp time, the counters do not.
counters() {
    [ -n "$1" ] || return 0
    for _c in kicks interrupts bounce_bytes pool_map_failures; do
        [ -r "$1/$_c" ] && printf '%s=%s ' $_c "$(cat "$1/$_c")"
    done
    awk '{ printf "requests=%d ", $1 + $5 }' /sys/block/${2#/dev/}/stat
}

# fio_one SUBJECT DEV WORKLOAD SYSFS_DIR: one workload on one subject, one RESULT line.
fio_one() {
    progress "$1: $3 (${RT} s)"
    _c0=$(counters "$4" "$2")
    # terse v3: 8 read iops, 7 read KiB/s, 40 read lat mean (us), 30 read clat p99;
    # 49/48/81/71 the same for writes.
    fio --name="$3" --filename="$2" --direct=1 --ioengine=libaio $(fio_args $3) \
        --time_based --runtime="$RT" --ramp_time=1 --size="${SIZE}M" --norandommap \
        --minimal >"$D/fio.out" 2>"$D/fio.err"
    _c1=$(counters "$4" "$2")
    awk -F';' -v s="$1" -v w="$3" '{
        p99r = $30; sub(/.*=/, "", p99r); p99w = $71; sub(/.*=/, "", p99w)
        if ($8 + 0 > 0) printf "RESULT %s %s iops=%d bw_kib=%d lat_us=%.1f p99_us=%d ios=%d\n", s, w, $8, $7, $40, p99r, $8 * $9 / 1000
        else printf "RESULT %s %s iops=%d bw_kib=%d lat_us=%.1f p99_us=%d ios=%d\n", s, w, $49, $48, $81, p99w, $49 * $50 / 1000
    }' "$D/fio.out"
    [ -s "$D/fio.out" ] || echo "RESULT $1 $3 failed=$(head -c 200 "$D/fio.err" | tr '\n' ' ')"
    [ -z "$_c0" ] || echo "COUNTER $1 $3 before $_c0 after $_c1"
}

# verify_one SUBJECT DEV: a verified (crc32c) write pass over a quarter of the disk.
verify_one() {
    progress "$1: verified write pass"
    if fio --name=verify --filename="$2" --direct=1 --ioengine=libaio --rw=write --bs=64k --iodepth=8 \
        --size=$((SIZE / 4))M --verify=crc32c --do_verify=1 --verify_fatal=1 --minimal >"$D/fio.out" 2>"$D/fio.err"; then
        awk -F';' -v s="$1" '{ printf "RESULT %s verify-64k iops=%d bw_kib=%d lat_us=%.1f p99_us=0 verify=ok\n", s, $49, $48, $81 }' "$D/fio.out"
    else
        echo "RESULT $1 verify-64k iops=0 bw_kib=0 lat_us=0 p99_us=0 verify=failed $(head -c 200 "$D/fio.err" | tr '\n' ' ')"
    fi
}

newest_disk() { ls -d /sys/block/vd* 2>/dev/null | while read -r _b; do [ "$(cat "$_b/size")" = $((SIZE * 2048)) ] && echo "/dev/${_b##*/}"; done | sort | tail -n 1; }
newest_loop() { ls -d /sys/devices/virtual/misc/virtio-loopback/virtio-loopback.* 2>/dev/null | sort -t. -k2 -n | tail -n 1; }

# start_loopback NAME BACKEND_CMD...: the back end on $D/NAME.sock with its own image and an
# adapter; sets <NAME>_dev, _sysfs, _bpid, _apid (NAME with '-' as '_').
start_loopback() {
    _n=$1; _v=$(echo "$1" | tr '-' '_'); shift
    truncate -s "${SIZE}M" "$D/$_n.img"
    "$@" >"$D/$_n.backend.log" 2>&1 &
    eval "${_v}_bpid=$!"
    waitfor 20 test -S "$D/$_n.sock" || { echo "RESULT $_n setup failed=no-socket"; return 1; }
    _before=$(ls /sys/block | grep -c ^vd)
    virtio-loopback-adapter --socket-path "$D/$_n.sock" --device blk --pool-size 32 >"$D/$_n.adapter.log" 2>&1 &
    eval "${_v}_apid=$!"
    waitfor 30 sh -c "[ \$(ls /sys/block | grep -c ^vd) -gt $_before ]" || { echo "RESULT $_n setup failed=no-disk"; return 1; }
    eval "${_v}_dev=$(newest_disk)"
    eval "${_v}_sysfs=$(newest_loop)"
    eval "echo \"INFO $_n: \$${_v}_dev (\$${_v}_sysfs), \$(cat /sys/block/\$(basename \$${_v}_dev)/queue/nr_requests) requests\""
}

# stats PID LOG: the back end's allocation total (SIGUSR1 makes it log one).
stats() { kill -USR1 $1 2>/dev/null; usleep 300000; sed -n 's/.*STATS allocated_bytes=\([0-9]*\).*/\1/p' "$2" | tail -n 1; }

# stop_loopback NAME: stop the adapter and back end start_loopback started.
stop_loopback() {
    _v=$(echo "$1" | tr '-' '_')
    eval "kill -TERM \$${_v}_apid; wait \$${_v}_apid; kill -TERM \$${_v}_bpid; wait \$${_v}_bpid"
    rm -f "$D/$1.img"
}

case ${1:-loopback} in
modules)
    for round in $(seq 1 "${BENCH_ROUNDS:-2}"); do
        for variant in $BENCH_VARIANTS; do
            label=${variant%%:*}; rest=${variant#*:}; ko=${rest%%:*}
            params=; [ "$rest" != "$ko" ] && params=$(echo "${rest#*:}" | tr ',' ' ')
            progress "round $round: module $label"
            # shellcheck disable=SC2086
            insmod "$ko" $params || { echo "RESULT b-$label setup failed=insmod"; continue; }
            waitfor 5 test -c /dev/virtio-loopback
            if start_loopback b-ours vhost-user-blk --socket-path "$D/b-ours.sock" --blk-file "$D/b-ours.img"; then
                for w in $WORKLOADS; do fio_one "b-$label" "$b_ours_dev" "$w" "$b_ours_sysfs"; done
                stop_loopback b-ours
            fi
            rmmod virtio_loopback
        done
    done
    ;;
vm)
    waitfor 30 test -b /dev/vda || { echo "RESULT vm setup failed=no-vda"; exit 1; }
    for w in $WORKLOADS; do fio_one d-vm /dev/vda "$w" ""; done
    verify_one d-vm /dev/vda
    ;;
loopback)
    insmod "$KO" 2>/dev/null; waitfor 5 test -c /dev/virtio-loopback || { echo "RESULT setup failed=no-module"; exit 1; }
    # (a) the kernel's own ceiling: brd, a RAM disk in the same kernel; (b) our vhost-user-blk and
    # (c) qemu-storage-daemon (C, libvhost-user) through the same module and adapter, images of the
    # same size on the same tmpfs. All three are set up at once and each workload runs on a, b, c
    # in turn, so slow drift on the machine touches every subject alike.
    insmod /lib/modules/brd.ko rd_nr=1 rd_size=$((SIZE * 1024)) 2>/dev/null || modprobe brd rd_nr=1 rd_size=$((SIZE * 1024))
    waitfor 5 test -b /dev/ram0 || echo "RESULT a-brd setup failed=no-brd"
    start_loopback b-ours vhost-user-blk --socket-path "$D/b-ours.sock" --blk-file "$D/b-ours.img"
    if command -v qemu-storage-daemon >/dev/null; then
        start_loopback c-qsd qemu-storage-daemon --blockdev driver=file,node-name=disk,filename="$D/c-qsd.img" \
            --export type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path="$D/c-qsd.sock",writable=on,num-queues=1
    else
        echo "RESULT c-qsd setup failed=no-qemu-storage-daemon"
    fi
    # What the adapter does and what the back end allocates while b runs.
    a0=$(stats "$b_ours_bpid" "$D/b-ours.backend.log"); a1=$(stats "$b_ours_bpid" "$D/b-ours.backend.log")
    if command -v strace >/dev/null; then
        strace -f -c -o "$D/b-ours.strace" -p "$b_ours_apid" 2>/dev/null &
        spid=$!
    fi
    t0=$(msnow); bios=0
    for w in $WORKLOADS; do
        [ -b /dev/ram0 ] && fio_one a-brd /dev/ram0 "$w" ""
        [ -n "${b_ours_dev:-}" ] && { fio_one b-ours "$b_ours_dev" "$w" "$b_ours_sysfs" | tee "$D/b.last"; bios=$((bios + $(sed -n 's/.*ios=\([0-9]*\).*/\1/p' "$D/b.last"))); }
        [ -n "${c_qsd_dev:-}" ] && fio_one c-qsd "$c_qsd_dev" "$w" "$c_qsd_sysfs"
    done
    [ -b /dev/ram0 ] && verify_one a-brd /dev/ram0
    [ -n "${b_ours_dev:-}" ] && verify_one b-ours "$b_ours_dev"
    [ -n "${c_qsd_dev:-}" ] && verify_one c-qsd "$c_qsd_dev"
    t1=$(msnow)
    [ -n "${spid:-}" ] && { kill -INT $spid; wait $spid 2>/dev/null; }
    a2=$(stats "$b_ours_bpid" "$D/b-ours.backend.log")
    [ -n "$a0" ] && echo "ALLOC b-ours bytes=$(( (a2 - a1) - (a1 - a0) )) sample_cost=$((a1 - a0)) requests=$bios"
    if [ -s "$D/b-ours.strace" ]; then
        # strace -c's "total" line: calls in field 4 (or 3 when there are no errors).
        calls=$(awk '$NF == "total" { print $4 + 0 }' "$D/b-ours.strace")
        waits=$(awk '$NF == "epoll_wait" { print $4 + 0 }' "$D/b-ours.strace")
        byname=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { printf "%s%s:%d", sep, $NF, $4; sep = "," }' "$D/b-ours.strace")
        echo "SYSCALLS b-ours adapter_calls=${calls:-0} epoll_wait=${waits:-0} seconds=$(( (t1 - t0) / 1000 )) requests=$bios calls=$byname"
    fi
    for f in "$D"/*.adapter.log; do tail -n 5 "$f" | sed "s|^|INFO $(basename "$f"): |"; done
    for p in ${b_ours_apid:-} ${c_qsd_apid:-}; do kill -TERM $p; wait $p; done
    for p in ${b_ours_bpid:-} ${c_qsd_bpid:-}; do kill -TERM $p; wait $p; done
    rmmod brd 2>/dev/null
    rm -f "$D"/*.img

    # rng through the loopback: throughput and the latency of one 64-byte read.
    progress "rng"
    vhost-user-rng --socket-path "$D/rng.sock" >"$D/rng.log" 2>&1 &
    rpid=$!
    waitfor 20 test -S "$D/rng.sock"
    virtio-loopback-adapter --socket-path "$D/rng.sock" --device rng >"$D/rng.adapter.log" 2>&1 &
    apid=$!
    waitfor 20 grep -q virtio_rng /sys/class/misc/hw_random/rng_available
    echo virtio_rng.0 >/sys/class/misc/hw_random/rng_current 2>/dev/null
    t0=$(msnow); dd if=/dev/hwrng of=/dev/null bs=4096 count=$((RT * 64)) 2>/dev/null; t1=$(msnow)
    bytes=$((RT * 64 * 4096))
    n=$((RT * 100)); t2=$(msnow); dd if=/dev/hwrng of=/dev/null bs=64 count=$n 2>/dev/null; t3=$(msnow)
    echo "RNG bytes_per_s=$(( bytes * 1000 / (t1 - t0 + 1) )) read_us=$(( (t3 - t2) * 1000 / n ))"
    kill -TERM $apid; wait $apid; kill -TERM $rpid; wait $rpid

    # input: a uinput write until the event is read on the loopback's virtio-input node.
    progress "input latency ($EVENTS events)"
    mkfifo "$D/feed.in"
    uinput-feeder --timeout-ms 5000 --commands <"$D/feed.in" >"$D/feed.out" 2>&1 &
    exec 3>"$D/feed.in"
    echo create >&3
    waitfor 10 grep -q '^EVDEV ' "$D/feed.out"
    src=$(sed -n 's/^EVDEV //p' "$D/feed.out")
    vhost-user-input --socket-path "$D/in.sock" --evdev-path "$src" >"$D/in.log" 2>&1 &
    ipid=$!
    waitfor 20 test -S "$D/in.sock"
    virtio-loopback-adapter --socket-path "$D/in.sock" --device input --pool-size 1 >"$D/in.adapter.log" 2>&1 &
    apid=$!
    vin=
    vnode() { for _e in /sys/class/input/event*; do readlink -f "$_e/device" | grep -q '/virtio[0-9]*/' && { vin=/dev/input/${_e##*/}; return 0; }; done; return 1; }
    waitfor 20 vnode
    echo "latency $vin $EVENTS" >&3
    waitfor 600 grep -qE '^(OK|ERR) latency' "$D/feed.out"
    sed -n 's/^LATENCY_US \([0-9]*\) \([0-9]*\) \([0-9]*\) \([0-9]*\) \([0-9]*\)/INPUT events=\1 p50_us=\2 p99_us=\3 max_us=\4 mean_us=\5/p' "$D/feed.out"
    grep '^ERR' "$D/feed.out"
    echo quit >&3
    kill -TERM $apid; wait $apid; kill -TERM $ipid; wait $ipid
    rmmod virtio_loopback
    ;;
*) echo "usage: bench-guest.sh loopback|vm" >&2; exit 2 ;;
esac
echo "BENCH-DONE"
