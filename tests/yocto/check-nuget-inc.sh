#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI check of classes/dotnet_aot.bbclass without BitBake:
#
#   tests/yocto/check-nuget-inc.sh [PROGRAM...]   (default: all five)
#
# For each program it
#   1. downloads every .nupkg of recipes-dotnet/<p>/<p>-nuget.inc by its URL
#      into .cache/nuget-yocto/ and checks the sha256 BitBake would check
#      (online; skipped for files already cached and verified);
#   2. builds a feed of only those files and an offline nuget.config
#      (<clear/>), as the class's do_configure does;
#   3. runs the class's exact publish command (DOTNET_AOT_PUBLISH_FLAGS read
#      from the class) under `unshare -n` (no network, like a BitBake task),
#      with a fresh NUGET_PACKAGES and aarch64-linux-gnu-gcc standing in for
#      the Yocto cross GCC through the class's linker wrapper;
#   4. checks that the result is an aarch64 ELF executable and that the
#      packages NuGet used are exactly the .inc's list: a package missing from
#      the list fails step 3, an extra or stale one fails here. Fix either
#      with scripts/gen-nuget-inc.sh;
#   5. for REPRO_PROGRAM (default vhost-user-rng): publishes it once more in
#      a second WORKDIR of another path (own sources, NUGET_PACKAGES,
#      --artifacts-path), as a second build folder would, and checks that both
#      executables are equal byte for byte (the class's PathMap), and that the
#      sources were left without bin/ or obj/ (--artifacts-path).
# Prints "ok:"/"FAIL:" lines; exit 1 on any failure.

