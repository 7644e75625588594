#!/bin/bash
# SPDX-License-Identifier: MIT
#
# report.sh OUT_DIR DATE RUNTIME RAMP SIZE_MB HOST_FILE RUN=RAW...
#
# Turn bench-guest.sh's lines (one RAW file per guest run: peers, loopback,
# vm, arm64) into OUT_DIR/results.json, OUT_DIR/results.md and PNG charts
# (gnuplot; skipped with a note when it is missing). HOST_FILE has run-bench.sh's
# HOST and MODEL lines. Exit 1 when any expected subject of a run is missing,
# failed to set up or to run, a verify pass failed, or a run lacks its
# VERSION (or, for the loopback runs, its rng and input) lines. BENCH_NOTE, when
# set, heads results.md and is results.json's "note" (say so when a run's machine
# was not quiet).
set -euo pipefail
[[ $# -ge 7 ]] || { echo "usage: report.sh OUT_DIR DATE RUNTIME RAMP SIZE_MB HOST_FILE RUN=RAW..." >&2; exit 2; }
out=$1 date=$2 rt=$3 ramp=$4 size=$5 hostf=$6
shift 6
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
all=$tmp/all.txt
RUNS=()
for a in "$@"; do
    run=${a%%=*} raw=${a#*=}
    [[ $run != "$a" && -r $raw ]] || { echo "report: '$a' is not RUN=RAW with a readable file" >&2; exit 2; }
    RUNS+=("$run")
    sed "s/^/$run /" "$raw"
done >"$all"
sed 's/^/host /' "$hostf" >>"$all"
has_run() { local r; for r in "${RUNS[@]}"; do [[ $r == "$1" ]] && return 0; done; return 1; }

WORKLOADS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m write-1m verify-64k"
# The subjects each run must have measured.
expected() {
    case $1 in
        peers) echo "a-brd b-ours g-poll p-polled c-qsd e-vduse f-nbd" ;;
        loopback|arm64) echo "a-brd b-ours g-poll c-qsd" ;;
        vm) echo "d-vm" ;;
        engines) echo "t-threads@ext4 h-uring@ext4 o-direct@ext4 c-qsd@ext4 q-qsd-direct@ext4 b-ours@tmpfs h-uring@tmpfs t-threads@tmpfs c-qsd@tmpfs" ;;
        *) echo "" ;;
    esac
}
label() {
    case $1 in
        a-brd) echo "a brd" ;; b-ours) echo "b ours" ;; c-qsd) echo "c qsd" ;;
        d-vm) echo "d ours (VM)" ;; e-vduse) echo "e VDUSE" ;; f-nbd) echo "f NBD" ;;
        g-poll) echo "g ours, polling" ;; p-polled) echo "p ours, both ends polling" ;;
        h-uring@*) echo "h ours, io_uring (${1#*@})" ;; t-threads@*) echo "t ours, threads (${1#*@})" ;;
        b-ours@*) echo "b ours, default (${1#*@})" ;; c-qsd@*) echo "c qsd (${1#*@})" ;;
        o-direct@*) echo "o ours, io_uring, --direct (${1#*@})" ;; q-qsd-direct@*) echo "q qsd, O_DIRECT (${1#*@})" ;;
        *) echo "$1" ;;
    esac
}

# Every value once, into associative arrays (one awk pass, not one per look-up):
#   F[run|subject|workload|key]  a RESULT line's key=value; over rounds (a run that
#                                measured each subject and workload more than once),
#                                the median (the lower middle value for an even
#                                count), or for verify the first that is not ok
#   L[run|subject|workload|key]  every round's value, in order, space-separated
#   R[run]                       the run's rounds
#   K[run|kind|subject|key]      another line's (VERSION, RNG, INPUT, SYSCALLS, ALLOC,
#                                HOST); the last round's
#   C[run|subject|workload|key]  a COUNTER line's after - before, summed over rounds
declare -A F L R K C
while IFS=$'\t' read -r kind k v; do
    case $kind in F) F[$k]=$v ;; L) L[$k]=$v ;; R) R[$k]=$v ;; K) K[$k]=$v ;; C) C[$k]=$v ;; esac
