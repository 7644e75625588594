#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Helpers for guest scripts (busybox sh). Installed as /lib/guest-lib.sh in
# every kit; a guest script starts with ". /lib/guest-lib.sh".
#
# Output protocol, read by tests/qemu/lib.sh on the host:
#   RESULT <name> PASS|FAIL|SKIP <detail...>
#   DATA <key> <value>

# result NAME PASS|FAIL|SKIP DETAIL...
result() {
    _n=$1; _s=$2; shift 2
    echo "RESULT $_n $_s $*"
}

# pass/fail/skip NAME DETAIL...
pass() { _n=$1; shift; result "$_n" PASS "$@"; }
fail() { _n=$1; shift; result "$_n" FAIL "$@"; }
skip() { _n=$1; shift; result "$_n" SKIP "$@"; }

# check NAME DETAIL -- CMD...: PASS when CMD succeeds.
check() {
    _n=$1; _d=$2; shift 3
    if "$@"; then pass "$_n" "$_d"; else fail "$_n" "$_d (command failed: $*)"; fi
}

# data KEY VALUE: a value for host-side cross checks.
data() { echo "DATA $1 $2"; }

# info TEXT...: human-readable line (ignored by the host checks).
info() { echo "INFO $*"; }

# sha FILE: the sha256 of FILE.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# wait_for PATH [SECONDS]: wait for a file or device node to appear.
wait_for() {
    _i=$(( ${2:-10} * 10 ))
    while [ "$_i" -gt 0 ]; do
        [ -e "$1" ] && return 0
        usleep 100000
        _i=$((_i - 1))
    done
    return 1
}
