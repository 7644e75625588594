#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The module under the debug kernel (build-debug-kernel.sh: lockdep, KASAN,
# KFENCE, UBSAN, DEBUG_OBJECTS, kmemleak): builds the kernel once per machine
# (cached outside the work tree) and the module for it, then runs the
# module's own guests (run-qemu-test.sh), the hostile back-end suite
# (run-hostile.sh) and the loopback suites with the adapter and the back ends
# (tests/qemu/run-loopback-test.sh). Any report of the checkers fails the
# guest that caused it (check_log, vl_finish).
#
# Usage: run-debug-kernel.sh
# Environment: DEBUG_GUESTS (default "rng input blk fuzz churn"),
# DEBUG_ATTACKS (default: all), DEBUG_LOOPBACK (default "all faults gpio console";
# gpio needs this kernel's GPIO_SIM and GPIO_VIRTIO, which Debian's kernels
# lack; qsd adds nothing the module sees that "all" does not, and costs CI
# 40 s), LB_CHURN (default 10), LB_KILLS (default 3). Summaries under
# tests/qemu/work/debug-<release>/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"

log() { printf '[debug-kernel] %s\n' "$*" >&2; }

t0=$(date +%s)
rel=$("$REPO_ROOT/kernel-module/scripts/build-debug-kernel.sh")
log "kernel $rel ready after $(( $(date +%s) - t0 )) s"
OUT_DIR=$REPO_ROOT/out/modules "$REPO_ROOT/kernel-module/scripts/build-all.sh" \
	"$KERNELS_DIR/$rel/build"

work=$REPO_ROOT/tests/qemu/work/debug-$rel
rm -rf "$work"
mkdir -p "$work"
export KERNEL_VERSION=$rel
# KASAN, lockdep and kmemleak make everything slower under TCG.
export GUEST_TIMEOUT=${GUEST_TIMEOUT:-600} GUEST_MEM=${GUEST_MEM:-1024}
rc=0
# keep SUITE_SUMMARY NAME: the suite's own summary (its closing line under the
# failed results) as NAME.summary, which test-summary.sh reads; a suite that
# ended without one leaves none, and counts as failed there.
keep() { rm -f "$work/$2.summary"; [[ ! -f $1 ]] || tee "$work/$2.summary" <"$1"; }
QEMU_WORK_DIR=$work/module VL_GUESTS=${DEBUG_GUESTS:-rng input blk fuzz churn} \
	VL_FUZZ_OPS=${VL_FUZZ_OPS:-10000} \
	"$HERE/run-qemu-test.sh" "$rel" >"$work/module.log" 2>&1 || rc=1
keep "$work/module/summary" module
QEMU_WORK_DIR=$work/hostile VL_ATTACKS=${DEBUG_ATTACKS:-} \
	"$HERE/run-hostile.sh" "$rel" >"$work/hostile.log" 2>&1 || rc=1
keep "$work/hostile/summary" hostile
# shellcheck disable=SC2086
LB_CHURN=${LB_CHURN:-10} LB_KILLS=${LB_KILLS:-3} QEMU_WORK_DIR=$work \
	"$REPO_ROOT/tests/qemu/run-loopback-test.sh" ${DEBUG_LOOPBACK:-all faults gpio console} \
	>"$work/loopback.log" 2>&1 || rc=1
keep "$work/loopback-$rel/summary" loopback
log "done in $(( $(date +%s) - t0 )) s"
exit $rc
