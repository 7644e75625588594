#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest script of run-bench-modules.sh: knobs come from the kernel command line.
# EXPECT: bench_done
. /lib/guest-lib.sh
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
BENCH_RUNTIME=$(arg benchrt) BENCH_SIZE_MB=$(arg benchsize) BENCH_ROUNDS=$(arg benchrounds) \
    BENCH_VARIANTS="new:/lib/modules/virtio_loopback.ko prev:/lib/modules/prev.ko work:/lib/modules/virtio_loopback.ko:call_context=1" \
    sh /bin/bench-guest.sh modules
if [ $? = 0 ]; then pass bench_done "module variants measured"; else fail bench_done "bench-guest.sh failed"; fi
