#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# What the guest-*.sh scripts of the module share (busybox sh). Installed as
# /bin/vl-guest-lib.sh next to the test programs; sourced after
# /lib/guest-lib.sh (pass, fail, info, wait_for). Reads /bin/vl-test.env
# (settings from the host, e.g. VL_FUZZ_OPS) when there is one.

[ -r /bin/vl-test.env ] && . /bin/vl-test.env

# vl_insmod NAME [PARAM...]: load the module (with PARAMs) as result NAME,
# wait for its device node.
vl_insmod() {
    _name=$1
    shift
    if insmod /lib/modules/virtio_loopback.ko "$@"; then pass "$_name"; else fail "$_name"; fi
    wait_for /dev/virtio-loopback 5
}

# vl_leftover: the virtio devices and loopback DMA parents that exist.
vl_leftover() {
    ls /sys/bus/virtio/devices 2>/dev/null
    ls -d /sys/devices/virtual/misc/virtio-loopback/virtio-loopback.* 2>/dev/null
}

# vl_gone [TENTHS]: wait (default 5 s) until vl_leftover lists nothing.
vl_gone() {
    _i=0
    while [ $_i -lt "${1:-50}" ] && [ -n "$(vl_leftover)" ]; do
        usleep 100000
        _i=$((_i + 1))
    done
    [ -z "$(vl_leftover)" ]
}

# The allow-list the guests that create driverless devices need
# (VLT_ALLOW_PARAM in vl-test-lib.h).
VL_ALLOW_BARE="allowed_device_ids=2,4,18,16384,16385,16386,16387,16388,16389,16390,16391"

VL_TROUBLE='WARNING|BUG|Oops|Call Trace|refcount|oom-kill|Out of memory|blocked for more than|detected stall|soft lockup|KASAN|UBSAN|circular locking|inconsistent lock|unreferenced object'

# vl_finish PREFIX [DETAIL]: unload the module (result PREFIX_rmmod) and
# check dmesg for kernel trouble (result PREFIX_dmesg, DETAIL when clean).
vl_finish() {
    if rmmod virtio_loopback; then
        pass "$1_rmmod"
    else
        fail "$1_rmmod" "refcnt $(cat /sys/module/virtio_loopback/refcnt 2>/dev/null)"
    fi
    if dmesg | grep -qE "$VL_TROUBLE"; then
        dmesg | grep -E -B2 -A8 "$VL_TROUBLE" | head -n 60
        fail "$1_dmesg" "kernel trouble in dmesg: $(dmesg | grep -m 1 -E "$VL_TROUBLE")"
    else
        pass "$1_dmesg" "${2:-dmesg clean (no warnings, bugs or oopses)}"
    fi
}
