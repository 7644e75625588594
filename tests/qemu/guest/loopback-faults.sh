#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (faults):
#  1. vhost-user-blk SIGKILLed and restarted three times while four writers
#     write and verify 256 KiB O_DIRECT chunks in parallel: the adapter
#     reconnects, hands the new back end the inflight area, restarts the rings
#     from the pool; zero I/O errors, zero mismatches, every chunk re-verified.
#  2. The adapter SIGKILLed with reads in flight: the module revokes the pool
#     from the still-running back end, fails what is queued and removes the
#     disk; the reader gets an error instead of hanging, the back end keeps
#     running; that again KILLS (lbkills=N, default 10) times at different
#     moments; rmmod succeeds.
#  3. 100 adapter runs (lbchurn=N on the kernel command line) creating and
#     destroying an rng device that virtio_rng
#     binds to and reads from: no leak in the live objects of the generic
#     kmalloc caches (/proc/slabinfo) or MemAvailable beyond a small bound,
#     nothing left behind.
#  4. A back end that finds its ring broken (faulty-blk, on demand) signals
#     SET_VRING_ERR: the adapter fails the device, so a read in flight ends
#     with an error instead of waiting forever, and the driver sees NEEDS_RESET.
#
# EXPECT: lb_insmod lb_restart_io_errors lb_restart_mismatches lb_restart_reconnects lb_restart_reverify
# EXPECT: lb_kill_disk_gone lb_kill_reader lb_kill_backend lb_kill_repeat lb_kill_rmmod lb_churn_cycles lb_churn_leak lb_churn_rmmod
# EXPECT: lb_vring_err_io lb_vring_err_logged
. /lib/guest-lib.sh

T=/tmp/lb
mkdir -p $T

load() { insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; }
if load; then pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"; else fail lb_insmod "no /dev/virtio-loopback"; fi

# ---- 1. back end killed and restarted under parallel write/verify ----------------
dd if=/dev/zero of=$T/disk.img bs=1M count=64 2>/dev/null
start_blk() { vhost-user-blk --socket-path $T/blk.sock --blk-file $T/disk.img --log-level debug >>$T/blk.log 2>&1 & bpid=$!; }
start_blk
virtio-loopback-adapter --socket-path $T/blk.sock --device blk --pool-size 16 --log-level debug >$T/adapter.log 2>&1 &
apid=$!
wait_until 30 blk_by_sectors 131072 >/dev/null || { info "no disk"; show $T/adapter.log; }
dev=$(blk_by_sectors 131072)

