#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (gpio): a gpio-sim chip is the host chip;
# vhost-user-gpio serves 6 of its 8 lines (--lines 1-6) through
# virtio_loopback.ko and the adapter, and the kernel's own gpio-virtio driver
# makes them a second gpiochip. libgpiod's tools (Debian's gpiod) on that chip:
#
#   gpio_names     gpioinfo shows the sim's line names, shifted by --lines
#   gpio_get       levels set with the sim's pulls read back, both ways
#   gpio_set       gpioset drives a line; the sim sees the level, both ways
#   gpio_events    100 toggles of a pull, each waited for: gpiomon sees 100
#                  edges, alternating, in order, none lost; the latency from
#                  the sim's edge (back end's log, same kernel clock) to the
#                  guest driver's event is reported
#   gpio_bad_args  a line beyond the chip: one line on stderr, exit 1
#
# EXPECT: gpio_insmod gpio_sim gpio_bad_args gpio_bind gpio_names gpio_get gpio_set gpio_events gpio_teardown
. /lib/guest-lib.sh

T=/tmp/gpio
mkdir -p $T
if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass gpio_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail gpio_insmod "no /dev/virtio-loopback"
fi

# The host chip: gpio-sim through configfs, 8 named lines.
mount -t configfs none /sys/kernel/config 2>/dev/null
S=/sys/kernel/config/gpio-sim/vl
mkdir $S $S/bank0
echo 8 >$S/bank0/num_lines
for i in 0 1 2 3 4 5 6 7; do mkdir $S/bank0/line$i; echo "sim-line-$i" >$S/bank0/line$i/name; done
echo 1 >$S/live
simchip=$(cat $S/bank0/chip_name 2>/dev/null)
simdev=$(cat $S/dev_name 2>/dev/null)
if [ -n "$simchip" ] && [ -e /dev/$simchip ]; then
    pass gpio_sim "$simchip ($simdev): $(gpiodetect | grep "$simchip")"
else
    fail gpio_sim "no sim chip: $(ls $S $S/bank0 2>&1 | tr '\n' ' ')"
fi
# sim_pull LINE pull-up|pull-down; sim_value LINE: the level a consumer drives.
sim_pull() { echo "$2" >/sys/devices/platform/$simdev/$simchip/sim_gpio$1/pull; }
sim_value() { cat /sys/devices/platform/$simdev/$simchip/sim_gpio$1/value; }

vhost-user-gpio --socket-path $T/gpio.sock --chip /dev/$simchip --lines 9 >$T/bad.out 2>$T/bad.err
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <$T/bad.err)" = 1 ] && [ ! -s $T/bad.out ] && [ ! -e $T/gpio.sock ]; then
    pass gpio_bad_args "exit 1: $(cat $T/bad.err)"
else
    fail gpio_bad_args "rc=$rc stderr=$(cat $T/bad.err)"
fi

before=$(ls /dev | grep -c '^gpiochip')
vhost-user-gpio --socket-path $T/gpio.sock --chip "$simdev-node0" --lines 1-6 --log-level debug >$T/backend.log 2>&1 &
bpid=$!
virtio-loopback-adapter --socket-path $T/gpio.sock --device gpio --log-level debug >$T/adapter.log 2>&1 &
apid=$!
watchdog 240 $T/adapter.log:20 $T/backend.log:20
wpid=$WATCHDOG_PID
vchip=
find_virtio_chip() { vchip=$(gpiodetect | grep -v "$simdev" | sed -n 's/^\(gpiochip[0-9]*\) .*/\1/p' | head -n 1); [ -n "$vchip" ]; }
if wait_until 60 find_virtio_chip; then
    pass gpio_bind "$vchip: $(gpiodetect | grep "^$vchip ")"
else
    fail gpio_bind "no virtio gpiochip: $(gpiodetect | tr '\n' ';')"; show $T/adapter.log 30; show $T/backend.log 30
fi

# Names: guest line i is host line i+1.
gpioinfo $vchip >$T/info 2>&1
names=$(sed -n 's/.*line *\([0-9]*\): *"\([^"]*\)".*/\1=\2/p' $T/info | tr '\n' ' ')
want="0=sim-line-1 1=sim-line-2 2=sim-line-3 3=sim-line-4 4=sim-line-5 5=sim-line-6 "
if [ "$names" = "$want" ]; then pass gpio_names "$names"; else fail gpio_names "got '$names' want '$want': $(cat $T/info | tr '\n' ';')"; fi

