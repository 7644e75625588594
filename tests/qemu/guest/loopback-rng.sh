#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (rng): the guest's own virtio_rng driver
# served by our unmodified vhost-user-rng through virtio_loopback.ko and
# virtio-loopback-adapter.
# EXPECT: lb_insmod lb_bad_args lb_bind lb_hwrng lb_adapter_sigterm lb_remove lb_backend_alive lb_dmesg
. /lib/guest-lib.sh

dmesg -n 7 2>/dev/null
if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail lb_insmod "no /dev/virtio-loopback"
fi

# Bad arguments: one line on stderr, exit 1.
/bin/virtio-loopback-adapter --device nosuch --socket-path /tmp/x >/tmp/bad.out 2>/tmp/bad.err
rc=$?
if [ $rc = 1 ] && [ "$(wc -l </tmp/bad.err)" = 1 ] && [ ! -s /tmp/bad.out ]; then
    pass lb_bad_args "exit 1: $(cat /tmp/bad.err)"
else
    fail lb_bad_args "rc=$rc stderr=$(cat /tmp/bad.err)"
fi

# The adapter starts first and waits for the back end's socket.
/bin/virtio-loopback-adapter --socket-path /tmp/rng.sock --device rng --log-level debug >/tmp/adapter.log 2>&1 &
apid=$!
usleep 300000
/bin/vhost-user-rng --socket-path /tmp/rng.sock >/tmp/rng.log 2>&1 &
rpid=$!

i=0
while [ $i -lt 300 ]; do
    grep -q virtio_rng /sys/class/misc/hw_random/rng_available 2>/dev/null && break
    usleep 100000; i=$((i + 1))
done
avail=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
case $avail in
    *virtio_rng*) pass lb_bind "rng_available='$avail' rng_current='$cur'" ;;
    *) fail lb_bind "rng_available='$avail'" ;;
esac
for d in /sys/bus/virtio/devices/*; do
    [ -e "$d" ] && info "virtio device $d driver=$(basename "$(readlink "$d/driver")") features=$(cat "$d/features")"
done

[ "$cur" = virtio_rng ] || echo virtio_rng >/sys/class/misc/hw_random/rng_current
timeout 30 head -c 4096 /dev/hwrng >/tmp/r1
timeout 30 head -c 4096 /dev/hwrng >/tmp/r2
s1=$(wc -c </tmp/r1); s2=$(wc -c </tmp/r2)
h1=$(sha /tmp/r1); h2=$(sha /tmp/r2)
distinct=$(od -An -v -tx1 /tmp/r1 | tr -s ' \n' '\n' | sed '/^$/d' | sort -u | wc -l)
info "hwrng first bytes: $(head -c 16 /tmp/r1 | od -An -tx1)"
if [ "$s1" = 4096 ] && [ "$s2" = 4096 ] && [ "$h1" != "$h2" ] && [ "$distinct" -gt 200 ]; then
    pass lb_hwrng "2 x 4096 bytes from /dev/hwrng, different reads, $distinct distinct byte values"
else
    fail lb_hwrng "sizes $s1/$s2, sha $h1/$h2, $distinct distinct values"
fi
data pool_used "$(cat /sys/devices/virtual/misc/virtio-loopback/virtio-loopback.*/pool_used 2>/dev/null | head -n1)"

kill -TERM $apid
wait $apid
arc=$?
if [ $arc = 0 ]; then pass lb_adapter_sigterm "adapter exit 0 on SIGTERM"; else fail lb_adapter_sigterm "exit $arc"; fi
echo "---- adapter log"
cat /tmp/adapter.log
echo "----"
left=$(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)
avail=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)
case $avail in
    *virtio_rng*) fail lb_remove "virtio_rng still listed: $avail" ;;
    *) if [ "$left" = 0 ]; then pass lb_remove "device gone, rng_available='$avail'"; else fail lb_remove "$left virtio devices left"; fi ;;
esac
if kill -0 $rpid 2>/dev/null; then pass lb_backend_alive "vhost-user-rng still serves its socket after the front end left"; else fail lb_backend_alive "back end died: $(tail -n 3 /tmp/rng.log)"; fi
kill -TERM $rpid; wait $rpid
echo "---- vhost-user-rng log"
tail -n 20 /tmp/rng.log
echo "----"
rmmod virtio_loopback || info "rmmod failed"
echo "---- dmesg (virtio/loopback lines)"
dmesg | grep -iE 'virtio|loopback|hwrng|random' | tail -n 20
echo "----"
if dmesg | grep -qE 'WARNING|BUG|Oops|Call Trace|refcount'; then
    dmesg | grep -E -A5 'WARNING|BUG|Oops|Call Trace|refcount' | head -n 40
    fail lb_dmesg "kernel trouble in dmesg"
else
    pass lb_dmesg "dmesg clean"
fi
