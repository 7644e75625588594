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
# locale installed. It runs aglsetup.sh -f -m MACHINE (qemuarm64) -b build
# agl-virtio-loopback, sets BB_NO_NETWORK = "1", then `bitbake -p` and
# `bitbake -n agl-image-minimal`, and fails on any ERROR or when one of our
# recipes is missing from the dry run's task list.

set -euo pipefail
METADIR=$(cd "${1:?usage: bitbake-parse.sh METADIR [MACHINE]}" && pwd)
MACHINE=${2:-qemuarm64}
[[ $(id -u) != 0 ]] || { echo "error: run as a non-root user (BitBake refuses root)" >&2; exit 2; }
[[ -d $METADIR/meta-virtio-loopback/templates/feature/agl-virtio-loopback ]] || {
    echo "error: $METADIR/meta-virtio-loopback is not this repository" >&2; exit 2; }
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8
cd "$METADIR"
set +u
# shellcheck disable=SC1091
source meta-agl/scripts/aglsetup.sh -f -m "$MACHINE" -b build agl-virtio-loopback
set -u
grep -q '^BB_NO_NETWORK' conf/local.conf || echo 'BB_NO_NETWORK = "1"' >> conf/local.conf
LOG=$PWD/bitbake-parse.log
: > "$LOG"
bitbake -p 2>&1 | tee -a "$LOG"
bitbake -n agl-image-minimal 2>&1 | tee -a "$LOG"
rc=0
if grep -E '^ERROR' "$LOG"; then rc=1; fi
bitbake -g agl-image-minimal >/dev/null 2>&1 || rc=1
for r in virtio-loopback-module virtio-loopback-adapter vhost-user-rng vhost-user-blk \
         vhost-user-input touch-sensitivity virtio-loopback-services dotnet-sdk-native packagegroup-virtio-loopback; do
    if grep -q "^\"$r\.do_compile\"\|^\"$r\.do_install\"\|\"$r\.do_" task-depends.dot; then
        echo "ok: $r in the task list"
    else
        echo "MISSING: $r not in the task list"; rc=1
    fi
done
echo "bitbake-parse: $([[ $rc == 0 ]] && echo PASS || echo FAIL) (log: $LOG)"
exit $rc