set -uo pipefail
. "$(dirname "$0")/../../scripts/dotnet-aot-lib.sh"
cd "$AOT_ROOT"
PROGRAMS=("${AOT_PROGRAMS[@]}")
(( $# )) && PROGRAMS=("$@")
CACHE=$AOT_ROOT/.cache/nuget-yocto
WORK=$(mktemp -d /tmp/check-nuget-inc.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CACHE"
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
NONET=(unshare -n)
if ! unshare -n true 2>/dev/null; then
    echo "note: unshare -n not permitted here; using an unreachable proxy instead" >&2
    NONET=(env http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9)
fi
aot_write_linker "$WORK/cc" aarch64-linux-gnu-gcc
REPRO_PROGRAM=${REPRO_PROGRAM-vhost-user-rng}

# "<url> <sha256>" for each package of an .inc
inc_entries() {
    local inc=$1 url name sum
    sed -n 's#^ *\(https://[^;]*\.nupkg\);name=\([^;]*\);unpack=0.*#\1 \2#p' "$inc" |
    while read -r url name; do
        sum=$(sed -n "s/^SRC_URI\[$name\.sha256sum\] = \"\([0-9a-f]\{64\}\)\"\$/\1/p" "$inc")
        echo "$url ${sum:-MISSING}"
    done
}

# publish_in WORKDIR PROGRAM NUGET_CONFIG: the class's do_configure and
# do_compile for one recipe in WORKDIR, without network.
publish_in() {
    local wd=$1 p=$2 config=$3 flags
    rm -rf "$wd"; mkdir -p "$wd/build"
    aot_stage_source "$wd/virtio-loopback"
    read -r -a flags <<< "$(aot_publish_flags linux-arm64 "$wd/build" "$wd")" || return 1
    (cd "$wd/virtio-loopback" && NUGET_PACKAGES=$wd/nuget-packages DOTNET_CLI_HOME=$wd/dotnet-home \
        "${NONET[@]}" dotnet publish "src/$p/$p.csproj" "${flags[@]}" \
        -p:RestoreConfigFile="$config" -p:CppCompilerAndLinker="$WORK/cc" \
        -o "$wd/build/publish")
}

for p in "${PROGRAMS[@]}"; do
    inc=recipes-dotnet/$p/$p-nuget.inc
    [[ -f $inc ]] || { fail "$p: no $inc"; continue; }
    feed=$WORK/feed-$p
    mkdir -p "$feed"
    dl_ok=1
    while read -r url sum; do
        f=$CACHE/$(basename "$url")
        if [[ $sum == MISSING ]]; then fail "$p: no sha256sum for $url"; dl_ok=0; continue; fi
        if ! echo "$sum  $f" | sha256sum -c --status 2>/dev/null; then
            curl -fsSL --retry 2 -o "$f.part" "$url" && mv "$f.part" "$f"
            if ! echo "$sum  $f" | sha256sum -c --status 2>/dev/null; then
                fail "$p: sha256 of $url does not match the .inc"; dl_ok=0; continue
            fi
        fi
        ln -sf "$f" "$feed/"
    done < <(inc_entries "$inc")
    (( dl_ok )) && ok "$p: $(ls "$feed" | wc -l) packages downloaded, sha256 as in $inc"
    cat > "$WORK/nuget-$p.config" <<CFG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="offline" value="$feed" />
  </packageSources>
</configuration>
CFG
    # A recipe's WORKDIR: S = virtio-loopback, B = build, the homes beside them.
    wd=$WORK/w-$p
    if ! publish_in "$wd" "$p" "$WORK/nuget-$p.config" > "$WORK/publish-$p.log" 2>&1; then
        fail "$p: offline publish failed:"; grep -E 'error|Error' "$WORK/publish-$p.log" | head -5
        continue
    fi
    ok "$p: offline publish (no network) with the class's command"
    exe=$wd/build/publish/$p
    hdr=$(readelf -h "$exe" 2>&1)
    if grep -q 'Machine:.*AArch64' <<<"$hdr" && grep -q 'Type:.*DYN' <<<"$hdr"; then
        ok "$p: aarch64 ELF executable, PIE ($(stat -c %s "$exe") bytes)"
        # Kept for the boot test of run-yocto-tests.sh.
        [[ -z ${ARTIFACTS_DIR:-} ]] || install -D -m 755 "$exe" "$ARTIFACTS_DIR/bin/$p"
    else
        fail "$p: not an aarch64 executable: $(grep -E 'Machine|Type' <<<"$hdr" | tr -s ' ')"
    fi
    # The runtime offers its zlib-ng (Zlib licence) and Brotli archives to the
    # linker; the recipes' LICENSE must name Zlib if any zlib-ng object got in.
    license=$(sed -n 's/^LICENSE = "\(.*\)"/\1/p' recipes-dotnet/virtio-loopback-dotnet.inc)
    syms=$(nm "$exe" 2>/dev/null | awk '{print $NF}')
    zlib=$(grep -cE '^(zng_|z_deflate|deflate|inflate)' <<<"$syms"); brotli=$(grep -ciE '^_?Brotli' <<<"$syms")
    if (( $(wc -l <<<"$syms") < 1000 )); then
        fail "$p: no symbol table to check the linked licences (StripSymbols=false?)"
    elif (( zlib > 0 )) && [[ $license != *Zlib* ]]; then
        fail "$p: $zlib zlib-ng symbols linked in, but LICENSE is '$license' (add Zlib)"
    else
        ok "$p: licences: $zlib zlib-ng and $brotli Brotli symbols linked; LICENSE '$license' covers them"
    fi
    left=$(find "$wd/virtio-loopback" -type d \( -name bin -o -name obj \) | head -n 3)
    [[ -z $left ]] && ok "$p: no bin/ or obj/ in the sources (--artifacts-path \${B}/artifacts)" \
        || fail "$p: the publish wrote into the sources: $left"
    if [[ $p == "$REPRO_PROGRAM" ]]; then
        wd2=$WORK/second-build-folder/w-$p
        if publish_in "$wd2" "$p" "$WORK/nuget-$p.config" > "$WORK/publish2-$p.log" 2>&1; then
            exe2=$wd2/build/publish/$p
            id1=$(readelf -n "$exe" | sed -n 's/.*Build ID: //p'); id2=$(readelf -n "$exe2" | sed -n 's/.*Build ID: //p')
            if cmp -s "$exe" "$exe2"; then
                ok "$p: reproducible: two build folders give the same executable (sha256 $(sha256sum "$exe" | cut -c1-16), build-id ${id1:-none})"
            else
                fail "$p: not reproducible: build-ids $id1 and $id2 from $wd and $wd2 ($(cmp "$exe" "$exe2" | head -n1))"
            fi
            if grep -qF "$wd" "$exe" || grep -qF "$wd2" "$exe2"; then
                fail "$p: the build folder's path is in the executable"
            else
                ok "$p: no build path in the executable (DWARF included)"
            fi
        else
            fail "$p: second publish failed"; grep -E 'error|Error' "$WORK/publish2-$p.log" | head -5
        fi
    fi
    used=$(aot_list_packages "$wd/nuget-packages")
    listed=$(inc_entries "$inc" | sed -E 's#.*/v3-flatcontainer/([^/]+)/([^/]+)/.*#\1 \2#' | LC_ALL=C sort)
    if [[ $used == "$listed" ]]; then
        ok "$p: $inc lists exactly the $(wc -l <<<"$used") packages the publish used"
    else
        fail "$p: $inc differs from the packages the publish used (run scripts/gen-nuget-inc.sh $p):"
        diff <(echo "$listed") <(echo "$used") | sed 's/^/    /' | head -20
    fi
done
(( fails == 0 ))
