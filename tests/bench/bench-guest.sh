#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The benchmark's measuring side. It runs inside the QEMU guests of
# run-bench.sh (amd64 and arm64), and unchanged on a real board or a qemuarm64
# image (no QEMU involved): it needs only a shell, fio, the programs on PATH
# and, for the loopback subjects, the module.
#
#   bench-guest.sh loopback   subjects a, b, g, c interleaved, then rng and input
#   bench-guest.sh peers      subjects a, b, g, p, c, e, f interleaved (e needs VDUSE:
#                             Linux 6.x with vduse.ko, vdpa.ko, virtio_vdpa.ko), in
#                             BENCH_ROUNDS rounds (default 1): each round sets every
#                             subject up afresh and starts each workload with the
#                             next subject of the last round's order
#   bench-guest.sh blk        the subjects named in BENCH_SUBJECTS (letters,
#                             e.g. "a b e"), interleaved, in BENCH_ROUNDS rounds
#   bench-guest.sh vm         subject d: the virtio-blk disk QEMU gives this guest
#                             (vhost-user-blk-pci on our back end), /dev/vda
#   bench-guest.sh modules    subject b under module variants, alternating: for each
#                             of BENCH_ROUNDS rounds (default 2), each variant of
#                             BENCH_VARIANTS is loaded, its subjects set up and every
#                             workload run on each; each round starts with the next
#                             variant. A variant is label:module[:params[:dir[:subjects[:sched]]]]:
#                             params "name=value,..." for insmod, dir a folder whose
#                             adapter and back end replace those on PATH (an earlier
#                             tree's), subjects letters "b,p" (default b), sched 1 to
#                             keep the kernel's default I/O scheduler on its disks (as
#                             a tree from before 90-virtio-loopback.rules shipped them).
#                             Results are named <letter>-<label>
#
# The blk subjects, every disk BENCH_SIZE_MB, every image on BENCH_DIR (BENCH_TAG, if
# set, is appended to each subject's name: two image folders in one guest):
#   a-brd     brd, the kernel's RAM disk: the ceiling
#   b-ours    virtio_blk -> virtio_loopback.ko -> our vhost-user-blk (adapter in between
#             for set-up only)
#   c-qsd     the same with qemu-storage-daemon's vhost-user-blk export
#   d-vm      our vhost-user-blk behind QEMU's vhost-user-blk-pci (mode vm)
#   e-vduse   virtio_blk -> virtio_vdpa -> vduse.ko -> qemu-storage-daemon's vduse-blk
#             export (vdpa dev add name vduse0 mgmtdev vduse)
#   f-nbd     nbd.ko -> unix socket -> qemu-nbd (nbd-client -u sets it up)
#   g-poll    b with vhost-user-blk --poll-us BENCH_POLL_US (default 200): its queue
#             thread polls after activity instead of sleeping at once
#   p-polled  g with the driver polling too: a second queue that virtio_blk makes a poll
#             queue (poll_queues=1: no interrupt is asked for; the submitter looks for its
#             completion), and fio on io_uring with hipri, so that fio spins for its
#             completion instead of sleeping. Neither end sleeps while I/O is in flight.
#             Linux 6.12 or later: on 6.1 a polled read that the block layer splits
#             never completes (see setup_p)
#   h-uring   b with --io-engine io_uring (each queue's reads, writes and flushes on
#             its own io_uring; b's default for an image on a real file system)
#   t-threads b with --io-engine threads --io-threads 4 (blocking calls on four I/O
#             threads; b's default for such an image before io_uring)
#   o-direct  h with --direct: the image opened O_DIRECT, so aligned transfers skip the
#             page cache of the file system the image lives on (and io_uring needs no
#             worker thread for an ext4 write)
#   q-qsd-direct c with cache.direct=on,aio=native (qemu-storage-daemon's O_DIRECT)
# A subject that cannot be set up is a "setup failed" result and makes the
# script exit 1 at the end: nothing is left out silently.
#
# Environment: BENCH_RUNTIME (s per workload, default 10), BENCH_RAMP (s of
# warm-up before each measured workload, default 1), BENCH_SIZE_MB (the disk,
# default 128), BENCH_MODULE (default /lib/modules/virtio_loopback.ko),
# BENCH_TIMING (1: load the module with timing=1, so that every loopback disk's
# COUNTER lines carry the time of the transport's steps; kernel-module/README.md),
# BENCH_DIR (a tmpfs for the images, default /tmp/bench), BENCH_EVENTS (input
# latency samples, default 10000), BENCH_POLL_US (g's poll window), BENCH_OURS_ARGS (more
# options for every subject of our vhost-user-blk, to try one out), BENCH_WORKLOADS
# (a subset of the workloads, while working on one; run-bench.sh's report needs all).
#
# Each workload is one fio process with two jobs: a warm-up of BENCH_RAMP
# seconds, then (stonewall) the measured job. fio runs a snapshot before and
# after the measured job (exec_prerun/exec_postrun): /proc/stat's cpu line,
# the disk's completed requests and, for a loopback disk, the module's
# counters. Guest CPU per request is the busy time of all vCPUs (user, nice,
# system, irq, softirq, steal; USER_HZ 100) over that window divided by the
# requests fio completed in it. It includes every process in the guest (fio,
# the back end, the adapter) and interrupt work, but not what runs outside
# the guest (QEMU's own threads for subject d's back end on the host).
#
# Output, one line per number (per round: a subject's lines repeat in each), for
# run-bench.sh (or a person):
#   RESULT <subject> <workload> iops=<n> bw_kib=<n> lat_us=<mean> p99_us=<n> ios=<n>
#          cpu_us=<busy µs per request> cpu_pct=<busy % of all vCPUs> [verify=ok|failed]
#     (lat_us and p99_us are fio's total latency, submission to completion)
#   RESULT <subject> setup failed=<reason>
#   COUNTER <subject> <workload> before <name>=<value>... after <name>=<value>...
#   VERSION kernel=<uname -r> arch=<uname -m> cpus=<n> fio=<v> [qsd=<v>] [qemu_nbd=<v>] [nbd_client=<v>]
#   INFO <subject>: <device, its sysfs path and queue depth>
#   RNG bytes_per_s=<n> read_us=<mean per 64-byte read>
#   INPUT events=<n> p50_us=<n> p99_us=<n> max_us=<n> mean_us=<n>
#   PROGRESS <text>
set -u
RT=${BENCH_RUNTIME:-10}
RAMP=${BENCH_RAMP:-1}
SIZE=${BENCH_SIZE_MB:-128}
KO=${BENCH_MODULE:-/lib/modules/virtio_loopback.ko}
D=${BENCH_DIR:-/tmp/bench}
EVENTS=${BENCH_EVENTS:-10000}
mkdir -p "$D"
setup_failed=0
progress() { echo "PROGRESS $*"; }
msnow() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
waitfor() { _wf=$(( $1 * 10 )); shift; while [ $_wf -gt 0 ]; do "$@" && return 0; usleep 100000; _wf=$((_wf - 1)); done; return 1; }
# setup_fail SUBJECT REASON: a subject that could not be set up (fails the run).
setup_fail() { echo "RESULT $1 setup failed=$2"; setup_failed=1; return 1; }

