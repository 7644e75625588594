#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI checks of the layers and of oe-init.sh that need no BitBake:
#   - every layer file carries an SPDX line;
#   - collection names are unique and never AGL's "egvirt"; LAYERSERIES_COMPAT
#     names kirkstone;
#   - each LIC_FILES_CHKSUM md5 that points into this repository matches;
#   - every recipe that takes source from the repository finds it through its
#     FILESEXTRAPATHS;
#   - oe-init.sh: --help, one-line errors with a non-zero exit for bad
#     arguments, and --dry-run against a fake AGL tree (which it must not
#     change).

set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# SPDX
missing=$(find conf classes recipes-dotnet meta-egvirt templates tests/yocto oe-init.sh \
        scripts/gen-nuget-inc.sh scripts/dotnet-aot-lib.sh -type f 2>/dev/null \
    | while read -r f; do grep -q 'SPDX-License-Identifier' "$f" || echo "$f"; done)
[[ -z $missing ]] && ok "SPDX line in every layer file" || fail "no SPDX line: $missing"

# collections
cols=$(sed -n 's/^BBFILE_COLLECTIONS += "\(.*\)"/\1/p' conf/layer.conf meta-egvirt/conf/layer.conf)
if [[ $(echo "$cols" | sort -u | wc -l) == 2 ]] && ! grep -qx egvirt <<<"$cols"; then
    ok "collections: $(echo $cols)"
else
    fail "collections must be two, unique, and not 'egvirt': $(echo $cols)"
fi
for l in conf/layer.conf meta-egvirt/conf/layer.conf; do
    grep -q '^LAYERSERIES_COMPAT_.*kirkstone' "$l" && ok "$l: LAYERSERIES_COMPAT has kirkstone" \
        || fail "$l: LAYERSERIES_COMPAT without kirkstone"
done

# LIC_FILES_CHKSUM of the recipes built from this repository
check_lic() { # recipe file-in-repo
    local md5 want
    want=$(sed -n 's/.*LIC_FILES_CHKSUM = "file:\/\/[^;]*;md5=\([0-9a-f]*\)".*/\1/p' "$1")
    md5=$(md5sum "$2" | cut -d' ' -f1)
    [[ $want == "$md5" ]] && ok "$1: LIC_FILES_CHKSUM matches $2" \
        || fail "$1: LIC_FILES_CHKSUM md5 $want, $2 has $md5"
}
check_lic recipes-dotnet/virtio-loopback-dotnet.inc LICENSE
check_lic meta-egvirt/recipes-kernel/virtio-loopback/virtio-loopback-module_0.1.bb kernel-module/LICENSE

# FILESEXTRAPATHS: THISDIR of the .inc / .bb plus the relative path must be the root
check_extra() { # file
    local rel dir
    rel=$(sed -n 's/^FILESEXTRAPATHS:prepend := "${THISDIR}\/\([^:]*\):"/\1/p' "$1")
    dir=$(cd "$(dirname "$1")/$rel" 2>/dev/null && pwd)
    [[ $dir == "$ROOT" ]] && ok "$1: FILESEXTRAPATHS reaches the repository root" \
        || fail "$1: FILESEXTRAPATHS '$rel' is $dir, not $ROOT"
}
check_extra recipes-dotnet/virtio-loopback-dotnet.inc
check_extra meta-egvirt/recipes-kernel/virtio-loopback/virtio-loopback-module_0.1.bb
for p in virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input touch-sensitivity; do
    [[ -f recipes-dotnet/$p/${p}_0.1.bb && -f recipes-dotnet/$p/$p-nuget.inc && -f src/$p/$p.csproj ]] \
        && ok "$p: recipe, -nuget.inc and project" || fail "$p: recipe, -nuget.inc or project missing"
done

# oe-init.sh
T=$(mktemp -d /tmp/check-layers.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/agl/meta-agl/scripts" "$T/agl/external/poky" "$T/agl/meta-agl/meta-agl-core/conf" \
    "$T/agl/meta-agl/templates/machine/qemuarm64" "$T/agl/meta-agl/templates/machine/m3ulcb"
touch "$T/agl/meta-agl/scripts/aglsetup.sh"
echo 'LAYERSERIES_COMPAT_aglcore = "kirkstone"' > "$T/agl/meta-agl/meta-agl-core/conf/layer.conf"
echo 'BBLAYERS =+ "${METADIR}/bsp/meta-renesas/meta-rcar-gen3"' > "$T/agl/meta-agl/templates/machine/m3ulcb/50_bblayers.conf.inc"
before=$(cd "$T/agl" && find . | sort)

expect() { # name want-rc want-regex-in-stdout+stderr stderr-lines(-1: any) cmd...
    local name=$1 rc_want=$2 re=$3 lines=$4; shift 4
    local out err rc
    out=$("$@" 2>"$T/err"); rc=$?; err=$(cat "$T/err")
    if [[ $rc != "$rc_want" ]]; then fail "oe-init.sh $name: exit $rc, want $rc_want ($err)"; return; fi
    if ! grep -Eq -- "$re" <<<"$out$err"; then fail "oe-init.sh $name: output lacks /$re/"; return; fi
    local n=0
    [[ -n $err ]] && n=$(grep -vc 'warning: running as root' <<<"$err")
    if [[ $lines != -1 && $n != "$lines" ]]; then
        fail "oe-init.sh $name: want $lines stderr line(s), got: $err"; return; fi
    ok "oe-init.sh $name"
}
expect "--help" 0 '^Usage: oe-init.sh' 0 ./oe-init.sh --help
expect "unknown option" 2 "error: unknown option '--bogus'" 1 ./oe-init.sh --bogus
expect "-m without value" 2 'error: -m needs a machine name' 1 ./oe-init.sh -m
expect "two METADIRs" 2 'error: more than one METADIR' 1 ./oe-init.sh a b
expect "missing METADIR" 1 'error: METADIR .* does not exist' 1 ./oe-init.sh -n "$T/none"
expect "not an AGL tree" 1 'is not an AGL tree' 1 ./oe-init.sh -n "$T"
expect "unknown machine" 1 "no AGL machine template 'nosuch'" 1 ./oe-init.sh -n -m nosuch "$T/agl"
expect "m3ulcb without meta-renesas" 1 'needs the layer .*bsp/meta-renesas' 1 ./oe-init.sh -n -m m3ulcb "$T/agl"
expect "--dry-run qemuarm64" 0 "would run in $T/agl: source meta-agl/scripts/aglsetup.sh -m qemuarm64 -b build agl-virtio-loopback" 0 \
    ./oe-init.sh --dry-run "$T/agl"
expect "--dry-run links the layer" 0 "would run: ln -s $ROOT $T/agl/meta-virtio-loopback" 0 ./oe-init.sh -n "$T/agl"
mkdir -p "$T/agl/bsp/meta-renesas/meta-rcar-gen3"
before=$(cd "$T/agl" && find . | sort)
expect "--dry-run m3ulcb -b build-m3 -f" 0 'aglsetup.sh -f -m m3ulcb -b build-m3 agl-virtio-loopback' 0 \
    ./oe-init.sh -n -f -m m3ulcb -b build-m3 "$T/agl"
expect "--fetch --dry-run" 0 'repo init -b needlefish -m needlefish_14.0.5.xml' 0 ./oe-init.sh -n --fetch "$T/new"
[[ $(cd "$T/agl" && find . | sort) == "$before" && ! -e $T/new ]] && ok "oe-init.sh --dry-run changed nothing" \
    || fail "oe-init.sh --dry-run changed the tree"
(( fails == 0 ))
