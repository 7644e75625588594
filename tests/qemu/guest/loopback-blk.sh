#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (blk): the guest's own virtio_blk driver
# served by our unmodified vhost-user-blk (image on tmpfs) through
# virtio_loopback.ko and virtio-loopback-adapter.
# EXPECT: lb_insmod lb_blk_bind lb_blk_queue lb_blk_direct lb_blk_mkfs lb_blk_roundtrip lb_adapter_sigterm lb_blk_remove lb_image lb_dmesg
. /lib/guest-lib.sh

dmesg -n 7 2>/dev/null
if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail lb_insmod "no /dev/virtio-loopback"
fi

dd if=/dev/zero of=/tmp/disk.img bs=1M count=32 2>/dev/null
/bin/vhost-user-blk --socket-path /tmp/blk.sock --blk-file /tmp/disk.img >/tmp/blk.log 2>&1 &
bpid=$!
/bin/virtio-loopback-adapter --socket-path /tmp/blk.sock --device blk --pool-size 16 --log-level debug >/tmp/adapter.log 2>&1 &
apid=$!

# A hang must not go unexplained: after a while, show both logs while the I/O still waits.
( sleep 150; echo "---- watchdog: still running after 150 s"; echo "---- adapter log"; tail -n 40 /tmp/adapter.log
  echo "---- back-end log"; tail -n 40 /tmp/blk.log; echo "---- dmesg"; dmesg | tail -n 20 ) &
wpid=$!

if wait_for /dev/vda 30 && [ -b /dev/vda ]; then
    pass lb_blk_bind "/dev/vda: $(cat /sys/block/vda/size) sectors"
else
    fail lb_blk_bind "no /dev/vda"; cat /tmp/adapter.log
fi

# The adapter offers the driver no larger ring than the back end accepts (vhost-user-blk: 128).
qs=$(cat /sys/block/vda/mq/0/nr_tags 2>/dev/null)
if grep -q "queue(s) of up to 128," /tmp/adapter.log && ! grep -qi "refuse\|rejected\| failed" /tmp/adapter.log /tmp/blk.log; then
    pass lb_blk_queue "ring of up to 128 (nr_tags ${qs:-?}), no refusals in either log"
else
    fail lb_blk_queue "nr_tags ${qs:-?}: $(grep -i "created\|refuse\|rejected\|fail" /tmp/adapter.log /tmp/blk.log | head -n 3)"
fi

# Raw O_DIRECT I/O first (mkfs overwrites it): 4 MiB of random data at 16 MiB, read back uncached.
head -c 4194304 /dev/urandom >/tmp/raw
rwant=$(sha /tmp/raw)
rgot=none
if dd if=/tmp/raw of=/dev/vda bs=64k seek=256 oflag=direct conv=fsync 2>/tmp/dd.log \
    && dd if=/dev/vda of=/tmp/raw.back bs=64k skip=256 count=64 iflag=direct 2>>/tmp/dd.log; then
    rgot=$(sha /tmp/raw.back)
fi
if [ "$rgot" = "$rwant" ]; then pass lb_blk_direct "4 MiB O_DIRECT written and read back at 16 MiB, sha256 $rwant"; else fail lb_blk_direct "want $rwant got $rgot: $(tail -n 1 /tmp/dd.log)"; fi

if mkfs.ext2 -q /dev/vda >/tmp/mkfs.log 2>&1 || mke2fs /dev/vda >/tmp/mkfs.log 2>&1; then
    pass lb_blk_mkfs "ext2 created on /dev/vda"
else
    fail lb_blk_mkfs "$(tail -n 2 /tmp/mkfs.log)"
fi

mkdir -p /mnt/d
head -c 3000000 /dev/urandom >/tmp/payload
want=$(sha /tmp/payload)
head -c 100000 /dev/urandom >/tmp/small
swant=$(sha /tmp/small)
ok=0
if mount -t ext2 /dev/vda /mnt/d && cp /tmp/payload /mnt/d/payload && mkdir /mnt/d/dir \
    && for i in 1 2 3 4 5 6 7 8; do cp /tmp/small /mnt/d/dir/f$i; done \
    && sync && umount /mnt/d; then
    echo 3 >/proc/sys/vm/drop_caches
    if mount -t ext2 /dev/vda /mnt/d; then
        got=$(sha /mnt/d/payload)
        sok=1
        for i in 1 2 3 4 5 6 7 8; do [ "$(sha /mnt/d/dir/f$i)" = "$swant" ] || sok=0; done
        umount /mnt/d
        [ "$got" = "$want" ] && [ $sok = 1 ] && ok=1
    fi
fi
if [ $ok = 1 ]; then pass lb_blk_roundtrip "3000000 bytes + 8 x 100000 bytes written, remounted, sha256 match"; else fail lb_blk_roundtrip "want $want got ${got:-none}, small files ok=${sok:-0}"; fi
kill $wpid 2>/dev/null

kill -TERM $apid
wait $apid
arc=$?
if [ $arc = 0 ]; then pass lb_adapter_sigterm "adapter exit 0 on SIGTERM"; else fail lb_adapter_sigterm "exit $arc"; fi
echo "---- adapter log"
tail -n 30 /tmp/adapter.log
echo "----"
if [ -e /sys/block/vda ]; then fail lb_blk_remove "/dev/vda still there"; else pass lb_blk_remove "/dev/vda gone"; fi
kill -TERM $bpid; wait $bpid
# The image as the back end wrote it: loop-mount it directly if the kernel can, else check the superblock magic.
magic=$(dd if=/tmp/disk.img bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' ')
if [ "$magic" = 53ef ]; then pass lb_image "ext2 superblock magic in the back end's image file"; else fail lb_image "magic '$magic'"; fi
rmmod virtio_loopback || info "rmmod failed"
if dmesg | grep -qE 'WARNING|BUG|Oops|Call Trace|refcount'; then
    dmesg | grep -E -A5 'WARNING|BUG|Oops|Call Trace|refcount' | head -n 40
    fail lb_dmesg "kernel trouble in dmesg"
else
    pass lb_dmesg "dmesg clean"
fi
