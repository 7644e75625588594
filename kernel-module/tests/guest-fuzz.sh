#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of run-qemu-test.sh: vl-fuzz runs random operations on
# /dev/virtio-loopback in two processes (VL_FUZZ_OPS in all, default 40000;
# VL_FUZZ_SEED to repeat a run; both from /bin/vl-test.env). Every call must
# succeed or fail with a documented errno, the fuzzer must not crash, and
# afterwards no device may be left and the module must unload. A short
# sync_timeout_ms (300) lets unanswered registrations time out meanwhile.
# EXPECT: vf_insmod vf_fuzz vf_errno vf_timeout vf_leftover vf_refcnt vf_rmmod vf_dmesg
. /lib/guest-lib.sh
. /bin/vl-guest-lib.sh

# Broken devices log errors by design; keep the serial console quiet.
dmesg -n 1 2>/dev/null
vl_insmod vf_insmod "$VL_ALLOW_BARE"
echo 300 >/sys/module/virtio_loopback/parameters/sync_timeout_ms

ops=${VL_FUZZ_OPS:-40000}
t0=$(cut -d' ' -f1 /proc/uptime)
/bin/vl-fuzz -n "$ops" -j 2 ${VL_FUZZ_SEED:+-s "$VL_FUZZ_SEED"} >/tmp/fuzz.log 2>&1
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
grep -E '^VL (fuzz|UNEXPECTED)' /tmp/fuzz.log | head -n 60
seed=$(sed -n 's/^VL fuzz seed=\([0-9]*\).*/\1/p' /tmp/fuzz.log)
workers=$(grep -c '^VL fuzz summary' /tmp/fuzz.log)
calls=$(sed -n 's/^VL fuzz summary.* calls=\([0-9]*\).*/\1/p' /tmp/fuzz.log | awk '{ s += $1 } END { print s + 0 }')
unexp=$(grep -c 'UNEXPECTED' /tmp/fuzz.log)
data fuzz_seed "$seed"
data fuzz_calls "$calls"
if [ $rc -lt 128 ] && [ "$workers" = 2 ]; then
    pass vf_fuzz "$ops ops, $calls calls, seed $seed, $t0..$t1 s uptime, exit $rc"
else
    fail vf_fuzz "exit $rc, $workers summaries (seed $seed); $(tail -n 3 /tmp/fuzz.log)"
fi
if [ $rc = 0 ] && [ "$unexp" = 0 ]; then
    pass vf_errno "every call succeeded or failed with a documented errno"
else
    fail vf_errno "$unexp unexpected results (seed $seed, exit $rc)"
fi

n=$(dmesg | grep -c 'no reply to reset')
if [ "$n" -ge 2 ]; then
    pass vf_timeout "$n registrations timed out waiting for the adapter: $(dmesg | grep 'no reply to reset' | tail -n 1 | sed 's/^\[[^]]*\] *//')"
else
    fail vf_timeout "only $n 'no reply to reset' in dmesg"
fi

# Closing the control fds removed every device (a removal that waited for
# a probe may lag a moment).
if vl_gone 50; then
    pass vf_leftover "no virtio device and no DMA parent left"
else
    fail vf_leftover "left: $(vl_leftover | tr '\n' ' ')"
fi
ref=$(cat /sys/module/virtio_loopback/refcnt 2>/dev/null)
if [ "$ref" = 0 ]; then pass vf_refcnt "module refcount 0"; else fail vf_refcnt "refcnt '$ref'"; fi
vl_finish vf "dmesg clean: $(dmesg | grep -c 'failed the device') FAIL_DEVICE, $(dmesg | grep -c 'no reply') sync timeouts, $(dmesg | grep -c 'bad DMA\|no live mapping') bad unmaps"

