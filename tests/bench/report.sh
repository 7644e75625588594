#!/bin/bash
# SPDX-License-Identifier: MIT
#
# report.sh RAW OUT_DIR DATE KERNEL RUNTIME SIZE_MB: turn bench-guest.sh's
# lines into OUT_DIR/results.json, OUT_DIR/results.md and PNG charts
# (gnuplot; skipped with a note when it is missing). Exit 1 when a subject
# failed to run or a verify pass failed.
set -euo pipefail
raw=$1 out=$2 date=$3 kver=$4 rt=$5 size=$6
mkdir -p "$out"
SUBJECTS="a-brd b-ours c-qsd d-vm"
WORKLOADS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m write-1m verify-64k"

# field SUBJECT WORKLOAD KEY: a value of a RESULT line (empty if none).
field() { awk -v s="$1" -v w="$2" -v k="$3" '$1 == "RESULT" && $2 == s && $3 == w {
    for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$raw"; }
# kv PREFIX KEY [SUBJECT]: a value of another line kind.
kv() { awk -v p="$1" -v k="$2" -v s="${3:-}" '$1 == p && (s == "" || $2 == s) {
    for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { print a[2]; exit } } }' "$raw"; }
# counter SUBJECT WORKLOAD NAME: after - before of a COUNTER line.
counter() { awk -v s="$1" -v w="$2" -v k="$3" '$1 == "COUNTER" && $2 == s && $3 == w {
    b = ""; a = ""; side = ""
    for (i = 4; i <= NF; i++) { if ($i == "before" || $i == "after") { side = $i; continue }
        split($i, x, "="); if (x[1] == k) { if (side == "before") b = x[2]; else a = x[2] } }
    if (a != "" && b != "") print a - b }' "$raw"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.2f", a / b }'; }

rc=0
# ---- results.json -----------------------------------------------------------------
{
    echo "{"
    echo "  \"date\": \"$date\", \"kernel\": \"$kver\", \"runtime_s\": $rt, \"size_mb\": $size,"
    echo "  \"machine\": \"$(nproc) host CPUs, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n1), QEMU TCG\","
    echo "  \"blk\": {"
    first=1
    for s in $SUBJECTS; do
        for w in $WORKLOADS; do
            iops=$(field $s $w iops)
            [[ -n $iops ]] || continue
            [[ $first == 1 ]] || echo ","
            first=0
            kicks=$(counter $s $w kicks); irqs=$(counter $s $w interrupts); bounce=$(counter $s $w bounce_bytes)
            # Per request: the device's own count over the same span as the counters.
            ios=$(counter $s $w requests)
            printf '    "%s/%s": {"iops": %s, "bw_kib": %s, "lat_us": %s, "p99_us": %s' "$s" "$w" "$iops" "$(field $s $w bw_kib)" "$(field $s $w lat_us)" "$(field $s $w p99_us)"
            [[ -z $(field $s $w verify) ]] || printf ', "verify": "%s"' "$(field $s $w verify)"
            [[ -z $kicks || -z $ios || $ios == 0 ]] || printf ', "kicks_per_io": %s, "interrupts_per_io": %s, "bounce_bytes_per_io": %s' \
                "$(ratio "$kicks" "$ios")" "$(ratio "$irqs" "$ios")" "$(ratio "$bounce" "$ios")"
            printf '}'
        done
    done
    echo
    echo "  },"
    echo "  \"rng\": {\"bytes_per_s\": $(kv RNG bytes_per_s || true), \"read_us\": $(kv RNG read_us || true)},"
    echo "  \"input\": {\"events\": $(kv INPUT events), \"p50_us\": $(kv INPUT p50_us), \"p99_us\": $(kv INPUT p99_us), \"max_us\": $(kv INPUT max_us)},"
    echo "  \"adapter\": {\"syscalls\": $(kv SYSCALLS adapter_calls b-ours), \"epoll_wait\": $(kv SYSCALLS epoll_wait b-ours), \"seconds\": $(kv SYSCALLS seconds b-ours)},"
    echo "  \"backend_alloc_bytes\": {\"b-ours\": $(kv ALLOC bytes b-ours)}"
    echo "}"
} | sed 's/: ,/: null,/g; s/: }/: null}/g; s/: $/: null/' >"$out/results.json"