# The workloads: name, fio arguments. 1 MiB sequential at queue depth 4.
WORKLOADS=${BENCH_WORKLOADS:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m write-1m}
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
bs_kib() { case $1 in *-4k-*) echo 4 ;; *-1m) echo 1024 ;; verify-64k) echo 64 ;; esac; }

# $D/snap.sh DEV [SYSFS_DIR]: one line of what fio_one compares before and after the
# measured job: CPU ticks (busy and total, all vCPUs), the requests DEV completed
# (reads + writes of /sys/block/X/stat; brd keeps none) and the loopback device's
# counters (summed over its queues).
cat >"$D/snap.sh" <<'EOF'
#!/bin/sh
awk '$1 == "cpu" { printf "busy=%d total=%d ", $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
awk '{ printf "requests=%d ", $1 + $5 }' "/sys/block/${1#/dev/}/stat"
if [ -n "${2:-}" ]; then
    for c in kicks interrupts bounce_bytes pool_map_failures time_kick_ns time_map_ns time_unmap_ns time_deliver_ns time_callback_ns; do
        [ -r "$2/$c" ] && printf '%s=%s ' $c "$(cat "$2/$c")"
    done
fi
echo
EOF

# snapval LINE KEY: a key=value of a snap.sh line.
snapval() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# fio_run DEV JOBNAME FIO_ARGS... : fio with a warm-up job and the measured job JOBNAME,
# libaio unless FIO_ARGS name another engine,
# snapshots around the latter in $D/JOBNAME.prerun.txt / .postrun.txt (fio writes them
# into its working directory); terse output in $D/fio.out.
fio_run() {
    _dev=$1 _job=$2; shift 2
    rm -f "$D/$_job.prerun.txt" "$D/$_job.postrun.txt"
    _ramp=
    [ "$RAMP" -gt 0 ] && _ramp="--name=warm-up --runtime=$RAMP"
    # shellcheck disable=SC2086
    (cd "$D" && fio --filename="$_dev" --direct=1 --ioengine=libaio --size="${SIZE}M" --norandommap \
        --time_based --lat_percentiles=1 --clat_percentiles=0 --minimal "$@" \
        $_ramp \
        --name="$_job" --stonewall --runtime="$RT" \
        --exec_prerun="sh $D/snap.sh $_dev ${_sysfs:-}" --exec_postrun="sh $D/snap.sh $_dev ${_sysfs:-}") \
        >"$D/fio.all" 2>"$D/fio.err"
    _rc=$?
    grep "^3;[^;]*;$_job;" "$D/fio.all" >"$D/fio.out"
    return $_rc
}

