#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (all): the guest kernel's own virtio_rng,
# virtio_blk (twice) and virtio_input drivers, all at once, served by our
# unmodified back ends through virtio_loopback.ko and ONE adapter process:
#
#   vhost-user-rng                       -> /dev/hwrng (virtio_rng)
#   vhost-user-blk (32 MiB on tmpfs)     -> ext2 round trip (io_uring)
#   vhost-user-blk (16 MiB on tmpfs)     -> raw O_DIRECT round trip (I/O
#                                           threads: by choice, or io_uring
#                                           refused by the kernel's sysctl)
#   uinput-feeder -> /dev/input/eventN -> vhost-user-input --evdev-path
#                                        -> a new /dev/input/eventM (virtio_input)
#
# Input checks compare the two evdev nodes with evdev-inspect: the same name,
# ids, properties, event bits and ABS ranges; the feeder's 170 script events
# arrive on eventM unchanged and in order; an EV_LED written to eventM reaches
# the uinput device (virtio statusq). The 16 MiB image grown to 24 MiB plus
# SIGHUP reaches the driver as a config change (CONFIG_CHANGE_MSG); unbinding
# and rebinding virtio_blk resets and re-initialises the device, whose data
# is still there. Then SIGTERM: all four devices go, the
# back ends stay up, rmmod succeeds. /init fails the run on kernel warnings.
#
# EXPECT: lb_insmod lb_bad_args lb_bind_all lb_rng lb_vda_fs lb_vdb_raw
# EXPECT: lb_blk_resize lb_blk_rebind
# EXPECT: lb_input_desc lb_input_events lb_input_led lb_blk_queue lb_blk_engines
# EXPECT: lb_adapter_sigterm lb_devices_gone lb_backends_alive lb_rmmod
. /lib/guest-lib.sh

T=/tmp/lb
mkdir -p $T

if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail lb_insmod "no /dev/virtio-loopback"
fi

# Bad arguments: one line on stderr, exit 1, nothing created.
virtio-loopback-adapter --socket-path /tmp/x --device nosuch >$T/bad.out 2>$T/bad.err
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <$T/bad.err)" = 1 ] && [ ! -s $T/bad.out ]; then
    pass lb_bad_args "exit 1: $(cat $T/bad.err)"
else
    fail lb_bad_args "rc=$rc stderr=$(cat $T/bad.err)"
fi

# ---- the back ends -----------------------------------------------------------
dd if=/dev/zero of=$T/disk0.img bs=1M count=32 2>/dev/null
dd if=/dev/zero of=$T/disk1.img bs=1M count=16 2>/dev/null
vhost-user-rng --socket-path $T/rng.sock >$T/rng.log 2>&1 &
rpid=$!
# The two disks, one per I/O engine: blk0 through io_uring; blk1 through I/O threads, which on a
# kernel with the io_uring_disabled sysctl (6.6 on) is the fallback of an --io-engine io_uring
# that the kernel refuses.
engine1="--io-engine threads --io-threads 2"
if [ -w /proc/sys/kernel/io_uring_disabled ]; then
    echo 2 >/proc/sys/kernel/io_uring_disabled
    engine1="--io-engine io_uring"
fi
# shellcheck disable=SC2086
vhost-user-blk --socket-path $T/blk1.sock --blk-file $T/disk1.img $engine1 >$T/blk1.log 2>&1 &
b1pid=$!
wait_for $T/blk1.sock 30
[ -w /proc/sys/kernel/io_uring_disabled ] && echo 0 >/proc/sys/kernel/io_uring_disabled
vhost-user-blk --socket-path $T/blk0.sock --blk-file $T/disk0.img --io-engine io_uring >$T/blk0.log 2>&1 &
b0pid=$!
feeder_start $T
feed create 10 || info "feeder create failed: $(cat $T/feeder.err)"
src=$(sed -n 's/^EVDEV //p' $T/feeder.out | tail -n 1)
vhost-user-input --socket-path $T/in.sock --evdev-path "$src" >$T/input.log 2>&1 &
ipid=$!

before=$(ls /dev/input/ | grep -c '^event')
t0=$(ms)
virtio-loopback-adapter --log-level debug \
    --socket-path $T/rng.sock --device rng \
    --socket-path $T/blk0.sock --device blk --pool-size 16 \
    --socket-path $T/blk1.sock --device blk \
    --socket-path $T/in.sock --device input --pool-size 1 >$T/adapter.log 2>&1 &
