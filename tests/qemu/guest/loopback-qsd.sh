#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (qsd): an unmodified third-party back end,
# qemu-storage-daemon's vhost-user-blk export (C, libvhost-user), served to
# the guest kernel's virtio_blk through virtio_loopback.ko and our adapter.
# The same blk checks as ours get: raw O_DIRECT round trip and an ext2 round
# trip, then the image file as qsd wrote it.
#
# EXPECT: lb_insmod lb_qsd_socket lb_qsd_bind lb_qsd_raw lb_qsd_fs lb_qsd_image lb_adapter_sigterm lb_qsd_gone lb_rmmod
. /lib/guest-lib.sh

T=/tmp/lb
mkdir -p $T /var/tmp
if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail lb_insmod "no /dev/virtio-loopback"
fi

dd if=/dev/zero of=$T/qsd.img bs=1M count=32 2>/dev/null
qemu-storage-daemon \
    --blockdev driver=file,node-name=disk,filename=$T/qsd.img \
    --export type=vhost-user-blk,id=exp0,node-name=disk,addr.type=unix,addr.path=$T/qsd.sock,writable=on,num-queues=2 \
    >$T/qsd.log 2>&1 &
qpid=$!
if wait_for $T/qsd.sock 20; then pass lb_qsd_socket "qemu-storage-daemon $(qemu-storage-daemon --version | head -n 1 | cut -d' ' -f3) listening (pid $qpid)"
else fail lb_qsd_socket "no socket: $(cat $T/qsd.log)"; fi

virtio-loopback-adapter --socket-path $T/qsd.sock --device blk --pool-size 16 --log-level debug >$T/adapter.log 2>&1 &
apid=$!
watchdog 200 $T/adapter.log $T/qsd.log:10
wpid=$WATCHDOG_PID

if wait_until 30 blk_by_sectors 65536 >/dev/null; then
    dev=$(blk_by_sectors 65536)
    pass lb_qsd_bind "$dev: $(cat /sys/block/${dev#/dev/}/size) sectors, $(ls /sys/block/${dev#/dev/}/mq | wc -l) queue(s), $(grep -o 'queue(s) of up to [0-9]*' $T/adapter.log)"
else
    fail lb_qsd_bind "no disk"; show $T/adapter.log
fi
blk_raw_check lb_qsd_raw "${dev:-/dev/vda}"
blk_fs_check lb_qsd_fs "${dev:-/dev/vda}"
kill $wpid 2>/dev/null

kill -TERM $apid
wait $apid
arc=$?
if [ $arc = 0 ]; then pass lb_adapter_sigterm "adapter exit 0 on SIGTERM"; else fail lb_adapter_sigterm "exit $arc"; show $T/adapter.log; fi
if [ ! -e /sys/block/${dev#/dev/} ] && kill -0 $qpid 2>/dev/null; then pass lb_qsd_gone "disk gone, qemu-storage-daemon still up"
else fail lb_qsd_gone "disk present or qsd died: $(tail -n 3 $T/qsd.log)"; fi
kill -TERM $qpid; wait $qpid
# The image as qsd wrote it: the ext2 superblock magic and the payload's bytes.
magic=$(dd if=$T/qsd.img bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' ')
if [ "$magic" = 53ef ] && mount -o loop,ro $T/qsd.img /mnt 2>/dev/null; then
    ok=0; [ "$(sha /mnt/payload)" = "$(sha /tmp/payload.lb_qsd_fs)" ] && ok=1; umount /mnt
    if [ $ok = 1 ]; then pass lb_qsd_image "qsd's image file holds the ext2 file system and the payload"; else fail lb_qsd_image "payload differs in the image"; fi
elif [ "$magic" = 53ef ]; then
    pass lb_qsd_image "ext2 superblock magic in qsd's image file (no loop device to mount it)"
else
    fail lb_qsd_image "magic '$magic'"
fi
if rmmod virtio_loopback; then pass lb_rmmod "module unloaded"; else fail lb_rmmod "rmmod refused"; fi
echo "---- adapter log (tail)"
tail -n 20 $T/adapter.log
echo "---- qsd log"
cat $T/qsd.log
