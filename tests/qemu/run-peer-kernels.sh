#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The third-party peer tests of make test: run-peer-test.sh fs fs-rust net on
# the host's Debian 6.1 amd64 kernel, fs and net on each fetched Debian 6.1
# arm64 kernel (qemu-system-aarch64 -M virt, the arm64 adapter, arm64
# packages; PEERS_ARM64=0 skips them, about three and a half minutes), then
# run-blkio-test.sh (libblkio as a front end for our vhost-user-blk, on this
# host).
# Summaries: tests/qemu/work/peers-<kernelrelease>/summary,
# tests/qemu/work/blkio/summary.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
export KERNELS_DIR

rm -rf "$REPO_ROOT"/tests/qemu/work/peers-*
rc=0
"$HERE/run-peer-test.sh" fs fs-rust net || rc=1
for dir in "$KERNELS_DIR"/*-arm64/; do
    [[ ${PEERS_ARM64:-1} == 1 ]] || break
    rel=$(basename "$dir")
    [[ $rel == 6.1.* && -f $dir/arch && -e $dir/root/boot/vmlinuz-$rel ]] || continue
    OUT_DIR=$REPO_ROOT/out/modules "$REPO_ROOT/kernel-module/scripts/build-all.sh" "$dir/build" || { rc=1; continue; }
    KERNEL_VERSION=$rel BIN_DIR=$REPO_ROOT/out/linux-arm64 "$HERE/run-peer-test.sh" fs net || rc=1
done
"$HERE/run-blkio-test.sh" || rc=1
exit $rc