# ---- results.md -------------------------------------------------------------------
{
    echo "Kernel $kver, $rt s per workload, ${size} MiB disks, $date. Subjects: a brd (RAM disk in the guest kernel),"
    echo "b loopback + our vhost-user-blk, c loopback + qemu-storage-daemon, d our vhost-user-blk behind QEMU's vhost-user-blk-pci (another guest)."
    echo
    echo "| workload | a brd | b ours (loopback) | c qsd (loopback) | d ours (VM) | b/c | b/a |"
    echo "|---|---|---|---|---|---|---|"
    for w in $WORKLOADS; do
        line="| $w"
        for s in $SUBJECTS; do
            iops=$(field $s $w iops); bw=$(field $s $w bw_kib); lat=$(field $s $w lat_us); p99=$(field $s $w p99_us)
            if [[ -z $iops ]]; then line="$line | -"; continue; fi
            case $w in
                *-1m|verify*) line="$line | $((bw / 1024)) MiB/s" ;;
                *) line="$line | $iops IOPS, ${lat} µs (p99 $p99)" ;;
            esac
            [[ $(field $s $w verify) != failed ]] || { line="$line VERIFY FAILED"; rc=1; }
        done
        key=iops; case $w in *-1m|verify*) key=bw_kib ;; esac
        line="$line | $(ratio "$(field b-ours $w $key)" "$(field c-qsd $w $key)") | $(ratio "$(field b-ours $w $key)" "$(field a-brd $w $key)") |"
        echo "$line"
    done
    echo
    echo "Loopback accounting for b (module counters per request, where the module has them):"
    echo
    echo "| workload | requests | kicks/IO | interrupts/IO | bounced bytes/IO | pool map failures |"
    echo "|---|---|---|---|---|---|"
    for w in $WORKLOADS; do
        ios=$(counter b-ours $w requests)
        k=$(counter b-ours $w kicks)
        [[ -n $k && -n $ios ]] || continue
        echo "| $w | $ios | $(ratio "$k" "$ios") | $(ratio "$(counter b-ours $w interrupts)" "$ios") | $(ratio "$(counter b-ours $w bounce_bytes)" "$ios") | $(counter b-ours $w pool_map_failures) |"
    done
    echo
    echo "rng through the loopback: $(kv RNG bytes_per_s) bytes/s, $(kv RNG read_us) µs per 64-byte read."
    echo "input through the loopback (uinput write to virtio-input read, $(kv INPUT events) events): p50 $(kv INPUT p50_us) µs, p99 $(kv INPUT p99_us) µs, max $(kv INPUT max_us) µs."
    echo "Adapter system calls during all of b's workloads ($(kv SYSCALLS seconds b-ours) s, $(awk '$1 == "RESULT" && $2 == "b-ours" { for (i = 4; i <= NF; i++) if ($i ~ /^ios=/) { sub(/ios=/, "", $i); n += $i } } END { print n + 0 }' "$raw") requests): $(kv SYSCALLS adapter_calls b-ours) in all ($(kv SYSCALLS calls b-ours)); epoll_wait is the loop's 250 ms housekeeping tick."
    echo "vhost-user-blk managed allocations during all of b's workloads: $(kv ALLOC bytes b-ours) bytes (after subtracting $(kv ALLOC sample_cost b-ours) bytes that taking one sample costs)."
} >"$out/results.md"

if grep -q "^RESULT .*failed=" "$raw"; then
    grep "^RESULT .*failed=" "$raw" | sed 's/^/report: /' >&2
    rc=1
fi
for s in $SUBJECTS; do
    n=$(grep -c "^RESULT $s " "$raw" || true)
    if [[ $n -lt 7 ]]; then echo "report: $s has $n of 7 results" >&2; rc=1; fi
done
for k in RNG INPUT; do grep -q "^$k " "$raw" || { echo "report: no $k line" >&2; rc=1; }; done

# ---- charts -----------------------------------------------------------------------
if command -v gnuplot >/dev/null; then
    dat=$(mktemp)
    for w in randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32; do
        echo "$w $(for s in $SUBJECTS; do v=$(field $s $w iops); echo -n "${v:-0} "; done)"
    done >"$dat.iops"
    for w in read-1m write-1m verify-64k; do
        echo "$w $(for s in $SUBJECTS; do v=$(field $s $w bw_kib); echo -n "$(( ${v:-0} / 1024 )) "; done)"
    done >"$dat.bw"
    for w in randread-4k-qd1 randwrite-4k-qd1; do
        echo "$w $(for s in $SUBJECTS; do v=$(field $s $w lat_us); echo -n "${v:-0} "; done)"
    done >"$dat.lat"
    plot() { # FILE TITLE YLABEL DATA
        gnuplot <<GP
set terminal pngcairo size 900,480 noenhanced
set output "$1"
set title "$2 (kernel $kver, QEMU TCG)"
set ylabel "$3"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top right
set grid ytics
set yrange [0:*]
plot "$4" using 2:xtic(1) title "a brd", "" using 3 title "b ours (loopback)", "" using 4 title "c qsd (loopback)", "" using 5 title "d ours (VM)"
GP
    }
    plot "$out/blk-4k-iops.png" "4 KiB random I/O" "IOPS" "$dat.iops"
    plot "$out/blk-seq-bandwidth.png" "1 MiB sequential and verified 64 KiB writes" "MiB/s" "$dat.bw"
    plot "$out/blk-qd1-latency.png" "4 KiB mean latency at queue depth 1" "µs" "$dat.lat"
    rm -f "$dat" "$dat".*
else
    echo "report: gnuplot missing, no charts (apt-get install gnuplot-nox)" >&2
fi
cat "$out/results.md"
exit $rc
