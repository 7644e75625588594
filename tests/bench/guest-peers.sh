#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest script of run-bench.sh's peers guest (6.12 amd64): subjects a, b, g, p, c, e, f in one
# interleaved run, in rounds. Knobs come from the kernel command line.
# EXPECT: bench_done
. /lib/guest-lib.sh
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
BENCH_RUNTIME=$(arg benchrt) BENCH_RAMP=$(arg benchramp) BENCH_SIZE_MB=$(arg benchsize) BENCH_ROUNDS=$(arg benchrounds) BENCH_TIMING=$(arg benchtiming) \
    sh /bin/bench-guest.sh peers
if [ $? = 0 ]; then pass bench_done "peer subjects measured"; else fail bench_done "bench-guest.sh failed"; fi
