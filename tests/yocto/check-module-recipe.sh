#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI check of meta-egvirt's virtio-loopback-module recipe without BitBake:
# the make calls of module.bbclass with the recipe's MAKE_TARGETS
# (module-kbuild) and MODULES_INSTALL_TARGET (install-module) of the
# repository's Makefile, in a copy of what the recipe unpacks (Makefile and
# kernel-module/): do_compile `make ... KERNEL_SRC=... module-kbuild`,
# do_install `make DEPMOD=echo MODLIB=${D}/lib/modules/<ver> ... install-module`,
# with ARCH/CROSS_COMPILE exported as the kernel classes do and the recipe's
# EXTRA_OEMAKE (DESTDIR, includedir, MODULE_DIR), against the Debian arm64 6.1
# headers that kernel-module/scripts/fetch-kernels.sh puts into $KERNELS_DIR.
# The same install target is what `make install` runs for the system tests.
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
# do_unpack of SRC_URI = "file://kernel-module/;subdir=virtio-loopback
# file://Makefile;subdir=virtio-loopback": S = B = ${WORKDIR}/virtio-loopback
S=$WORK/virtio-loopback D=$WORK/image
mkdir -p "$S"
(cd "$ROOT" && tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' --exclude='.*.cmd' \
    --exclude=Module.symvers --exclude=modules.order kernel-module Makefile) | tar -x -C "$S"

export ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
extra=()
# Host gcc-12 lacks a flag the Debian tree's compiler had (see build-all.sh).
[[ $(aarch64-linux-gnu-gcc -fmin-function-alignment=16 -x c -c -o /dev/null /dev/null 2>&1) ]] \
    && extra+=(CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=)
command -v pahole >/dev/null || extra+=(CONFIG_DEBUG_INFO_BTF_MODULES=)
KCC=aarch64-linux-gnu-gcc KLD=aarch64-linux-gnu-ld KAR=aarch64-linux-gnu-ar
# module.bbclass's EXTRA_OEMAKE (KERNEL_SRC) and the recipe's.
oemake=(KERNEL_SRC="$tree" DESTDIR="$D" includedir=/usr/include MODULE_DIR=kernel-module)

# module_do_compile with MAKE_TARGETS = "module-kbuild"
if (cd "$S" && make -j2 "${oemake[@]}" KERNEL_PATH="$tree" KERNEL_VERSION="$krel" \
        CC="$KCC" LD="$KLD" AR="$KAR" O="$tree" KBUILD_EXTRA_SYMBOLS= "${extra[@]}" module-kbuild) > "$WORK/compile.log" 2>&1; then
    ok "module recipe do_compile (make module-kbuild) against $krel (arm64)"
else
    fail "module recipe do_compile against $krel"; tail -20 "$WORK/compile.log"; exit 1
fi
# module_do_install with MODULES_INSTALL_TARGET = "install-module"
if (cd "$S" && make "${oemake[@]}" DEPMOD=echo MODLIB="$D/lib/modules/$krel" \
        INSTALL_FW_PATH="$D/lib/firmware" CC="$KCC" LD="$KLD" O="$tree" KBUILD_EXTRA_SYMBOLS= \
        "${extra[@]}" install-module) > "$WORK/install.log" 2>&1; then
    ko=$(find "$D/lib/modules/$krel" -name 'virtio_loopback.ko*' | head -n1)
    if [[ -n $ko ]] && readelf -h "$ko" | grep -q 'Machine:.*AArch64'; then
        ok "module recipe do_install (make install-module): ${ko#$D} (aarch64 $(modinfo -F vermagic "$ko" | cut -d' ' -f1))"
        # Kept for the boot test of run-yocto-tests.sh.
        [[ -z ${ARTIFACTS_DIR:-} ]] || install -D -m 644 "$ko" "$ARTIFACTS_DIR/$krel/virtio_loopback.ko"
    else
        fail "install-module put no aarch64 virtio_loopback.ko under $D/lib/modules/$krel"
    fi
else
    fail "module recipe do_install (make install-module)"; tail -20 "$WORK/install.log"
fi
[[ -f $S/kernel-module/Module.symvers ]] && ok "Module.symvers in \${B}/\${MODULES_MODULE_SYMVERS_LOCATION} (kernel-module)" \
    || fail "no Module.symvers in \${B}/kernel-module"
# The UAPI header that install-module put into ${includedir}, compiled as user-space C.
if [[ ! -f $D/usr/include/linux/virtio_loopback.h ]]; then
    fail "install-module did not install /usr/include/linux/virtio_loopback.h"
elif printf '#include <linux/virtio_loopback.h>\nint main(void){return 0;}\n' \
        | aarch64-linux-gnu-gcc -I"$D/usr/include" -x c -c -o /dev/null - 2>"$WORK/uapi.log"; then
    ok "UAPI header /usr/include/linux/virtio_loopback.h (install-module) builds in user space (aarch64)"
else
    fail "UAPI header does not compile in user space: $(head -n3 "$WORK/uapi.log")"
fi
(( fails == 0 ))
