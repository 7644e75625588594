#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest script of run-bench.sh's engines guest (6.1 amd64): our vhost-user-blk's I/O engines
# (and --direct) against qemu-storage-daemon (buffered and O_DIRECT), with the images on ext4 on the virtio disk QEMU gives this guest
# (/dev/vda, a file on the host's disk), then on tmpfs. Knobs come from the kernel command line.
# EXPECT: bench_ext4 bench_done
. /lib/guest-lib.sh
arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
export BENCH_RUNTIME=$(arg benchrt) BENCH_RAMP=$(arg benchramp) BENCH_SIZE_MB=$(arg benchsize)
mkdir -p /mnt/disk
if wait_for /dev/vda 20 && mount -t ext4 /dev/vda /mnt/disk; then
    pass bench_ext4 "$(grep ' /mnt/disk ' /proc/mounts)"
else
    fail bench_ext4 "no ext4 on /dev/vda: $(ls /dev/vd* 2>&1)"
fi
mkdir -p /mnt/disk/bench
BENCH_DIR=/mnt/disk/bench BENCH_TAG=@ext4 BENCH_SUBJECTS="t h o c q" sh /bin/bench-guest.sh blk; r1=$?
BENCH_DIR=/tmp/bench BENCH_TAG=@tmpfs BENCH_SUBJECTS="b h t c" sh /bin/bench-guest.sh blk; r2=$?
umount /mnt/disk
if [ $r1 = 0 ] && [ $r2 = 0 ]; then pass bench_done "engines measured on ext4 and tmpfs"; else fail bench_done "bench-guest.sh failed: $r1 $r2"; fi
