#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test-summary.sh RESULTS_DIR SUMMARY_FILE...: add up the dotnet test TRX
# files in RESULTS_DIR and the QEMU harness summary lines ("N passed, M
# failed", the last line of each SUMMARY_FILE, which may list the failed
# results above it as "failed: ..." lines, repeated here), and print one
# closing line:
#   total: N passed, M failed
# Exit 1 when anything failed or nothing ran.

set -euo pipefail
results=$1; shift
passed=0 failed=0

shopt -s nullglob
for trx in "$results"/*.trx; do
    # <Counters total="..." executed="..." passed="..." failed="..." error="..." .../>
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
    f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
    t=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$counters")
    echo "dotnet: $(basename "$trx"): ${p:-0} passed, $(( ${f:-0} + ${e:-0} + ${t:-0} )) failed" >&2
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
done

for vm in "$@"; do
    name=$(basename "$(dirname "$vm")")
    if [[ -s $vm ]]; then
        line=$(tail -n1 "$vm")
        p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' <<<"$line")
        f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' <<<"$line")
        echo "qemu $name: $line" >&2
        # end_run (tests/qemu/lib.sh) lists the failed results above the count.
        grep '^failed: ' "$vm" | sed "s/^failed: /  $name: /" >&2 || true
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-1}))
    else
        echo "qemu $name: no summary in $vm (the guest tests did not finish)" >&2
        failed=$((failed + 1))
    fi
done

echo "total: $passed passed, $failed failed"
[[ $failed == 0 && $passed -gt 0 ]]
