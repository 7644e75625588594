#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest script of run-bench.sh's loopback guests (6.1 amd64 and arm64): knobs come from
# the kernel command line.
# EXPECT: bench_done
. /lib/guest-lib.sh
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
BENCH_RUNTIME=$(arg benchrt) BENCH_RAMP=$(arg benchramp) BENCH_EVENTS=$(arg benchevents) BENCH_SIZE_MB=$(arg benchsize) \
    BENCH_TIMING=$(arg benchtiming) sh /bin/bench-guest.sh loopback
if [ $? = 0 ]; then pass bench_done "loopback subjects measured"; else fail bench_done "bench-guest.sh failed"; fi
