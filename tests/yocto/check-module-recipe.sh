#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI check of meta-egvirt's virtio-loopback-module recipe without BitBake:
# the make calls of module.bbclass (do_compile: `make KERNEL_SRC=... all`,
# do_install: `make DEPMOD=echo MODLIB=${D}/lib/modules/<ver> ...
# modules_install`), with ARCH/CROSS_COMPILE exported as the kernel classes
# do, against the Debian arm64 6.1 headers that
# kernel-module/scripts/fetch-kernels.sh puts into $KERNELS_DIR, plus the
# recipe's do_install:append (the UAPI header).
#
#   tests/yocto/check-module-recipe.sh [ARM64_TREE]
#
# Fetches the arm64 headers first when none are cached (network).

set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/kernel-module/scripts/kernels-dir.sh"
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

tree=${1:-}
if [[ -z $tree ]]; then
    tree=$(ls -d "$KERNELS_DIR"/*-arm64/build 2>/dev/null | sort -V | tail -n1)
    if [[ -z $tree ]]; then
        "$ROOT/kernel-module/scripts/fetch-kernels.sh" bookworm:arm64 >&2 || { fail "fetch-kernels.sh bookworm:arm64"; exit 1; }
        tree=$(ls -d "$KERNELS_DIR"/*-arm64/build 2>/dev/null | sort -V | tail -n1)
    fi
fi
[[ -d $tree ]] || { fail "no arm64 kernel tree"; exit 1; }
krel=$(sed -n 's/^override KERNELRELEASE = //p' "$tree/.kernelvariables" 2>/dev/null)
[[ -n $krel ]] || krel=$(cat "$tree/include/config/kernel.release")

WORK=$(mktemp -d /tmp/check-module-recipe.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# do_unpack of SRC_URI = "file://kernel-module/": S = ${WORKDIR}/kernel-module
S=$WORK/kernel-module D=$WORK/image
(cd "$ROOT" && tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' --exclude='.*.cmd' \
    --exclude=Module.symvers --exclude=modules.order kernel-module) | tar -x -C "$WORK"

export ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
extra=()
# Host gcc-12 lacks a flag the Debian tree's compiler had (see build-all.sh).
[[ $(aarch64-linux-gnu-gcc -fmin-function-alignment=16 -x c -c -o /dev/null /dev/null 2>&1) ]] \
    && extra+=(CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=)
command -v pahole >/dev/null || extra+=(CONFIG_DEBUG_INFO_BTF_MODULES=)
KCC=aarch64-linux-gnu-gcc KLD=aarch64-linux-gnu-ld KAR=aarch64-linux-gnu-ar

# module_do_compile (EXTRA_OEMAKE has KERNEL_SRC=${STAGING_KERNEL_DIR})
if (cd "$S" && make -j2 KERNEL_SRC="$tree" KERNEL_PATH="$tree" KERNEL_VERSION="$krel" \
        CC="$KCC" LD="$KLD" AR="$KAR" O="$tree" KBUILD_EXTRA_SYMBOLS= "${extra[@]}") > "$WORK/compile.log" 2>&1; then
    ok "module recipe do_compile against $krel (arm64)"
else
    fail "module recipe do_compile against $krel"; tail -20 "$WORK/compile.log"; exit 1
fi
# module_do_install
if (cd "$S" && make KERNEL_SRC="$tree" DEPMOD=echo MODLIB="$D/lib/modules/$krel" \
        INSTALL_FW_PATH="$D/lib/firmware" CC="$KCC" LD="$KLD" O="$tree" KBUILD_EXTRA_SYMBOLS= \
        "${extra[@]}" modules_install) > "$WORK/install.log" 2>&1; then
    ko=$(find "$D/lib/modules/$krel" -name 'virtio_loopback.ko*' | head -n1)
    if [[ -n $ko ]] && readelf -h "$ko" | grep -q 'Machine:.*AArch64'; then
        ok "module recipe do_install: ${ko#$D} (aarch64 $(modinfo -F vermagic "$ko" | cut -d' ' -f1))"
        # Kept for the boot test of run-yocto-tests.sh.
        [[ -z ${ARTIFACTS_DIR:-} ]] || install -D -m 644 "$ko" "$ARTIFACTS_DIR/$krel/virtio_loopback.ko"
    else
        fail "modules_install put no aarch64 virtio_loopback.ko under $D/lib/modules/$krel"
    fi
else
    fail "module recipe do_install (modules_install)"; tail -20 "$WORK/install.log"
fi
[[ -f $S/Module.symvers ]] && ok "Module.symvers in \${B} (installed to \${includedir}/\${BPN})" \
    || fail "no Module.symvers in \${B}"
# do_install:append: the UAPI header, compiled as user-space C to be sure it stands alone
install -D -m 0644 "$S/include/uapi/linux/virtio_loopback.h" "$D/usr/include/linux/virtio_loopback.h"
if printf '#include <linux/virtio_loopback.h>\nint main(void){return 0;}\n' \
        | aarch64-linux-gnu-gcc -I"$D/usr/include" -x c -c -o /dev/null - 2>"$WORK/uapi.log"; then
    ok "UAPI header /usr/include/linux/virtio_loopback.h builds in user space (aarch64)"
else
    fail "UAPI header does not compile in user space: $(head -n3 "$WORK/uapi.log")"
fi
(( fails == 0 ))
