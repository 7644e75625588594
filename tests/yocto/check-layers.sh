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
missing=$(find conf classes recipes-dotnet meta-egvirt templates tests/yocto tests/system dist oe-init.sh \
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
check_lic meta-egvirt/recipes-support/virtio-loopback-services/virtio-loopback-services_0.1.bb LICENSE
# The UAPI header goes to the module's -dev package under its own SPDX licence.
hdr=$(sed -n '1s|.*SPDX-License-Identifier: \(.*\) \*/|\1|p' kernel-module/include/uapi/linux/virtio_loopback.h)
dev=$(sed -n 's/^LICENSE:${PN}-dev = "\(.*\)"/\1/p' meta-egvirt/recipes-kernel/virtio-loopback/virtio-loopback-module_0.1.bb)
[[ -n $hdr && $hdr == "$dev" ]] && ok "module recipe: LICENSE:\${PN}-dev '$dev' is the UAPI header's" \
    || fail "module recipe: LICENSE:\${PN}-dev '$dev', the UAPI header says '$hdr'"

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
check_extra meta-egvirt/recipes-support/virtio-loopback-services/virtio-loopback-services_0.1.bb

# One list of installed files: every recipe installs through the Makefile's
# install targets, and no recipe keeps files of its own to install.
for r in recipes-dotnet/virtio-loopback-dotnet.inc:install-bin \
         meta-egvirt/recipes-support/virtio-loopback-services/virtio-loopback-services_0.1.bb:install-data \
         meta-egvirt/recipes-kernel/virtio-loopback/virtio-loopback-module_0.1.bb:install-module; do
    f=${r%%:*} t=${r##*:}
    if grep -q "$t" "$f" && grep -q 'file://Makefile' "$f" && ! grep -qE '^\s*install (-[dDm]|-m)' "$f"; then
        ok "$f installs through 'make $t'"
    else
        fail "$f does not install through 'make $t' alone"
    fi
done
left=$(find meta-egvirt recipes-dotnet -path '*/files/*' ! -name '*.cfg' -type f)
[[ -z $left ]] && ok "no recipe files/ folder holds files to install (only kernel fragments)" || fail "files outside dist/: $left"

# The default instances: the preset (make install) and the recipe enable the same units.
preset=$(awk '$1 == "enable" { split($2, u, "@"); for (i = 3; i <= NF; i++) print u[1] "@" $i substr($2, index($2, "@") + 1) }' \
    dist/systemd/virtio-loopback.preset | LC_ALL=C sort)
recipe=$(sed -n '/^VIRTIO_LOOPBACK_INSTANCES ??= "/,/"$/p' meta-egvirt/recipes-support/virtio-loopback-services/virtio-loopback-services_0.1.bb |
    sed 's/.*??= "//; s/"//; s/\\//' | tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort)
if [[ -n $preset && $preset == "$recipe" ]]; then
    ok "default instances: the preset and VIRTIO_LOOPBACK_INSTANCES enable the same $(wc -l <<<"$preset") units"
else
    fail "default instances differ: preset [$(echo $preset)], recipe [$(echo $recipe)]"
fi
. scripts/dotnet-aot-lib.sh
for p in "${AOT_PROGRAMS[@]}"; do
    [[ -f recipes-dotnet/$p/${p}_0.1.bb && -f recipes-dotnet/$p/$p-nuget.inc && -f src/$p/$p.csproj ]] \
        && ok "$p: recipe, -nuget.inc and project" || fail "$p: recipe, -nuget.inc or project missing"
    grep -qw "$p" meta-egvirt/recipes-core/packagegroups/packagegroup-virtio-loopback.bb \
        && ok "$p: in the packagegroup" || fail "$p: not in packagegroup-virtio-loopback"
done
made=$(sed -n 's/^PROGRAMS *:= *//p' Makefile | tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort)
recipes=$(printf '%s\n' "${AOT_PROGRAMS[@]}" | LC_ALL=C sort)
if [[ $made == "$recipes" ]]; then ok "every program the Makefile publishes has a recipe"
else fail "Makefile PROGRAMS [$(echo $made)] and recipes [$(echo $recipes)] differ"; fi

# oe-init.sh
T=$(mktemp -d /tmp/check-layers.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/agl/meta-agl/scripts" "$T/agl/external/poky" "$T/agl/external/meta-openembedded/meta-python" \
    "$T/agl/meta-agl/meta-agl-core/conf" \
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