apid=$!

# A hang must not go unexplained: after a while, show the logs while the I/O still waits.
watchdog 200 $T/adapter.log $T/blk0.log:10
wpid=$WATCHDOG_PID

all_bound() {
    grep -q virtio_rng /sys/class/misc/hw_random/rng_available 2>/dev/null \
        && blk_by_sectors 65536 >/dev/null && blk_by_sectors 32768 >/dev/null && virtio_event >/dev/null
}
if wait_until 60 all_bound; then
    vda=$(blk_by_sectors 65536); vdb=$(blk_by_sectors 32768); vin=$(virtio_event)
    pass lb_bind_all "4 devices in $(( $(ms) - t0 )) ms: virtio_rng, $vda (32 MiB), $vdb (16 MiB), $vin; $(ls /sys/bus/virtio/devices | wc -l) on the virtio bus"
else
    fail lb_bind_all "rng '$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)', blk '$(ls /sys/block | tr '\n' ' ')', input '$(virtio_event)'"
    show $T/adapter.log 60
fi
for d in /sys/bus/virtio/devices/*; do
    [ -e "$d" ] && info "$(basename "$d"): device $(cat "$d/device") driver $(basename "$(readlink "$d/driver")") features $(cat "$d/features")"
done

rng_check lb_rng
blk_fs_check lb_vda_fs "${vda:-/dev/vda}"
blk_raw_check lb_vdb_raw "${vdb:-/dev/vdb}"

# Resize: the back end tells the adapter, the adapter the module, the module the driver.
truncate -s 24M $T/disk1.img
kill -HUP $b1pid
if wait_until 20 blk_by_sectors 49152 >/dev/null; then
    pass lb_blk_resize "$(blk_by_sectors 49152) grew from 32768 to 49152 sectors after SIGHUP (config change through the loopback)"
else
    fail lb_blk_resize "size still $(cat /sys/block/${vdb#/dev/}/size 2>/dev/null)"; show $T/adapter.log 10
fi

# Driver reset and re-initialisation: unbind and rebind virtio_blk from the 24 MiB disk.
vdev=$(basename "$(readlink -f /sys/block/${vdb#/dev/}/device)")
rawsum=$(sha /tmp/raw.lb_vdb_raw)
if echo "$vdev" >/sys/bus/virtio/drivers/virtio_blk/unbind && wait_until 10 not_there /sys/block/${vdb#/dev/} \
    && echo "$vdev" >/sys/bus/virtio/drivers/virtio_blk/bind && wait_until 20 blk_by_sectors 49152 >/dev/null; then
    vdb=$(blk_by_sectors 49152)
    got=$(dd if="$vdb" bs=64k skip=64 count=64 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ "$got" = "$rawsum" ]; then pass lb_blk_rebind "$vdev unbound and rebound (reset, re-init): $vdb reads back the earlier 4 MiB"
    else fail lb_blk_rebind "after rebind: want $rawsum got $got"; fi
else
    fail lb_blk_rebind "unbind/bind of $vdev failed"; show $T/adapter.log 20
fi

# ---- input ---------------------------------------------------------------------
evdev-inspect describe "$src" >$T/desc.src 2>&1
evdev-inspect describe "${vin:-/dev/null}" >$T/desc.vin 2>&1
if [ -n "$vin" ] && grep -q '^ABS ' $T/desc.src && cmp -s $T/desc.src $T/desc.vin; then
    pass lb_input_desc "$vin matches $src: $(grep -c '^BITS' $T/desc.src) event types, $(grep -c '^ABS' $T/desc.src) ABS ranges, '$(sed -n 's/^NAME //p' $T/desc.src)'"
else
    fail lb_input_desc "$src vs ${vin:-none}: $(diff $T/desc.src $T/desc.vin | head -n 6 | tr '\n' ' ')"
fi

# The script's events, watched on the virtio node while the feeder plays them.
n_sent_before=$(grep -c '^SENT ' $T/feeder.out)
evdev-inspect watch "${vin:-/dev/null}" 170 60000 >$T/got 2>$T/watch.err &
xpid=$!
wait_until 10 grep -q READY $T/got
feed "script" 120 || info "feeder script failed"
wait $xpid
xrc=$?
grep '^SENT ' $T/feeder.out | tail -n +$((n_sent_before + 1)) | sed 's/^SENT //' >$T/sent
sed -n 's/^GOT //p' $T/got >$T/got.events
if [ $xrc = 0 ] && [ "$(wc -l <$T/sent)" = 170 ] && cmp -s $T/sent $T/got.events; then
    pass lb_input_events "170 events (incl. $(grep -c '^0 0 0$' $T/sent) SYN_REPORT) on $vin equal the uinput script, in order"
else
    fail lb_input_events "watch rc $xrc, sent $(wc -l <$T/sent) got $(wc -l <$T/got.events): $(diff $T/sent $T/got.events | head -n 4 | tr '\n' ' ') $(cat $T/watch.err)"
fi

# EV_LED 1 (CAPSL) written to the virtio node travels the statusq to the uinput device.
feed_send "expect-led 1 1 30000"
usleep 200000
evdev-inspect write "${vin:-/dev/null}" 17 1 1 2>$T/write.err
if feed_wait 40 && grep -q '^LED 1 1$' $T/feeder.out; then
    pass lb_input_led "EV_LED CAPSL=1 written to $vin reached the uinput device"
else
    fail lb_input_led "$(grep -E '^(LED|ERR)' $T/feeder.out | tail -n 2 | tr '\n' ' ') $(cat $T/write.err)"
fi

# No refusals anywhere, and blk rings as large as the back end takes.
# (The I/O engine line names a refused io_uring on purpose.)
if grep -q "queue(s) of up to 128," $T/adapter.log && ! grep -v "I/O engine:" $T/adapter.log $T/blk0.log $T/blk1.log $T/rng.log $T/input.log | grep -qi "refuse\|rejected\|fail\|broken"; then
    pass lb_blk_queue "blk rings of up to 128, no refusal or failure in the adapter's or any back end's log"
else
    fail lb_blk_queue "$(grep -v "I/O engine:" $T/*.log | grep -i "refuse\|rejected\|fail\|broken" | head -n 3 | tr '\n' ' ')"
fi

# Which engine served each disk (their data was checked above).
e0=$(grep -o "I/O engine: .*" $T/blk0.log | head -n 1)
e1=$(grep -o "I/O engine: .*" $T/blk1.log | head -n 1)
case $engine1 in
    *io_uring*) want1="io_uring refused: io_uring_setup" ;;
    *) want1="2 I/O thread(s) shared by the queues" ;;
esac
if echo "$e0" | grep -q "io_uring per queue" && echo "$e1" | grep -q "$want1" && ! grep -q "io_uring unavailable" $T/blk0.log; then
    pass lb_blk_engines "blk0 (ext2): $e0; blk1 (raw, $engine1): $e1"
else
    fail lb_blk_engines "blk0: '$e0'; blk1 ($engine1): '$e1', want '$want1'"
fi
kill $wpid 2>/dev/null

# ---- teardown --------------------------------------------------------------------
kill -TERM $apid
wait $apid
arc=$?
if [ $arc = 0 ]; then pass lb_adapter_sigterm "adapter exit 0 on SIGTERM"; else fail lb_adapter_sigterm "exit $arc"; show $T/adapter.log; fi
left=$(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)
if [ "$left" = 0 ] && [ ! -e /sys/block/vda ] && [ ! -e /sys/block/vdb ] && ! virtio_event >/dev/null \
    && ! grep -q virtio_rng /sys/class/misc/hw_random/rng_available; then
    pass lb_devices_gone "no virtio device, disk, input node or hwrng left; $(ls /dev/input | grep -c '^event') event nodes ($before before)"
else
    fail lb_devices_gone "$left virtio devices left: $(ls /sys/bus/virtio/devices | tr '\n' ' ')"
fi
alive=0
for p in $rpid $b0pid $b1pid $ipid; do kill -0 $p 2>/dev/null && alive=$((alive + 1)); done
if [ $alive = 4 ]; then pass lb_backends_alive "4 back ends still serve their sockets after the front end left"
else fail lb_backends_alive "$alive of 4 alive"; fi
kill -TERM $rpid $b0pid $b1pid $ipid
wait $rpid $b0pid $b1pid $ipid
feed_send quit
if rmmod virtio_loopback; then pass lb_rmmod "module unloaded"; else fail lb_rmmod "rmmod refused: $(lsmod | grep virtio_loopback)"; fi
echo "---- adapter log (tail)"
tail -n 25 $T/adapter.log