# result_line SUBJECT WORKLOAD [EXTRA]: the RESULT line of the measured job in $D/fio.out,
# with guest CPU per request from the snapshots.
result_line() {
    _pre=$(cat "$D/$2.prerun.txt" 2>/dev/null); _post=$(cat "$D/$2.postrun.txt" 2>/dev/null)
    _busy=$(( $(snapval "$_post" busy) - $(snapval "$_pre" busy) ))
    _total=$(( $(snapval "$_post" total) - $(snapval "$_pre" total) ))
    # terse v3: 6 read KiB, 7 read KiB/s, 8 read iops, 40 read lat mean (µs), 30 the 99th
    # percentile (of total latency: --lat_percentiles); +41 the same for writes. A verify
    # pass reports its writes; its requests (for CPU) are the writes and the reads back.
    awk -F';' -v s="$1" -v w="$2" -v bs="$(bs_kib "$2")" -v busy="$_busy" -v total="$_total" -v extra="${3:-}" '{
        o = (w ~ /write|verify/) ? 41 : 0
        p99 = $(30 + o); sub(/.*=/, "", p99)
        ios = ($6 + $47) / bs
        cpu = ios > 0 ? busy * 10000 / ios : 0
        pct = total > 0 ? busy * 100 / total : 0
        printf "RESULT %s %s iops=%d bw_kib=%d lat_us=%.1f p99_us=%d ios=%d cpu_us=%.1f cpu_pct=%.0f%s\n",
            s, w, $(8 + o), $(7 + o), $(40 + o), p99, ios, cpu, pct, extra
    }' "$D/fio.out"
}

# fio_one SUBJECT DEV WORKLOAD SYSFS_DIR [FIO_ARGS]: one workload on one subject, one RESULT
# line (and a COUNTER line for a loopback disk). FIO_ARGS: the subject's own fio options.
fio_one() {
    progress "$1: $3 (${RT} s)"
    _sysfs=$4
    # shellcheck disable=SC2046,SC2086
    fio_run "$2" "$3" $(fio_args "$3") ${5:-}
    if [ -s "$D/fio.out" ]; then
        result_line "$1" "$3"
    else
        echo "RESULT $1 $3 failed=$(head -c 200 "$D/fio.err" | tr '\n' ' ')"
    fi
    [ -z "$4" ] || echo "COUNTER $1 $3 before $(cat "$D/$3.prerun.txt") after $(cat "$D/$3.postrun.txt")"
    _sysfs=
}

