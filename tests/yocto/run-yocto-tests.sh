#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The Yocto/AGL checks CI can run (make yocto-test, part of make test):
#   check-layers.sh         layer files, licences, FILESEXTRAPATHS, oe-init.sh,
#                           recipes installing through make install, default instances
#   check-versions.sh       global.json = SDK recipe PV = this SDK; -nuget.inc
#                           runtime versions = the SDK's; the SDK's sha512 pins
#   check-kconfig.sh        the kernel fragments against real Kconfig (arm64)
#   check-module-recipe.sh  the module recipe's make calls against arm64 headers
#   check-nuget-inc.sh      the class's publish command offline (unshare -n)
#                           from only the -nuget.inc packages -> aarch64 ELF,
#                           and each -nuget.inc equal to what the publish used;
#                           a second build folder gives the same executable
#   boot                    the arm64 programs and module those commands made
#                           pass the loopback test "all" in Debian's arm64 6.1
#                           kernel under qemu-system-aarch64 -M virt
# YOCTO_PROGRAMS (default: all five) limits check-nuget-inc.sh.
# The real BitBake parse is manual: tests/yocto/bitbake-parse.sh.
# Writes "N passed, M failed" to tests/qemu/work/yocto/summary (read by
# scripts/test-summary.sh).

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$ROOT/tests/qemu/work/yocto
rm -rf "$W"; mkdir -p "$W"
read -r -a programs <<< "${YOCTO_PROGRAMS:-}"
rc=0
export ARTIFACTS_DIR=$W/artifacts
for t in check-layers.sh check-versions.sh check-kconfig.sh check-module-recipe.sh "check-nuget-inc.sh ${programs[*]}"; do
    echo "== tests/yocto/$t"
    # shellcheck disable=SC2086
    "$HERE"/$t 2>&1 | tee -a "$W/log" || rc=1
done

# boot: what the recipes' commands built, in the arm64 loopback guest. The
# guest's test tools (uinput-feeder, evdev-inspect) are not in the image
# recipes: they come from the regular arm64 build.
boot() {
    local ko krel tools=$ROOT/out/linux-arm64 t
    ko=$(ls "$ARTIFACTS_DIR"/*-arm64/virtio_loopback.ko 2>/dev/null | head -n1)
    [[ -n $ko ]] || { echo "FAIL: boot: the module recipe's make left no arm64 module"; return 1; }
    krel=$(basename "$(dirname "$ko")")
    for t in virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input; do
        [[ -x $ARTIFACTS_DIR/bin/$t ]] || { echo "FAIL: boot: no $t from the class's publish"; return 1; }
    done
    for t in uinput-feeder evdev-inspect; do
        [[ -x $tools/$t ]] || { echo "FAIL: boot: $tools/$t missing (run 'make')"; return 1; }
        cp "$tools/$t" "$ARTIFACTS_DIR/bin/"
    done
    if KERNEL_VERSION=$krel BIN_DIR=$ARTIFACTS_DIR/bin MODULE=$ko QEMU_WORK_DIR=$W/boot \
            "$ROOT/tests/qemu/run-loopback-test.sh" all >"$W/boot.log" 2>&1; then
        echo "ok: boot: the recipes' arm64 programs and module pass the loopback test in $krel ($(tail -n1 "$W/boot.log"))"
    else
        echo "FAIL: boot: the loopback test on the recipes' arm64 artifacts ($(tail -n1 "$W/boot.log"); log $W/boot.log)"
        grep -E 'FAIL|error' "$W/boot.log" | head -n 10 | sed 's/^/    /'
        return 1
    fi
}
echo "== boot (arm64 loopback guest on the recipes' artifacts)"
boot 2>&1 | tee -a "$W/log"
[[ ${PIPESTATUS[0]} == 0 ]] || rc=1
passed=$(grep -c '^ok:' "$W/log"); failed=$(grep -c '^FAIL:' "$W/log")
(( rc != 0 && failed == 0 )) && failed=1
echo "$passed passed, $failed failed" | tee "$W/summary"
exit $rc
