#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of run-qemu-test.sh: a virtio-blk RAM disk served by
# vl-blk-test with a 256 KiB pool: 4 MiB written and read back through
# bounce buffers, indirect descriptors and pool back-pressure; fsync sends
# FLUSH.
# EXPECT: vb_insmod vb_disk vb_rw vb_backpressure vb_flush vb_remove vb_rmmod vb_dmesg
. /lib/guest-lib.sh

dmesg -n 7 2>/dev/null
if insmod /lib/modules/virtio_loopback.ko; then pass vb_insmod; else fail vb_insmod; fi
wait_for /dev/virtio-loopback 5

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
if rmmod virtio_loopback; then pass vb_rmmod; else fail vb_rmmod; fi
if dmesg | grep -qE 'WARNING|BUG|Oops|Call Trace|refcount'; then
    dmesg | grep -E -A5 'WARNING|BUG|Oops|Call Trace|refcount' | head -n 40
    fail vb_dmesg "kernel trouble in dmesg"
else
    pass vb_dmesg "dmesg clean (no warnings, bugs or oopses)"
fi
