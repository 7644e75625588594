#!/bin/bash
# SPDX-License-Identifier: MIT
#
# build-guest-module.sh: build virtio_loopback.ko for the guest kernel of the
# QEMU tests (the newest /boot/vmlinuz-6.1.*-amd64, or KERNEL_VERSION) against
# its Debian headers, into out/modules/<release>/ (kernel-module/scripts/
# build-all.sh), unless that module is newer than every module source.
#
# `make module` runs it. The kernel is looked up here, when the module is
# needed, not when make reads the Makefile: on a fresh machine `make demo` and
# `make test` install the kernel (make deps) just before.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
kver=${KERNEL_VERSION:-}
if [[ -z $kver ]]; then
    k=$(ls /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sort -V | tail -n1 || true)
    [[ -n $k ]] || { echo "build-guest-module: no /boot/vmlinuz-6.1.*-amd64: run 'make deps' (linux-image-amd64)" >&2; exit 1; }
    kver=${k#/boot/vmlinuz-}
fi
headers=/usr/src/linux-headers-$kver
[[ -d $headers ]] || { echo "build-guest-module: $headers missing: run 'make deps' (linux-headers-amd64)" >&2; exit 1; }
ko=out/modules/$kver/virtio_loopback.ko
if [[ -f $ko && -z $(find kernel-module -maxdepth 4 \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \
        -o -name build-all.sh \) -newer "$ko" -print -quit) ]]; then
    echo "build-guest-module: $ko is up to date"
    exit 0
fi
OUT_DIR=$ROOT/out/modules kernel-module/scripts/build-all.sh "$headers"
test -f "$ko" && touch "$ko"