# verify_one SUBJECT DEV [FIO_ARGS]: a verified (crc32c) write pass over a quarter of the disk,
# on the subject's own fio options: every block written is read back and checked; a mismatch
# fails the run.
verify_one() {
    progress "$1: verified write pass"
    rm -f "$D/verify-64k.prerun.txt" "$D/verify-64k.postrun.txt"
    # shellcheck disable=SC2086
    if (cd "$D" && fio --name=verify-64k --filename="$2" --direct=1 --ioengine=libaio ${3:-} --rw=write --bs=64k --iodepth=8 \
        --size=$((SIZE / 4))M --verify=crc32c --do_verify=1 --verify_fatal=1 --lat_percentiles=1 --clat_percentiles=0 \
        --exec_prerun="sh $D/snap.sh $2" --exec_postrun="sh $D/snap.sh $2" --minimal) >"$D/fio.all" 2>"$D/fio.err"; then
        grep '^3;' "$D/fio.all" >"$D/fio.out"
        result_line "$1" verify-64k " verify=ok"
    else
        echo "RESULT $1 verify-64k iops=0 bw_kib=0 lat_us=0 p99_us=0 verify=failed $(head -c 200 "$D/fio.err" | tr '\n' ' ')"
    fi
}

vd_disks() { ls /sys/block 2>/dev/null | grep '^vd' | sort; }
# new_disk BEFORE: the vd disk of SIZE that is not in the list BEFORE.
new_disk() {
    for _b in $(vd_disks); do
        echo "$1" | grep -qx "$_b" && continue
        [ "$(cat "/sys/block/$_b/size")" = $((SIZE * 2048)) ] && { echo "/dev/$_b"; return 0; }
    done
    return 1
}
newest_loop() { ls -d /sys/devices/virtual/misc/virtio-loopback/virtio-loopback.* 2>/dev/null | sort -t. -k2 -n | tail -n 1; }
# loop_of DEV: the virtio-loopback device (its sysfs directory) DEV hangs off.
loop_of() { readlink -f "/sys/block/${1#/dev/}" | sed -n 's|\(.*/virtio-loopback\.[0-9]*\)/.*|\1|p'; }
disk_info() {
    _q=$(cat "/sys/block/${2#/dev/}/queue/nr_requests" 2>/dev/null)
    _e=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "/sys/block/${2#/dev/}/queue/scheduler" 2>/dev/null)
    echo "INFO $1: $2 ($(readlink -f "/sys/block/${2#/dev/}"), queue depth ${_q:-none: bio-based}, scheduler ${_e:-none})"
}

# start_loopback NAME BACKEND_CMD...: the back end on $D/NAME.sock with its own image and an
# adapter; sets <NAME>_dev, _sysfs, _bpid, _apid (NAME with '-' as '_').
start_loopback() {
    _n=$1; _v=$(echo "$1" | tr '-' '_'); shift
    truncate -s "${SIZE}M" "$D/$_n.img"
    "$@" >"$D/$_n.backend.log" 2>&1 &
    eval "${_v}_bpid=$!"
    waitfor 20 test -S "$D/$_n.sock" || { setup_fail "$_n" no-socket; return 1; }
    _before=$(vd_disks)
    virtio-loopback-adapter --socket-path "$D/$_n.sock" --device blk --pool-size 32 >"$D/$_n.adapter.log" 2>&1 &
    eval "${_v}_apid=$!"
    waitfor 30 new_disk "$_before" >/dev/null || { setup_fail "$_n" no-disk; return 1; }
    _d=$(new_disk "$_before")
    _s=$(loop_of "$_d")
    [ -n "$_s" ] || _s=$(newest_loop)
    [ -n "$_s" ] || { setup_fail "$_n" "$_d-not-on-the-loopback"; return 1; }
    # What dist/udev/90-virtio-loopback.rules does on an installed system (no udev here):
    # a loopback disk runs without an I/O scheduler. Other disks keep the kernel's default,
    # and so does this one with BENCH_KERNEL_SCHEDULER=1 (a tree from before the rule).
    if [ "${BENCH_KERNEL_SCHEDULER:-0}" != 1 ]; then
        echo none >"/sys/block/${_d#/dev/}/queue/scheduler" || { setup_fail "$_n" no-scheduler-none; return 1; }
    fi
    eval "${_v}_dev=$_d; ${_v}_sysfs=$_s"
    disk_info "$_n" "$_d"
    eval "threads_info $_n \$${_v}_bpid \$${_v}_apid"
}
# threads_info NAME BACKEND_PID ADAPTER_PID: each process's thread count with its rings running.
threads_info() {
    echo "INFO $1: threads back end $(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$2/status" 2>/dev/null)," \
        "adapter $(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$3/status" 2>/dev/null)"
}

