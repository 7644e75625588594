#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/run-touch-test.sh: touch-sensitivity against
# htt-double, a Matrix Orbital HTT display made with /dev/uhid (hid-generic
# gives it a hidraw node and a touch evdev node; a set of report 7 makes it
# destroy and re-create itself, like the real unit's reboot).
#
# Native path (hidraw): list, type and firmware, each allowed level set and
# read back across the reboot, refusal of unsupported levels and controller
# types (the double must never see a set), the timeout as an error, device
# selection, bad arguments.
#
# Guest path (virtio-input): vhost-user-input --hidraw serves the double's
# evdev node; the virtio-input device reaches the "guest" through
# vhost-user-probe input-relay, a user-space stand-in for the Linux
# virtio_input driver (config space -> uinput device; eventq -> uinput;
# EV_MSC/EV_LED written to the node -> statusq). touch-sensitivity finds that
# device by ids and MSC_RAW and uses the convention of the README's "Touch
# sensitivity" section. With RELAY=loopback (set by the host script) the
# guest kernel's own virtio_input drives the device through
# virtio_loopback.ko and virtio-loopback-adapter instead.
#
# EXPECT: double_create list_text list_json get_state
# EXPECT: set_high set_extra set_normal reboot_seen set_unchanged
# EXPECT: refuse_level refuse_controller gt9_high timeout_error select_device bad_args
# EXPECT: vu_backend vu_relay vu_list vu_get vu_set_high vu_readback vu_refuse vu_touch vu_set_normal vu_backend_sigterm

. /lib/guest-lib.sh

T=/tmp/touch
mkdir -p "$T" /run
TS=touch-sensitivity

# ms since boot.
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
show() { sed "s|^|INFO $(basename "$1"): |" "$1" | tail -n "${2:-20}"; }

