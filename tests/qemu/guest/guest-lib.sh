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

# ms: milliseconds since boot.
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_until() {
    _i=$(( $1 * 20 )); shift
    while [ "$_i" -gt 0 ]; do
        "$@" && return 0
        usleep 50000
        _i=$((_i - 1))
    done
    return 1
}

# within SECONDS CMD...: poll CMD every 0.2 s until it succeeds, for at most
# SECONDS of uptime (wait_until counts tries, which a loaded TCG guest
# stretches many times over).
within() {
    _end=$(( $(ms) + $1 * 1000 )); shift
    while :; do
        "$@" && return 0
        [ "$(ms)" -lt $_end ] || return 1
        usleep 200000
    done
}

# show FILE [LINES]: the tail of a log as INFO lines.
show() { sed "s|^|INFO $(basename "$1"): |" "$1" | tail -n "${2:-40}"; }

# lb_counters [PREFIX]: an INFO line per loopback device with its counters.
lb_counters() {
    for _d in /sys/devices/virtual/misc/virtio-loopback/virtio-loopback.*; do
        [ -e "$_d/kicks" ] || continue
        info "${1:-}${_d##*/}: kicks $(cat "$_d/kicks") interrupts $(cat "$_d/interrupts")" \
            "pool_used $(cat "$_d/pool_used") violations $(cat "$_d/violations")"
    done
}

# watchdog SECONDS LOG[:LINES]...: in the background, after SECONDS of a
# run that has not ended, print what a hang needs to be explained: the logs'
# tails, each loopback device's counters, every task that is not running
# with its kernel stack, and the kernel log (blocked tasks dumped by sysrq w).
# Sets WATCHDOG_PID; kill it when the run ends. SECONDS must stay below the
# host's GUEST_TIMEOUT, or nothing is printed.
watchdog() {
    _secs=$1; shift
    (
        sleep "$_secs"
        echo "INFO watchdog: still running after $_secs s"
        for _l in "$@"; do show "${_l%%:*}" "$(echo "$_l:40" | cut -d: -f2)"; done
        lb_counters "watchdog: "
        for _t in /proc/[0-9]*/task/[0-9]*; do
            _st=$(sed -n 's/^State:\t\(.\).*/\1/p' "$_t/status" 2>/dev/null)
            case $_st in R|S|I|"") continue ;; esac
            info "watchdog: task ${_t#/proc/} $(cat "$_t/comm" 2>/dev/null) state $_st:" \
                "$(sed 's/ .*//' "$_t/stack" 2>/dev/null | tr '\n' ' ')"
        done
        { echo w >/proc/sysrq-trigger; } 2>/dev/null
        dmesg | tail -n 60 | sed 's/^/INFO dmesg: /'
    ) &
    WATCHDOG_PID=$!
}

# blk_by_sectors SECTORS: the /dev/vdX whose size is SECTORS (empty if none).
blk_by_sectors() {
    for _b in /sys/block/vd*; do
        [ -e "$_b/size" ] && [ "$(cat "$_b/size")" = "$1" ] && { echo "/dev/${_b##*/}"; return 0; }
    done
    return 1
}

# blk_raw_check NAME DEV: 4 MiB of random data written with O_DIRECT at 4 MiB
# and read back uncached; PASS when the sha256 matches.
blk_raw_check() {
    head -c 4194304 /dev/urandom >/tmp/raw.$1
    _want=$(sha /tmp/raw.$1); _got=none
    if dd if=/tmp/raw.$1 of="$2" bs=64k seek=64 oflag=direct conv=fsync 2>/tmp/dd.$1 \
        && dd if="$2" of=/tmp/raw.$1.back bs=64k skip=64 count=64 iflag=direct 2>>/tmp/dd.$1; then
        _got=$(sha /tmp/raw.$1.back)
    fi
    if [ "$_got" = "$_want" ]; then pass "$1" "$2: 4 MiB O_DIRECT at 4 MiB read back, sha256 $_want"
    else fail "$1" "$2: want $_want got $_got: $(tail -n 1 /tmp/dd.$1)"; fi
}

# blk_fs_check NAME DEV: mkfs.ext2, a 3 MB file and eight 100 kB files,
# sync, unmount, drop caches, remount, compare every sha256.
blk_fs_check() {
    head -c 3000000 /dev/urandom >/tmp/payload.$1
    head -c 100000 /dev/urandom >/tmp/small.$1
    _want=$(sha /tmp/payload.$1); _swant=$(sha /tmp/small.$1); _got=none; _sok=0
    mkdir -p /mnt/$1
    if mke2fs -q "$2" >/tmp/mkfs.$1 2>&1 && mount -t ext2 "$2" /mnt/$1 && cp /tmp/payload.$1 /mnt/$1/payload \
        && mkdir /mnt/$1/dir && for _i in 1 2 3 4 5 6 7 8; do cp /tmp/small.$1 /mnt/$1/dir/f$_i || return 1; done \
        && sync && umount /mnt/$1; then
        echo 3 >/proc/sys/vm/drop_caches
        if mount -t ext2 "$2" /mnt/$1; then
            _got=$(sha /mnt/$1/payload); _sok=1
            for _i in 1 2 3 4 5 6 7 8; do [ "$(sha /mnt/$1/dir/f$_i)" = "$_swant" ] || _sok=0; done
            umount /mnt/$1
        fi
    fi
    if [ "$_got" = "$_want" ] && [ $_sok = 1 ]; then pass "$1" "$2: ext2, 3000000 + 8 x 100000 bytes, remounted, sha256 match"
    else fail "$1" "$2: want $_want got $_got, small files ok=$_sok: $(tail -n 2 /tmp/mkfs.$1)"; fi
}