# stats PID LOG: the back end's allocation total (SIGUSR1 makes it log one).
stats() { kill -USR1 $1 2>/dev/null; usleep 300000; sed -n 's/.*STATS allocated_bytes=\([0-9]*\).*/\1/p' "$2" | tail -n 1; }

# stop_loopback NAME: stop the adapter and back end start_loopback started.
stop_loopback() {
    _v=$(echo "$1" | tr '-' '_')
    eval "kill -TERM \$${_v}_apid; wait \$${_v}_apid; kill -TERM \$${_v}_bpid; wait \$${_v}_bpid"
    rm -f "$D/$1.img"
}

# ---- the blk subjects: setup_X sets name_X, dev_X and sysfs_X (loopback counters);
# ---- stop_X undoes it.
setup_a() {
    name_a=a-brd
    insmod /lib/modules/brd.ko rd_nr=1 rd_size=$((SIZE * 1024)) 2>/dev/null || modprobe brd rd_nr=1 rd_size=$((SIZE * 1024)) 2>/dev/null
    waitfor 5 test -b /dev/ram0 || { setup_fail a-brd no-brd; return 1; }
    [ "$(cat /sys/block/ram0/size)" = $((SIZE * 2048)) ] || { setup_fail a-brd "ram0-size-$(cat /sys/block/ram0/size)"; return 1; }
    dev_a=/dev/ram0; sysfs_a=
    disk_info a-brd /dev/ram0
}
stop_a() { rmmod brd 2>/dev/null; }

# start_ours NAME [OPTION...]: start_loopback with our vhost-user-blk on NAME's socket and image
# (BENCH_OURS_ARGS: more options for each of them, to try one out).
# shellcheck disable=SC2086
start_ours() { _o=$1; shift; start_loopback "$_o" vhost-user-blk --socket-path "$D/$_o.sock" --blk-file "$D/$_o.img" "$@" ${BENCH_OURS_ARGS:-}; }

setup_b() {
    name_b=b-ours
    start_ours b-ours || return 1
    dev_b=$b_ours_dev; sysfs_b=$b_ours_sysfs
}
stop_b() { stop_loopback b-ours; }

# g: b with the back end's queue thread polling for BENCH_POLL_US after each activity.
setup_g() {
    name_g=g-poll
    start_ours g-poll --poll-us "${BENCH_POLL_US:-200}" || return 1
    dev_g=$g_poll_dev; sysfs_g=$g_poll_sysfs
}
stop_g() { stop_loopback g-poll; }

# p: g with a poll queue in the driver and fio polling for its completions (io_uring, hipri).
# virtio_blk reads poll_queues when it probes a disk, so it is 1 only while p's disk appears;
# the poll queue is the second of two (the first keeps interrupts for everything not polled).
#
# Not before Linux 6.12. On Debian's 6.1 (amd64 and arm64 alike) a polled 1 MiB read that the
# block layer splits (seg_max 126, fio's buffer scattered in guest memory) never completes:
# fio spins in io_uring's poll with nothing in flight on the disk. QEMU's own virtio-blk-pci
# with queue-size=128 and a poll queue hangs the same way, so it is the guest kernel's, not
# this transport's; on 6.12 p completes the same workloads.
setup_p() {
    name_p=p-polled
    _kv=$(uname -r | awk -F'[.-]' '{ print $1 * 1000 + $2 }')
    [ "$_kv" -ge 6012 ] || { setup_fail p-polled "kernel-$(uname -r)-loses-split-polled-reads"; return 1; }
    _pq=/sys/module/virtio_blk/parameters/poll_queues
    [ -w $_pq ] || { setup_fail p-polled "no-$_pq"; return 1; }
    echo 1 >$_pq
    start_ours p-polled --poll-us "${BENCH_POLL_US:-200}" --num-queues 2; _r=$?
    echo 0 >$_pq
    [ $_r = 0 ] || return 1
    dev_p=$p_polled_dev; sysfs_p=$p_polled_sysfs
    _poll=$(cat "/sys/block/${dev_p#/dev/}/queue/io_poll" 2>/dev/null)
    [ "$_poll" = 1 ] || { setup_fail p-polled "io_poll-${_poll:-missing}"; return 1; }
    fio_p="--ioengine=io_uring --hipri=1"
}
stop_p() { stop_loopback p-polled; }

