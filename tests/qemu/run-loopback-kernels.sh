#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The loopback tests on every kernel: the host's Debian 6.1 amd64 kernel gets
# all of run-loopback-test.sh (all, qsd, faults with 100 churn cycles, signals, console); each
# kernel fetched by kernel-module/scripts/fetch-kernels.sh (Debian 5.10 and
# 6.12 amd64, 6.1 arm64 under qemu-system-aarch64 -M virt with the arm64
# programs) gets "all", "faults" with LB_CHURN (default 20) cycles and "console"
# (the module posts console buffers, which is per-kernel code), and
# "sound" where the kernel has virtio_snd (6.12). The
# module is built for each with kernel-module/scripts/build-all.sh (W=1).
# Summaries: tests/qemu/work/loopback-<kernelrelease>/summary.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
export KERNELS_DIR

rm -rf "$REPO_ROOT"/tests/qemu/work/loopback-*
rc=0
"$HERE/run-loopback-test.sh" all qsd faults signals console || rc=1
# The other kernels; a failed download is a failed result, not a silent skip.
if ! "$REPO_ROOT/kernel-module/scripts/fetch-kernels.sh"; then
    mkdir -p "$REPO_ROOT/tests/qemu/work/loopback-fetch"
    echo "0 passed, 1 failed" >"$REPO_ROOT/tests/qemu/work/loopback-fetch/summary"
    rc=1
fi
for dir in "$KERNELS_DIR"/*/; do
    rel=$(basename "$dir")
    [[ -f $dir/arch && -e $dir/root/boot/vmlinuz-$rel ]] || continue
    # The debug kernel has its own run (kernel-module/tests/run-debug-kernel.sh).
    [[ $rel == *-vldebug ]] && continue
    OUT_DIR=$REPO_ROOT/out/modules "$REPO_ROOT/kernel-module/scripts/build-all.sh" "$dir/build" || { rc=1; continue; }
    bin=$REPO_ROOT/out/linux-x64
    [[ $(cat "$dir/arch") == arm64 ]] && bin=$REPO_ROOT/out/linux-arm64
    tests=(all faults console)
    # virtio_snd is built from Debian 6.12 on.
    [[ -n $(find "$dir/root/usr/lib/modules/$rel" -name 'virtio_snd.ko*' 2>/dev/null) ]] && tests+=(sound)
    KERNEL_VERSION=$rel BIN_DIR=$bin LB_CHURN=${LB_CHURN:-20} "$HERE/run-loopback-test.sh" "${tests[@]}" || rc=1
done
exit $rc