# rng_check NAME: two 4 KiB reads of /dev/hwrng from virtio_rng differ and
# use more than 200 distinct byte values.
rng_check() {
    echo virtio_rng >/sys/class/misc/hw_random/rng_current 2>/dev/null ||
        grep -o 'virtio_rng[.0-9]*' /sys/class/misc/hw_random/rng_available | head -n 1 >/sys/class/misc/hw_random/rng_current
    timeout 30 head -c 4096 /dev/hwrng >/tmp/r1.$1
    timeout 30 head -c 4096 /dev/hwrng >/tmp/r2.$1
    _s1=$(wc -c </tmp/r1.$1); _s2=$(wc -c </tmp/r2.$1)
    _h1=$(sha /tmp/r1.$1); _h2=$(sha /tmp/r2.$1)
    _d=$(od -An -v -tx1 /tmp/r1.$1 | tr -s ' \n' '\n' | sed '/^$/d' | sort -u | wc -l)
    if [ "$_s1" = 4096 ] && [ "$_s2" = 4096 ] && [ "$_h1" != "$_h2" ] && [ "$_d" -gt 200 ]; then
        pass "$1" "2 x 4096 bytes from /dev/hwrng ($(cat /sys/class/misc/hw_random/rng_current)), different, $_d distinct byte values"
    else
        fail "$1" "sizes $_s1/$_s2, sha $_h1/$_h2, $_d distinct values, current $(cat /sys/class/misc/hw_random/rng_current)"
    fi
}

# ---- uinput-feeder on a fifo (tests/tools/uinput-feeder --commands) ------
# feeder_start DIR: start the feeder; its answers go to DIR/feeder.out.
# feed CMD [SECONDS]: send one command and wait for its OK (1 on ERR/timeout).
feeder_start() {
    FEED_DIR=$1; mkdir -p "$FEED_DIR"
    mkfifo "$FEED_DIR/feeder.in"
    uinput-feeder --commands <"$FEED_DIR/feeder.in" >"$FEED_DIR/feeder.out" 2>"$FEED_DIR/feeder.err" &
    FEED_PID=$!
    exec 3>"$FEED_DIR/feeder.in"
    FEED_ANSWERS=0
}
feed_send() { echo "$*" >&3; FEED_ANSWERS=$((FEED_ANSWERS + 1)); }
feed_wait() {
    _i=$(( ${1:-30} * 20 ))
    while [ "$_i" -gt 0 ]; do
        if [ "$(grep -cE '^(OK|ERR) ' "$FEED_DIR/feeder.out")" -ge "$FEED_ANSWERS" ]; then
            grep -E '^(OK|ERR) ' "$FEED_DIR/feeder.out" | tail -n 1 | grep -q '^OK '
            return
        fi
        usleep 50000
        _i=$((_i - 1))
    done
    echo "INFO feeder: no answer within ${1:-30} s"
    return 1
}
feed() { feed_send "$1"; feed_wait "$2"; }

# not_there PATH: PATH does not exist.
not_there() { [ ! -e "$1" ]; }

# virtio_events: the event nodes whose input device sits on the virtio bus.
virtio_events() {
    for _e in /sys/class/input/event*; do
        readlink -f "$_e/device" | grep -q '/virtio[0-9]*/' && echo "/dev/input/${_e##*/}"
    done
}

# virtio_event: the first of them; fails when there is none.
virtio_event() { virtio_events | head -n 1 | grep .; }

# violations: the module's rule-violation count summed over its devices
# ("no-counter" when it exposes none).
violations() {
    cat /sys/devices/virtual/misc/virtio-loopback/virtio-loopback.*/violations 2>/dev/null |
        awk '{ s += $1; n++ } END { print n ? s : "no-counter" }'
}

# lb_alive NAME BACKEND_PID ADAPTER_PID BACKEND_LOG: a loopback guest's back
# end and adapter still run and the module counted no rule violation.
lb_alive() {
    _viol=$(violations)
    if kill -0 "$2" 2>/dev/null && kill -0 "$3" 2>/dev/null && [ "$_viol" = 0 ]; then
        pass "$1" "back end and adapter running, 0 rule violations"
    else
        fail "$1" "back end $(kill -0 "$2" 2>/dev/null && echo up || echo gone), adapter $(kill -0 "$3" 2>/dev/null && echo up || echo gone), violations $_viol"
        show "$4"
    fi
}

# lb_sigterm ADAPTER_PID ADAPTER_LOG BACKEND_PID BACKEND_LOG: the adapter,
# then the back end, get SIGTERM and must exit 0 (lb_adapter_sigterm,
# lb_backend_sigterm).
lb_sigterm() {
    kill -TERM "$1"; wait "$1"; _rc=$?
    if [ $_rc = 0 ]; then pass lb_adapter_sigterm "adapter exit 0 on SIGTERM"; else fail lb_adapter_sigterm "exit $_rc"; show "$2"; fi
    kill -TERM "$3"; wait "$3"; _rc=$?
    if [ $_rc = 0 ]; then pass lb_backend_sigterm "back end exit 0 on SIGTERM"; else fail lb_backend_sigterm "exit $_rc"; show "$4"; fi
}