# Get: guest line 2 is sim line 3.
sim_pull 3 pull-up; v1=$(gpioget $vchip 2 2>&1)
sim_pull 3 pull-down; v0=$(gpioget $vchip 2 2>&1)
sim_pull 3 pull-up; v2=$(gpioget $vchip 2 2>&1)
if [ "$v1$v0$v2" = "101" ]; then pass gpio_get "pull-up/down/up on sim line 3 read as $v1 $v0 $v2 on $vchip line 2"
else fail gpio_get "read '$v1' '$v0' '$v2', want 1 0 1"; show $T/backend.log 10; fi

# Set: guest line 3 is sim line 4; gpioset holds the line while the sim is read.
gpioset --mode=time --sec=3 $vchip 3=1 & sp=$!
wait_until 5 sh -c "[ \$(cat /sys/devices/platform/$simdev/$simchip/sim_gpio4/value) = 1 ]"; s1=$(sim_value 4)
wait $sp
gpioset --mode=time --sec=3 $vchip 3=0 & sp=$!
wait_until 5 sh -c "[ \$(cat /sys/devices/platform/$simdev/$simchip/sim_gpio4/value) = 0 ]"; s0=$(sim_value 4)
wait $sp
if [ "$s1$s0" = "10" ]; then pass gpio_set "gpioset $vchip 3=1 then 3=0: sim line 4 drove $s1 then $s0"
else fail gpio_set "sim saw '$s1' '$s0', want 1 0"; show $T/backend.log 10; fi

# Events: guest line 4 is sim line 5. Each toggle waits for its event.
sim_pull 5 pull-down
gpiomon -b --num-events=100 --format="%e %s.%n" $vchip 4 >$T/events 2>$T/mon.err &
mpid=$!
usleep 500000
t0=$(ms); n=0; lost=0
while [ $n -lt 100 ]; do
    if [ $((n % 2)) = 0 ]; then sim_pull 5 pull-up; else sim_pull 5 pull-down; fi
    n=$((n + 1))
    if ! wait_until 5 sh -c "[ \$(wc -l <$T/events) -ge $n ]"; then lost=$((lost + 1)); fi
done
wait $mpid
t1=$(ms)
got=$(wc -l <$T/events)
pattern=$(cut -d' ' -f1 $T/events | tr -d '\n')
want=$(i=0; while [ $i -lt 50 ]; do printf 10; i=$((i + 1)); done)
# Latency: the back end logs the sim's edge time (same kernel clock) of each interrupt it delivers.
sed -n 's/.*interrupt delivered, host edge at \([0-9]*\) ns.*/\1/p' $T/backend.log | tail -n 100 >$T/edges
# Nanoseconds exceed 32 bits: busybox awk's %d would clamp them.
awk '{ split($2, t, "."); printf "%.0f\n", t[1] * 1000000000 + t[2] }' $T/events >$T/guest_ns
echo "INFO first edges (host ns, guest ns): $(paste $T/edges $T/guest_ns | head -n 3 | tr '\n\t' '; ')"
lat=$(paste $T/edges $T/guest_ns | awk 'NF == 2 { d = ($2 - $1) / 1000; s += d; if (d > m) m = d; c++ } END { if (c) printf "%d events: mean %d us, max %d us", c, s / c, m }')
if [ "$got" = 100 ] && [ "$pattern" = "$want" ] && [ $lost = 0 ]; then
    pass gpio_events "100 toggles, 100 edges alternating rising/falling in order, none lost, in $((t1 - t0)) ms; sim edge to guest event: $lat"
else
    fail gpio_events "got $got events (pattern ${pattern}), $lost toggles waited in vain: $(cat $T/mon.err)"; show $T/backend.log 20
fi
data gpio_event_latency "$lat"

kill $wpid 2>/dev/null
viol=$(violations)
kill -TERM $apid; wait $apid; arc=$?
kill -TERM $bpid; wait $bpid; brc=$?
if [ $arc = 0 ] && [ $brc = 0 ] && [ "$viol" = 0 ] && ! find_virtio_chip && ! grep -qi "broken\|unhandled\|exception" $T/backend.log; then
    pass gpio_teardown "0 rule violations; adapter and back end exit 0 on SIGTERM; the virtio gpiochip is gone; $(grep -c 'refused with ERR' $T/backend.log) refused requests"
else
    fail gpio_teardown "violations $viol, adapter $arc back end $brc, chip '$vchip' $(gpiodetect | tr '\n' ';') $(grep -i "broken\|exception" $T/backend.log | head -n 3)"
fi
echo "---- back end log (tail)"
grep -v 'interrupt delivered\|OK, answer' $T/backend.log | tail -n 15
