#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make demo-vm: the Virt-AGL path. Boot a QEMU guest whose virtio-rng and virtio-blk devices are
# served by our vhost-user back ends (out/linux-x64), and show what the guest
# saw. BLK_BACKEND=qsd serves the disk with qemu-storage-daemon instead (and
# drops the rng, which Debian has no other back end for).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

W=$QEMU_WORK_DIR/demo-vm
rm -rf "$W"; mkdir -p "$W"
QEMU_WORK_DIR=$W
trap stop_backends EXIT

find_kernel
check_backends
echo "== virtio-loopback demo: QEMU $(qemu-system-x86_64 --version | head -n1 | awk '{ print $4 }') (TCG), guest kernel $KVER"
echo "== host: blk back end '$BLK_BACKEND', rng back end '$RNG_BACKEND'"

truncate -s 64M "$W/disk.img"
start_blk blk "$W/disk.img" "$W/blk.sock" rw 1
GUEST_QEMU_ARGS=(-chardev "socket,id=blk0,path=$W/blk.sock" -device vhost-user-blk-pci,chardev=blk0,num-queues=1)
if [[ $RNG_BACKEND == ours ]]; then
    start_rng rng "$W/rng.sock"
    GUEST_QEMU_ARGS+=(-chardev "socket,id=rng0,path=$W/rng.sock" -device vhost-user-rng-pci,chardev=rng0)
fi

echo "== booting the guest (a few seconds under TCG)"
rc=0
run_guest demo-vm "$QEMU_LIB_DIR/guest/demo-vm.sh" 2>"$W/harness.err" || rc=1
sed -n 's/^DEMO /   guest| /p' "$GUEST_LOG"

echo "== host: the image file now holds the guest's files:"
debugfs -R "ls -l /" "$W/disk.img" 2>/dev/null | awk 'NF >= 9 && $NF !~ /^\.+$/ && $NF != "lost+found" { print "   host | " $NF ", " $6 " bytes" }'
echo "== host: hello.txt read back from the image: $(debugfs -R 'cat /hello.txt' "$W/disk.img" 2>/dev/null)"
echo "== guest run ${GUEST_RUN_MS} ms, log $GUEST_LOG"
if [[ $rc != 0 ]]; then
    cat "$W/harness.err" >&2
    echo "== demo FAILED"
    exit 1
fi
echo "== demo OK"
