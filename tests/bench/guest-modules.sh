#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest script of run-bench-modules.sh: knobs come from the kernel command line. benchstack=1:
# this tree's module, adapter and back end (as b, and as p: both ends polling) against the earlier
# tree's (its programs in /opt/prev); otherwise three modules under this tree's programs.
# EXPECT: bench_done
. /lib/guest-lib.sh
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
if [ "$(arg benchstack)" = 1 ]; then
    variants="new:/lib/modules/virtio_loopback.ko:::b,p prev:/lib/modules/prev.ko::/opt/prev:b:$(arg benchprevsched)"
else
    variants="new:/lib/modules/virtio_loopback.ko prev:/lib/modules/prev.ko work:/lib/modules/virtio_loopback.ko:call_context=1"
fi
BENCH_RUNTIME=$(arg benchrt) BENCH_SIZE_MB=$(arg benchsize) BENCH_ROUNDS=$(arg benchrounds) BENCH_VARIANTS="$variants" \
    sh /bin/bench-guest.sh modules
if [ $? = 0 ]; then pass bench_done "module variants measured"; else fail bench_done "bench-guest.sh failed"; fi
