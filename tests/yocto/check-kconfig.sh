#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI check of the layer's kernel fragments (meta-egvirt/recipes-kernel/linux/
# files/*.cfg) against the real Kconfig of each kernel source at hand, for
# ARCH=arm64 (the layer's target):
#   - alone: allnoconfig with the fragment (KCONFIG_ALLCONFIG, as
#     merge_config.sh does) keeps every line of it. A symbol without a prompt
#     or with an unmet dependency is dropped silently by Kconfig; a kernel whose
#     own config happens to provide the dependency (qemuarm64's virtio.scc)
#     hides that, a board config without it (R-Car) does not;
#   - on the arm64 defconfig: every line still holds (nothing turned =m or off).
#
#   tests/yocto/check-kconfig.sh [SOURCE_TREE...]
#
# Trees (unless given): the unpacked Debian linux-source trees under the
# kernels cache (debug-src/linux-source-6.1 of build-debug-kernel.sh, and any
# $KERNELS_DIR/../src/linux-source-*), else /usr/src/linux-source-6.1.tar.xz
# unpacked into $KERNELS_DIR/../kconfig-src. The trees are only read: every
# Kconfig run writes into its own O= folder.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/kernel-module/scripts/kernels-dir.sh"
CACHE=$(dirname "$KERNELS_DIR")
FRAG_DIR=$ROOT/meta-egvirt/recipes-kernel/linux/files
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

trees=("$@")
if (( ${#trees[@]} == 0 )); then
    for t in "$KERNELS_DIR"/debug-src/linux-source-* "$CACHE"/src/linux-source-*; do
        [[ -f $t/Kconfig && -f $t/scripts/kconfig/Makefile && ! -e $t/.config ]] && trees+=("$t")
    done
    if ! printf '%s\n' "${trees[@]}" | grep -q 'linux-source-6\.1$'; then
        tarball=/usr/src/linux-source-6.1.tar.xz
        own=$CACHE/kconfig-src
        if [[ ! -f $own/linux-source-6.1/Kconfig ]]; then
            [[ -r $tarball ]] || { fail "no kernel source: $tarball missing (make deps: linux-source-6.1)"; exit 1; }
            echo "unpacking $tarball into $own" >&2
            rm -rf "$own"; mkdir -p "$own"
            tar -C "$own" -xJf "$tarball" || { fail "unpack $tarball"; exit 1; }
        fi
        trees+=("$own/linux-source-6.1")
    fi
fi

W=$(mktemp -d /tmp/check-kconfig.XXXXXX)
trap 'rm -rf "$W"' EXIT
frags=("$FRAG_DIR"/*.cfg)

# check_lines CONFIG FRAGMENT...: each CONFIG_X=v / "# CONFIG_X is not set" line
# of the fragments, as it ends up in CONFIG; prints the lines that did not hold.
lost_lines() {
    local config=$1 line key want got; shift
    grep -hE '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$@" | while read -r line; do
        if [[ $line == "# "* ]]; then key=${line#\# }; key=${key%% *}; want=n; else key=${line%%=*}; want=${line#*=}; fi
        got=$(sed -n "s/^$key=//p" "$config")
        [[ -n $got ]] || got=n
        [[ $got == "$want" ]] || echo "$key=$want (got $got)"
    done
}

kconfig() { # TREE OUT TARGET [ALLCONFIG]
    local tree=$1 out=$2 target=$3 allconfig=${4:-}
    mkdir -p "$out"
    make -s -C "$tree" O="$out" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
        ${allconfig:+KCONFIG_ALLCONFIG=$allconfig} "$target" >"$out.log" 2>&1
}

for tree in "${trees[@]}"; do
    ver=$(make -s -C "$tree" kernelversion 2>/dev/null)
    name="linux $ver ($(basename "$tree"), arm64)"
    n=0
    for frag in "${frags[@]}"; do
        out=$W/$(basename "$tree")-$(basename "$frag" .cfg)
        if ! kconfig "$tree" "$out" allnoconfig "$frag"; then
            fail "$name: allnoconfig with $(basename "$frag"): $(tail -n 3 "$out.log")"; continue
        fi
        lost=$(lost_lines "$out/.config" "$frag")
        if [[ -z $lost ]]; then
            ok "$name: $(basename "$frag") alone (allnoconfig + fragment): all $(grep -cE '^CONFIG_' "$frag") lines hold"
        else
            fail "$name: $(basename "$frag") alone loses: $(echo $lost)"
        fi
        n=$((n + 1))
    done
    # All fragments on the arm64 defconfig.
    out=$W/$(basename "$tree")-defconfig
    cat "${frags[@]}" >"$W/all.cfg"
    if kconfig "$tree" "$out" defconfig && cp "$out/.config" "$W/base" &&
        cat "$W/base" "$W/all.cfg" >"$out/.config" && kconfig "$tree" "$out" olddefconfig; then
        lost=$(lost_lines "$out/.config" "${frags[@]}")
        [[ -z $lost ]] && ok "$name: all fragments on the arm64 defconfig hold" \
            || fail "$name: on the arm64 defconfig the fragments lose: $(echo $lost)"
    else
        fail "$name: defconfig + fragments: $(tail -n 3 "$out.log")"
    fi
done
(( ${#trees[@]} )) || fail "no kernel source tree"
(( fails == 0 ))
