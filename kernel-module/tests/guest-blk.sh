#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of run-qemu-test.sh: a virtio-blk RAM disk served by
# vl-blk-test with a 256 KiB pool: 4 MiB written and read back through
# bounce buffers, indirect descriptors and pool back-pressure; fsync sends
# FLUSH; the timing parameter's counters move only while it is on. Then a
# back end that dies with O_DIRECT writes in flight: closing its control fd
# must fail them (EIO) and remove the disk promptly.
# Then FAIL_DEVICE: a back end that gives up with requests in flight, as
# its answer to DRIVER_OK, and before DRIVER_OK (while answering the first
# RESET): I/O must end with EIO at once while the disk stays, with
# NEEDS_RESET (0x40) in the virtio status.
# EXPECT: vb_insmod vb_disk vb_rw vb_backpressure vb_timing vb_flush vb_remove
# EXPECT: vb_dead_stall vb_dead_eio vb_dead_remove
# EXPECT: vb_fail_eio vb_fail_state vb_fail_new_io vb_fail_remove
# EXPECT: vb_fail_at_driver_ok vb_fail_at_reset vb_rmmod vb_dmesg
. /lib/guest-lib.sh
. /bin/vl-guest-lib.sh

dmesg -n 7 2>/dev/null
vl_insmod vb_insmod

/bin/vl-blk-test 120 >/tmp/vb.log 2>&1 &
pid=$!
if wait_for /sys/block/vda 20 && wait_for /dev/vda 5; then
    pass vb_disk "vda: $(cat /sys/block/vda/size) sectors, max_segment_size=$(cat /sys/block/vda/queue/max_segment_size) max_sectors_kb=$(cat /sys/block/vda/queue/max_sectors_kb) write_cache='$(cat /sys/block/vda/queue/write_cache)'"
else
    fail vb_disk "no /dev/vda; $(tail -n 3 /tmp/vb.log)"
fi

dd if=/dev/urandom of=/tmp/pat bs=65536 count=64 2>/dev/null
t0=$(cut -d' ' -f1 /proc/uptime)
dd if=/tmp/pat of=/dev/vda bs=65536 conv=fsync 2>&1 | grep -v records | sed "s/^/dd write: /" | tee /tmp/dd.err
sync
echo 3 >/proc/sys/vm/drop_caches
dd if=/dev/vda of=/tmp/back bs=65536 count=64 2>/dev/null
t1=$(cut -d' ' -f1 /proc/uptime)
a=$(sha /tmp/pat); b=$(sha /tmp/back)
if [ "$a" = "$b" ] && [ ! -s /tmp/dd.err ]; then
    pass vb_rw "4 MiB written and read back identical (sha256 ${a%${a#????????????}}...), $t0..$t1 s uptime"
else
    fail vb_rw "read back differs or write failed: $a vs $b $(cat /tmp/dd.err)"
fi

parent=$(readlink -f /sys/block/vda/device/..)
info "pool: $(cat $parent/pool_size) bytes, $(cat $parent/pool_used) in use, $(cat $parent/pool_map_failures) mappings refused"
fails=$(cat $parent/pool_map_failures)
if [ "${fails:-0}" -gt 0 ]; then
    pass vb_backpressure "$fails streaming mappings refused with a full pool, every request still completed"
else
    skip vb_backpressure "the pool never ran full"
fi
# The timing parameter: nothing summed while off; every step timed while on; still again once off.
step_ns() { cat $parent/time_kick_ns $parent/time_map_ns $parent/time_unmap_ns $parent/time_deliver_ns $parent/time_callback_ns | tr '\n' ' '; }
off=$(step_ns)
echo 1 >/sys/module/virtio_loopback/parameters/timing
dd if=/dev/vda of=/dev/null bs=65536 count=16 iflag=direct 2>/dev/null
on=$(step_ns)
echo 0 >/sys/module/virtio_loopback/parameters/timing
dd if=/dev/vda of=/dev/null bs=65536 count=16 iflag=direct 2>/dev/null
after=$(step_ns)
zero=0; for t in $on; do [ "$t" -gt 0 ] || zero=1; done
if [ "$off" = "0 0 0 0 0 " ] && [ $zero = 0 ] && [ "$after" = "$on" ]; then
    pass vb_timing "kick map unmap deliver callback ns: off $off; after 1 MiB read with timing=1: $on; unchanged once off"