WORKERS=4
# worker W: 256 KiB chunks, round-robin over its own 16 MiB region, until $T/stop appears (so the
# I/O is still running at every kill); errors, mismatches and chunks counted in $T/result.W.
worker() {
    _w=$1; _i=0; _e=0; _b=0
    while [ ! -e $T/stop ]; do
        _off=$((_w * 64 + _i % 64))
        head -c 262144 /dev/urandom >$T/c.$_w
        _want=$(sha $T/c.$_w)
        dd if=$T/c.$_w of="$dev" bs=256k seek=$_off count=1 oflag=direct conv=notrunc 2>/dev/null || _e=$((_e + 1))
        _got=$(dd if="$dev" bs=256k skip=$_off count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
        [ "$_got" = "$_want" ] || _b=$((_b + 1))
        echo "$_off $_want" >>$T/sums.$_w
        _i=$((_i + 1))
    done
    echo "$_e $_b $_i" >$T/result.$_w
}
reconnects() { grep -c "Back end reconnected" $T/adapter.log; }
t0=$(ms)
rm -f $T/stop
w=0; wpids=
while [ $w -lt $WORKERS ]; do worker $w & wpids="$wpids $!"; w=$((w + 1)); done
kills=0
for delay in 1500000 2000000 2000000; do
    usleep $delay
    kill -KILL $bpid; wait $bpid 2>/dev/null
    kills=$((kills + 1))
    usleep 300000
    start_blk
    # The next kill only once the adapter has reconnected: on a loaded machine a
    # reconnection can take longer than the delay, and two kills would count as one loss.
    wait_until 30 sh -c "[ \$(grep -c 'Back end reconnected' $T/adapter.log) -ge $kills ]"
done
# Let the last reconnection happen and some I/O run on the new back end, then stop the writers.
wait_until 15 sh -c "[ \$(grep -c 'Back end reconnected' $T/adapter.log) -ge $kills ]"
usleep 1000000
touch $T/stop
wait $wpids
errors=0; bad=0; total=0
for w in 0 1 2 3; do
    read -r e b n <$T/result.$w || { e=1; b=1; n=0; }
    errors=$((errors + e)); bad=$((bad + b)); total=$((total + n))
done
info "write/verify of $total chunks with $kills kills took $(( $(ms) - t0 )) ms"
if [ $errors = 0 ] && [ $total -gt 0 ]; then pass lb_restart_io_errors "0 I/O errors in $total O_DIRECT writes from $WORKERS writers running through $kills SIGKILLs of the back end"
else fail lb_restart_io_errors "$errors I/O errors in $total writes"; show $T/adapter.log 30; fi
if [ $bad = 0 ]; then pass lb_restart_mismatches "0 mismatches in $total reads"; else fail lb_restart_mismatches "$bad mismatches"; fi
reconnects=$(reconnects)
if [ "$reconnects" -ge $kills ]; then pass lb_restart_reconnects "$reconnects reconnections in the adapter's log; inflight: $(grep -c 'SET_INFLIGHT_FD\|nflight' $T/blk.log) back-end lines"
else fail lb_restart_reconnects "$reconnects reconnections for $kills kills"; show $T/adapter.log 30; fi
bad=0; n=0
# The last data written at each offset.
cat $T/sums.* | awk '{ last[$1] = $2 } END { for (o in last) print o, last[o] }' >$T/sums
while read -r off want; do
    got=$(dd if="$dev" bs=256k skip=$off count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || bad=$((bad + 1))
    n=$((n + 1))
done <$T/sums
if [ $bad = 0 ] && [ $n -gt 0 ]; then pass lb_restart_reverify "all $n chunk positions read back again after the restarts (their last data)"
else fail lb_restart_reverify "$bad of $n chunks differ"; fi

# ---- 2. the adapter killed with I/O in flight ------------------------------------
( while dd if="$dev" of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null; do :; done; echo done >$T/reader.end ) &
rpid=$!
usleep 500000
kill -KILL $apid; wait $apid 2>/dev/null
if wait_until 15 not_there /sys/block/${dev#/dev/}; then pass lb_kill_disk_gone "${dev} removed after the adapter's SIGKILL"
else fail lb_kill_disk_gone "${dev} still there"; fi
if wait_until 30 test -e $T/reader.end; then pass lb_kill_reader "the reader ended with an error instead of hanging"
else fail lb_kill_reader "reader still blocked"; kill $rpid; fi
# The module revoked the pool from the back end, which outlived its adapter: it must still be
# running (reads of the dead page, not SIGBUS) and stop cleanly on SIGTERM.
alive=no; grep -q '^State:.*[RS]' /proc/$bpid/status 2>/dev/null && alive=yes
kill -TERM $bpid; wait $bpid; st=$?
if [ $alive = yes ] && [ $st = 0 ]; then pass lb_kill_backend "the back end outlived its adapter and the pool's revocation, exit 0 on SIGTERM"
else fail lb_kill_backend "back end alive=$alive, exit $st"; show $T/blk.log 10; fi
# Again, KILLS times: blk back end, adapter, two readers, the adapter SIGKILLed at a different
# moment each time. Before the revocation, one in about thirty hung here (the back end and the
# module both wrote the used ring: a request lost, del_gendisk waiting for it).
KILLS=$(sed -n 's/.*lbkills=\([0-9]*\).*/\1/p' /proc/cmdline); KILLS=${KILLS:-10}
k=0; kok=0
while [ $k -lt $KILLS ]; do
    rm -f $T/blk.sock
    start_blk
    wait_for $T/blk.sock 10
    virtio-loopback-adapter --socket-path $T/blk.sock --device blk --pool-size 16 --log-level warning >$T/adapter.log 2>&1 &
    apid=$!
    wait_until 30 blk_by_sectors 131072 >/dev/null
    dev=$(blk_by_sectors 131072)
    ( while dd if="$dev" of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null; do :; done ) &
    r1=$!
    ( while dd if="$dev" of=/dev/null bs=4k count=4096 iflag=direct 2>/dev/null; do :; done ) &
    r2=$!
    usleep $((200000 + k * 70000))
    kill -KILL $apid
    if [ -n "$dev" ] && wait_until 40 not_there /sys/block/${dev#/dev/}; then
        wait $apid 2>/dev/null
        kok=$((kok + 1))
    else
        info "kill $k: ${dev:-no disk} still there"; break
    fi
    wait $r1 $r2 2>/dev/null
    kill -TERM $bpid; wait $bpid
    k=$((k + 1))
done
if [ $kok = $KILLS ]; then pass lb_kill_repeat "$KILLS more adapter SIGKILLs under two readers: every disk removed, no hang"
else fail lb_kill_repeat "$kok of $KILLS"; fi
if rmmod virtio_loopback; then pass lb_kill_rmmod "module unloaded after its adapter died"; else fail lb_kill_rmmod "rmmod refused"; fi

# ---- 3. create/destroy churn through the adapter -----------------------------------
load || info "reload failed"
vhost-user-rng --socket-path $T/rng.sock >$T/rng.log 2>&1 &
rngpid=$!
wait_for $T/rng.sock 10
# cycle: one adapter run, the device bound and read, then SIGTERM and the device gone.
cycle() {
    virtio-loopback-adapter --socket-path $T/rng.sock --device rng --pool-size 1 --log-level warning >>$T/churn.log 2>&1 &
    _a=$!
    wait_until 20 grep -q virtio_rng /sys/class/misc/hw_random/rng_available || return 1
    head -c 64 /dev/hwrng >/dev/null
    kill -TERM $_a; wait $_a || return 1
    wait_until 10 not_rng_listed
}
not_rng_listed() { ! grep -q virtio_rng /sys/class/misc/hw_random/rng_available; }
echo virtio_rng >/sys/class/misc/hw_random/rng_current 2>/dev/null
CHURN=$(sed -n 's/.*lbchurn=\([0-9]*\).*/\1/p' /proc/cmdline)
CHURN=${CHURN:-100}
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# Live objects of the kernel's generic kmalloc caches, in kB (active objects x size). The module
# and the driver core allocate from these (and the pool from vmalloc, which MemAvailable covers).
# Not the -cg caches that processes charge, not the reclaimable ones, nor named caches: the
# adapters' tasks, files, dentries and inodes are reaped, RCU-freed and dropped on their own time,
# by up to 90 kB either way between two readings, more than a small leak.
slab_live() { awk 'NR > 2 && $1 ~ /^(dma-)?kmalloc-[0-9]+k?$/ { t += $2 * $4 } END { printf "%d\n", t / 1024 }' /proc/slabinfo; }
# SLUB counts every object of a CPU's current slab as active: one kmalloc-4k slab moving to a CPU
# reads as 32 kB more. Shrinking each cache flushes the CPU slabs back to the node lists, where
# the free objects are counted (and on a KASAN kernel empties its quarantine).
settle() {
    sync; echo 3 >/proc/sys/vm/drop_caches
    for _s in /sys/kernel/slab/*/shrink; do echo 1 >"$_s"; done 2>/dev/null
    sleep 1
}
i=0; while [ $i -lt 5 ]; do cycle; i=$((i + 1)); done    # warm-up: caches reach their size
settle
slab0=$(meminfo Slab); sunr0=$(meminfo SUnreclaim); avail0=$(meminfo MemAvailable); live0=$(slab_live)
cp /proc/slabinfo $T/slabinfo.0
t0=$(ms); ok=0; i=0
while [ $i -lt $CHURN ]; do cycle && ok=$((ok + 1)); i=$((i + 1)); done
t1=$(ms)
# Frees that wait for RCU, the reaping of the adapters' processes or (debug kernels) KASAN's
# quarantine show as live objects for a while; a leak stays. So the reading is retried, settled
# each time, up to 10 times (about 20 s) while it is above the bound.
n=0
while :; do
    settle
    slab1=$(meminfo Slab); sunr1=$(meminfo SUnreclaim); avail1=$(meminfo MemAvailable); live1=$(slab_live)
    n=$((n + 1))
    [ $((live1 - live0)) -lt 64 ] || [ $n -ge 10 ] || { sleep 1; continue; }
    break
done
data churn_settle_rounds $n
if [ $ok = $CHURN ]; then pass lb_churn_cycles "$CHURN create/bind/read/destroy cycles in $((t1 - t0)) ms ($(( (t1 - t0) / CHURN )) ms each)"
else fail lb_churn_cycles "$ok of $CHURN cycles"; tail -n 10 $T/churn.log; fi
dslab=$((slab1 - slab0)); dsunr=$((sunr1 - sunr0)); davail=$((avail0 - avail1)); dlive=$((live1 - live0))
data churn_slab_kb $dslab
data churn_sunreclaim_kb $dsunr
data churn_slab_live_kb $dlive
data churn_memavailable_drop_kb $davail
# 100 cycles that leak one device's objects each (vl_dev, pool, DMA device, slot bitmap: over
# 3 kB) would add 300 kB of live kmalloc objects; 64 kB allows 640 bytes a cycle. MemAvailable moves with
# the page cache; a leaked 1 MiB pool per cycle would still exceed 8 MiB.
if [ $dlive -lt 64 ] && [ $davail -lt 8192 ]; then
    pass lb_churn_leak "after $CHURN cycles: live kmalloc ${dlive} kB (SUnreclaim ${dsunr} kB, Slab ${dslab} kB with the process caches), MemAvailable -${davail} kB"
else
    fail lb_churn_leak "live kmalloc ${dlive} kB, SUnreclaim ${dsunr} kB, Slab ${dslab} kB, MemAvailable -${davail} kB"
    awk 'FNR == NR && FNR > 2 { a[$1] = $2 * $4; next } FNR > 2 && $2 * $4 - a[$1] > 2048 { print "INFO grew:", $1, $2 * $4 - a[$1] }' $T/slabinfo.0 /proc/slabinfo
fi
kill -TERM $rngpid; wait $rngpid
left=$(ls /sys/bus/virtio/devices | wc -l)
if [ "$left" = 0 ] && rmmod virtio_loopback; then pass lb_churn_rmmod "nothing left, module unloaded"
else fail lb_churn_rmmod "$left devices left or rmmod refused"; fi

# ---- 4. a back end that finds a ring broken: the guest's I/O fails, it does not wait ----------
# faulty-blk serves the disk until $T/break exists; then it marks its request queue broken and
# signals the ring's SET_VRING_ERR eventfd. The adapter stops the rings and fails the device.
load || info "module reload failed"
dd if=/dev/zero of=$T/faulty.img bs=1M count=8 2>/dev/null
rm -f $T/break $T/err-dd.rc
faulty-blk --socket-path $T/faulty.sock --blk-file $T/faulty.img --break-file $T/break >$T/faulty.log 2>&1 &
fpid=$!
wait_for $T/faulty.sock 10
virtio-loopback-adapter --socket-path $T/faulty.sock --device blk --pool-size 4 --log-level debug >$T/adapter-err.log 2>&1 &
apid=$!
before=fail
if wait_until 30 blk_by_sectors 16384 >/dev/null; then
    fdev=$(blk_by_sectors 16384)
    head -c 65536 /dev/urandom >$T/chunk
    dd if=$T/chunk of=$fdev bs=64k count=1 oflag=direct 2>/dev/null \
        && dd if=$fdev of=$T/chunk.back bs=64k count=1 iflag=direct 2>/dev/null \
        && [ "$(sha $T/chunk)" = "$(sha $T/chunk.back)" ] && before=ok
    touch $T/break
    t0=$(ms)
    ( dd if=$fdev of=/dev/null bs=64k count=1 skip=2 iflag=direct 2>$T/err-dd.txt; echo $? >$T/err-dd.rc ) &
    if wait_until 30 test -s $T/err-dd.rc; then
        rc=$(cat $T/err-dd.rc)
        vdev=$(basename "$(readlink -f /sys/block/${fdev#/dev/}/device)")
        st=$(cat /sys/bus/virtio/devices/$vdev/status 2>/dev/null)
        if [ "$before" = ok ] && [ "$rc" != 0 ] && [ $(( ${st:-0} & 64 )) = 64 ]; then
            pass lb_vring_err_io "$fdev: 64 KiB verified before the break; after it a read failed in $(( $(ms) - t0 )) ms instead of waiting ($(tail -n 1 $T/err-dd.txt)); status $st (NEEDS_RESET)"
        else
            fail lb_vring_err_io "before=$before dd rc=$rc status=$st: $(tail -n 1 $T/err-dd.txt)"
        fi
    else
        fail lb_vring_err_io "the read still waits 30 s after the back end broke its ring"
        show $T/adapter-err.log 10; show $T/faulty.log 10
    fi
else
    fail lb_vring_err_io "no disk from faulty-blk"; show $T/adapter-err.log 20
fi
if grep -q 'reports a broken vring' $T/adapter-err.log && grep -q 'asked to break' $T/faulty.log; then
    pass lb_vring_err_logged "back end: $(grep -o 'asked to break[^)]*)' $T/faulty.log | head -n 1); adapter: $(grep -o 'The back end reports a broken vring[^;]*' $T/adapter-err.log | head -n 1)"
else
    fail lb_vring_err_logged "adapter: $(grep -i 'vring\|fail' $T/adapter-err.log | tail -n 2 | tr '\n' ' ')"
fi
kill -TERM $apid; wait $apid
kill -TERM $fpid; wait $fpid
wait_until 10 not_there /sys/block/${fdev#/dev/} >/dev/null
rmmod virtio_loopback || info "rmmod after the vring-error test refused"
