#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of "tests/qemu/run-input-test.sh smoke": uinput-feeder alone.
# Creates the test pad, checks the evdev node and the sysfs name, emits the
# script and destroys the device.
#
# EXPECT: feeder_create feeder_sysfs feeder_script feeder_exit

. /lib/guest-lib.sh

NAME="virtio-loopback test pad"
uinput-feeder --create --emit-script --interval-ms 0 --hold-ms 200 --destroy >/tmp/feeder.out 2>/tmp/feeder.err &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q '^SYSNAME ' /tmp/feeder.out; do usleep 50000; i=$((i + 1)); done
ev=$(sed -n 's/^EVDEV //p' /tmp/feeder.out)
sys=$(sed -n 's/^SYSNAME //p' /tmp/feeder.out)
info "EVDEV $ev SYSNAME $sys"
if [ -c "$ev" ]; then pass feeder_create "$ev"; else fail feeder_create "no node '$ev'"; cat /tmp/feeder.err; fi
n=$(cat "/sys/class/input/$sys/name" 2>/dev/null)
ids="$(cat /sys/class/input/$sys/id/bustype 2>/dev/null) $(cat /sys/class/input/$sys/id/vendor 2>/dev/null) $(cat /sys/class/input/$sys/id/product 2>/dev/null) $(cat /sys/class/input/$sys/id/version 2>/dev/null)"
info "sysfs name '$n' ids $ids caps key=$(cat /sys/class/input/$sys/capabilities/key 2>/dev/null) abs=$(cat /sys/class/input/$sys/capabilities/abs 2>/dev/null) ev=$(cat /sys/class/input/$sys/capabilities/ev 2>/dev/null) prop=$(cat /sys/class/input/$sys/properties 2>/dev/null)"
if [ "$n" = "$NAME" ] && [ "$ids" = "0003 1d6b 0104 0100" ]; then pass feeder_sysfs "'$n' $ids"
else fail feeder_sysfs "'$n' $ids"; fi
wait $pid
rc=$?
sent=$(grep -c '^SENT ' /tmp/feeder.out)
if [ "$sent" = 170 ] && grep -q '^SCRIPT_DONE 170$' /tmp/feeder.out; then pass feeder_script "$sent events"
else fail feeder_script "$sent SENT lines"; fi
if [ $rc = 0 ] && grep -q '^DESTROYED$' /tmp/feeder.out && [ ! -e "/sys/class/input/$sys" ]; then pass feeder_exit "exit 0, device gone"
else fail feeder_exit "exit $rc"; cat /tmp/feeder.err; fi
