#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The guest path of tests/qemu/guest/touch-test.sh (sourced by it; $T, $TS,
# the helpers and double "a" on fd 4 come from there).
#
#   htt-double -> hidraw + evdev -> vhost-user-input --evdev-path --hidraw
#     -> virtio-input device -> relay (RELAY=probe: vhost-user-probe
#        input-relay, a user-space virtio_input over uinput)
#     -> /dev/input/eventX -> touch-sensitivity
#
# touch-sensitivity runs in a mount namespace whose /sys/class/hidraw is an
# empty tmpfs: a guest without hidraw, so it must find the virtio-input device
# by itself (no --device), as it would in a VM.
#
# RELAY=loopback: the same test with the guest kernel's own virtio_input
# driver, through virtio_loopback.ko and virtio-loopback-adapter --device
# input (the Non-Virt AGL case).

RELAY=$(cat /etc/touch-relay 2>/dev/null || echo probe)

# guest_ts ARGS...: touch-sensitivity as a guest without hidraw sees it.
guest_ts() {
    unshare -m sh -c 'mount --make-rprivate / 2>/dev/null; mount -t tmpfs none /sys/class/hidraw && exec touch-sensitivity "$@"' sh "$@"
}

# serve TAG EVDEV HIDRAW: back end on /run/TAG.sock and its relay; sets
# vu_pid_TAG, relay_pid_TAG and relay_ev_TAG; 0 when both are up.
serve() {
    vhost-user-input --socket-path "/run/$1.sock" --evdev-path "$2" --hidraw "$3" --log-level debug >"$T/$1.backend.log" 2>&1 &
    eval "vu_pid_$1=$!"
    wait_for "/run/$1.sock" 20 || { info "no /run/$1.sock"; show "$T/$1.backend.log"; return 1; }
    case $RELAY in
        probe)
            vhost-user-probe --socket-path "/run/$1.sock" --timeout-ms 600000 --ready-file "$T/$1.ready" \
                input-relay >"$T/$1.relay.out" 2>&1 &
            eval "relay_pid_$1=$!"
            wait_for "$T/$1.ready" 30 || { info "relay $1 not ready"; show "$T/$1.relay.out"; return 2; }
            eval "relay_ev_$1=$(sed -n 's/^RELAY_EVDEV //p' "$T/$1.relay.out")"
            ;;
        loopback)
            if [ ! -e /dev/virtio-loopback ]; then
                insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5 || { info "no /dev/virtio-loopback"; return 2; }
            fi
            _before=$(virtio_events)
            virtio-loopback-adapter --socket-path "/run/$1.sock" --device input --pool-size 1 >"$T/$1.relay.out" 2>&1 &
            eval "relay_pid_$1=$!"
            _i=200
            while [ $_i -gt 0 ]; do
                for _e in $(virtio_events); do
                    case " $_before " in *" $_e "*) ;; *) eval "relay_ev_$1=$_e"; return 0 ;; esac
                done
                usleep 100000; _i=$((_i - 1))
            done
            info "no new virtio-input node"; show "$T/$1.relay.out"; return 2 ;;
        *)
            info "RELAY=$RELAY is unknown"; return 2 ;;
    esac
}

cur=$(grep '^READY ' "$T/a.out" | tail -n 1)
set -- $cur
a_hidraw=$2; a_ev=$3

serve vu "$a_ev" "$a_hidraw"; rc=$?
if [ $rc -ge 1 ]; then fail vu_backend "serve: $rc"; else pass vu_backend "vhost-user-input --evdev-path $a_ev --hidraw $a_hidraw (pid $vu_pid_vu)"; fi
if [ $rc = 0 ] && [ -c "$relay_ev_vu" ]; then
    sys=$(basename "$(readlink -f "/sys/class/input/$(basename "$relay_ev_vu")/device")")
    caps=$(cat "/sys/class/input/$sys/capabilities/msc" 2>/dev/null)
    if [ $(( 0x$caps & 8 )) = 8 ]; then
        pass vu_relay "$RELAY relay: $relay_ev_vu ($sys) '$(cat "/sys/class/input/$sys/name")' msc caps 0x$caps (MSC_RAW)"
    else
        fail vu_relay "$relay_ev_vu msc caps '$caps' without MSC_RAW"
    fi
else
    fail vu_relay "no relay node"
fi

guest_ts --list >"$T/vu.list" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "^0: $relay_ev_vu (virtio-input) .*controller MXTxx firmware 0x01020304 sensitivity normal" "$T/vu.list" \
    && [ "$(grep -c '^[0-9]' "$T/vu.list")" = 1 ]; then
    pass vu_list "$(cat "$T/vu.list")"
else
    fail vu_list "rc $rc: $(cat "$T/vu.list")"; show "$T/vu.backend.log"
fi

guest_ts --get --json >"$T/vu.get" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "\"node\":\"$relay_ev_vu\",\"transport\":\"virtio-input\".*\"controller\":\"MXTxx\",\"controller_type\":2,\"firmware\":\"0x01020304\",\"sensitivity\":\"normal\"" "$T/vu.get"; then
    pass vu_get "$(cat "$T/vu.get")"
else
    fail vu_get "rc $rc: $(cat "$T/vu.get")"