setup_h() {
    name_h=h-uring
    start_ours h-uring --io-engine io_uring || return 1
    dev_h=$h_uring_dev; sysfs_h=$h_uring_sysfs
}
stop_h() { stop_loopback h-uring; }

setup_t() {
    name_t=t-threads
    start_ours t-threads --io-engine threads --io-threads 4 || return 1
    dev_t=$t_threads_dev; sysfs_t=$t_threads_sysfs
}
stop_t() { stop_loopback t-threads; }

setup_o() {
    name_o=o-direct
    start_ours o-direct --io-engine io_uring --direct || return 1
    dev_o=$o_direct_dev; sysfs_o=$o_direct_sysfs
}
stop_o() { stop_loopback o-direct; }

# start_qsd NAME [FILE_OPTIONS]: qemu-storage-daemon's vhost-user-blk export of $D/NAME.img
# behind the loopback; FILE_OPTIONS are more options of its file driver (",cache.direct=on").
start_qsd() {
    command -v qemu-storage-daemon >/dev/null || { setup_fail "$1" no-qemu-storage-daemon; return 1; }
    start_loopback "$1" qemu-storage-daemon --blockdev driver=file,node-name=disk,filename="$D/$1.img${2:-}" \
        --export type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path="$D/$1.sock",writable=on,num-queues=1
}

setup_c() {
    name_c=c-qsd
    start_qsd c-qsd || return 1
    dev_c=$c_qsd_dev; sysfs_c=$c_qsd_sysfs
}
stop_c() { stop_loopback c-qsd; }

setup_q() {
    name_q=q-qsd-direct
    start_qsd q-qsd-direct ,cache.direct=on,aio=native || return 1
    dev_q=$q_qsd_direct_dev; sysfs_q=$q_qsd_direct_sysfs
}
stop_q() { stop_loopback q-qsd-direct; }

# e: VDUSE. qemu-storage-daemon creates the VDUSE device (/dev/vduse/vduse0), vdpa attaches
# it to the vDPA bus, virtio_vdpa binds it and virtio_blk gets a disk.
setup_e() {
    name_e=e-vduse
    for t in qemu-storage-daemon vdpa; do command -v $t >/dev/null || { setup_fail e-vduse "no-$t"; return 1; }; done
    [ -c /dev/vduse/control ] || modprobe vduse 2>/dev/null
    [ -c /dev/vduse/control ] || { setup_fail e-vduse no-dev-vduse-control; return 1; }
    [ -d /sys/bus/vdpa/drivers/virtio_vdpa ] || modprobe virtio_vdpa 2>/dev/null
    [ -d /sys/bus/vdpa/drivers/virtio_vdpa ] || { setup_fail e-vduse no-virtio_vdpa; return 1; }
    truncate -s "${SIZE}M" "$D/e-vduse.img"
    qemu-storage-daemon --blockdev driver=file,node-name=disk,filename="$D/e-vduse.img" \
        --export type=vduse-blk,id=exp,node-name=disk,name=vduse0,writable=on,num-queues=1 >"$D/e-vduse.backend.log" 2>&1 &
    e_bpid=$!
    waitfor 20 test -c /dev/vduse/vduse0 || { setup_fail e-vduse no-vduse-device; return 1; }
    _before=$(vd_disks)
    vdpa dev add name vduse0 mgmtdev vduse >"$D/e-vduse.vdpa.log" 2>&1 || { setup_fail e-vduse "vdpa-dev-add-$(head -c 80 "$D/e-vduse.vdpa.log" | tr ' \n' '__')"; return 1; }
    waitfor 30 new_disk "$_before" >/dev/null || { setup_fail e-vduse no-disk; return 1; }
    dev_e=$(new_disk "$_before"); sysfs_e=
    readlink -f "/sys/block/${dev_e#/dev/}" | grep -q /vduse0/ || { setup_fail e-vduse "$dev_e-not-on-vduse0"; return 1; }
    disk_info e-vduse "$dev_e"
}
stop_e() {
    vdpa dev del vduse0
    kill -TERM $e_bpid; wait $e_bpid
    rm -f "$D/e-vduse.img"
}

