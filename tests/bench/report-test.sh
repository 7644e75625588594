#!/bin/bash
# SPDX-License-Identifier: MIT
#
# report.sh on made-up guest lines, no QEMU: how a run of several rounds is
# summed up. Three rounds of the peers run where b's 1 MiB reads trail e's in
# round 1 only: the tables take each figure's median, say which round b
# trailed in, list every round, and sum the module's counters; one failed
# verify pass in one round fails the report; a run of one round reads as before; with
# the module's timing counters, a table of where b's module time goes.
# Writes tests/qemu/work/bench-report/summary for make test.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../qemu/lib.sh
. "$HERE/../qemu/lib.sh"
begin_run bench-report

SUBJECTS="a-brd b-ours g-poll p-polled c-qsd e-vduse f-nbd"
WORKLOADS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m write-1m"

# raw ROUNDS [VERIFY_FAIL_SUBJECT]: the guest's lines for ROUNDS rounds. IOPS are
# 1000 + 100 * round, bandwidth 400 + 100 * round MiB/s, except b's and e's 1 MiB
# reads (b: 600, 900, 700 MiB/s; e: 650 in every round); latency is written with a
# decimal point.
raw() {
    local rounds=$1 bad=${2:-} r s w bw lat
    echo "VERSION kernel=6.12.0-test arch=x86_64 cpus=2 fio=fio-3.33 qsd=7.2 qemu_nbd=7.2 nbd_client=3.24"
    for r in $(seq 1 "$rounds"); do
        for w in $WORKLOADS; do
            for s in $SUBJECTS; do
                bw=$(( (400 + 100 * r) * 1024 )) lat=$(( 100 + r )).5
                if [[ $w == read-1m && $s == b-ours ]]; then bw=$(( $(cut -d' ' -f"$r" <<<"600 900 700") * 1024 ))
                elif [[ $w == read-1m && $s == e-vduse ]]; then bw=$(( 650 * 1024 )); fi
                echo "RESULT $s $w iops=$(( 1000 + 100 * r )) bw_kib=$bw lat_us=$lat p99_us=900 ios=5000 cpu_us=50.0 cpu_pct=90"
                [[ $s == b-ours || $s == p-polled ]] &&
                    echo "COUNTER $s $w before kicks=10 interrupts=5 requests=0 bounce_bytes=100${TIMED:+ $(timed 0)} after kicks=$(( 10 + 1000 * r ))" \
                        "interrupts=$(( 5 + r )) requests=$(( 1000 * r )) bounce_bytes=$(( 100 + 1500000000 ))${TIMED:+ $(timed "$r")}"
            done
        done
        for s in $SUBJECTS; do
            v=ok; [[ $s == "$bad" && $r == 2 ]] && v=failed
            echo "RESULT $s verify-64k iops=100 bw_kib=6400 lat_us=1.0 p99_us=2 ios=100 cpu_us=9.0 cpu_pct=50 verify=$v"
        done
    done
}
# timed R: the module's step times (timing=1) and busy CPU ticks after R rounds of 1000
# requests: 1.59, 3.49, 3.16, 0.35 and 5.92 µs per request, 50 µs of CPU (5 ticks).
timed() {
    echo "time_kick_ns=$(( 1590000 * $1 )) time_map_ns=$(( 3490000 * $1 )) time_unmap_ns=$(( 3160000 * $1 ))" \
        "time_deliver_ns=$(( 350000 * $1 )) time_callback_ns=$(( 5920000 * $1 )) busy=$(( 5 * $1 ))"
}
{ echo "HOST kernel=6.1.0 cpus=2 qemu=7.2.22 qemu_aarch64=7.2.22 debian=12.11"; echo "MODEL Test CPU"; } >"$W/host.txt"

# check NAME FILE PATTERN WHAT: a result, PASS when FILE has the fixed string PATTERN.
check() {
    if grep -qF -- "$3" "$2"; then host_result "$1" PASS "$4"; else host_result "$1" FAIL "$4: '$3' not in $2"; fi
}

