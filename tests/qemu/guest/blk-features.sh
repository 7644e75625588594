#!/bin/sh
# SPDX-License-Identifier: MIT
#
# virtio-blk features through real QEMU vhost-user-blk-pci and the guest's
# virtio_blk: WRITE_ZEROES (BLKZEROOUT and a punched hole), DISCARD, the
# limits and serial the back end advertises, seg_max 254 (--queue-size 256) on
# QEMU's ring of 128 with verified 1 MiB writes, CONFIG_WCE (cache_type), and a
# live resize: the host grows the image and sends SIGHUP, the back end sends
# CONFIG_CHANGE_MSG, QEMU raises a config interrupt, the guest sees the size.
# EXPECT: zeroout punch_zeroes discard_ok limits long_requests serial cache_toggle resize
. /lib/guest-lib.sh

wait_for /dev/vda
# zeros MIB: the MiB at that offset reads back as zeros (O_DIRECT: no page cache).
zeros() { [ "$(dd if=/dev/vda bs=1M skip="$1" count=1 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)" = 0 ]; }

dd if=/dev/urandom of=/dev/vda bs=1M count=5 oflag=direct 2>/dev/null
if zeros 1; then fail zeroout "random data read back as zeros before the test"; fi

if /opt/ul/blkdiscard -z -o 1048576 -l 1048576 /dev/vda && zeros 1 && ! zeros 0; then
    pass zeroout "BLKZEROOUT of 1 MiB reads back zeros, the MiB before is intact"
else
    fail zeroout "BLKZEROOUT"
fi
if /opt/ul/fallocate -p -o 2097152 -l 1048576 /dev/vda && zeros 2 && ! zeros 3; then
    pass punch_zeroes "a punched hole (WRITE_ZEROES with unmap) reads back zeros, the next MiB is intact"
else
    fail punch_zeroes "fallocate --punch-hole"
fi
if /opt/ul/blkdiscard -o 3145728 -l 1048576 /dev/vda && ! zeros 4; then
    pass discard_ok "DISCARD accepted, the next MiB is intact"
else
    fail discard_ok "blkdiscard"
fi

q=/sys/block/vda/queue
dmax=$(cat $q/discard_max_bytes); wzmax=$(cat $q/write_zeroes_max_bytes); segs=$(cat $q/max_segments)
if [ "$dmax" -gt 0 ] && [ "$wzmax" -gt 0 ] && [ "$segs" -gt 1 ]; then
    pass limits "discard_max_bytes=$dmax write_zeroes_max_bytes=$wzmax max_segments=$segs"
else
    fail limits "discard_max_bytes=$dmax write_zeroes_max_bytes=$wzmax max_segments=$segs"
fi
# seg_max 254 on a ring of 128: a request may be an indirect table longer than the ring. 1 MiB
# writes, read back and checked by fio. (Here fio's pages are mostly adjacent, so few requests
# come near 254 segments; Devices.Tests' SegMaxRequestOnASmallerRing sends exactly that.)
w0=$(awk '{ print $5 }' /sys/block/vda/stat)
if [ "$segs" = 254 ] && fio --name=long --filename=/dev/vda --direct=1 --ioengine=libaio --rw=write \
    --bs=1M --iodepth=4 --size=32M --offset=8M --verify=crc32c --verify_fatal=1 --do_verify=1 \
    --output=/tmp/long.txt; then
    pass long_requests "max_segments $segs on a ring of 128; 32 MiB in 1 MiB writes verified ($(grep -o 'WRITE: bw=[^ ]*' /tmp/long.txt)), $(( $(awk '{ print $5 }' /sys/block/vda/stat) - w0 )) write requests"
else
    fail long_requests "max_segments $segs; fio: $(tail -n 5 /tmp/long.txt 2>/dev/null | tr '\n' ' ')"
fi

serial=$(cat /sys/block/vda/serial 2>/dev/null)
if [ "$serial" = features-serial ]; then pass serial "$serial"; else fail serial "got '$serial'"; fi

c0=$(cat /sys/block/vda/cache_type)
echo "write through" >/sys/block/vda/cache_type
c1=$(cat /sys/block/vda/cache_type)
echo "write back" >/sys/block/vda/cache_type
c2=$(cat /sys/block/vda/cache_type)
if [ "$c0" = "write back" ] && [ "$c1" = "write through" ] && [ "$c2" = "write back" ]; then
    pass cache_toggle "$c0 -> $c1 -> $c2"
else
    fail cache_toggle "$c0 -> $c1 -> $c2"
fi

s0=$(cat /sys/block/vda/size)
echo "RESIZE-NOW"
i=0
while [ $i -lt 600 ]; do
    s=$(cat /sys/block/vda/size)
    [ "$s" != "$s0" ] && break
    sleep 0.1
    i=$((i + 1))
done
if [ "$s" = 262144 ]; then pass resize "size $s0 -> $s sectors"; else fail resize "size $s0 -> $s sectors"; fi