done < <(awk '
    $2 == "RESULT" { for (i = 5; i <= NF; i++) { n = index($i, "="); if (!n) continue
            k = $1 "|" $3 "|" $4 "|" substr($i, 1, n - 1)
            if (!(k in cnt)) order[++nk] = k
            vals[k, ++cnt[k]] = substr($i, n + 1)
            if (cnt[k] > rounds[$1]) rounds[$1] = cnt[k] }
        next }
    $2 == "COUNTER" { side = ""; delete b; delete a
        for (i = 5; i <= NF; i++) { if ($i == "before" || $i == "after") { side = $i; continue }
            n = index($i, "="); if (!n) continue; k = substr($i, 1, n - 1); v = substr($i, n + 1)
            if (side == "before") b[k] = v; else a[k] = v }
        for (k in a) if (k in b) { ck = $1 "|" $3 "|" $4 "|" k; if (!(ck in csum)) corder[++nc] = ck; csum[ck] += a[k] - b[k] }
        next }
    $2 ~ /^(VERSION|RNG|INPUT|HOST)$/ { for (i = 3; i <= NF; i++) { n = index($i, "="); if (n) printf "K\t%s|%s||%s\t%s\n", $1, $2, substr($i, 1, n - 1), substr($i, n + 1) } next }
    $2 ~ /^(SYSCALLS|ALLOC)$/ { for (i = 4; i <= NF; i++) { n = index($i, "="); if (n) printf "K\t%s|%s|%s|%s\t%s\n", $1, $2, $3, substr($i, 1, n - 1), substr($i, n + 1) } next }
    END {
        for (j = 1; j <= nk; j++) {
            k = order[j]; n = cnt[k]; list = vals[k, 1]
            for (i = 2; i <= n; i++) list = list " " vals[k, i]
            printf "L\t%s\t%s\n", k, list
            if (k ~ /[|]verify$/) {
                v = vals[k, 1]; for (i = 2; i <= n && v == "ok"; i++) v = vals[k, i]
                printf "F\t%s\t%s\n", k, v; continue
            }
            # The median by value; printed as written.
            for (i = 1; i <= n; i++) idx[i] = i
            for (i = 2; i <= n; i++)
                for (m = i; m > 1 && vals[k, idx[m - 1]] + 0 > vals[k, idx[m]] + 0; m--) { t = idx[m]; idx[m] = idx[m - 1]; idx[m - 1] = t }
            printf "F\t%s\t%s\n", k, vals[k, idx[int((n + 1) / 2)]]
        }
        # %.0f: a sum beyond 2^31 would otherwise print as %.6g (bytes bounced).
        for (j = 1; j <= nc; j++) printf "C\t%s\t%.0f\n", corder[j], csum[corder[j]]
        for (r in rounds) printf "R\t%s\t%s\n", r, rounds[r]
    }
' "$all")
# field RUN SUBJECT WORKLOAD KEY: a value of a RESULT line (empty if none).
field() { echo "${F[$1|$2|$3|$4]:-}"; }
# kv RUN PREFIX KEY [SUBJECT]: a value of another line kind.
kv() { echo "${K[$1|$2|${4:-}|$3]:-}"; }
# counter RUN SUBJECT WORKLOAD NAME: after - before of a COUNTER line.
counter() { echo "${C[$1|$2|$3|$4]:-}"; }
# ratio A B: A/B with two decimals (integer arithmetic: the inputs are integers), empty
# when either is missing or B is 0.
ratio() {
    [[ -n $1 && -n $2 && $2 != 0 ]] || { echo ""; return; }
    local r=$(( ($1 * 1000 / $2 + 5) / 10 ))
    printf '%d.%02d\n' $((r / 100)) $((r % 100))
}
# grouped N: N with thousands separators ("-" when empty).
grouped() {
    [[ -n $1 ]] || { echo "-"; return; }
    local s=${1%%.*} o=
    while (( ${#s} > 3 )); do o=,${s: -3}$o; s=${s:0:${#s}-3}; done
    echo "$s$o"
}
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# num V: V, or null when empty.
num() { [[ -n $1 ]] && echo "$1" || echo null; }

rc=0
# ---- checks: every expected subject set up, measured on every workload, verified -------
for run in "${RUNS[@]}"; do
    if grep -q "^$run RESULT .*failed=" "$all"; then
        grep "^$run RESULT .*failed=" "$all" | sed 's/^/report: /' >&2
        rc=1
    fi
    for s in $(expected "$run"); do
        for w in $WORKLOADS; do
            if [[ -z ${F[$run|$s|$w|iops]:-} ]]; then echo "report: $run: $s has no $w result" >&2; rc=1; fi
        done
        v=$(field "$run" "$s" verify-64k verify)
        [[ $v == ok ]] || { echo "report: $run: $s verify pass: ${v:-missing}" >&2; rc=1; }
    done
    # p must have polled: at queue depth 1 its requests complete without interrupts (a
    # poll queue asks for none). Otherwise its numbers are g's under another name.
    if [[ " $(expected "$run") " == *" p-polled "* ]]; then
        k=${C[$run|p-polled|randread-4k-qd1|kicks]:-0} i=${C[$run|p-polled|randread-4k-qd1|interrupts]:-}
        if [[ -z $i ]] || (( k == 0 || i * 10 > k )); then
            echo "report: $run: p-polled was not polled (randread-4k-qd1: ${i:-no} interrupts for $k kicks)" >&2; rc=1
        fi
    fi
    grep -q "^$run VERSION " "$all" || { echo "report: $run: no VERSION line" >&2; rc=1; }
    case $run in loopback|arm64)
        for k in RNG INPUT; do grep -q "^$run $k " "$all" || { echo "report: $run: no $k line" >&2; rc=1; }; done ;;
    esac
done

# The tables: columns are RUN:SUBJECT, ratios NUM/DEN over the same columns' keys.
# Each is "name|title|columns|ratios".
TABLES=()
# rounds_of RUN: how many rounds the run measured; in_rounds RUN: a title's "one ... run" or
# "N ... rounds".
rounds_of() { echo "${R[$1]:-1}"; }
in_rounds() { local n; n=$(rounds_of "$1"); (( n > 1 )) && echo "$n interleaved rounds" || echo "one interleaved run"; }
has_run peers && TABLES+=("peers|Peer table: Debian 6.12 amd64, $(in_rounds peers)|peers:a-brd peers:b-ours peers:g-poll peers:p-polled peers:c-qsd peers:e-vduse peers:f-nbd|peers:b-ours/peers:e-vduse peers:b-ours/peers:f-nbd peers:c-qsd/peers:e-vduse peers:b-ours/peers:a-brd peers:g-poll/peers:b-ours peers:p-polled/peers:b-ours")
if has_run loopback || has_run vm; then
    cols= rats=
    has_run loopback && { cols="loopback:a-brd loopback:b-ours loopback:g-poll loopback:c-qsd"; rats="loopback:b-ours/loopback:c-qsd loopback:b-ours/loopback:a-brd loopback:g-poll/loopback:b-ours"; }
    has_run vm && cols="$cols vm:d-vm"
    TABLES+=("linux61|Debian 6.1 amd64: the loopback (one run) and the VM path (another guest)|$cols|$rats")
fi
has_run arm64 && TABLES+=("arm64|Debian 6.1 arm64 (qemu-system-aarch64 -M virt), $(in_rounds arm64)|arm64:a-brd arm64:b-ours arm64:g-poll arm64:c-qsd|arm64:b-ours/arm64:c-qsd arm64:b-ours/arm64:a-brd arm64:c-qsd/arm64:a-brd arm64:g-poll/arm64:b-ours")
has_run engines && TABLES+=("engines-ext4|Debian 6.1 amd64, images on ext4 on a virtio disk (a host file, cache=none): our I/O engines, buffered and direct|engines:t-threads@ext4 engines:h-uring@ext4 engines:o-direct@ext4 engines:c-qsd@ext4 engines:q-qsd-direct@ext4|engines:h-uring@ext4/engines:t-threads@ext4 engines:h-uring@ext4/engines:c-qsd@ext4 engines:o-direct@ext4/engines:h-uring@ext4 engines:o-direct@ext4/engines:q-qsd-direct@ext4")
has_run engines && TABLES+=("engines-tmpfs|Debian 6.1 amd64, the same guest, images on tmpfs|engines:b-ours@tmpfs engines:h-uring@tmpfs engines:t-threads@tmpfs engines:c-qsd@tmpfs|engines:h-uring@tmpfs/engines:b-ours@tmpfs engines:h-uring@tmpfs/engines:t-threads@tmpfs engines:b-ours@tmpfs/engines:c-qsd@tmpfs")
col_run() { echo "${1%%:*}"; }
col_subj() { echo "${1#*:}"; }
ratio_label() { local n=${1%%/*} d=${1#*/}; n=$(col_subj "$n"); d=$(col_subj "$d"); echo "${n%%-*}/${d%%-*}"; }
# measure WORKLOAD: the key a workload is compared by (IOPS, or bandwidth for 1 MiB and verify).
measure() { case $1 in *-1m|verify*) echo bw_kib ;; *) echo iops ;; esac; }
# shown WORKLOAD V: V as the tables show it (MiB/s for bandwidth), grouped.
shown() { local v=$2; [[ -z $v || $(measure "$1") == iops ]] || v=$(( v / 1024 )); grouped "$v"; }
ratio_value() { # RATIO WORKLOAD
    local n=${1%%/*} d=${1#*/} k
    k=$(measure "$2")
    ratio "${F[${n%%:*}|${n#*:}|$2|$k]:-}" "${F[${d%%:*}|${d#*:}|$2|$k]:-}"
}
# round_ratios RATIO WORKLOAD: the ratio in each round, space-separated (rounds pair up
# by position: round i of each subject ran in the same round of the guest).
round_ratios() {
    local n=${1%%/*} d=${1#*/} k i out=
    k=$(measure "$2")
    read -ra nv <<<"${L[${n%%:*}|${n#*:}|$2|$k]:-}"
    read -ra dv <<<"${L[${d%%:*}|${d#*:}|$2|$k]:-}"
    for i in "${!nv[@]}"; do out+="${out:+ }$(ratio "${nv[$i]}" "${dv[$i]:-}")"; done
    echo "$out"
}

# ---- results.md ----------------------------------------------------------------------
kernel_of() { kv "$1" VERSION kernel; }
# subjects_header: a table's first two lines, one column per subject of $cols.
subjects_header() {
    local line="| workload" sep="|---" c
    for c in $cols; do line="$line | $(label "${c#*:}")"; sep="$sep|---"; done
    echo "$line |"; echo "$sep|"
}
{
    [[ -z ${BENCH_NOTE:-} ]] || { echo "**Note: $BENCH_NOTE**"; echo; }
    echo "Run of $date: ${rt} s per workload after ${ramp} s of warm-up, ${size} MiB disks, images on the guest's tmpfs;"
    echo "host: $(kv host HOST cpus) CPUs ($(sed -n 's/^host MODEL //p' "$all")), Linux $(kv host HOST kernel), QEMU $(kv host HOST qemu) (TCG)."
    for run in "${RUNS[@]}"; do
        echo "- $run: kernel $(kernel_of "$run") $(kv "$run" VERSION arch), $(kv "$run" VERSION cpus) vCPUs, fio $(kv "$run" VERSION fio)$(v=$(kv "$run" VERSION qsd); [[ -z $v ]] || echo ", qemu-storage-daemon $v")$(v=$(kv "$run" VERSION qemu_nbd); [[ -z $v ]] || echo ", qemu-nbd $v")$(v=$(kv "$run" VERSION nbd_client); [[ -z $v ]] || echo ", nbd-client $v")"
    done
    for t in "${TABLES[@]}"; do
        IFS='|' read -r name title cols rats <<<"$t"
        echo
        echo "### $title"
        echo
        nr=$(rounds_of "$(col_run "${cols%% *}")")
        if (( nr > 1 )); then
            echo "IOPS (4 KiB) or MiB/s (1 MiB, verified 64 KiB writes), each the median of $nr rounds; ratios of the medians. Every round's figure follows the tables."
        else
            echo "IOPS (4 KiB) or MiB/s (1 MiB, verified 64 KiB writes); ratios of the same."
        fi
        echo
        line="| workload"; sep="|---"
        for c in $cols; do line="$line | $(label "${c#*:}")"; sep="$sep|---"; done
        for r in $rats; do line="$line | $(ratio_label "$r")"; sep="$sep|---"; done
        echo "$line |"; echo "$sep|"
        for w in $WORKLOADS; do
            line="| $w"
            for c in $cols; do
                run=${c%%:*} s=${c#*:}
                v=$(shown "$w" "${F[$run|$s|$w|$(measure "$w")]:-}")
                [[ ${F[$run|$s|$w|verify]:-} != failed ]] || v="$v VERIFY FAILED"
                line="$line | $v"
            done
            for r in $rats; do line="$line | $(ratio_value "$r" "$w")"; done
            echo "$line |"
        done
        if [[ $name == peers ]]; then
            # The peer table's claim: b at least as fast as e and f on every workload.
            behind=
            for w in $WORKLOADS; do
                for r in peers:b-ours/peers:e-vduse peers:b-ours/peers:f-nbd; do
                    v=$(ratio_value "$r" "$w")
                    [[ -n $v && ${v%%.*} == 0 ]] && behind+="${behind:+, }$w $(ratio_label "$r") $v"
                done
            done
            echo
            echo "b behind a peer: ${behind:-none}."
            if (( nr > 1 )); then
                # The same claim round by round.
                trailed=
                for w in $WORKLOADS; do
                    for r in peers:b-ours/peers:e-vduse peers:b-ours/peers:f-nbd; do
                        i=0
                        for v in $(round_ratios "$r" "$w"); do
                            i=$((i + 1))
                            [[ ${v%%.*} == 0 ]] && trailed+="${trailed:+, }$w $(ratio_label "$r") $v (round $i)"
                        done
                    done
                done
                echo "Rounds in which b trailed a peer: ${trailed:-none}."
            fi
        fi
        echo
        echo "Latency at queue depth 1, µs: mean (p99), submission to completion$( (( nr > 1 )) && echo "; medians of the rounds")."
        echo
        subjects_header
        for w in randread-4k-qd1 randwrite-4k-qd1; do
            line="| $w"
            for c in $cols; do
                run=${c%%:*} s=${c#*:}
                line="$line | ${F[$run|$s|$w|lat_us]:-} (${F[$run|$s|$w|p99_us]:-})"
            done
            echo "$line |"
        done
        echo
        echo "Guest CPU per request, µs of busy vCPU time (busy share of all vCPUs)$( (( nr > 1 )) && echo "; medians of the rounds")."
        echo
        subjects_header
        for w in $WORKLOADS; do
            line="| $w"
            for c in $cols; do
                run=${c%%:*} s=${c#*:}
                line="$line | ${F[$run|$s|$w|cpu_us]:-} (${F[$run|$s|$w|cpu_pct]:-} %)"
            done
            echo "$line |"
        done
        if (( nr > 1 )); then
            echo
            echo "Every round, in order: IOPS or MiB/s (the first table's medians come from these)."
            echo
            subjects_header
            for w in $WORKLOADS; do
                line="| $w"
                for c in $cols; do
                    vs=
                    for v in ${L[${c%%:*}|${c#*:}|$w|$(measure "$w")]:-}; do vs+="${vs:+ / }$(shown "$w" "$v")"; done
                    line="$line | ${vs:--}"
                done
                echo "$line |"
            done
        fi
    done
    for run in "${RUNS[@]}"; do
        case " $(expected "$run") " in *" b-ours "*) ;; *) continue ;; esac
        echo
        echo "### Loopback accounting for b, run $run (module counters per request)"
        echo
        nr=$(rounds_of "$run")
        echo "| workload | requests$( (( nr > 1 )) && echo " ($nr rounds)") | kicks/IO | interrupts/IO | bounced bytes/IO | pool map failures |"
        echo "|---|---|---|---|---|---|"
        for w in ${WORKLOADS% verify-64k}; do
            ios=${C[$run|b-ours|$w|requests]:-}
            k=${C[$run|b-ours|$w|kicks]:-}
            [[ -n $k && -n $ios ]] || continue
            echo "| $w | $ios | $(ratio "$k" "$ios") | $(ratio "${C[$run|b-ours|$w|interrupts]:-}" "$ios") | $(ratio "${C[$run|b-ours|$w|bounce_bytes]:-}" "$ios") | ${C[$run|b-ours|$w|pool_map_failures]:-} |"
        done
        if [[ ${C[$run|b-ours|randread-4k-qd32|time_kick_ns]:-0} != 0 ]]; then
            echo
            # ns per request / 1000: µs.
            echo "Where b's module time goes (BENCH_TIMING=1: the module's timing=1), µs per request; the driver's callback includes the unmaps it makes; the share is the module's four steps against all guest CPU time:"
            echo
            echo "| workload | kick | map | unmap | deliver | driver's callback | module | guest CPU | module share |"
            echo "|---|---|---|---|---|---|---|---|---|"
            for w in ${WORKLOADS% verify-64k}; do
                ios=${C[$run|b-ours|$w|requests]:-0}
                (( ios > 0 )) || continue
                t=() sum=0
                for step in kick map unmap deliver callback; do
                    v=${C[$run|b-ours|$w|time_${step}_ns]:-0}
                    t+=("$(ratio "$v" $((ios * 1000)))")
                    [[ $step == callback ]] || sum=$((sum + v))
                done
                busy=$(( ${C[$run|b-ours|$w|busy]:-0} * 10000000 ))
                echo "| $w | ${t[0]} | ${t[1]} | ${t[2]} | ${t[3]} | ${t[4]} | $(ratio "$sum" $((ios * 1000))) | $(ratio "$busy" $((ios * 1000))) | $(( busy > 0 ? sum * 100 / busy : 0 )) % |"
            done
        fi
        if grep -q "^$run SYSCALLS " "$all"; then
            echo
            echo "Adapter system calls during all of b's workloads$( (( nr > 1 )) && echo " of the last round") ($(kv "$run" SYSCALLS seconds b-ours) s, $(kv "$run" SYSCALLS requests b-ours) requests): $(kv "$run" SYSCALLS adapter_calls b-ours) in all ($(kv "$run" SYSCALLS calls b-ours)); epoll_wait is the loop's 250 ms housekeeping tick."
        fi
        if grep -q "^$run ALLOC " "$all"; then
            echo "vhost-user-blk managed allocations during all of b's workloads$( (( nr > 1 )) && echo " of the last round"): $(kv "$run" ALLOC bytes b-ours) bytes (after subtracting $(kv "$run" ALLOC sample_cost b-ours) bytes that taking one sample costs)."
        fi
    done
    for run in "${RUNS[@]}"; do
        grep -q "^$run RNG " "$all" || continue
        echo
        echo "$run: rng through the loopback: $(kv "$run" RNG bytes_per_s) bytes/s, $(kv "$run" RNG read_us) µs per 64-byte read;" \
            "input (uinput write to virtio-input read, $(kv "$run" INPUT events) events): p50 $(kv "$run" INPUT p50_us) µs, p99 $(kv "$run" INPUT p99_us) µs, max $(kv "$run" INPUT max_us) µs."
    done
} >"$out/results.md"

# ---- results.json --------------------------------------------------------------------
{
    echo "{"
    echo "  \"date\": $(json_str "$date"), \"runtime_s\": $rt, \"ramp_s\": $ramp, \"size_mb\": $size,"
    [[ -z ${BENCH_NOTE:-} ]] || echo "  \"note\": $(json_str "$BENCH_NOTE"),"
    echo "  \"host\": {\"kernel\": $(json_str "$(kv host HOST kernel)"), \"cpus\": $(num "$(kv host HOST cpus)"), \"cpu_model\": $(json_str "$(sed -n 's/^host MODEL //p' "$all")"), \"debian\": $(json_str "$(kv host HOST debian)"), \"qemu\": $(json_str "$(kv host HOST qemu)"), \"qemu_aarch64\": $(json_str "$(kv host HOST qemu_aarch64)"), \"accel\": \"tcg\"},"
    echo "  \"runs\": {"
    rsep=
    for run in "${RUNS[@]}"; do
        printf '%s    %s: {\n' "$rsep" "$(json_str "$run")"; rsep=$',\n'
        printf '      "kernel": %s, "arch": %s, "vcpus": %s, "rounds": %s,\n' "$(json_str "$(kernel_of "$run")")" "$(json_str "$(kv "$run" VERSION arch)")" "$(num "$(kv "$run" VERSION cpus)")" "$(rounds_of "$run")"
        printf '      "versions": {"fio": %s' "$(json_str "$(kv "$run" VERSION fio)")"
        for k in qsd qemu_nbd nbd_client; do v=$(kv "$run" VERSION $k); [[ -z $v ]] || printf ', "%s": %s' "$k" "$(json_str "$v")"; done
        printf '},\n'
        printf '      "blk": {'
        bsep=
        for s in $(expected "$run"); do
            for w in $WORKLOADS; do
                iops=${F[$run|$s|$w|iops]:-}
                [[ -n $iops ]] || continue
                printf '%s\n        %s: {"iops": %s, "bw_kib": %s, "lat_us": %s, "p99_us": %s, "requests": %s, "cpu_us_per_request": %s, "cpu_busy_pct": %s' \
                    "$bsep" "\"$s/$w\"" "$iops" "${F[$run|$s|$w|bw_kib]:-null}" "${F[$run|$s|$w|lat_us]:-null}" \
                    "${F[$run|$s|$w|p99_us]:-null}" "${F[$run|$s|$w|ios]:-null}" \
                    "${F[$run|$s|$w|cpu_us]:-null}" "${F[$run|$s|$w|cpu_pct]:-null}"
                bsep=,
                v=${F[$run|$s|$w|verify]:-}; [[ -z $v ]] || printf ', "verify": %s' "$(json_str "$v")"
                if (( $(rounds_of "$run") > 1 )); then
                    for k in iops bw_kib lat_us cpu_us; do
                        printf ', "%s_rounds": [%s]' "$k" "$(sed 's/ /, /g' <<<"${L[$run|$s|$w|$k]:-}")"
                    done
                fi
                ios=${C[$run|$s|$w|requests]:-}; k=${C[$run|$s|$w|kicks]:-}
                if [[ -n $k && -n $ios && $ios != 0 ]]; then
                    printf ', "kicks_per_request": %s, "interrupts_per_request": %s, "bounce_bytes_per_request": %s, "pool_map_failures": %s' \
                        "$(ratio "$k" "$ios")" "$(num "$(ratio "${C[$run|$s|$w|interrupts]:-}" "$ios")")" \
                        "$(num "$(ratio "${C[$run|$s|$w|bounce_bytes]:-}" "$ios")")" "$(num "${C[$run|$s|$w|pool_map_failures]:-}")"
                fi
                printf '}'
            done
        done
        printf '\n      }'
        if grep -q "^$run RNG " "$all"; then
            printf ',\n      "rng": {"bytes_per_s": %s, "read_us": %s}' "$(num "$(kv "$run" RNG bytes_per_s)")" "$(num "$(kv "$run" RNG read_us)")"
            printf ',\n      "input": {"events": %s, "p50_us": %s, "p99_us": %s, "max_us": %s}' "$(num "$(kv "$run" INPUT events)")" \
                "$(num "$(kv "$run" INPUT p50_us)")" "$(num "$(kv "$run" INPUT p99_us)")" "$(num "$(kv "$run" INPUT max_us)")"
        fi
        if grep -q "^$run SYSCALLS " "$all"; then
            printf ',\n      "adapter": {"syscalls": %s, "epoll_wait": %s, "seconds": %s}' "$(num "$(kv "$run" SYSCALLS adapter_calls b-ours)")" \
                "$(num "$(kv "$run" SYSCALLS epoll_wait b-ours)")" "$(num "$(kv "$run" SYSCALLS seconds b-ours)")"
        fi
        if grep -q "^$run ALLOC " "$all"; then
            printf ',\n      "backend_alloc_bytes": {"b-ours": %s}' "$(num "$(kv "$run" ALLOC bytes b-ours)")"
        fi
        printf '\n    }'
    done
    printf '\n  },\n'
    echo "  \"ratios\": {"
    tsep=
    for t in "${TABLES[@]}"; do
        IFS='|' read -r name title cols rats <<<"$t"
        [[ -n $rats ]] || continue
        printf '%s    %s: {' "$tsep" "$(json_str "$name")"; tsep=$',\n'
        wsep=
        for w in $WORKLOADS; do
            printf '%s\n      %s: {' "$wsep" "$(json_str "$w")"; wsep=,
            isep=
            for r in $rats; do printf '%s%s: %s' "$isep" "$(json_str "$(ratio_label "$r")")" "$(num "$(ratio_value "$r" "$w")")"; isep=', '; done
            printf '}'
        done
        printf '\n    }'
    done
    printf '\n  }\n}\n'
} >"$out/results.json"

# ---- charts ---------------------------------------------------------------------------
if command -v gnuplot >/dev/null; then
    for t in "${TABLES[@]}"; do
        IFS='|' read -r name title cols rats <<<"$t"
        case $name in peers) short="peer table" ;; linux61) short="loopback and VM path" ;; *) short=$name ;; esac
        kernels=$(for c in $cols; do kernel_of "${c%%:*}"; done | sort -u | paste -sd, | sed 's/,/, /g')
        titles=(); for c in $cols; do titles+=("$(label "${c#*:}")"); done
        # data FILE KEY SCALE WORKLOAD...: one row per workload, one column per subject.
        data() {
            local f=$1 k=$2 scale=$3 w c v; shift 3
            for w in "$@"; do
                printf '%s' "$w"
                for c in $cols; do v=${F[${c%%:*}|${c#*:}|$w|$k]:-0}; printf ' %s' $(( ${v%%.*} / scale )); done
                echo
            done >"$f"
        }
        data "$tmp/iops" iops 1 randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32
        data "$tmp/bw" bw_kib 1024 read-1m write-1m verify-64k
        data "$tmp/cpu" cpu_us 1 randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32
        # Latency: mean, and a whisker from the mean to p99.
        for w in randread-4k-qd1 randwrite-4k-qd1; do
            printf '%s' "$w"
            for c in $cols; do
                m=${F[${c%%:*}|${c#*:}|$w|lat_us]:-}; p=${F[${c%%:*}|${c#*:}|$w|p99_us]:-}
                printf ' %s %s %s' "${m:-0}" "${m:-0}" "${p:-0}"
            done
            echo
        done >"$tmp/lat"
        # plot FILE TITLE YLABEL DATA COLS_PER_SUBJECT [log]
        plot() {
            local spec= i col=2 per=$5
            for i in "${!titles[@]}"; do
                local using=$col xtic=
                [[ $per == 1 ]] || using=$col:$((col + 1)):$((col + 2))
                [[ $i != 0 ]] || xtic=:xtic\(1\)
                spec+="${spec:+, }\"$4\" using $using$xtic title \"${titles[$i]}\""
                col=$((col + per))
            done
            gnuplot <<GP
set terminal pngcairo size 960,500 noenhanced
set output "$1"
set title "$2\n$short: kernel $kernels, QEMU TCG"
set ylabel "$3"
set style data histograms
set style histogram $([[ $per == 1 ]] && echo clustered || echo errorbars lw 1) gap 1
set style fill solid 0.85 border -1
set key top right
set grid ytics
$([[ ${6:-} == log ]] && echo 'set logscale y
set yrange [1:*]' || echo 'set yrange [0:*]')
plot $spec
GP
        }
        plot "$out/$name-4k-iops.png" "4 KiB random I/O" "IOPS" "$tmp/iops" 1
        plot "$out/$name-bandwidth.png" "1 MiB sequential, queue depth 4, and verified 64 KiB writes" "MiB/s" "$tmp/bw" 1
        plot "$out/$name-qd1-latency.png" "4 KiB latency at queue depth 1: mean, whisker to p99" "µs (log scale)" "$tmp/lat" 3 log
        plot "$out/$name-cpu-per-request.png" "Guest CPU per 4 KiB request (all vCPUs' busy time / requests)" "µs (log scale)" "$tmp/cpu" 1 log
    done
else
    echo "report: gnuplot missing, no charts (apt-get install gnuplot-nox)" >&2
fi
cat "$out/results.md"
exit $rc
