#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/run-vm-gpio-test.sh: the gpiochip that QEMU's
# vhost-user-gpio-pci attaches to our vhost-user-gpio on the host, whose
# software chip wires line 2k to line 2k+1. libgpiod's tools on it:
#
#   vm_gpio_chip    8 lines named wire0a, wire0b, ... wire3b
#   vm_gpio_get     line 1 reads what line 0 drives (gpioset held), both ways
#   vm_gpio_events  100 edges on line 3 from line 2 driven high (gpioset held)
#                   and released, each waited for: 100 events alternating
#                   rising and falling, in order, none lost
#
# EXPECT: vm_gpio_chip vm_gpio_get vm_gpio_events
. /lib/guest-lib.sh

T=/tmp/vm
mkdir -p $T
chip=
find_chip() { chip=$(gpiodetect 2>/dev/null | sed -n 's/^\(gpiochip[0-9]*\) .*(8 lines)$/\1/p' | head -n 1); [ -n "$chip" ]; }
if wait_until 60 find_chip; then
    gpioinfo $chip >$T/info 2>&1
    names=$(sed -n 's/.*line *[0-9]*: *"\([^"]*\)".*/\1/p' $T/info | tr '\n' ' ')
    if [ "$names" = "wire0a wire0b wire1a wire1b wire2a wire2b wire3a wire3b " ]; then
        pass vm_gpio_chip "$(gpiodetect | grep "^$chip ") named $names"
    else
        fail vm_gpio_chip "names '$names': $(tr '\n' ';' <$T/info)"
    fi
else
    fail vm_gpio_chip "no 8-line gpiochip: $(gpiodetect 2>&1 | tr '\n' ';') $(dmesg | grep -i 'virtio\|gpio' | tail -n 5)"
fi

# held VALUE: line 0 driven to VALUE by a gpioset that holds it until killed.
gpioset --mode=signal $chip 0=1 & sp=$!
wait_until 5 sh -c "[ \"\$(gpioget $chip 1 2>/dev/null)\" = 1 ]"; v1=$(gpioget $chip 1 2>&1)
kill $sp; wait $sp
gpioset --mode=signal $chip 0=0 & sp=$!
usleep 300000; v0=$(gpioget $chip 1 2>&1)
kill $sp; wait $sp
if [ "$v1$v0" = "10" ]; then pass vm_gpio_get "line 1 read $v1 while line 0 drove 1, $v0 while it drove 0"
else fail vm_gpio_get "line 1 read '$v1' '$v0', want 1 0"; fi

# Line 2 driven high (rising on line 3), then released (falling): 50 cycles.
gpiomon -b --num-events=100 --format="%e" $chip 3 >$T/events 2>$T/mon.err &
mpid=$!
usleep 500000
t0=$(ms); n=0; lost=0
while [ $n -lt 100 ]; do
    if [ $((n % 2)) = 0 ]; then gpioset --mode=signal $chip 2=1 & sp=$!; else kill $sp; wait $sp; fi
    n=$((n + 1))
    wait_until 5 sh -c "[ \$(wc -l <$T/events) -ge $n ]" || lost=$((lost + 1))
    kill -0 $mpid 2>/dev/null || [ $n = 100 ] || break
done
wait $mpid
t1=$(ms)
pattern=$(tr -d '\n' <$T/events)
want=$(i=0; while [ $i -lt 50 ]; do printf 10; i=$((i + 1)); done)
if [ "$pattern" = "$want" ] && [ $lost = 0 ]; then
    pass vm_gpio_events "100 edges alternating rising/falling in order, none lost, in $((t1 - t0)) ms"
else
    fail vm_gpio_events "$(wc -l <$T/events) events (pattern $pattern), $lost waited in vain: $(cat $T/mon.err)"
fi
