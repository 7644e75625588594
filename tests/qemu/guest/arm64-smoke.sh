#!/bin/sh
# SPDX-License-Identifier: MIT
# Trivial arm64 guest: prove the kernel boots and busybox runs.
# EXPECT: arch
. /lib/guest-lib.sh
m=$(uname -m)
info "uname -m: $m, kernel $(uname -r)"
if [ "$m" = aarch64 ]; then pass arch "$m"; else fail arch "$m"; fi
