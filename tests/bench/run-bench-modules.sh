#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make bench-modules: what a change of virtio_loopback.ko costs. One guest
# (Debian 6.1, TCG; KERNEL_VERSION for another fetched kernel) measures
# subject b (the loopback + our vhost-user-blk, image on tmpfs) under three
# module variants, alternating round by round so that drift touches each alike:
#   new    the module of this tree
#   prev   the module of git ref BENCH_PREV_REF, built here
#   work   this tree's module with call_context=1 (used buffers delivered from
#          a work item instead of irq_work: the delivery-context measurement)
# With BENCH_PREV_STACK=1 it compares whole stacks instead: prev is the ref's
# module, adapter and vhost-user-blk (built here), new is this tree's, measured
# as b and as p (both ends polling); work is left out. That is how a target
# stated against an earlier tree ("half of today's latency") is measured in
# one run. p needs a 6.12 guest (KERNEL_VERSION; bench-guest.sh's setup_p says
# why), and fails the run on 6.1.
# Prints a table of each workload's mean over the rounds (IOPS, mean latency,
# guest CPU per request) and new/prev, and writes it to $BENCH_OUT/modules.md
# (default docs/bench).
#
# Environment: BENCH_PREV_REF (required: a commit, tag or branch),
# BENCH_PREV_STACK, BENCH_PREV_KERNEL_SCHEDULER (1: the earlier stack's disks keep
# the kernel's default I/O scheduler, as a tree from before
# dist/udev/90-virtio-loopback.rules shipped them; this tree's run without one),
# BENCH_RUNTIME (s per workload, default 5), BENCH_ROUNDS
# (default 2), BENCH_SIZE_MB (default 128), BENCH_OUT.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../qemu/lib.sh
. "$HERE/../qemu/lib.sh"
REF=${BENCH_PREV_REF:?set BENCH_PREV_REF to the git ref of the module to compare with}
RT=${BENCH_RUNTIME:-5}
ROUNDS=${BENCH_ROUNDS:-2}
SIZE=${BENCH_SIZE_MB:-128}
OUT=${BENCH_OUT:-$REPO_ROOT/docs/bench}
begin_run bench-modules
find_kernel
rev=$(git -C "$REPO_ROOT" rev-parse --short "$REF") || die "no git ref $REF"
STACK=${BENCH_PREV_STACK:-0}
headers=/usr/src/linux-headers-$KVER
[[ -z $KROOT ]] || headers=$KERNELS_DIR/$KVER/build
mkdir -p "$W/prev" "$W/kit" "$OUT"
# build_module TREE NAME: TREE's module for $KVER, into the kit as NAME.ko.
build_module() {
    BUILD_DIR=$W/$2-build OUT_DIR=$W/$2-out "$1/kernel-module/scripts/build-all.sh" "$headers" >"$W/$2-build.log" 2>&1 ||
        { cat "$W/$2-build.log"; die "the $2 module does not build for $KVER"; }
    cp "$W/$2-out/$KVER/virtio_loopback.ko" "$W/kit/$2.ko"
    chmod +x "$W/kit/$2.ko"
}
if [[ $STACK == 1 ]]; then
    git -C "$REPO_ROOT" archive "$rev" | tar -x -C "$W/prev"
    log "bench-modules: building $rev's adapter and vhost-user-blk"
    make -C "$W/prev" out/linux-x64/virtio-loopback-adapter out/linux-x64/vhost-user-blk >"$W/prev-programs.log" 2>&1 ||
        { tail -n 30 "$W/prev-programs.log"; die "$rev's programs do not build"; }
else
    git -C "$REPO_ROOT" archive "$rev" kernel-module | tar -x -C "$W/prev"
fi
build_module "$REPO_ROOT" virtio_loopback
build_module "$W/prev" prev
kit=("$W/kit/virtio_loopback.ko:/lib/modules/virtio_loopback.ko" "$W/kit/prev.ko:/lib/modules/prev.ko"
    "$HERE/bench-guest.sh:/bin/bench-guest.sh" "$BIN_DIR/virtio-loopback-adapter" "$BIN_DIR/vhost-user-blk"
    "$(command -v fio)")
[[ $STACK == 1 ]] && kit+=("$W/prev/out/linux-x64/virtio-loopback-adapter:/opt/prev/virtio-loopback-adapter"
    "$W/prev/out/linux-x64/vhost-user-blk:/opt/prev/vhost-user-blk")
export GUEST_APPEND="benchrt=$RT benchsize=$SIZE benchrounds=$ROUNDS benchstack=$STACK benchprevsched=${BENCH_PREV_KERNEL_SCHEDULER:-0}"
export GUEST_TIMEOUT=$(( 600 + RT * 60 * ROUNDS ))
export GUEST_MEM=$(( 512 + 3 * SIZE ))
rc=0
what=module; [[ $STACK == 1 ]] && what="module, adapter and back end"
log "bench-modules: this tree against $rev ($what), $KVER, $ROUNDS rounds, ${RT} s per workload"
GUEST_MODULES="virtio_blk" run_guest bench-modules "$HERE/guest-modules.sh" "${kit[@]}" || rc=1

# Means per variant and workload over the rounds: IOPS, latency and CPU per request.
{
    echo "# Module cost: this tree against $rev's $what ($(date -u +%F), $KVER, TCG, ${RT} s x $ROUNDS rounds)"
    echo
    echo "| workload | new IOPS | prev IOPS | new/prev | new lat µs | prev lat µs | new CPU µs/req | prev CPU µs/req | other | IOPS | lat µs | CPU µs/req |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    grep '^RESULT [a-z]-' "$W/bench-modules.log" | grep -v 'PASS\|FAIL' | awk -v stack="$STACK" '
        { v = $2; w = $3
          for (i = 4; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
          iops[v, w] += f["iops"]; lat[v, w] += f["lat_us"]; cpu[v, w] += f["cpu_us"]; n[v, w]++; ws[w] = 1 }
        function m(a, v, w) { return n[v, w] ? a[v, w] / n[v, w] : 0 }
        END { o = stack == 1 ? "p-new" : "b-work"
              for (w in ws) {
                ni = m(iops, "b-new", w); pi = m(iops, "b-prev", w)
                printf "| %s | %d | %d | %.2f | %.0f | %.0f | %.1f | %.1f | %s | %d | %.0f | %.1f |\n", w, ni, pi, pi ? ni / pi : 0,
                    m(lat, "b-new", w), m(lat, "b-prev", w), m(cpu, "b-new", w), m(cpu, "b-prev", w),
                    o, m(iops, o, w), m(lat, o, w), m(cpu, o, w) } }' | sort
} >"$W/modules.md"
cat "$W/modules.md"
cp "$W/modules.md" "$OUT/modules.md"
end_run $rc
