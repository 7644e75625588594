#!/bin/bash
# SPDX-License-Identifier: MIT
#
# arm64 test: boot Debian's arm64 kernel in qemu-system-aarch64 -M virt (TCG)
# and run the cross-built back ends from out/linux-arm64 against our own front
# end (vhost-user-probe, aarch64 too) inside that guest: rng bytes, a blk
# write/read round trip checked against the image file, --print-capabilities
# and a clean SIGTERM exit. Guest checks: guest/arm64-backends.sh.
#
# The arm64 kernel, busybox and glibc are downloaded once (fetch_arm64_kit,
# a private apt state; nothing is installed). Ends with "N passed, M failed".

set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARM64_BIN_DIR=${ARM64_BIN_DIR:-$REPO_ROOT/out/linux-arm64}
begin_run arm64-test

bins=()
for p in vhost-user-rng vhost-user-blk vhost-user-input vhost-user-probe; do
    if [[ ! -x $ARM64_BIN_DIR/$p ]]; then
        log "arm64 test: $ARM64_BIN_DIR/$p is not built (run 'make')"
        echo "0 passed, 1 failed" | tee "$W/summary"
        exit 1
    fi
    bins+=("$ARM64_BIN_DIR/$p")
done

rc=0
boot_arm64 "$QEMU_LIB_DIR/guest/arm64-backends.sh" "${bins[@]}" || rc=1
end_run $rc
