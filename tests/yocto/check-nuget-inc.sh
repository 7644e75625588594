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
#      with scripts/gen-nuget-inc.sh.
# Prints "ok:"/"FAIL:" lines; exit 1 on any failure.

set -uo pipefail
. "$(dirname "$0")/../../scripts/dotnet-aot-lib.sh"
cd "$AOT_ROOT"
PROGRAMS=(virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input touch-sensitivity)
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
read -r -a FLAGS <<< "$(aot_publish_flags linux-arm64)" || exit 1

# "<url> <sha256>" for each package of an .inc
inc_entries() {
    local inc=$1 url name sum
    sed -n 's#^ *\(https://[^;]*\.nupkg\);name=\([^;]*\);unpack=0.*#\1 \2#p' "$inc" |
    while read -r url name; do
        sum=$(sed -n "s/^SRC_URI\[$name\.sha256sum\] = \"\([0-9a-f]\{64\}\)\"\$/\1/p" "$inc")
        echo "$url ${sum:-MISSING}"
    done
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
    src=$WORK/src-$p
    aot_stage_source "$src"
    if (cd "$src" && NUGET_PACKAGES=$WORK/pkgs-$p DOTNET_CLI_HOME=$WORK/home-$p \
            "${NONET[@]}" dotnet publish "src/$p/$p.csproj" "${FLAGS[@]}" \
            -p:RestoreConfigFile="$WORK/nuget-$p.config" -p:CppCompilerAndLinker="$WORK/cc" \
            -o "$WORK/out-$p") > "$WORK/publish-$p.log" 2>&1; then
        ok "$p: offline publish (no network) with the class's command"
    else
        fail "$p: offline publish failed:"; grep -E 'error|Error' "$WORK/publish-$p.log" | head -5
        continue
    fi
    hdr=$(readelf -h "$WORK/out-$p/$p" 2>&1)
    if grep -q 'Machine:.*AArch64' <<<"$hdr" && grep -q 'Type:.*DYN' <<<"$hdr"; then
        ok "$p: aarch64 ELF executable, PIE ($(stat -c %s "$WORK/out-$p/$p") bytes)"
        # Kept for the boot test of run-yocto-tests.sh.
        [[ -z ${ARTIFACTS_DIR:-} ]] || install -D -m 755 "$WORK/out-$p/$p" "$ARTIFACTS_DIR/bin/$p"
    else
        fail "$p: not an aarch64 executable: $(grep -E 'Machine|Type' <<<"$hdr" | tr -s ' ')"
    fi
    used=$(aot_list_packages "$WORK/pkgs-$p")
    listed=$(inc_entries "$inc" | sed -E 's#.*/v3-flatcontainer/([^/]+)/([^/]+)/.*#\1 \2#' | LC_ALL=C sort)
    if [[ $used == "$listed" ]]; then
        ok "$p: $inc lists exactly the $(wc -l <<<"$used") packages the publish used"
    else
        fail "$p: $inc differs from the packages the publish used (run scripts/gen-nuget-inc.sh $p):"
        diff <(echo "$listed") <(echo "$used") | sed 's/^/    /' | head -20
    fi
done
(( fails == 0 ))
