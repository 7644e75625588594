#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A vhost-user-blk back end killed (SIGKILL) and restarted under I/O: the
# guest writes and verifies 1 MiB chunks with O_DIRECT in a loop; half way
# through, the host kills the back end and starts a new one on the same
# socket. QEMU (reconnect=1) reconnects and hands the new back end the
# inflight area, so requests in flight at the kill are replayed. Expect zero
# I/O errors and zero mismatches.
# EXPECT: io_errors mismatches chunks
. /lib/guest-lib.sh

wait_for /dev/vda
N=48
errors=0
bad=0
i=0
while [ $i -lt $N ]; do
    [ $i = 16 ] && echo "KILL-NOW"
    dd if=/dev/urandom of=/tmp/chunk bs=1M count=1 2>/dev/null
    want=$(sha /tmp/chunk)
    if ! dd if=/tmp/chunk of=/dev/vda bs=1M seek=$i count=1 oflag=direct conv=notrunc 2>/dev/null; then
        errors=$((errors + 1))
    fi
    got=$(dd if=/dev/vda bs=1M skip=$i count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || bad=$((bad + 1))
    echo "$want" >>/tmp/sums
    i=$((i + 1))
done
# Every chunk once more, after the restart settled.
i=0
while read -r want; do
    got=$(dd if=/dev/vda bs=1M skip=$i count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || bad=$((bad + 1))
    i=$((i + 1))
done </tmp/sums
data sums "$(sha /tmp/sums)"
if [ $errors = 0 ]; then pass io_errors "0 I/O errors in $N writes"; else fail io_errors "$errors I/O errors"; fi
if [ $bad = 0 ]; then pass mismatches "0 mismatches in $((N * 2)) reads"; else fail mismatches "$bad mismatches"; fi
if [ $i = $N ]; then pass chunks "$N chunks verified twice"; else fail chunks "only $i chunks"; fi