raw 3 >"$W/raw3.txt"
if "$HERE/report.sh" "$W/out3" 2026-01-01 5 1 128 "$W/host.txt" "peers=$W/raw3.txt" >"$W/report3.log" 2>&1; then
    host_result report_rounds_exit PASS "three clean rounds: exit 0"
else
    host_result report_rounds_exit FAIL "three clean rounds: report.sh failed ($(tail -n 3 "$W/report3.log" | tr '\n' ' '))"
fi
md=$W/out3/results.md json=$W/out3/results.json
check report_rounds_title "$md" "Peer table: Debian 6.12 amd64, 3 interleaved rounds" "the title counts the rounds"
# b's 1 MiB reads: the median of 600, 900, 700 is 700; e's 650 (b/e 1.08), f's 600 (b/f 1.17).
check report_rounds_median "$md" "| read-1m | 600 | 700 | 600 | 600 | 600 | 650 | 600 | 1.08 | 1.17 |" "medians, and ratios of medians"
check report_rounds_latency "$md" "| randread-4k-qd1 | 102.5 (900) | 102.5 (900) |" "latency: the median as written"
check report_rounds_behind "$md" "b behind a peer: none." "judged on medians"
check report_rounds_trailed "$md" "Rounds in which b trailed a peer: read-1m b/e 0.92 (round 1)." "the round b trailed in"
check report_rounds_every "$md" "| read-1m | 500 / 600 / 700 | 600 / 900 / 700 |" "every round, in order"
check report_rounds_json "$json" '"bw_kib_rounds": [614400, 921600, 716800]' "results.json keeps every round"
check report_rounds_json_count "$json" '"rounds": 3' "results.json counts the rounds"
# Counters summed: 6000 requests and 6000 kicks over the rounds, 6 interrupts, and
# 4.5e9 bytes bounced (beyond 32 bits: summed and printed as an integer).
check report_rounds_counters "$md" "| randread-4k-qd1 | 6000 | 1.00 | 0.00 | 750000.00 |" "counters summed over rounds"

raw 3 c-qsd >"$W/raw3bad.txt"
if "$HERE/report.sh" "$W/out3bad" 2026-01-01 5 1 128 "$W/host.txt" "peers=$W/raw3bad.txt" >"$W/report3bad.log" 2>&1; then
    host_result report_rounds_verify FAIL "a verify pass failed in round 2 of 3, and the report passed"
else
    check report_rounds_verify "$W/report3bad.log" "report: peers: c-qsd verify pass: failed" "a verify pass failed in one round of three fails the report"
fi

raw 1 >"$W/raw1.txt"
if "$HERE/report.sh" "$W/out1" 2026-01-01 5 1 128 "$W/host.txt" "peers=$W/raw1.txt" >"$W/report1.log" 2>&1; then
    check report_one_round "$W/out1/results.md" "Peer table: Debian 6.12 amd64, one interleaved run" "one round reads as before"
    if grep -q "Every round\|Rounds in which" "$W/out1/results.md"; then
        host_result report_one_round_tables FAIL "one round, and results.md lists rounds"
    else
        host_result report_one_round_tables PASS "one round: no rounds table"
    fi
else
    host_result report_one_round FAIL "one clean round: report.sh failed"
fi
# With the module's timing on, where b's module time goes: 8.59 µs of 50 (17 %).
TIMED=1 raw 1 >"$W/raw1t.txt"
if "$HERE/report.sh" "$W/out1t" 2026-01-01 5 1 128 "$W/host.txt" "peers=$W/raw1t.txt" >"$W/report1t.log" 2>&1; then
    check report_timing "$W/out1t/results.md" "| randread-4k-qd32 | 1.59 | 3.49 | 3.16 | 0.35 | 5.92 | 8.59 | 50.00 | 17 % |" "the module's step times per request"
else
    host_result report_timing FAIL "one clean round with timing: report.sh failed"
fi
if grep -q "Where b's module time goes" "$W/out1/results.md"; then
    host_result report_timing_off FAIL "no timing counters, and results.md has the timing table"
else
    host_result report_timing_off PASS "no timing counters: no timing table"
fi
end_run 0