fi

sets=$(grep -c '^SET ' "$T/a.out"); readies=$(grep -c '^READY ' "$T/a.out")
t=$(ms)
guest_ts --set high >"$T/vu.set" 2>&1; rc=$?
dt=$(( $(ms) - t ))
if [ $rc = 0 ] && grep -q "sensitivity high (set to high and verified" "$T/vu.set" \
    && [ "$(grep -c '^SET ' "$T/a.out")" = $((sets + 1)) ] && grep -q '^SET 7 1$' "$T/a.out" \
    && [ "$(grep -c '^READY ' "$T/a.out")" = $((readies + 1)) ]; then
    pass vu_set_high "$(cat "$T/vu.set") in $dt ms; the double rebooted once"
else
    fail vu_set_high "rc $rc: $(cat "$T/vu.set")"; show "$T/vu.backend.log"; show "$T/vu.relay.out"
fi

guest_ts --get >"$T/vu.get2" 2>&1; rc1=$?
touch-sensitivity --get >"$T/vu.native" 2>&1; rc2=$?
if [ $rc1 = 0 ] && grep -q 'sensitivity high$' "$T/vu.get2" && [ $rc2 = 0 ] && grep -q 'sensitivity high$' "$T/vu.native"; then
    pass vu_readback "guest: $(cat "$T/vu.get2"); host hidraw: $(cat "$T/vu.native")"
else
    fail vu_readback "rc $rc1/$rc2: $(cat "$T/vu.get2" "$T/vu.native")"
fi

# Touch still flows after the reboot: the back end reopened the new evdev
# node, and the events reach the guest's node (24-byte input_events; ABS_X
# 1234 is "03 00 00 00 d2 04 00 00", ABS_Y 567 "03 00 01 00 37 02 00 00").
wait_until() { _i=$(( $1 * 20 )); shift; while [ "$_i" -gt 0 ]; do "$@" && return 0; usleep 50000; _i=$((_i - 1)); done; return 1; }
cat "$relay_ev_vu" >"$T/touch.bin" &
catpid=$!
usleep 200000
echo "touch 1234 567" >&4
has_touch() {
    od -An -v -tx1 -w24 "$T/touch.bin" | cut -c49- >"$T/touch.txt"
    grep -q '03 00 00 00 d2 04 00 00' "$T/touch.txt" && grep -q '03 00 01 00 37 02 00 00' "$T/touch.txt" \
        && grep -q '01 00 4a 01 01 00 00 00' "$T/touch.txt"
}
if wait_until 10 has_touch; then
    pass vu_touch "ABS_X 1234, ABS_Y 567, BTN_TOUCH 1 read from $relay_ev_vu after the reboot ($(wc -l <"$T/touch.txt") events)"
else
    fail vu_touch "$(head -n 8 "$T/touch.txt" | tr '\n' '|')"; show "$T/vu.backend.log"
fi
kill "$catpid" 2>/dev/null; wait "$catpid" 2>/dev/null

# Refusal through the guest path: a GT9xx double behind a second back end.
mkfifo "$T/g2.in"
htt-double --phys htt-double/g2 --type 3 --firmware 0x00030002 <"$T/g2.in" >"$T/g2.out" 2>&1 &
g2pid=$!; exec 8>"$T/g2.in"
wait_line "$T/g2.out" '^READY ' 1 20
set -- $(grep '^READY ' "$T/g2.out" | tail -n 1)
if serve vu2 "$3" "$2"; then
    guest_ts --device "$relay_ev_vu2" --set extra >"$T/vu2.out" 2>"$T/vu2.err"; rc=$?
    if [ $rc = 3 ] && ! grep -q '^SET' "$T/g2.out" && grep -q "GT9xx touch controller does not support 'extra' (supported: normal, high)" "$T/vu2.err"; then
        pass vu_refuse "exit 3: $(cat "$T/vu2.err")"
    else
        fail vu_refuse "rc $rc: $(cat "$T/vu2.err" "$T/vu2.out" | tr '\n' ' ')"
    fi
else
    fail vu_refuse "second back end or relay did not start"
fi
kill -TERM "$relay_pid_vu2" "$vu_pid_vu2" 2>/dev/null; wait "$relay_pid_vu2" "$vu_pid_vu2" 2>/dev/null
echo quit >&8; wait $g2pid

guest_ts --set normal --json >"$T/vu.set3" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q '"status":"ok".*"sensitivity":"normal"' "$T/vu.set3" && grep -q '^SET 7 0$' "$T/a.out"; then
    pass vu_set_normal "$(cat "$T/vu.set3")"
else
    fail vu_set_normal "rc $rc: $(cat "$T/vu.set3")"
fi

kill -TERM "$relay_pid_vu"; wait "$relay_pid_vu"
t=$(ms)
kill -TERM "$vu_pid_vu"; wait "$vu_pid_vu"; rc=$?
if [ $rc = 0 ]; then pass vu_backend_sigterm "exit 0 $(( $(ms) - t )) ms after SIGTERM"
else fail vu_backend_sigterm "exit status $rc"; fi
grep -i 'sensitivity' "$T/vu.backend.log" | sed 's/^/INFO backend: /' | tail -n 12