else
    fail vb_timing "off '$off', on '$on', off again '$after'"
fi
kill -TERM $pid
wait $pid
echo "---- vl-blk-test output"
cat /tmp/vb.log
echo "----"
flushes=$(sed -n 's/.*flush=\([0-9]*\).*/\1/p' /tmp/vb.log)
if [ "${flushes:-0}" -gt 0 ]; then
    pass vb_flush "$(grep 'VL served' /tmp/vb.log)"
else
    fail vb_flush "no FLUSH seen: $(grep 'VL served' /tmp/vb.log)"
fi
if [ -e /sys/block/vda ]; then fail vb_remove "vda still present"; else pass vb_remove "vda gone after close (idle queue)"; fi
# ---- a back end that stops serving, then dies with requests in flight
/bin/vl-blk-test 120 40 >/tmp/vbd.log 2>&1 &
pid=$!
if ! wait_for /sys/block/vda 20 || ! wait_for /dev/vda 5; then
    fail vb_dead_stall "no /dev/vda; $(tail -n 3 /tmp/vbd.log)"
fi
dd if=/dev/zero of=/dev/vda bs=65536 count=128 oflag=direct >/tmp/dd-dead.err 2>&1 &
ddpid=$!
i=0
while ! grep -q 'VL stalled' /tmp/vbd.log && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
if grep -q 'VL stalled' /tmp/vbd.log && kill -0 $ddpid 2>/dev/null; then
    pass vb_dead_stall "$(grep 'VL stalled' /tmp/vbd.log); dd blocked"
else
    fail vb_dead_stall "back end never stalled with dd in flight: $(tail -n 3 /tmp/vbd.log)"
fi
t0=$(cut -d' ' -f1 /proc/uptime)
kill -TERM $pid
# The back end's close() returns once the device is gone.
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
t1=$(cut -d' ' -f1 /proc/uptime)
i=0
while kill -0 $ddpid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $ddpid 2>/dev/null; then
    fail vb_dead_eio "dd still blocked 5 s after the close"
    kill -9 $ddpid 2>/dev/null
else
    wait $ddpid
    rc=$?
    if [ $rc -ne 0 ] && grep -qiE 'I/O error|Input/output error' /tmp/dd-dead.err; then
        pass vb_dead_eio "dd exit $rc: $(grep -i 'error' /tmp/dd-dead.err | head -n 1)"
    else
        fail vb_dead_eio "dd exit $rc: $(cat /tmp/dd-dead.err)"
    fi
fi
if kill -0 $pid 2>/dev/null; then
    fail vb_dead_remove "close() of the control fd hangs ($t0..$t1 s)"
elif [ -e /sys/block/vda ]; then
    fail vb_dead_remove "vda still present after close"
else
    pass vb_dead_remove "control fd closed and vda gone in $t0..$t1 s uptime: $(grep 'VL closed' /tmp/vbd.log)"
fi
dmesg | grep -E 'virtio|vda|I/O error' | tail -n 6 | sed 's/^/dmesg: /'

