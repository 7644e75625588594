#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The checks of the installed system, run inside the booted Debian root file
# system (systemd as PID 1) by vl-system-test.service once the boot is done.
# Everything under test came from `make install`; this script, the test
# config input1.conf, its udev rule and the test tools are the only additions.
# Output: RESULT/DATA/INFO lines on the console (tests/qemu/lib.sh check_log).
#
# EXPECT: boot_state module_autoload units_started hwrng blk_disk blk_scheduler blk_image udev_modes hidraw_mode
# EXPECT: unprivileged blk_restart input_idle input_hotplug input_events journal_priorities
# EXPECT: stop_removes start_again adapter_stop_removes
set -u
export PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin
export SYSTEMD_PAGER= SYSTEMD_COLORS=0

pass() { local n=$1; shift; echo "RESULT $n PASS $*"; }
fail() { local n=$1; shift; echo "RESULT $n FAIL $*"; }
data() { echo "DATA $1 $2"; }
info() { echo "INFO $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# wait_until SECONDS CMD...: poll CMD every 100 ms.
wait_until() {
    local n=$(( $1 * 10 )); shift
    while (( n-- > 0 )); do "$@" && return 0; sleep 0.1; done
    return 1
}
active() { [[ $(systemctl is-active "$1") == active ]]; }
inactive() { [[ $(systemctl is-active "$1") != active && $(systemctl is-active "$1") != activating ]]; }
main_pid() { systemctl show -P MainPID "$1"; }
# mode PATH: "owner group octal-mode"
mode() { stat -L -c '%U %G %a' "$1" 2>/dev/null; }
# loopback_virtio: the virtio devices whose parent is a virtio-loopback device.
loopback_virtio() {
    local d
    for d in /sys/bus/virtio/devices/*; do
        [[ -e $d ]] || continue
        [[ $(readlink -f "$d") == */virtio-loopback* ]] && basename "$d"
    done
}
# node_of_virtio_input NAME: the /dev/input/eventN of a virtio-input device with that name.
virtio_input_node() {
    local e
    for e in /sys/class/input/event*; do
        [[ $(readlink -f "$e/device") == */virtio-loopback*/virtio*/input/* ]] || continue
        [[ $(cat "$e/device/name") == "$1" ]] && { echo "/dev/input/${e##*/}"; return 0; }
    done
    return 1
}
loopback_disk() { readlink -f /dev/disk/by-id/virtio-virtio-loopback-blk0 2>/dev/null; }

echo "GUEST-START $(uname -r) $(nproc) cpus uptime $(uptime_s)"
rc=0

# ---- the boot as a whole ----
state=$(timeout 180 systemctl is-system-running --wait 2>&1)
if [[ $state == running ]]; then
    pass boot_state "systemctl is-system-running: running at $(uptime_s) s"
else
    fail boot_state "system is '$state'; failed units: $(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
fi
data boot_done_s "$(uptime_s)"

# ---- virtio_loopback.ko autoloaded by systemd-modules-load ----
# (It runs before journald: its messages carry its identifier, not its unit.)
if grep -q '^virtio_loopback ' /proc/modules &&
    journalctl -b -t systemd-modules-load -o cat | grep -q "Inserted module 'virtio_loopback'"; then
    pass module_autoload "virtio_loopback loaded at boot by systemd-modules-load (modules-load.d/virtio-loopback.conf)"
else
    fail module_autoload "virtio_loopback not loaded by systemd-modules-load: $(grep virtio_loopback /proc/modules | cut -d' ' -f1-3) / $(journalctl -b -t systemd-modules-load -o cat | tail -n 3 | tr '\n' ' ')"
fi

# ---- the default instances ----
bad=
for u in vhost-user-rng@rng0.socket vhost-user-blk@blk0.socket vhost-user-input@input0.socket \
         virtio-loopback-adapter@rng0.service virtio-loopback-adapter@blk0.service \
         vhost-user-rng@rng0.service vhost-user-blk@blk0.service; do
    wait_until 30 active "$u" || bad+=" $u=$(systemctl is-active "$u")"
done
if [[ -z $bad ]]; then
    pass units_started "rng0 and blk0: sockets listening, adapters and socket-activated back ends active"
else
    fail units_started "not active:$bad"
    for u in $bad; do systemctl status --no-pager -l "${u%%=*}" 2>&1 | sed 's/^/INFO status: /' | tail -n 15; done
fi

# ---- /dev/hwrng from virtio_rng, through the loopback ----
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
if wait_until 20 grep -q '^virtio_rng' /sys/class/misc/hw_random/rng_current; then
    cur=$(cat /sys/class/misc/hw_random/rng_current)
    a=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
    b=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
    ours=$(loopback_virtio | tr '\n' ' ')
    if [[ ${#a} == 128 && $a != "$b" && $a != *00000000000000000000000000000000* && -n $ours ]]; then
        pass hwrng "rng_current $cur; two 64-byte reads of /dev/hwrng differ; loopback virtio devices: $ours"
    else
        fail hwrng "rng_current $cur, reads '$a' '$b', loopback virtio devices '$ours'"
    fi
else
    fail hwrng "rng_current is '$cur', not virtio_rng (available: $(cat /sys/class/misc/hw_random/rng_available 2>/dev/null))"
fi
# Boot to hwrng: the kernel's monotonic time of the adapter's first queue start for rng0.
t=$(journalctl -b -u virtio-loopback-adapter@rng0.service -o short-monotonic --no-hostname |
    grep -m1 'Queue 0 started' | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
data boot_to_hwrng_s "${t:-unknown}"

# ---- the blk0 disk from its image ----
disk=$(wait_until 20 test -e /dev/disk/by-id/virtio-virtio-loopback-blk0 && loopback_disk)
if [[ -n $disk && -b $disk ]]; then
    size=$(blockdev --getsize64 "$disk")
    sys=$(readlink -f "/sys/class/block/${disk#/dev/}")
    if [[ $size == 67108864 && $sys == */virtio-loopback* ]]; then
        pass blk_disk "$disk (serial virtio-loopback-blk0): 64 MiB, $sys"
    else
        fail blk_disk "$disk: size $size, sysfs $sys"
    fi
else
    fail blk_disk "no /dev/disk/by-id/virtio-virtio-loopback-blk0 ($(ls /dev/vd* 2>/dev/null | tr '\n' ' '))"
fi
# 90-virtio-loopback.rules: the loopback disk without an I/O scheduler, where the kernel
# would give a single-queue disk mq-deadline.
if [[ -n $disk && -b $disk ]]; then
    q=/sys/class/block/${disk#/dev/}
    sched=$(cat "$q/queue/scheduler") hwqs=$(ls "$q/mq" | wc -l)
    if [[ $sched == *"[none]"* && $sched == *mq-deadline* && $hwqs == 1 ]]; then
        pass blk_scheduler "$disk: $sched, $hwqs hardware queue"
    else
        fail blk_scheduler "$disk: $sched (want [none], mq-deadline available), $hwqs hardware queues"
    fi
else
    fail blk_scheduler "no loopback disk"
fi
img=/var/lib/virtio-loopback/blk0/disk.img
if [[ -f $img ]]; then
    read -r owner perm alloc <<<"$(stat -L -c '%u %a %b' "$img")"
    if [[ $owner != 0 && $perm == 600 && $(stat -c %s "$img") == 67108864 ]]; then
        pass blk_image "$img created at first start: 64 MiB sparse ($alloc blocks), uid $owner (the unit's dynamic user), mode $perm"
    else
        fail blk_image "$img: uid $owner, mode $perm, size $(stat -c %s "$img")"
    fi
else
    fail blk_image "$img missing"
fi

# ---- what udev and systemd give the nodes (README "Installed files") ----
bad=
expect_mode() { local got; got=$(mode "$1"); [[ $got == "$2" ]] || bad+=" $1='$got'(want '$2')"; info "mode $1: $got"; }
expect_mode /dev/virtio-loopback "root virtio-loopback 660"
expect_mode /run/virtio-loopback "root virtio-loopback 750"
expect_mode /run/virtio-loopback/rng0.sock "root virtio-loopback 660"
expect_mode /run/virtio-loopback/blk0.sock "root virtio-loopback 660"
[[ -n $disk ]] && expect_mode "$disk" "root disk 660"
if [[ -z $bad ]]; then
    pass udev_modes "/dev/virtio-loopback root:virtio-loopback 0660, sockets 0660 in a 0750 folder, disk root:disk 0660"
else
    fail udev_modes "$bad"
fi

# ---- 91-htt-touch.rules: an HTT display's hidraw node (a uhid double) ----
modprobe uhid; modprobe hid_generic
mkfifo /tmp/htt.in
htt-double </tmp/htt.in >/tmp/htt.out 2>&1 &
htt=$!
exec 8>/tmp/htt.in
if wait_until 30 grep -q '^READY ' /tmp/htt.out; then
    hidraw=$(awk '/^READY / {print $2; exit}' /tmp/htt.out)
    got=$(mode "$hidraw")
    [[ $got == "root input 660" ]] && pass hidraw_mode "$hidraw of an HTT display (uhid double, 1b3d:14c9): root input 0660" \
        || fail hidraw_mode "$hidraw: '$got', want 'root input 660'"
else
    fail hidraw_mode "htt-double did not come up: $(tr '\n' ' ' </tmp/htt.out)"
fi
echo quit >&8; exec 8>&-; wait "$htt" 2>/dev/null

# ---- back ends and adapters run unprivileged ----
bad= vlgid=$(getent group virtio-loopback | cut -d: -f3)
for u in vhost-user-rng@rng0 vhost-user-blk@blk0 virtio-loopback-adapter@rng0 virtio-loopback-adapter@blk0; do
    pid=$(main_pid "$u.service")
    [[ $pid != 0 && -d /proc/$pid ]] || { bad+=" $u:no-process"; continue; }
    st=/proc/$pid/status
    uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st"); gid=$(awk '/^Gid:/ {print $2}' "$st")
    groups=$(awk '/^Groups:/ {$1=""; print}' "$st")
    caps="$(awk '/^CapEff:/ {print $2}' "$st") $(awk '/^CapPrm:/ {print $2}' "$st") $(awk '/^CapBnd:/ {print $2}' "$st")"
    nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st"); sec=$(awk '/^Seccomp:/ {print $2}' "$st")
    info "ps $u: $(ps -o user=,uid=,gid=,supgrp=,args= -p "$pid")"
    info "status $u: Uid $uid Gid $gid Groups '$groups' Cap(Eff Prm Bnd) $caps NoNewPrivs $nnp Seccomp $sec"
    [[ $uid =~ ^[1-9][0-9]*( [1-9][0-9]*){3}$ ]] || bad+=" $u:uid($uid)"
    [[ $gid != 0 ]] || bad+=" $u:gid0"
    [[ $caps == "0000000000000000 0000000000000000 0000000000000000" ]] || bad+=" $u:caps($caps)"
    [[ $nnp == 1 && $sec == 2 ]] || bad+=" $u:nnp=$nnp,seccomp=$sec"
    case $u in
        virtio-loopback-adapter@*) [[ " $groups " == *" $vlgid "* ]] || bad+=" $u:not-in-virtio-loopback" ;;
        *) [[ " $groups " != *" $vlgid "* ]] || bad+=" $u:in-virtio-loopback" ;;
    esac
done
if [[ -z $bad ]]; then
    pass unprivileged "back ends and adapters: non-root dynamic users, no capabilities, NoNewPrivs, seccomp; only the adapters are in virtio-loopback"
else
    fail unprivileged "$bad"
fi

# ---- systemctl restart of the blk back end under a write+verify loop ----
if [[ -n $disk ]]; then
    head -c $((8 << 20)) /dev/urandom >/tmp/pattern
    adapter_pid=$(main_pid virtio-loopback-adapter@blk0.service)
    backend_pids=$(main_pid vhost-user-blk@blk0.service)
    rm -f /tmp/stop-writing
    (
        i=0 errors=0 mismatches=0 after=0
        while :; do
            chunk=$(( i % 8 ))
            # 1 MiB at a new place each time, written and read back with O_DIRECT.
            dd if=/tmp/pattern of="$disk" bs=64k skip=$((chunk * 16)) seek=$(( (i % 48) * 16 )) count=16 \
                oflag=direct conv=fsync status=none 2>>/tmp/writer.err || errors=$((errors + 1))
            dd if="$disk" of=/tmp/readback bs=64k skip=$(( (i % 48) * 16 )) count=16 iflag=direct status=none \
                2>>/tmp/writer.err || errors=$((errors + 1))
            cmp -s /tmp/readback <(dd if=/tmp/pattern bs=64k skip=$((chunk * 16)) count=16 status=none) ||
                mismatches=$((mismatches + 1))
            i=$((i + 1))
            if [[ -e /tmp/stop-writing ]]; then after=$((after + 1)); (( after >= 4 )) && break; fi
        done
        echo "$i $errors $mismatches" >/tmp/writer.result
    ) &
    writer=$!
    restarts=0
    for n in 1 2 3; do
        sleep 2
        systemctl restart vhost-user-blk@blk0.service && restarts=$((restarts + 1))
        wait_until 20 active vhost-user-blk@blk0.service
        backend_pids+=" $(main_pid vhost-user-blk@blk0.service)"
    done
    sleep 2
    touch /tmp/stop-writing
    wait "$writer"
    read -r writes errors mismatches </tmp/writer.result
    distinct=$(tr ' ' '\n' <<<"$backend_pids" | sort -u | grep -vc '^0$')
    info "writer: $writes writes, $errors errors, $mismatches mismatches; back-end pids $backend_pids; $(head -c 300 /tmp/writer.err 2>/dev/null)"
    data blk_restart_writes "$writes"
    if [[ $restarts == 3 && $errors == 0 && $mismatches == 0 && $distinct == 4 \
          && $(main_pid virtio-loopback-adapter@blk0.service) == "$adapter_pid" && $(loopback_disk) == "$disk" ]]; then
        pass blk_restart "3 x systemctl restart vhost-user-blk@blk0 during $writes 1 MiB O_DIRECT writes+verifies: 0 errors, 0 mismatches; 4 back-end processes, the same adapter and disk"
    else
        fail blk_restart "restarts $restarts, writes $writes, errors $errors, mismatches $mismatches, back-end pids '$backend_pids', adapter pid $adapter_pid -> $(main_pid virtio-loopback-adapter@blk0.service), disk $disk -> $(loopback_disk)"
    fi
else
    fail blk_restart "no loopback disk"
fi

# ---- input: input0 (no EVDEV) stays idle; input1 comes up when its node appears ----
if inactive vhost-user-input@input0.service && inactive virtio-loopback-adapter@input0.service; then
    pass input_idle "input0 has no EVDEV: neither its back end nor its adapter runs, no node taken"
else
    fail input_idle "input0: back end $(systemctl is-active vhost-user-input@input0.service), adapter $(systemctl is-active virtio-loopback-adapter@input0.service)"
fi
modprobe uinput
mkfifo /tmp/feeder.in
uinput-feeder --name vl-test-input --commands </tmp/feeder.in >/tmp/feeder.out 2>&1 &
feeder=$!
exec 7>/tmp/feeder.in
t0=$(uptime_s)
echo create >&7
vnode=
if wait_until 20 test -e /dev/input/vl-test-input && wait_until 30 active vhost-user-input@input1.service &&
    wait_until 30 virtio_input_node vl-test-input >/dev/null; then
    vnode=$(virtio_input_node vl-test-input)
    src=$(readlink -f /dev/input/vl-test-input)
    if [[ $(evdev-inspect describe "$src") == "$(evdev-inspect describe "$vnode")" ]] &&
        [[ $(mode "$vnode") == "root input 660" ]]; then
        pass input_hotplug "uinput node $src appeared at $t0 s -> vhost-user-input@input1 started -> $vnode (virtio-input, root:input 0660) describes the same, at $(uptime_s) s"
    else
        fail input_hotplug "$vnode differs from $src or has mode '$(mode "$vnode")'"
        diff <(evdev-inspect describe "$src") <(evdev-inspect describe "$vnode") | sed 's/^/INFO diff: /' | head
    fi
else
    fail input_hotplug "node /dev/input/vl-test-input: $(ls -l /dev/input/vl-test-input 2>&1); input1 back end $(systemctl is-active vhost-user-input@input1.service), adapter $(systemctl is-active virtio-loopback-adapter@input1.service)"
    systemctl status --no-pager -l vhost-user-input@input1.service 2>&1 | sed 's/^/INFO status: /' | tail -n 15
fi
if [[ -n $vnode ]]; then
    evdev-inspect watch "$vnode" 4 20000 >/tmp/watch.out 2>&1 &
    watcher=$!
    wait_until 10 grep -q READY /tmp/watch.out
    printf 'emit 1 30 1\nsyn\nemit 1 30 0\nsyn\n' >&7
    if wait "$watcher" && [[ $(grep -c '^GOT' /tmp/watch.out) == 4 ]] && grep -q '^GOT 1 30 1' /tmp/watch.out; then
        pass input_events "KEY_A down and up through uinput -> vhost-user-input -> virtio_input: $(grep '^GOT' /tmp/watch.out | tr '\n' ';')"
    else
        fail input_events "$(tr '\n' ';' </tmp/watch.out)"
    fi
else
    fail input_events "no virtio-input node"
fi

# ---- the journal: each back end's messages at their syslog priority ----
bad= seen=
expect_journal() { # UNIT PRIORITY TEXT
    if journalctl -b -u "$1" -p "$2..$2" -o cat | grep -qF "$3"; then seen+=" $1:$2"; else bad+=" $1:$2:'$3'"; fi
}
for u in vhost-user-rng@rng0 vhost-user-blk@blk0 vhost-user-input@input1; do
    expect_journal "$u.service" info "Listening on the inherited socket fd 3 (socket activation)"
    expect_journal "$u.service" info "Front end connected"
done
expect_journal virtio-loopback-adapter@blk0.service warning "Back end lost"
expect_journal virtio-loopback-adapter@blk0.service info "Back end reconnected"
# No syslog prefix left in any text, and nothing at error or worse from our units.
raw=$(journalctl -b -u 'vhost-user-*' -u 'virtio-loopback-adapter@*' -o cat | grep -c '^<[0-7]>')
errs=$(journalctl -b -u 'vhost-user-*' -u 'virtio-loopback-adapter@*' -p err -o cat | grep -c .)
[[ $raw == 0 ]] || bad+=" $raw-lines-with-a-raw-<N>-prefix"
[[ $errs == 0 ]] || { bad+=" $errs-messages-at-err-or-worse"; journalctl -b -u 'vhost-user-*' -u 'virtio-loopback-adapter@*' -p err -o short-monotonic | sed 's/^/INFO err: /' | head; }
if [[ -z $bad ]]; then
    pass journal_priorities "info/warning entries as the programs log them:$seen; no raw <N> prefixes, nothing at err or worse"
else
    fail journal_priorities "missing or wrong:$bad"
fi
journalctl -b -u 'vhost-user-*' -u 'virtio-loopback-adapter@*' -o short-monotonic | sed 's/^/INFO journal: /' | tail -n 40

# ---- systemctl stop removes the devices ----
systemctl stop vhost-user-rng@rng0.service vhost-user-blk@blk0.service vhost-user-input@input1.service
gone() { [[ -z $(loopback_virtio) && ! -e /dev/disk/by-id/virtio-virtio-loopback-blk0 ]] && ! grep -q '^virtio_rng' /sys/class/misc/hw_random/rng_current; }
all_stopped() {
    local u
    for u in virtio-loopback-adapter@rng0 virtio-loopback-adapter@blk0 virtio-loopback-adapter@input1 \
             vhost-user-rng@rng0 vhost-user-blk@blk0 vhost-user-input@input1; do
        inactive "$u.service" || return 1
    done
    ! virtio_input_node vl-test-input >/dev/null
}
# Still so a few seconds later: an adapter that outlived its back end would
# reconnect, socket-activate it and come back.
if wait_until 20 gone && all_stopped && sleep 3 && gone && all_stopped; then
    pass stop_removes "systemctl stop of the three back ends stopped their adapters (PropagatesStopTo): no loopback virtio device, no disk, rng_current '$(cat /sys/class/misc/hw_random/rng_current)'"
else
    fail stop_removes "left: virtio [$(loopback_virtio | tr '\n' ' ')], adapters rng0 $(systemctl is-active virtio-loopback-adapter@rng0.service) blk0 $(systemctl is-active virtio-loopback-adapter@blk0.service) input1 $(systemctl is-active virtio-loopback-adapter@input1.service), back ends $(systemctl is-active vhost-user-rng@rng0.service vhost-user-blk@blk0.service vhost-user-input@input1.service | tr '\n' ' ')"
    journalctl -b -u 'virtio-loopback-adapter@input1' -u 'vhost-user-input@input1' -o short-monotonic | tail -n 20 | sed 's/^/INFO stop: /'
fi

# ---- starting the back end brings the device back; stopping the adapter removes it ----
systemctl start vhost-user-blk@blk0.service
if wait_until 30 test -e /dev/disk/by-id/virtio-virtio-loopback-blk0 && active virtio-loopback-adapter@blk0.service; then
    pass start_again "systemctl start vhost-user-blk@blk0 started its adapter (Wants=): $(loopback_disk) back"
else
    fail start_again "adapter@blk0 $(systemctl is-active virtio-loopback-adapter@blk0.service), disk $(loopback_disk)"
fi
systemctl stop virtio-loopback-adapter@blk0.service
if wait_until 20 test ! -e /dev/disk/by-id/virtio-virtio-loopback-blk0 && [[ -z $(loopback_virtio) ]]; then
    pass adapter_stop_removes "systemctl stop virtio-loopback-adapter@blk0 removed the disk; the back end is $(systemctl is-active vhost-user-blk@blk0.service)"
else
    fail adapter_stop_removes "after stopping the adapter: virtio [$(loopback_virtio | tr '\n' ' ')]"
fi

echo quit >&7
exec 7>&-
wait "$feeder" 2>/dev/null
# Kernel trouble anywhere in this boot fails the run (tests/qemu/lib.sh check_log).
dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|possible circular locking|inconsistent lock state|refcount_t:|KASAN|UBSAN' | sed 's/^/DMESG /'
echo "GUEST-END rc=$rc uptime $(uptime_s)"
