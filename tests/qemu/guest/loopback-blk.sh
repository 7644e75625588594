#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (blk): the guest's own virtio_blk driver
# served by our unmodified vhost-user-blk (image on tmpfs) through
# virtio_loopback.ko and virtio-loopback-adapter.
# EXPECT: lb_insmod lb_blk_bind lb_blk_mkfs lb_blk_roundtrip lb_adapter_sigterm lb_blk_remove lb_image lb_dmesg
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

if wait_for /dev/vda 30 && [ -b /dev/vda ]; then
    pass lb_blk_bind "/dev/vda: $(cat /sys/block/vda/size) sectors"
else
    fail lb_blk_bind "no /dev/vda"; cat /tmp/adapter.log
fi

if mkfs.ext2 -q /dev/vda >/tmp/mkfs.log 2>&1 || mke2fs /dev/vda >/tmp/mkfs.log 2>&1; then
    pass lb_blk_mkfs "ext2 created on /dev/vda"
else
    fail lb_blk_mkfs "$(tail -n 2 /tmp/mkfs.log)"
fi

mkdir -p /mnt/d
head -c 3000000 /dev/urandom >/tmp/payload
want=$(sha /tmp/payload)
ok=0
if mount -t ext2 /dev/vda /mnt/d && cp /tmp/payload /mnt/d/payload && sync && umount /mnt/d; then
    echo 3 >/proc/sys/vm/drop_caches
    if mount -t ext2 /dev/vda /mnt/d; then
        got=$(sha /mnt/d/payload)
        umount /mnt/d
        [ "$got" = "$want" ] && ok=1
    fi
fi
if [ $ok = 1 ]; then pass lb_blk_roundtrip "3000000 bytes written, remounted, sha256 $want matches"; else fail lb_blk_roundtrip "want $want got ${got:-none}"; fi

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
