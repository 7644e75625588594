#!/bin/sh
# SPDX-License-Identifier: MIT
#
# arm64 guest: the cross-built (aarch64) back ends serve our own front end
# (vhost-user-probe, also aarch64) over a real unix socket inside an
# aarch64 kernel. Proves the linux-arm64 NativeAOT output runs and works.
# EXPECT: arch caps_rng caps_blk caps_input rng_bytes blk_roundtrip blk_on_disk rng_sigterm blk_sigterm
. /lib/guest-lib.sh

m=$(uname -m)
if [ "$m" = aarch64 ]; then pass arch "$m, kernel $(uname -r)"; else fail arch "$m"; fi

# --print-capabilities: the JSON names the back-end type.
for p in rng:rng blk:block input:input; do
    name=${p%%:*}; type=${p#*:}
    out=$(/bin/vhost-user-$name --print-capabilities 2>&1)
    case $out in
        *"\"type\": \"$type\""*) pass "caps_$name" "$(echo "$out" | tr -d ' \n')" ;;
        *) fail "caps_$name" "unexpected: $out" ;;
    esac
done

# rng: 64 KiB through the requestq; random bytes cover (nearly) every value.
/bin/vhost-user-rng --socket-path /tmp/rng.sock --log-level warn &
rng_pid=$!
out=$(/bin/vhost-user-probe --socket-path /tmp/rng.sock --timeout-ms 60000 rng --bytes 65536 2>&1)
distinct=$(echo "$out" | sed -n 's/^RNG_DISTINCT //p')
if [ -n "$distinct" ] && [ "$distinct" -ge 250 ]; then
    pass rng_bytes "65536 bytes, $distinct distinct values"
else
    fail rng_bytes "probe said: $out"
fi

# blk: write 256 random sectors, read them back through the back end, and
# check the image file holds the same bytes.
dd if=/dev/zero of=/tmp/disk.img bs=1M count=8 2>/dev/null
/bin/vhost-user-blk --socket-path /tmp/blk.sock --blk-file /tmp/disk.img --log-level warn &
blk_pid=$!
out=$(/bin/vhost-user-probe --socket-path /tmp/blk.sock --timeout-ms 60000 blk-rw --sectors 256 --start-sector 64 2>&1)
want=$(echo "$out" | sed -n 's/^BLK_OK \([0-9a-f]*\) .*/\1/p')
if [ -n "$want" ]; then pass blk_roundtrip "$(echo "$out" | grep '^BLK_OK')"; else fail blk_roundtrip "probe said: $out"; fi
got=$(dd if=/tmp/disk.img bs=512 skip=64 count=256 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -n "$want" ] && [ "$got" = "$want" ]; then pass blk_on_disk "image sha256 $got"; else fail blk_on_disk "image $got, probe $want"; fi

# SIGTERM ends each back end cleanly (exit 0).
for p in rng:$rng_pid blk:$blk_pid; do
    name=${p%%:*}; pid=${p#*:}
    kill -TERM "$pid"
    if wait "$pid"; then pass "${name}_sigterm" "exit 0"; else fail "${name}_sigterm" "exit $?"; fi
done
