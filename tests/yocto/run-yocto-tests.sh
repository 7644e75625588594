#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The Yocto/AGL checks CI can run (make yocto-test, part of make test):
#   check-layers.sh         layer files, licences, FILESEXTRAPATHS, oe-init.sh
#   check-module-recipe.sh  the module recipe's make calls against arm64 headers
#   check-nuget-inc.sh      the class's publish command offline (unshare -n)
#                           from only the -nuget.inc packages -> aarch64 ELF,
#                           and each -nuget.inc equal to what the publish used
# YOCTO_PROGRAMS (default: all five) limits check-nuget-inc.sh.
# The real BitBake parse is manual: tests/yocto/bitbake-parse.sh.
# Writes "N passed, M failed" to tests/qemu/work/yocto/summary (read by
# scripts/test-summary.sh).

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$ROOT/tests/qemu/work/yocto
rm -rf "$W"; mkdir -p "$W"
read -r -a programs <<< "${YOCTO_PROGRAMS:-}"
rc=0
for t in check-layers.sh check-module-recipe.sh "check-nuget-inc.sh ${programs[*]}"; do
    echo "== tests/yocto/$t"
    # shellcheck disable=SC2086
    "$HERE"/$t 2>&1 | tee -a "$W/log" || rc=1
done
passed=$(grep -c '^ok:' "$W/log"); failed=$(grep -c '^FAIL:' "$W/log")
(( rc != 0 && failed == 0 )) && failed=1
echo "$passed passed, $failed failed" | tee "$W/summary"
exit $rc
