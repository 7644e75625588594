#!/bin/bash
# SPDX-License-Identifier: MIT
#
# install-deps.sh PACKAGE...: install the Debian packages that are missing.
# Idempotent: when every package is installed it only says so. Runs
# apt-get update once before installing; uses sudo when not root.
#
# Never pass a ":arm64" package here: installing one replaces the native
# compilers (see shared/notes/TOOLCHAIN.md). The arm64 guest kit is
# downloaded, not installed (tests/qemu/lib.sh fetch_arm64_kit).

set -euo pipefail

missing=()
for p in "$@"; do
    case $p in *:arm64) echo "install-deps: refusing to install $p" >&2; exit 1 ;; esac
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done

if [[ ${#missing[@]} == 0 ]]; then
    echo "install-deps: all $# packages present"
    exit 0
fi

sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
