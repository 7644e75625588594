#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/demo.sh (make demo): Non-Virt AGL in one guest.
# The guest kernel plays the bare-metal host: virtio_loopback.ko plus one
# virtio-loopback-adapter give its own virtio_rng, virtio_blk and
# virtio_input drivers our unmodified vhost-user back ends. "DEMO" lines are
# for people, RESULT lines for the host's pass/fail.
#
# EXPECT: demo_devices demo_rng demo_disk demo_input demo_teardown
. /lib/guest-lib.sh
say() { echo "DEMO $*"; }
T=/tmp/demo
mkdir -p $T

say "kernel $(uname -r) ($(uname -m)), $(nproc) vCPUs, no hypervisor device in use: no virtio PCI/MMIO devices ($(ls /sys/bus/virtio/devices | wc -l) on the virtio bus)"
insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5
say "virtio_loopback.ko loaded: /dev/virtio-loopback ($(cat /sys/class/misc/virtio-loopback/dev))"

truncate -s 64M $T/disk.img
vhost-user-rng --socket-path $T/rng.sock >$T/rng.log 2>&1 &
vhost-user-blk --socket-path $T/blk.sock --blk-file $T/disk.img >$T/blk.log 2>&1 &
feeder_start $T
feed create 10 >/dev/null
src=$(sed -n 's/^EVDEV //p' $T/feeder.out | tail -n 1)
vhost-user-input --socket-path $T/in.sock --evdev-path "$src" >$T/input.log 2>&1 &
say "back ends: vhost-user-rng, vhost-user-blk (64 MiB image), vhost-user-input on $src ('$(cat /sys/class/input/${src##*/}/device/name)', a uinput touch pad)"
t0=$(ms)
virtio-loopback-adapter --socket-path $T/rng.sock --device rng --socket-path $T/blk.sock --device blk \
    --socket-path $T/in.sock --device input >$T/adapter.log 2>&1 &
apid=$!
say "adapter: one virtio-loopback-adapter (pid $apid) for all three"

ready() { grep -q virtio_rng /sys/class/misc/hw_random/rng_available && [ -b /dev/vda ] && virtio_event >/dev/null; }
if wait_until 60 ready; then
    say "the kernel's drivers bound in $(( $(ms) - t0 )) ms:"
    for d in /sys/bus/virtio/devices/*; do
        case $(cat "$d/device") in 0x0002) what="block device" ;; 0x0004) what="entropy source" ;; 0x0012) what="input device" ;; *) what="device $(cat "$d/device")" ;; esac
        say "  $(basename "$d"): $what, driver $(basename "$(readlink "$d/driver")"), parent $(basename "$(readlink -f "$d/..")")"
    done
    pass demo_devices "3 devices bound"
else
    fail demo_devices "not all devices appeared"; show $T/adapter.log
fi

# ---- rng ----
echo virtio_rng.0 >/sys/class/misc/hw_random/rng_current 2>/dev/null
if timeout 30 dd if=/dev/hwrng of=$T/r bs=32 count=1 2>/dev/null && [ "$(wc -c <$T/r)" = 32 ]; then
    say "rng: /dev/hwrng ($(cat /sys/class/misc/hw_random/rng_current)) gave $(od -An -v -tx1 $T/r | tr -d ' \n')"
    pass demo_rng "32 bytes"
else
    fail demo_rng "no bytes from /dev/hwrng"
fi

# ---- blk ----
if mke2fs -q /dev/vda >/dev/null 2>&1 && mount -t ext2 /dev/vda /mnt; then
    echo "Hello from virtio_blk, served by vhost-user-blk through virtio-loopback" >/mnt/hello.txt
    dd if=/dev/urandom of=/mnt/random.bin bs=1M count=4 2>/dev/null
    want=$(sha /mnt/random.bin)
    umount /mnt; echo 3 >/proc/sys/vm/drop_caches; mount -t ext2 /dev/vda /mnt
    got=$(sha /mnt/random.bin)
    say "disk: /dev/vda $(( $(cat /sys/block/vda/size) / 2048 )) MiB: ext2 made, hello.txt + 4 MiB random.bin written, remounted"
    say "disk: hello.txt says \"$(cat /mnt/hello.txt)\""
    say "disk: random.bin sha256 ${got%${got#????????????????}}... $( [ "$got" = "$want" ] && echo verified || echo DIFFERS)"
    umount /mnt
    say "disk: the back end's image file now starts its ext2 superblock with magic $(dd if=$T/disk.img bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' ')"
    if [ "$got" = "$want" ]; then pass demo_disk "verified"; else fail demo_disk "random.bin differs"; fi
else
    fail demo_disk "mkfs or mount failed"
fi

# ---- input ----
vin=$(virtio_event)
say "input: $vin is '$(cat /sys/class/input/${vin##*/}/device/name)' on the virtio bus, a copy of $src"
evdev-inspect watch "$vin" 170 60000 >$T/got 2>&1 &
xpid=$!
wait_until 10 grep -q READY $T/got
feed script 120 >/dev/null
wait $xpid
n=$(grep -c '^GOT' $T/got)
say "input: the uinput pad played 170 events (10 key taps, 10 touch strokes); $vin delivered $n, the first ones:"
grep '^GOT' $T/got | head -n 6 | sed 's/^GOT /DEMO     type code value: /'
if [ "$n" = 170 ]; then pass demo_input "170 events"; else fail demo_input "$n events"; fi

# ---- teardown ----
kill -TERM $apid; wait $apid
say "adapter stopped (SIGTERM): $(ls /sys/bus/virtio/devices | wc -l) virtio devices left, /dev/vda $( [ -e /dev/vda ] && echo present || echo gone)"
if [ "$(ls /sys/bus/virtio/devices | wc -l)" = 0 ] && rmmod virtio_loopback; then
    say "virtio_loopback.ko unloaded"
    pass demo_teardown "clean"
else
    fail demo_teardown "devices left or rmmod refused"
fi
feed_send quit
