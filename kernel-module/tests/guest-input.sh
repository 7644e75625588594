#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of run-qemu-test.sh: a virtio-input keyboard served by
# vl-input-test. The driver's probe writes select/subsel and reads back the
# answers, so its name proves the synchronous config-write path; then a key
# press travels the event queue to /dev/input/eventN.
# EXPECT: vi_insmod vi_probe vi_event vi_remove vi_timeout vi_timeout_remove vi_kill_midprobe vi_lifecycle vi_rmmod vi_dmesg
. /lib/guest-lib.sh
. /bin/vl-guest-lib.sh

dmesg -n 7 2>/dev/null
vl_insmod vi_insmod

/bin/vl-input-test /tmp/inject 60 >/tmp/vi.log 2>&1 &
pid=$!

dev=
i=0
while [ $i -lt 100 ] && [ -z "$dev" ]; do
    for n in /sys/class/input/input*; do
        [ "$(cat "$n/name" 2>/dev/null)" = vl-test-input ] && dev=$n
    done
    usleep 100000; i=$((i + 1))
done
if [ -n "$dev" ]; then
    pass vi_probe "name='$(cat "$dev/name")' phys='$(cat "$dev/phys")' uniq='$(cat "$dev/uniq")' bustype=$(cat "$dev/id/bustype") key_bits=$(cat "$dev/capabilities/key" | tr ' ' '_')"
else
    fail vi_probe "no input device named vl-test-input"
fi

ev=$(ls -d "$dev"/event* 2>/dev/null | head -n1)
ev=/dev/input/${ev##*/}
if [ -c "$ev" ]; then
    dd if="$ev" of=/tmp/ev.bin bs=24 count=4 2>/dev/null &
    ddpid=$!
    usleep 500000
    touch /tmp/inject
    i=0
    while [ $i -lt 100 ] && kill -0 $ddpid 2>/dev/null; do usleep 100000; i=$((i + 1)); done
    kill $ddpid 2>/dev/null
    # struct input_event on 64-bit: 16 bytes time, u16 type, u16 code, s32 value
    words=$(od -An -v -tu2 /tmp/ev.bin | tr -s ' \n' ' ')
    info "events (u16 words): $words"
    set -- $words
    if [ $# -ge 48 ] && [ "$9" = 1 ] && [ "${10}" = 30 ] && [ "${11}" = 1 ]; then
        pass vi_event "$ev: EV_KEY KEY_A value 1, then SYN/release"
    else
        fail vi_event "unexpected events: $words"
    fi
else
    fail vi_event "no event node for $dev"
fi

kill -TERM $pid
wait $pid
echo "---- vl-input-test output"
cat /tmp/vi.log
echo "----"
if grep -q vl-test-input /sys/class/input/input*/name 2>/dev/null; then
    fail vi_remove "input device still present"
else
    pass vi_remove "input device gone after close"
fi

# An adapter that never answers a config write: bounded wait, later writes do not wait.
t0=$(cut -d. -f1 /proc/uptime)
VL_NO_CONFIG_REPLY=1 /bin/vl-input-test /tmp/none 60 >/tmp/vi-nr.log 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! dmesg | grep -q 'no reply to config write'; do usleep 100000; i=$((i + 1)); done
msg=$(dmesg | grep 'no reply to config write' | tail -n1)
if [ -n "$msg" ]; then
    pass vi_timeout "$msg (ignored: $(grep -c 'ignoring CONFIG_WRITE' /tmp/vi-nr.log) writes, only the first waited)"
else
    fail vi_timeout "no timeout message; $(tail -n 3 /tmp/vi-nr.log)"
fi
usleep 500000
kill -TERM $pid
wait $pid
t1=$(cut -d. -f1 /proc/uptime)
if [ -z "$(vl_leftover)" ]; then
    pass vi_timeout_remove "broken device removed on close, $((t1 - t0)) s in all"
else
    fail vi_timeout_remove "left: $(vl_leftover | tr '\n' ' ')"
fi

# The adapter dies (SIGKILL) while the driver's probe waits for a config
# write reply: release() must remove the device at once, not after a timeout.
VL_NO_CONFIG_REPLY=1 /bin/vl-input-test /tmp/none 60 >/tmp/vi-kill.log 2>&1 &
pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q 'ignoring CONFIG_WRITE' /tmp/vi-kill.log; do usleep 20000; i=$((i + 1)); done
before=$(dmesg | grep -c 'no reply to config write')
kill -KILL $pid
wait $pid 2>/dev/null
t0=$(cut -d' ' -f1 /proc/uptime)
vl_gone 10
t1=$(cut -d' ' -f1 /proc/uptime)
after=$(dmesg | grep -c 'no reply to config write')
if [ -z "$(vl_leftover)" ] && [ "$before" = "$after" ]; then
    pass vi_kill_midprobe "device removed within $t0..$t1 s uptime of SIGKILL, no timeout needed"
else
    fail vi_kill_midprobe "left: $(vl_leftover | tr '\n' ' ') timeouts before/after: $before/$after"
fi
# Lifecycle events are never dropped: the adapter reads nothing for a while
# (VL_DEAF) while the driver is unbound and bound again and again, each probe
# writing the config a few dozen times: the event queue overflows with
# config writes, yet the last bind's FEATURES_OK and DRIVER_OK arrive.
old=$(cat /sys/module/virtio_loopback/parameters/sync_timeout_ms)
echo 50 >/sys/module/virtio_loopback/parameters/sync_timeout_ms
VL_DEAF=25 /bin/vl-input-test /tmp/none 60 >/tmp/vi-deaf.log 2>&1 &
pid=$!
wait_for /sys/bus/virtio/drivers/virtio_input/virtio0 20
n=0
while [ $n -lt 30 ] && ! grep -q 'deaf period over' /tmp/vi-deaf.log; do
    echo virtio0 >/sys/bus/virtio/drivers/virtio_input/unbind 2>/dev/null
    echo virtio0 >/sys/bus/virtio/drivers/virtio_input/bind 2>/dev/null
    n=$((n + 1))
done
i=0
while [ $i -lt 300 ] && ! grep -q 'deaf period over' /tmp/vi-deaf.log; do usleep 100000; i=$((i + 1)); done
usleep 1500000
echo "$old" >/sys/module/virtio_loopback/parameters/sync_timeout_ms
dropped=$(dmesg | grep -c 'event queue full, event 4 ')
lost=$(dmesg | grep 'event queue full' | grep -vc 'event 4 ')
last=$(grep '^VL lifecycle' /tmp/vi-deaf.log | tail -n 2 | cut -d' ' -f3 | tr '\n' ' ')
bound=$(ls /sys/bus/virtio/drivers/virtio_input/ 2>/dev/null | grep -c virtio0)
if [ "$dropped" -gt 0 ] && [ "$lost" = 0 ] && [ "$last" = "1 2 " ] && [ "$bound" = 1 ]; then
    pass vi_lifecycle "$n rebinds while the adapter read nothing: config writes dropped ($dropped logged), every lifecycle event kept; the adapter read $(grep -c '^VL lifecycle' /tmp/vi-deaf.log) of them, ending FEATURES_OK, DRIVER_OK"
else
    fail vi_lifecycle "rebinds $n, config writes dropped $dropped, lifecycle dropped $lost, last '$last', bound $bound"
fi
kill -TERM $pid
wait $pid
vl_gone 50
echo "---- dmesg (virtio/loopback/input lines)"
dmesg | grep -iE 'virtio|loopback|input' | tail -n 20
echo "----"
vl_finish vi
