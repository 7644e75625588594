#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI check that the .NET versions agree everywhere they are named:
#   - global.json's SDK version is the PV of recipes-dotnet/dotnet-sdk-native
#     (the SDK the image is built with) and the SDK this machine builds with
#     (`dotnet --version`: the -nuget.inc lists are generated with it);
#   - every ILCompiler, runtime and ILLink package in the -nuget.inc files has
#     the runtime version that SDK bundles (its BundledNETCoreAppPackageVersion,
#     the version a publish with that SDK asks for);
#   - the SDK recipe pins both host archives (x64, arm64) by a well-formed
#     sha512 under the name its SRC_URI uses; with network to Microsoft
#     (builds.dotnet.microsoft.com) both are also compared with Microsoft's
#     release metadata, otherwise that comparison is reported as not done.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

gj=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' global.json | head -n1)
recipe=$(ls recipes-dotnet/dotnet-sdk-native/dotnet-sdk-native_*.bb 2>/dev/null)
[[ $(wc -l <<<"$recipe") == 1 && -n $recipe ]] || { fail "want exactly one dotnet-sdk-native_<PV>.bb, have: $recipe"; exit 1; }
pv=$(basename "$recipe" .bb); pv=${pv#dotnet-sdk-native_}
[[ $gj == "$pv" ]] && ok "global.json SDK $gj = dotnet-sdk-native PV $pv" \
    || fail "global.json SDK $gj, dotnet-sdk-native PV $pv"

host=$(dotnet --version 2>/dev/null)
[[ $host == "$gj" ]] && ok "this machine builds with SDK $host, the global.json one" \
    || fail "this machine builds with SDK '$host', global.json names $gj (the -nuget.inc lists come from it)"

props=$(dirname "$(readlink -f "$(command -v dotnet)")")/sdk/$host/Microsoft.NETCoreSdk.BundledVersions.props
runtime=$(sed -n 's/.*<BundledNETCoreAppPackageVersion>\(.*\)<\/BundledNETCoreAppPackageVersion>.*/\1/p' "$props" 2>/dev/null)
if [[ -z $runtime ]]; then
    fail "no BundledNETCoreAppPackageVersion in $props"
else
    bad=
    for inc in recipes-dotnet/*/*-nuget.inc; do
        while read -r id ver; do
            [[ $ver == "$runtime" ]] || bad+=" $(basename "$inc"):$id/$ver"
        done < <(sed -n 's#.*/v3-flatcontainer/\([^/]*\)/\([^/]*\)/.*#\1 \2#p' "$inc" |
            grep -E '^(microsoft\.dotnet\.ilcompiler|runtime\.linux-[a-z0-9]+\.microsoft\.dotnet\.ilcompiler|microsoft\.netcore\.app\.(runtime|host)\.|microsoft\.net\.illink\.tasks)')
    done
    n=$(sed -n 's#.*/v3-flatcontainer/\([^/]*\)/.*#\1#p' recipes-dotnet/*/*-nuget.inc |
        grep -cE '^(microsoft\.dotnet\.ilcompiler|runtime\.linux-[a-z0-9]+\.microsoft\.dotnet\.ilcompiler|microsoft\.netcore\.app\.(runtime|host)\.|microsoft\.net\.illink\.tasks)')
    [[ -z $bad ]] && ok "SDK $host bundles runtime $runtime: all $n ILCompiler/runtime/ILLink entries of the -nuget.inc files are $runtime" \
        || fail "entries not at the SDK's runtime $runtime:$bad"
fi

for arch in x64 arm64; do
    sum=$(sed -n "s/^SRC_URI\[$arch\.sha512sum\] = \"\([0-9a-f]*\)\"$/\1/p" "$recipe")
    [[ ${#sum} == 128 ]] && ok "dotnet-sdk-native pins dotnet-sdk-$pv-linux-$arch.tar.gz by sha512 ${sum:0:16}..." \
        || fail "dotnet-sdk-native: no well-formed SRC_URI[$arch.sha512sum]"
    eval "sum_$arch=\$sum"
done
grep -q 'name=${DOTNET_SDK_HOST_ARCH}' "$recipe" && grep -q "dict(x86_64='x64', aarch64='arm64')" "$recipe" \
    && ok "dotnet-sdk-native's SRC_URI name is the host arch (x64/arm64), the names of the sums" \
    || fail "dotnet-sdk-native: SRC_URI name and sha512sum names do not match"

major=$(cut -d. -f1,2 <<<"$gj")
meta=https://builds.dotnet.microsoft.com/dotnet/release-metadata/$major/releases.json
if json=$(curl -fsSL -m 20 "$meta" 2>/dev/null); then
    for arch in x64 arm64; do
        want=$(python3 - "$pv" "$arch" <<<"$json" <<'PY'
import json, sys
pv, arch = sys.argv[1], sys.argv[2]
name = "dotnet-sdk-%s-linux-%s.tar.gz" % (pv, arch)
for rel in json.load(sys.stdin)["releases"]:
    for sdk in rel.get("sdks", []) + [rel.get("sdk") or {}]:
        for f in sdk.get("files", []):
            if f.get("name") == name or f.get("url", "").endswith("/" + name):
                print(f["hash"]); sys.exit(0)
PY
)
        eval "have=\$sum_$arch"
        [[ -n $want && $want == "$have" ]] && ok "sha512 of linux-$arch equals Microsoft's release metadata" \
            || fail "sha512 of linux-$arch: recipe ${have:0:16}..., Microsoft's metadata '${want:0:16}...'"
    done
else
    echo "note: $meta not reachable: the sha512 values were not compared with Microsoft's metadata here (BitBake's do_fetch checks them against the downloaded archive)"
fi
(( fails == 0 ))
