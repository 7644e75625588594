#!/bin/bash
# SPDX-License-Identifier: MIT
#
# MANUAL check (not run by CI, which cannot fetch poky): a real BitBake parse
# and dry run of an AGL needlefish (kirkstone) build with the
# agl-virtio-loopback feature, all offline.
#
#   tests/yocto/bitbake-parse.sh METADIR [MACHINE]
#
# METADIR is an AGL tree: external/poky and external/meta-openembedded
# (kirkstone), meta-agl and meta-agl-devel (14.0.5), and this repository as
# METADIR/meta-virtio-loopback (a link is fine). Run it as a non-root user
# (BitBake refuses root) with chrpath, diffstat, gawk and the en_US.UTF-8
# locale installed. It runs aglsetup.sh -f -m MACHINE (qemuarm64) -b
# build-MACHINE agl-virtio-loopback, sets BB_NO_NETWORK = "1", then `bitbake -p`
# and `bitbake -n agl-image-minimal`, and fails on any ERROR, when one of our
# recipes is missing from the dry run's task list, or when a C# recipe's
# do_unpack signature covers the bin/ or obj/ folders of a host build.
# MACHINE: qemuarm64, or m3ulcb-nogfx (needs METADIR/bsp/meta-renesas).

set -euo pipefail
METADIR=$(cd "${1:?usage: bitbake-parse.sh METADIR [MACHINE]}" && pwd)
MACHINE=${2:-qemuarm64}
[[ $(id -u) != 0 ]] || { echo "error: run as a non-root user (BitBake refuses root)" >&2; exit 2; }
[[ -d $METADIR/meta-virtio-loopback/templates/feature/agl-virtio-loopback ]] || {
    echo "error: $METADIR/meta-virtio-loopback is not this repository" >&2; exit 2; }
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8
# shellcheck source=../../scripts/dotnet-aot-lib.sh
. "$(dirname "$0")/../../scripts/dotnet-aot-lib.sh"
cd "$METADIR"
set +u
# shellcheck disable=SC1091
source meta-agl/scripts/aglsetup.sh -f -m "$MACHINE" -b "build-$MACHINE" agl-virtio-loopback
set -u
grep -q '^BB_NO_NETWORK' conf/local.conf || echo 'BB_NO_NETWORK = "1"' >> conf/local.conf
# Offline only: AGL's R-Car optee-user-app-template names its SRCREV by a tag
# ("0.1"), which BitBake resolves with git ls-remote while parsing; nothing
# depends on it, so leave it out instead of faking a revision.
grep -q 'optee-user-app-template' conf/local.conf ||
    echo 'BBMASK += "meta-agl-bsp/meta-rcar-gen3/recipes-bsp/optee/optee-user-app-template_git.bb"' >> conf/local.conf
LOG=$PWD/bitbake-parse.log
: > "$LOG"
bitbake -p 2>&1 | tee -a "$LOG"
bitbake -n agl-image-minimal 2>&1 | tee -a "$LOG"
rc=0
if grep -E '^ERROR' "$LOG"; then rc=1; fi
bitbake -g agl-image-minimal >/dev/null 2>&1 || rc=1
for r in virtio-loopback-module "${AOT_PROGRAMS[@]}" virtio-loopback-services dotnet-sdk-native packagegroup-virtio-loopback; do
    if grep -q "^\"$r\.do_compile\"\|^\"$r\.do_install\"\|\"$r\.do_" task-depends.dot; then
        echo "ok: $r in the task list"
    else
        echo "MISSING: $r not in the task list"; rc=1
    fi
done
# The C# recipes hash their sources file by file, without bin/ and obj/.
sums=$(bitbake-getvar -r vhost-user-rng -f file-checksums --value do_unpack 2>>"$LOG" || true)
n=$(tr ' ' '\n' <<<"$sums" | grep -c '/src/.*\.cs:True' || true)
junk=$(tr ' ' '\n' <<<"$sums" | grep -cE '/(bin|obj)/' || true)
if (( n > 0 && junk == 0 )); then
    echo "ok: vhost-user-rng do_unpack signature: $n .cs files, no bin/ or obj/ entries"
else
    echo "FAIL: vhost-user-rng do_unpack file-checksums: $n .cs files, $junk bin/obj entries"; rc=1
fi
kernel=linux-yocto
[[ $MACHINE == qemuarm64 ]] || kernel=linux-renesas
for v in "virtio-loopback-services RDEPENDS:virtio-loopback-services coreutils" \
         "virtio-loopback-module LICENSE:virtio-loopback-module-dev Linux-syscall-note" \
         "$kernel SRC_URI file://virtio-loopback.cfg" "$kernel SRC_URI file://touch-hid.cfg"; do
    read -r r var want <<<"$v"
    if { bitbake-getvar -r "$r" --value "$var" 2>>"$LOG" || true; } | grep -q -- "$want"; then
        echo "ok: $r: $var has $want"
    else
        echo "FAIL: $r: $var lacks $want"; rc=1
    fi
done
echo "bitbake-parse: $([[ $rc == 0 ]] && echo PASS || echo FAIL) (log: $LOG)"
exit $rc
