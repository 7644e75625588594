#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The exposure of the installed units, as systemd-analyze security rates it
# (systemd 252 offline: `systemd-analyze security --offline=true`), printed
# and held to the project's limits: at most 2.0 for every back end, at most 3.5
# for the adapter. The units come from `make install-data` into a scratch
# DESTDIR, each template instantiated (rng0, blk0, input0, console0, sound0, gpio0). Lower is safer;
# 9.x is a unit with no sandboxing at all.
#
#   tests/system/check-unit-security.sh
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BACKEND_MAX=${BACKEND_MAX:-2.0}
ADAPTER_MAX=${ADAPTER_MAX:-3.5}
W=$(mktemp -d /tmp/unit-security.XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v systemd-analyze >/dev/null || { fail "systemd-analyze missing"; exit 1; }
make -s -C "$ROOT" install-data DESTDIR="$W/root" >"$W/install.log" 2>&1 || { fail "make install-data: $(tail -n 3 "$W/install.log")"; exit 1; }
unitdir=$W/root/lib/systemd/system
printf '%-38s %6s %6s\n' unit score limit
for spec in vhost-user-rng@rng0:$BACKEND_MAX vhost-user-blk@blk0:$BACKEND_MAX \
            vhost-user-input@input0:$BACKEND_MAX vhost-user-console@console0:$BACKEND_MAX \
            vhost-user-sound@sound0:$BACKEND_MAX vhost-user-gpio@gpio0:$BACKEND_MAX \
            virtio-loopback-adapter@rng0:$ADAPTER_MAX; do
    unit=${spec%%:*}.service limit=${spec##*:}
    cp "$unitdir/${unit%%@*}@.service" "$W/$unit"
    out=$(cd "$W" && systemd-analyze security --offline=true --no-pager "./$unit" 2>&1)
    score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$out")
    printf '%-38s %6s %6s\n' "$unit" "${score:-?}" "$limit"
    if [[ -z $score ]]; then
        fail "$unit: no score: $(head -n 3 <<<"$out")"
    elif awk -v s="$score" -v m="$limit" 'BEGIN { exit !(s <= m) }'; then
        ok "$unit: exposure $score (limit $limit)"
    else
        fail "$unit: exposure $score above $limit"
        grep '^✗' <<<"$out" | sed 's/^/    /'
    fi
done
(( fails == 0 ))