# f: NBD over a unix socket. qemu-nbd serves the image; nbd-client hands the connected
# socket to nbd.ko (netlink) and exits.
setup_f() {
    name_f=f-nbd
    for t in qemu-nbd nbd-client; do command -v $t >/dev/null || { setup_fail f-nbd "no-$t"; return 1; }; done
    [ -b /dev/nbd0 ] || modprobe nbd 2>/dev/null
    [ -b /dev/nbd0 ] || { setup_fail f-nbd no-nbd-module; return 1; }
    truncate -s "${SIZE}M" "$D/f-nbd.img"
    qemu-nbd -k "$D/f-nbd.sock" -x bench -f raw "$D/f-nbd.img" >"$D/f-nbd.backend.log" 2>&1 &
    f_bpid=$!
    waitfor 20 test -S "$D/f-nbd.sock" || { setup_fail f-nbd no-socket; return 1; }
    nbd-client -u -N bench "$D/f-nbd.sock" /dev/nbd0 -b 4096 >"$D/f-nbd.client.log" 2>&1 ||
        { setup_fail f-nbd "nbd-client-$(tail -n 1 "$D/f-nbd.client.log" | tr ' ' '_')"; return 1; }
    waitfor 10 sh -c "[ \$(cat /sys/block/nbd0/size) = $((SIZE * 2048)) ]" || { setup_fail f-nbd "nbd0-size-$(cat /sys/block/nbd0/size)"; return 1; }
    dev_f=/dev/nbd0; sysfs_f=
    disk_info f-nbd /dev/nbd0
}
stop_f() {
    nbd-client -d /dev/nbd0 >/dev/null 2>&1
    # qemu-nbd (not --persistent) exits when its client goes; make sure.
    waitfor 5 sh -c "! kill -0 $f_bpid 2>/dev/null" || kill -TERM $f_bpid
    wait $f_bpid
    rm -f "$D/f-nbd.img"
}

versions() {
    _v="kernel=$(uname -r) arch=$(uname -m) cpus=$(nproc) fio=$(fio --version | sed 's/^fio-//')"
    command -v qemu-storage-daemon >/dev/null && _v="$_v qsd=$(qemu-storage-daemon --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')"
    command -v qemu-nbd >/dev/null && _v="$_v qemu_nbd=$(qemu-nbd --version | sed -n '1s/^qemu-nbd \([^ ]*\).*/\1/p')"
    # "This is nbd-client, from nbd 3.24"
    command -v nbd-client >/dev/null && _v="$_v nbd_client=$(nbd-client -V 2>&1 | sed -n 's/.* \([0-9][0-9.]*\)$/\1/p' | head -n 1)"
    echo "VERSION $_v"
}

