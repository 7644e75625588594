#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make bench-modules: what a change of virtio_loopback.ko costs. One guest
# (Debian 6.1, TCG) measures subject b (the loopback + our vhost-user-blk,
# image on tmpfs) under three module variants, alternating round by round so
# that drift touches each alike:
#   new    the module of this tree (out/modules/<kver>/)
#   prev   the module of git ref BENCH_PREV_REF, built here
#   work   this tree's module with call_context=1 (used buffers delivered from
#          a work item instead of irq_work: the delivery-context measurement)
# Prints a table of each workload's mean over the rounds and new/prev, and
# writes it to $BENCH_OUT/modules.md (default docs/bench).
#
# Environment: BENCH_PREV_REF (required: a commit, tag or branch),
# BENCH_RUNTIME (s per workload, default 5), BENCH_ROUNDS (default 2),
# BENCH_SIZE_MB (default 128), BENCH_OUT.
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
ko=$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko
[[ -f $ko ]] || die "$ko missing: run 'make module'"
rev=$(git -C "$REPO_ROOT" rev-parse --short "$REF") || die "no git ref $REF"
mkdir -p "$W/prev" "$W/kit" "$OUT"
git -C "$REPO_ROOT" archive "$rev" kernel-module | tar -x -C "$W/prev"
BUILD_DIR=$W/prev-build OUT_DIR=$W/prev-out "$W/prev/kernel-module/scripts/build-all.sh" \
    "/usr/src/linux-headers-$KVER" >"$W/prev-build.log" 2>&1 || { cat "$W/prev-build.log"; die "$rev does not build"; }
cp "$ko" "$W/kit/virtio_loopback.ko"
cp "$W/prev-out/$KVER/virtio_loopback.ko" "$W/kit/prev.ko"
chmod +x "$W"/kit/*.ko
kit=("$W/kit/virtio_loopback.ko:/lib/modules/virtio_loopback.ko" "$W/kit/prev.ko:/lib/modules/prev.ko"
    "$HERE/bench-guest.sh:/bin/bench-guest.sh" "$BIN_DIR/virtio-loopback-adapter" "$BIN_DIR/vhost-user-blk"
    "$(command -v fio)")
export GUEST_APPEND="benchrt=$RT benchsize=$SIZE benchrounds=$ROUNDS"
export GUEST_TIMEOUT=$(( 600 + RT * 60 * ROUNDS ))
export GUEST_MEM=$(( 512 + 2 * SIZE ))
rc=0
log "bench-modules: this tree against $rev, $ROUNDS rounds, ${RT} s per workload"
GUEST_MODULES="virtio_blk" run_guest bench-modules "$HERE/guest-modules.sh" "${kit[@]}" || rc=1

# Mean IOPS (and mean latency) per variant and workload over the rounds.
{
    echo "# Module cost: this tree against $rev ($(date -u +%F), $KVER, TCG, ${RT} s x $ROUNDS rounds)"
    echo
    echo "| workload | new IOPS | prev IOPS | new/prev | work IOPS | work/new | new lat µs | prev lat µs |"
    echo "|---|---|---|---|---|---|---|---|"
    grep '^RESULT b-' "$W/bench-modules.log" | grep -v 'PASS\|FAIL' | awk '
        { v = $2; sub(/^b-/, "", v); w = $3
          for (i = 4; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
          iops[v, w] += f["iops"]; lat[v, w] += f["lat_us"]; n[v, w]++; ws[w] = 1 }
        END { for (w in ws) {
                ni = iops["new", w] / n["new", w]; pi = iops["prev", w] / n["prev", w]; wi = iops["work", w] / n["work", w]
                printf "| %s | %d | %d | %.2f | %d | %.2f | %.0f | %.0f |\n", w, ni, pi, ni / pi, wi, wi / ni,
                    lat["new", w] / n["new", w], lat["prev", w] / n["prev", w] } }' | sort
} >"$W/modules.md"
cat "$W/modules.md"
cp "$W/modules.md" "$OUT/modules.md"
end_run $rc
