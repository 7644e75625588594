#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A second third-party front end for our back ends, besides QEMU: libblkio's
# virtio-blk-vhost-user driver (Debian trixie's libblkio1 1.5) through
# trixie's qemu-img and qemu-io with their blkio block module
# (qemu-block-extra), run on this host with trixie's own loader and
# libraries (peer-lib.sh). Our vhost-user-blk serves an image; libblkio
# writes a random image into it and reads it back, each checked by sha256
# against the source and against the image file itself; qemu-io writes a
# pattern at an offset and reads it back with verification.
#
# Usage: run-blkio-test.sh   Environment: BIN_DIR, PEERS_DIR.
# Results: tests/qemu/work/blkio/summary.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=peer-lib.sh
. "$HERE/peer-lib.sh"
begin_run blkio
[[ -x $BIN_DIR/vhost-user-blk ]] || die "$BIN_DIR/vhost-user-blk missing: run 'make'"
t0=$(now_ms)

root=$(peer_fetch trixie amd64 qemu-utils qemu-block-extra libblkio1 libc6 libgcc-s1 libaio1t64 libfuse3-4 \
    libglib2.0-0t64 libatomic1 libffi8 libmount1 libblkid1 libpcre2-8-0 libselinux1 zlib1g libgmp10 libgnutls30t64 \
    libhogweed6t64 libnettle8t64 libidn2-0 libp11-kit0 libtasn1-6 libunistring5 libnuma1 liburing2 libzstd1)
peer_stage qemu-utils "$root" usr/bin/qemu-img usr/bin/qemu-io usr/lib/x86_64-linux-gnu/qemu/block-blkio.so >/dev/null
S=$QEMU_WORK_DIR/stage-qemu-utils
ldso=$(ls "$S"/lib/ld-linux-*.so.*)
# trixie PROG ARGS...: a trixie qemu tool, its block modules from the stage.
trixie() {
    local prog=$1; shift
    QEMU_MODULE_DIR=$S/lib "$ldso" --library-path "$S/lib" "$S/bin/$prog" "$@"
}
version=$(trixie qemu-img --version | head -n 1)
log "blkio: $version, libblkio $(ls "$S"/lib/libblkio.so.* | sed 's/.*libblkio.so.//')"

img=$QEMU_WORK_DIR/disk.img
sock=$QEMU_WORK_DIR/blk.sock
truncate -s 16M "$img"
# libblkio sets up 256-entry rings; the back end allows 128 unless told.
start_backend vhost-user-blk "$sock" "$BIN_DIR/vhost-user-blk" --socket-path "$sock" --blk-file "$img" --queue-size 256
opts="driver=virtio-blk-vhost-user,path=$sock,cache.direct=on"

# A 16 MiB random image through libblkio into our back end, and back.
head -c 16777216 /dev/urandom >"$QEMU_WORK_DIR/src.raw"
want=$(sha256sum <"$QEMU_WORK_DIR/src.raw" | cut -d' ' -f1)
if trixie qemu-img convert -n -f raw "$QEMU_WORK_DIR/src.raw" --target-image-opts "$opts" 2>"$QEMU_WORK_DIR/write.err"; then
    got=$(sha256sum <"$img" | cut -d' ' -f1)
    if [[ $got == "$want" ]]; then host_result blkio_write PASS "16 MiB written by libblkio ($version) through vhost-user-blk: image file sha256 $want"
    else host_result blkio_write FAIL "image file sha256 $got, want $want"; fi
else
    host_result blkio_write FAIL "qemu-img convert: $(tail -n 3 "$QEMU_WORK_DIR/write.err")"
fi
if trixie qemu-img convert --image-opts "$opts" -O raw "$QEMU_WORK_DIR/back.raw" 2>"$QEMU_WORK_DIR/read.err"; then
    got=$(sha256sum <"$QEMU_WORK_DIR/back.raw" | cut -d' ' -f1)
    if [[ $got == "$want" ]]; then host_result blkio_read PASS "16 MiB read back by libblkio: sha256 $want"
    else host_result blkio_read FAIL "read back sha256 $got, want $want"; fi
else
    host_result blkio_read FAIL "qemu-img convert: $(tail -n 3 "$QEMU_WORK_DIR/read.err")"
fi

# qemu-io: a pattern at an unaligned offset and length (sub-sector reads
# and writes become read-modify-write in QEMU's block layer), verified on read.
if trixie qemu-io --image-opts "$opts" -c 'write -P 0x5a 1000000 300000' -c 'read -P 0x5a 1000000 300000' \
    >"$QEMU_WORK_DIR/io.out" 2>&1 && ! grep -qi 'fail\|mismatch' "$QEMU_WORK_DIR/io.out"; then
    got=$(dd if="$img" bs=1 skip=1000000 count=300000 2>/dev/null | tr -d '\132' | wc -c)
    if [[ $got == 0 ]]; then host_result blkio_io PASS "qemu-io wrote 300000 bytes of 0x5a at 1000000, read them back verified; the image file holds them"
    else host_result blkio_io FAIL "$got bytes in the image range are not 0x5a"; fi
else
    host_result blkio_io FAIL "qemu-io: $(tail -n 3 "$QEMU_WORK_DIR/io.out")"
fi
stop_process vhost-user-blk "$BACKEND_PID" || true
rm -f "$QEMU_WORK_DIR"/*.raw
log "blkio: $(( ($(now_ms) - t0) / 1000 )) s in all"
end_run 0
