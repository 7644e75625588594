#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/demo-vm.sh: use the vhost-user devices the way an
# application would and say what happened, in "DEMO" lines for people and
# RESULT lines for the host's pass/fail.
#
# EXPECT: demo_rng demo_disk demo_files

. /lib/guest-lib.sh
say() { echo "DEMO $*"; }

say "guest kernel $(uname -r), $(nproc) vCPUs, booted in $(cut -d' ' -f1 /proc/uptime) s"
say "virtio devices on the PCI bus:"
for d in /sys/bus/virtio/devices/*; do
    [ -e "$d/device" ] || continue
    id=$(cat "$d/device")
    case $id in
        0x0002) what="block device" ;;
        0x0004) what="entropy source" ;;
        0x0012) what="input device" ;;
        *) what="device id $id" ;;
    esac
    drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
    say "  $(basename "$d"): $what (driver ${drv:-none})"
done

# ---- rng ----
# /dev/hwrng exists whenever the hw_random core is built in; the source says
# whether a virtio-rng device is behind it.
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
if [ -e /dev/hwrng ] && [ "$cur" != none ] && [ -n "$cur" ]; then
    say "hwrng: current source is '$cur'"
    if timeout 60 dd if=/dev/hwrng of=/tmp/r bs=64 count=1 iflag=fullblock 2>/dev/null; then
        say "hwrng: 64 bytes from /dev/hwrng:"
        hexdump -v -e '"DEMO     " 16/1 "%02x " "\n"' /tmp/r
        t0=$(cut -d' ' -f1 /proc/uptime)
        timeout 60 dd if=/dev/hwrng of=/dev/null bs=4096 count=64 iflag=fullblock 2>/dev/null
        t1=$(cut -d' ' -f1 /proc/uptime)
        say "hwrng: read 256 KiB in $(awk "BEGIN { print $t1 - $t0 }") s (TCG guest)"
        pass demo_rng "64 bytes shown"
    else
        fail demo_rng "reading /dev/hwrng failed"
    fi
else
    say "hwrng: no virtio-rng source (no rng back end in this run)"
    skip demo_rng "no rng device"
fi

# ---- blk ----
dev=
for d in /sys/block/vd*; do [ -e "$d" ] && { dev=$(basename "$d"); break; }; done
if [ -z "$dev" ]; then
    say "disk: none"; fail demo_disk "no vd* disk"; fail demo_files "no disk"
    exit 0
fi
sectors=$(cat /sys/block/$dev/size)
say "disk: /dev/$dev, $((sectors / 2048)) MiB, read-only=$(cat /sys/block/$dev/ro), $(ls /sys/block/$dev/mq | wc -l) queue(s)"
if mke2fs -F -q "/dev/$dev" >/dev/null 2>&1 && mount -t ext2 "/dev/$dev" /mnt; then
    pass demo_disk "/dev/$dev formatted and mounted"
    say "disk: formatted ext2 and mounted at /mnt"
    say "disk: $(df -k /mnt | awk 'NR == 2 { print $2 " KiB total, " $4 " KiB free" }')"
else
    fail demo_disk "mkfs or mount failed"; fail demo_files "no file system"
    exit 0
fi
for f in hello.txt random-1M.bin random-4M.bin; do
    case $f in
        hello.txt) echo "Hello from a virtio-blk disk served by a vhost-user back end" >/mnt/$f ;;
        random-1M.bin) dd if=/dev/urandom of=/mnt/$f bs=1M count=1 2>/dev/null ;;
        random-4M.bin) dd if=/dev/urandom of=/mnt/$f bs=1M count=4 2>/dev/null ;;
    esac
    s=$(sha /mnt/$f); eval "sum_$(echo $f | tr '.-' '__')=$s"
    say "disk: wrote /mnt/$f ($(stat -c %s /mnt/$f) bytes) sha256 ${s%${s#????????????????}}..."
done
umount /mnt; echo 3 >/proc/sys/vm/drop_caches
mount -t ext2 "/dev/$dev" /mnt
ok=1
for f in hello.txt random-1M.bin random-4M.bin; do
    eval "want=\$sum_$(echo $f | tr '.-' '__')"
    if [ "$(sha /mnt/$f)" = "$want" ]; then say "disk: after remount, /mnt/$f verified"
    else say "disk: after remount, /mnt/$f DIFFERS"; ok=0; fi
done
say "disk: /mnt/hello.txt says: $(cat /mnt/hello.txt)"
umount /mnt
if [ $ok = 1 ]; then pass demo_files "3 files written, remounted and verified"
else fail demo_files "a file differs after remount"; fi