# blk_subjects LETTERS...: set every subject up, run every workload on each in turn (so
# drift on the machine touches all alike), then a verified write pass on each; account
# the adapter's system calls and the back end's allocations while b runs.
blk_subjects() {
    ready=
    for s in "$@"; do
        progress "set up $s"
        if "setup_$s"; then ready="$ready $s"; eval "name_$s=\${name_$s}${BENCH_TAG:-}"; fi
    done
    has_b=0; case " $ready " in *" b "*) has_b=1 ;; esac
    if [ $has_b = 1 ]; then
        a0=$(stats "$b_ours_bpid" "$D/b-ours.backend.log"); a1=$(stats "$b_ours_bpid" "$D/b-ours.backend.log")
        if command -v strace >/dev/null; then
            strace -f -c -o "$D/b-ours.strace" -p "$b_ours_apid" 2>/dev/null &
            spid=$!
        fi
    fi
    t0=$(msnow); bios=0
    for w in $WORKLOADS; do
        for s in $ready; do
            eval "fio_one \$name_$s \$dev_$s $w \"\$sysfs_$s\" \"\${fio_$s:-}\"" | tee "$D/last"
            [ "$s" = b ] && bios=$((bios + $(sed -n 's/.*ios=\([0-9]*\).*/\1/p' "$D/last" | head -n 1)))
        done
    done
    for s in $ready; do eval "verify_one \$name_$s \$dev_$s \"\${fio_$s:-}\""; done
    t1=$(msnow)
    if [ $has_b = 1 ]; then
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
    fi
    for f in "$D"/*.adapter.log; do [ -e "$f" ] && tail -n 5 "$f" | sed "s|^|INFO $(basename "$f"): |"; done
    for s in $ready; do "stop_$s"; done
}

load_module() {
    insmod "$KO" ${BENCH_TIMING:+timing=$BENCH_TIMING} 2>/dev/null
    waitfor 5 test -c /dev/virtio-loopback || { setup_fail loopback no-module; return 1; }
}

case ${1:-loopback} in
modules)
    # Each round starts with the next variant, so that whatever favours the
    # first (or last) run of a round touches every variant alike.
    # shellcheck disable=SC2086
    set -- $BENCH_VARIANTS
    for round in $(seq 1 "${BENCH_ROUNDS:-2}"); do
        order=$*
        first=$1; shift; set -- "$@" "$first"
        for variant in $order; do
            IFS=: read -r label ko params bindir letters sched <<EOF
$variant
EOF
            progress "round $round: module $label"
            # shellcheck disable=SC2046
            insmod "$ko" $(echo "$params" | tr ',' ' ') || { setup_fail "b-$label" insmod; continue; }
            waitfor 5 test -c /dev/virtio-loopback
            _path=$PATH; [ -z "$bindir" ] || PATH=$bindir:$PATH
            for s in $(echo "${letters:-b}" | tr ',' ' '); do
                BENCH_KERNEL_SCHEDULER=${sched:-0} "setup_$s" || continue
                eval "_vd=\$dev_$s _vs=\$sysfs_$s _vf=\${fio_$s:-}"
                for w in $WORKLOADS; do fio_one "$s-$label" "$_vd" "$w" "$_vs" "$_vf"; done
                "stop_$s"
            done
            PATH=$_path
            rmmod virtio_loopback
        done
    done
    ;;
vm)
    versions
    waitfor 30 test -b /dev/vda || { setup_fail d-vm no-vda; exit 1; }
    disk_info d-vm /dev/vda
    for w in $WORKLOADS; do fio_one d-vm /dev/vda "$w" ""; done
    verify_one d-vm /dev/vda
    ;;
peers|blk)
    versions
    subjects=${BENCH_SUBJECTS:-a b g p c e f}
    [ "$1" = peers ] && subjects="a b g p c e f"
    case " $subjects " in *" b "*|*" c "*|*" g "*|*" h "*|*" t "*|*" o "*|*" p "*|*" q "*) load_module ;; esac
    # shellcheck disable=SC2086
    set -- $subjects
    rounds=${BENCH_ROUNDS:-1}
    for round in $(seq 1 "$rounds"); do
        [ "$rounds" = 1 ] || progress "round $round of $rounds: $*"
        blk_subjects "$@"
        first=$1; shift; set -- "$@" "$first"
    done
    lsmod | grep -q '^virtio_loopback ' && rmmod virtio_loopback
    ;;
loopback)
    versions
    load_module || exit 1
    # (a) the kernel's own ceiling: brd, a RAM disk in the same kernel; (b) our vhost-user-blk and
    # (c) qemu-storage-daemon (C, libvhost-user) through the same module and adapter, images of the
    # same size on the same tmpfs.
    blk_subjects a b g c

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
*) echo "usage: bench-guest.sh loopback|peers|blk|vm|modules" >&2; exit 2 ;;
esac
echo "BENCH-DONE"
[ $setup_failed = 0 ]
