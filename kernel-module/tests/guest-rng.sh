#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of run-qemu-test.sh: load virtio_loopback.ko, serve a virtio-rng
# device from vl-rng-test, read /dev/hwrng, tear down, unload.
# EXPECT: vl_insmod vl_devnode vl_api vl_pool_seek vl_bind vl_driver_ok vl_hwrng vl_remove vl_bad_used vl_bad_remove vl_rmmod vl_dmesg
. /lib/guest-lib.sh
. /bin/vl-guest-lib.sh

dmesg -n 7 2>/dev/null
vl_insmod vl_insmod
if [ -c /dev/virtio-loopback ]; then
    pass vl_devnode "$(ls -l /dev/virtio-loopback | cut -c1-10) $(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail vl_devnode "no /dev/virtio-loopback"
fi

/bin/vl-rng-test 120 >/tmp/vl.log 2>&1 &
pid=$!

i=0
while [ $i -lt 200 ]; do
    grep -q virtio_rng /sys/class/misc/hw_random/rng_available 2>/dev/null && break
    usleep 100000; i=$((i + 1))
done
if grep -q '^VL api version=1' /tmp/vl.log && grep -q 'neg .* EINVAL' /tmp/vl.log &&
    ! grep -q UNEXPECTED /tmp/vl.log; then
    pass vl_api "$(grep '^VL api' /tmp/vl.log)"
else
    fail vl_api "$(head -n 5 /tmp/vl.log)"
fi
# The pool fd seeks like a memfd of the pool's size (rust-vmm back ends check it).
created=$(grep -m1 '^VL created' /tmp/vl.log)
size=$(echo "$created" | sed -n 's/.* pool=\([0-9]*\) .*/\1/p')
seek=$(echo "$created" | sed -n 's/.* seek_end=\(-*[0-9]*\).*/\1/p')
if [ -n "$size" ] && [ "$seek" = "$size" ]; then
    pass vl_pool_seek "lseek(pool fd, 0, SEEK_END) = $seek, the pool's size"
else
    fail vl_pool_seek "pool=$size seek_end=$seek ($created)"
fi
avail=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
case $avail in
    *virtio_rng*) pass vl_bind "rng_available='$avail' rng_current='$cur'" ;;
    *) fail vl_bind "rng_available='$avail'" ;;
esac
for d in /sys/bus/virtio/devices/*; do
    [ -e "$d" ] && info "virtio device $d -> $(readlink -f "$d") driver=$(basename "$(readlink "$d/driver")") features=$(cat "$d/features")"
done

i=0
while [ $i -lt 50 ] && ! grep -q 'queue0 mapped' /tmp/vl.log; do usleep 100000; i=$((i + 1)); done
if grep -q 'event DRIVER_OK' /tmp/vl.log && grep -q 'queue0 mapped' /tmp/vl.log; then
    pass vl_driver_ok "$(grep 'queue0 ready' /tmp/vl.log | head -n1)"
else
    fail vl_driver_ok "no DRIVER_OK/queue info"
fi

[ "$cur" = virtio_rng ] || echo virtio_rng >/sys/class/misc/hw_random/rng_current
bytes=$(timeout 20 head -c 64 /dev/hwrng | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
echo "INFO hwrng: $bytes"
n=$(echo "$bytes" | tr ' ' '\n' | grep -c '^a5$')
if [ "$n" = 64 ]; then pass vl_hwrng "64 bytes, all 0xa5 (served by vl-rng-test)"; else fail vl_hwrng "got $n of 64 bytes 0xa5: $bytes"; fi

kill -TERM $pid
wait $pid
echo "---- vl-rng-test output"
cat /tmp/vl.log
echo "----"
left=$(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)
avail=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)
case $avail in
    *virtio_rng*) fail vl_remove "virtio_rng still listed: $avail" ;;
    *) if [ "$left" = 0 ] && grep -q 'destroy=0 again=-1 (ENOENT)' /tmp/vl.log; then
           pass vl_remove "DESTROY_DEVICE removed it (second DESTROY: ENOENT), rng_available='$avail'"
       else
           fail vl_remove "$left virtio devices left; $(grep destroy /tmp/vl.log)"
       fi ;;
esac

# A lying back end: an out-of-range used id must never reach virtio_ring.
# The module catches it, revokes the pool and fails the device (NEEDS_RESET);
# the kernel stays alive and the device goes on close.
VL_BAD_USED=1 /bin/vl-rng-test 60 >/tmp/vl-bad.log 2>&1 &
pid=$!
i=0
while [ $i -lt 200 ] && ! grep -q virtio_rng /sys/class/misc/hw_random/rng_available 2>/dev/null; do
    usleep 100000; i=$((i + 1))
done
[ "$(cat /sys/class/misc/hw_random/rng_current)" = none ] && echo virtio_rng >/sys/class/misc/hw_random/rng_current
timeout 5 head -c 64 /dev/hwrng >/dev/null 2>&1
i=0
while [ $i -lt 50 ] && ! dmesg | grep -q 'not an outstanding head'; do usleep 100000; i=$((i + 1)); done
msg=$(dmesg | grep 'not an outstanding head' | tail -n1)
dev=$(ls -d /sys/bus/virtio/devices/virtio* 2>/dev/null | head -n1)
status=$(cat "$dev/status" 2>/dev/null)
violations=$(cat "$dev/../violations" 2>/dev/null)
if [ -n "$msg" ] && grep -q 'bad used id' /tmp/vl-bad.log && ! dmesg | grep -q 'out of range' &&
    [ $(( ${status:-0} & 0x40 )) = 64 ] && [ "$violations" = 1 ]; then
    pass vl_bad_used "caught before virtio_ring, device failed (status $status, violations $violations): $msg"
else
    fail vl_bad_used "msg='$msg' status='$status' violations='$violations'; $(tail -n 3 /tmp/vl-bad.log)"
fi
kill -TERM $pid
wait $pid
if grep -q virtio_rng /sys/class/misc/hw_random/rng_available; then
    fail vl_bad_remove "virtio_rng still listed"
else
    pass vl_bad_remove "failed device removed on close"
fi
echo "---- dmesg (virtio/loopback lines)"
dmesg | grep -iE 'virtio|loopback|hwrng|random' | tail -n 30
echo "----"
vl_finish vl