# wait_line FILE PATTERN COUNT [SECONDS]: until FILE has COUNT lines matching PATTERN.
wait_line() {
    _i=$(( ${4:-15} * 20 ))
    while [ "$_i" -gt 0 ]; do
        [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        usleep 50000
        _i=$((_i - 1))
    done
    return 1
}


# ------------------------------------------------------------ the double ----
mkfifo "$T/a.in"
htt-double --phys htt-double/a --type 2 --firmware 0x01020304 --reboot-ms 800 <"$T/a.in" >"$T/a.out" 2>"$T/a.err" &
apid=$!
exec 4>"$T/a.in"
t0=$(ms)
if wait_line "$T/a.out" '^READY ' 1 20; then
    set -- $(grep '^READY ' "$T/a.out" | tail -n 1)
    hidraw=$2; ev=$3
    pass double_create "$hidraw $ev ($(( $(ms) - t0 )) ms)"
else
    fail double_create "no READY"; show "$T/a.out"; show "$T/a.err"
fi

# ------------------------------------------------------------ list / get ----
$TS --list >"$T/list.txt" 2>&1; rc=$?
show "$T/list.txt" 5
if [ $rc = 0 ] && grep -q "^0: $hidraw (hidraw) .*controller MXTxx firmware 0x01020304 sensitivity normal" "$T/list.txt"; then
    pass list_text "$(head -n 1 "$T/list.txt")"
else
    fail list_text "rc $rc: $(head -n 2 "$T/list.txt" | tr '\n' ' ')"
fi

$TS --list --json >"$T/list.json" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "\"node\":\"$hidraw\"" "$T/list.json" && grep -q '"controller":"MXTxx","controller_type":2,"firmware":"0x01020304","sensitivity":"normal","supported":\["normal","high","extra"\]' "$T/list.json"; then
    pass list_json "$(cat "$T/list.json")"
else
    fail list_json "rc $rc: $(cat "$T/list.json")"
fi

$TS --get --json >"$T/get.json" 2>&1; rc=$?
gets=$(grep -c '^GET ' "$T/a.out")
if [ $rc = 0 ] && grep -q '"status":"ok","controller":"MXTxx","controller_type":2,"firmware":"0x01020304","sensitivity":"normal"' "$T/get.json" \
    && grep -q '^GET 4$' "$T/a.out" && grep -q '^GET 9$' "$T/a.out" && grep -q '^GET 7$' "$T/a.out"; then
    pass get_state "reports 4, 9, 7 read ($gets GETs so far)"
else
    fail get_state "rc $rc: $(cat "$T/get.json")"
fi

# ------------------------------------------------------------------- set ----
# set_level NAME LEVEL NUMBER: set, then check the double saw SET 7 N and a
# reboot, and a fresh --get reads the level back.
set_level() {
    _before=$(grep -c '^READY ' "$T/a.out")
    _t=$(ms)
    $TS --set "$2" --json >"$T/set.$2.json" 2>"$T/set.$2.err"; _rc=$?
    _dt=$(( $(ms) - _t ))
    _ready=$(grep -c '^READY ' "$T/a.out")
    $TS --get >"$T/get.$2.txt" 2>&1
    if [ $_rc = 0 ] && grep -q "\"status\":\"ok\".*\"sensitivity\":\"$2\".*\"restarted\":true" "$T/set.$2.json" \
        && grep -q "^SET 7 $3\$" "$T/a.out" && [ "$_ready" = $((_before + 1)) ] \
        && grep -q "sensitivity $2\$" "$T/get.$2.txt"; then
        pass "$1" "set $2 in $_dt ms across the reboot; read back: $(cat "$T/get.$2.txt")"
    else
        fail "$1" "rc $_rc READY $_before -> $_ready: $(cat "$T/set.$2.json" "$T/set.$2.err" "$T/get.$2.txt" | tr '\n' ' ')"
        show "$T/a.out" 10
    fi
}
set_level set_high high 1
set_level set_extra extra 2
set_level set_normal normal 0

reboots=$(grep -c '^REBOOT' "$T/a.out"); readies=$(grep -c '^READY ' "$T/a.out")
new=$(grep '^READY ' "$T/a.out" | tail -n 1 | cut -d' ' -f2)
if [ "$reboots" = 3 ] && [ "$readies" = 4 ] && [ -c "$new" ]; then
    pass reboot_seen "3 reboots, the node came back each time (now $new)"
else
    fail reboot_seen "$reboots reboots, $readies READY"
fi

sets=$(grep -c '^SET ' "$T/a.out")
$TS --set normal >"$T/same.txt" 2>&1; rc=$?
if [ $rc = 0 ] && [ "$(grep -c '^SET ' "$T/a.out")" = "$sets" ] && grep -q 'already normal' "$T/same.txt"; then
    pass set_unchanged "$(cat "$T/same.txt")"
else
    fail set_unchanged "rc $rc: $(cat "$T/same.txt")"
fi

# ----------------------------------------------------- refusals (GT9, FT5) ----
mkfifo "$T/g.in" "$T/f.in"
htt-double --phys htt-double/g --type 3 --firmware 0x00030001 --reboot-ms 500 <"$T/g.in" >"$T/g.out" 2>&1 &
gpid=$!; exec 5>"$T/g.in"
htt-double --phys htt-double/f --type 4 --firmware 0x00040001 <"$T/f.in" >"$T/f.out" 2>&1 &
fpid=$!; exec 6>"$T/f.in"
wait_line "$T/g.out" '^READY ' 1 20; wait_line "$T/f.out" '^READY ' 1 20
gnode=$(grep '^READY ' "$T/g.out" | tail -n 1 | cut -d' ' -f2)
fnode=$(grep '^READY ' "$T/f.out" | tail -n 1 | cut -d' ' -f2)

$TS --device "$gnode" --set extra >"$T/refuse.out" 2>"$T/refuse.err"; rc=$?
if [ $rc = 3 ] && ! grep -q '^SET' "$T/g.out" && [ "$(wc -l <"$T/refuse.err")" = 1 ] && grep -q "GT9xx touch controller does not support 'extra' (supported: normal, high)" "$T/refuse.err"; then
    pass refuse_level "exit 3: $(cat "$T/refuse.err")"
else
    fail refuse_level "rc $rc: $(cat "$T/refuse.err" "$T/refuse.out" | tr '\n' ' ')"
fi

$TS --device "$fnode" --set normal >"$T/refuse2.out" 2>"$T/refuse2.err"; rc=$?
$TS --device "$fnode" --get >"$T/ft5.txt" 2>&1
if [ $rc = 3 ] && ! grep -q '^SET' "$T/f.out" && grep -q 'FT5xx touch controller has no sensitivity setting' "$T/refuse2.err" \
    && grep -q 'controller FT5xx firmware 0x00040001 sensitivity n/a' "$T/ft5.txt"; then
    pass refuse_controller "exit 3: $(cat "$T/refuse2.err")"
else
    fail refuse_controller "rc $rc: $(cat "$T/refuse2.err" "$T/ft5.txt" | tr '\n' ' ')"
fi

$TS --device "$gnode" --set high >"$T/gt9.txt" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q '^SET 7 1$' "$T/g.out" && grep -q 'sensitivity high' "$T/gt9.txt"; then
    pass gt9_high "$(cat "$T/gt9.txt")"
else
    fail gt9_high "rc $rc: $(cat "$T/gt9.txt")"
fi

# ------------------------------------------------ selection among several ----
$TS --get >"$T/several.txt" 2>&1; rc1=$?
$TS --list >"$T/list3.txt" 2>&1
idx=$(grep " $gnode " "$T/list3.txt" | cut -d: -f1)
$TS --device "$idx" --get >"$T/byindex.txt" 2>&1; rc2=$?
if [ $rc1 = 1 ] && grep -q '3 HTT displays found; pick one with --device' "$T/several.txt" \
    && [ "$(grep -c '^[0-9]: ' "$T/list3.txt")" = 3 ] && [ $rc2 = 0 ] && grep -q "^$gnode: controller GT9xx" "$T/byindex.txt"; then
    pass select_device "without --device: '$(cat "$T/several.txt")'; --device $idx: $(cat "$T/byindex.txt")"
else
    fail select_device "rc $rc1/$rc2: $(cat "$T/several.txt" "$T/list3.txt" "$T/byindex.txt" | tr '\n' ' ')"
fi

echo quit >&6; wait $fpid

# ------------------------------------------------------------- timeout ----
# A display that takes 4 s to come back, and a 1-second timeout: exit 4.
mkfifo "$T/s.in"
htt-double --phys htt-double/s --type 2 --reboot-ms 4000 <"$T/s.in" >"$T/s.out" 2>&1 &
spid=$!; exec 7>"$T/s.in"
wait_line "$T/s.out" '^READY ' 1 20
snode=$(grep '^READY ' "$T/s.out" | tail -n 1 | cut -d' ' -f2)
$TS --device "$snode" --set high --timeout 1 >"$T/timeout.out" 2>"$T/timeout.err"; rc=$?
if [ $rc = 4 ] && grep -q 'not back with the new value within 1000 ms' "$T/timeout.err" && grep -q '^SET 7 1$' "$T/s.out"; then
    pass timeout_error "exit 4: $(cat "$T/timeout.err")"
else
    fail timeout_error "rc $rc: $(cat "$T/timeout.err" "$T/timeout.out" | tr '\n' ' ')"
fi
wait_line "$T/s.out" '^READY ' 2 20
echo quit >&7; wait $spid
echo quit >&5; wait $gpid

# ---------------------------------------------------------- bad arguments ----
bad=
for a in "--set max" "--get --list" "--bogus" "" "--timeout 0 --get"; do
    # shellcheck disable=SC2086
    $TS $a >"$T/bad.out" 2>"$T/bad.err"; rc=$?
    if [ $rc != 2 ] || [ "$(wc -l <"$T/bad.err")" != 1 ] || [ -s "$T/bad.out" ]; then
        bad="$bad [$a: rc $rc $(cat "$T/bad.err")]"
    fi
done
if [ -z "$bad" ]; then pass bad_args "exit 2 with one line each, e.g. '$($TS --set max 2>&1)'"
else fail bad_args "$bad"; fi

# ------------------------------------------------ guest path (virtio-input) ----
. /lib/touch-guest-path.sh

echo quit >&4; wait $apid
