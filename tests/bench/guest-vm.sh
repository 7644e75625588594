#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest script of run-bench.sh's VM guest (subject d): QEMU's vhost-user-blk-pci on our back end.
# EXPECT: bench_done
. /lib/guest-lib.sh
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
BENCH_RUNTIME=$(arg benchrt) BENCH_RAMP=$(arg benchramp) BENCH_SIZE_MB=$(arg benchsize) sh /bin/bench-guest.sh vm
if [ $? = 0 ]; then pass bench_done "vm subject measured"; else fail bench_done "bench-guest.sh failed"; fi