# ---- FAIL_DEVICE with requests in flight: they fail, the disk stays
# wait_gone PID TENTHS: wait for PID to exit; false if it is still running.
wait_gone() {
    _i=0
    while kill -0 "$1" 2>/dev/null && [ $_i -lt "$2" ]; do usleep 100000; _i=$((_i + 1)); done
    ! kill -0 "$1" 2>/dev/null
}
# vstatus: the virtio status byte of the (only) virtio device.
vstatus() { cat /sys/bus/virtio/devices/*/status 2>/dev/null | head -n1; }
# direct_read: one 4 KiB O_DIRECT read of vda, at most 5 s; prints dd's error.
direct_read() {
    dd if=/dev/vda of=/dev/null bs=4096 count=1 iflag=direct 2>/tmp/dr.err &
    _p=$!
    if wait_gone $_p 50; then
        wait $_p
        grep -i error /tmp/dr.err | head -n 1
    else
        kill -9 $_p 2>/dev/null
        echo "dd still blocked after 5 s"
    fi
}
/bin/vl-blk-test 120 40 >/tmp/vbf.log 2>&1 &
pid=$!
wait_for /sys/block/vda 20 && wait_for /dev/vda 5
dd if=/dev/zero of=/dev/vda bs=65536 count=128 oflag=direct >/tmp/dd-fail.err 2>&1 &
ddpid=$!
i=0
while ! grep -q 'VL stalled' /tmp/vbf.log && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
usleep 500000
t0=$(cut -d' ' -f1 /proc/uptime)
kill -USR1 $pid
if wait_gone $ddpid 50; then
    wait $ddpid
    rc=$?
    t1=$(cut -d' ' -f1 /proc/uptime)
    if [ $rc -ne 0 ] && grep -qiE 'I/O error|Input/output error' /tmp/dd-fail.err; then
        pass vb_fail_eio "dd exit $rc $t0..$t1 s after FAIL_DEVICE: $(grep -i error /tmp/dd-fail.err | head -n 1); $(grep FAIL_DEVICE /tmp/vbf.log)"
    else
        fail vb_fail_eio "dd exit $rc: $(cat /tmp/dd-fail.err); $(grep FAIL_DEVICE /tmp/vbf.log)"
    fi
else
    fail vb_fail_eio "dd still blocked 5 s after FAIL_DEVICE; $(tail -n 2 /tmp/vbf.log)"
    kill -9 $ddpid 2>/dev/null
fi
st=$(vstatus)
msg=$(dmesg | grep 'back end failed the device' | tail -n 1)
if [ -e /sys/block/vda ] && [ $(( ${st:-0} & 0x40 )) != 0 ] && [ -n "$msg" ]; then
    pass vb_fail_state "vda stays, virtio status $st (NEEDS_RESET), dmesg: ${msg#*] }"
else
    fail vb_fail_state "vda $(ls /sys/block | tr '\n' ' ') status '$st' dmesg '$msg'"
fi
err=$(direct_read)
case $err in
    *[Ii]nput/output*|*I/O*) pass vb_fail_new_io "a new read fails at once: $err" ;;
    *) fail vb_fail_new_io "new read: '$err'" ;;
esac
kill -TERM $pid
if wait_gone $pid 100 && [ ! -e /sys/block/vda ]; then
    pass vb_fail_remove "failed device removed on close: $(grep 'VL closed' /tmp/vbf.log)"
else
    fail vb_fail_remove "back end or vda left after close"
fi

# ---- FAIL_DEVICE as the answer to DRIVER_OK, and before it (at RESET)
for at in driver_ok reset; do
    VL_FAIL_AT=$at /bin/vl-blk-test 60 >/tmp/vbf-$at.log 2>&1 &
    pid=$!
    wait_for /sys/block/vda 20 && wait_for /dev/vda 5
    st=$(vstatus)
    err=$(direct_read)
    kill -TERM $pid
    gone=yes
    wait_gone $pid 100 && [ ! -e /sys/block/vda ] || gone=no
    dok=$(grep -c 'VL DRIVER_OK' /tmp/vbf-$at.log)
    # Failed before DRIVER_OK, the device breaks when the driver sets
    # DRIVER_OK, and no DRIVER_OK event is sent.
    want_dok=1
    [ $at = reset ] && want_dok=0
    case $err in
        *[Ii]nput/output*|*I/O*)
            if [ $(( ${st:-0} & 0x40 )) != 0 ] && [ $gone = yes ] && [ "$dok" = $want_dok ]; then
                pass vb_fail_at_$at "status $st, read: $err; removed on close; $(grep FAIL_DEVICE /tmp/vbf-$at.log)"
            else
                fail vb_fail_at_$at "status '$st' removed=$gone DRIVER_OK events=$dok; $(grep FAIL_DEVICE /tmp/vbf-$at.log)"
            fi ;;
        *) fail vb_fail_at_$at "read: '$err' status '$st'; $(tail -n 3 /tmp/vbf-$at.log)" ;;
    esac
done
dmesg | grep -E 'failed the device|vda' | tail -n 6 | sed 's/^/dmesg: /'
vl_finish vb
