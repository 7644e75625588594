#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/run-input-test.sh: vhost-user-input against a real
# evdev node, all inside one guest (QEMU only provides the kernel):
#
#   uinput-feeder      creates "virtio-loopback test pad" through /dev/uinput
#                      (profile in tests/tools/uinput-feeder/DeviceProfile.cs)
#                      and takes commands on a fifo
#   vhost-user-input   our back end, --evdev-path /dev/input/eventN
#   vhost-user-probe   our front end (VhostUser.Frontend + TestDriver rings)
#
# Checks: config space equals the uinput profile exactly; the feeder's script
# (170 events) arrives on the eventq unchanged and in order; an EV_LED write
# on the statusq reaches the uinput device; after the uinput device is
# destroyed and re-created the back end reopens the node and events flow
# again; SIGTERM ends the back end with status 0.
#
# State resynchronisation: the back end brings a newly started driver (and a
# driver whose node was re-created) up to date with one packet of the keys
# and axes that differ from the driver's all-zero view. The script ends with
# ABS_X 3450, ABS_Y 1960, pressure 0 and no key held, so the second probe
# session first gets "ABS_X 3450, ABS_Y 1960, SYN" and, after the node is
# re-created (all zero again), "ABS_X 0, ABS_Y 0, SYN"; the first session
# starts from the zero state and gets none.
#
# EXPECT: uinput_create backend_socket probe_features
# EXPECT: config_name config_devids config_props config_ev_bits config_abs_info
# EXPECT: events_match events_syn led_write
# EXPECT: recreate_reopen resync_state recreate_events backend_alive backend_sigterm feeder_exit

. /lib/guest-lib.sh

SOCK=/run/in.sock
T=/tmp/input-test
NAME="virtio-loopback test pad"
SCRIPT_EVENTS=170     # 20 batches: 10 key taps (6 events) + 10 touch strokes (11)
SCRIPT_REPORTS=50     # SYN_REPORTs in those: 10 x 2 + 10 x 3
mkdir -p "$T" /run

# The feeder on a fifo (guest-lib.sh: feeder_start, feed, feed_send, feed_wait).
feeder_start "$T"
fpid=$FEED_PID

# backend_has_node: the back end holds an fd on the live $ev node.
backend_has_node() { ls -l "/proc/$bpid/fd" 2>/dev/null | grep -q " -> $ev\$"; }

not() { ! "$@"; }

# ------------------------------------------------------------ the device ----
t0=$(ms)
if feed create 10; then
    ev=$(sed -n 's/^EVDEV //p' "$T/feeder.out" | tail -n 1)
    sysname=$(sed -n 's/^SYSNAME //p' "$T/feeder.out" | tail -n 1)
    sysfs_name=$(cat "/sys/class/input/$sysname/name" 2>/dev/null)
    if [ -c "$ev" ] && [ "$sysfs_name" = "$NAME" ]; then
        pass uinput_create "$ev $sysname name '$sysfs_name' ($(( $(ms) - t0 )) ms)"
    else
        fail uinput_create "EVDEV '$ev' SYSNAME '$sysname' sysfs name '$sysfs_name'"
    fi
else
    fail uinput_create "feeder refused: $(tail -n 3 "$T/feeder.out" "$T/feeder.err" | tr '\n' ' ')"
fi

# ----------------------------------------------------------- the back end ----
vhost-user-input --socket-path "$SOCK" --evdev-path "$ev" --log-level debug >"$T/backend.log" 2>&1 &
bpid=$!
if wait_for "$SOCK" 20; then pass backend_socket "$SOCK (pid $bpid)"
else fail backend_socket "no $SOCK"; show "$T/backend.log"; fi

P="vhost-user-probe --socket-path $SOCK"

# -------------------------------------------------------------- features ----
$P features >"$T/features.out" 2>&1
rc=$?
feat=$(sed -n 's/^FEATURES //p' "$T/features.out")
pfeat=$(sed -n 's/^PROTOCOL_FEATURES //p' "$T/features.out")
if [ $rc = 0 ] && [ -n "$feat" ] && [ $(( (feat >> 32) & 1 )) = 1 ] && [ $(( (pfeat >> 9) & 1 )) = 1 ]; then
    pass probe_features "features $feat protocol $pfeat (VERSION_1, CONFIG)"
else
    fail probe_features "rc $rc features '$feat' protocol '$pfeat'"; show "$T/features.out"
fi

# ---------------------------------------------------------------- config ----
$P input-config >"$T/config.out" 2>&1
rc=$?
show "$T/config.out" 60
cfg() { sed -n "s/^$1 //p" "$T/config.out" | head -n 1; }
[ $rc = 0 ] || info "input-config exit $rc"

name=$(cfg NAME)
if [ "$name" = "$NAME" ]; then pass config_name "'$name'"; else fail config_name "'$name' != '$NAME'"; fi

ids=$(cfg DEVIDS)
if [ "$ids" = "0003 1d6b 0104 0100" ]; then pass config_devids "$ids"; else fail config_devids "'$ids'"; fi

props=$(cfg PROP_CODES)
if [ "$props" = "1" ]; then pass config_props "INPUT_PROP_DIRECT"; else fail config_props "'$props'"; fi

# Exact code lists per event type (decimal, ascending).
keys="16,17,18,19,20,21,22,23,24,25,30,31,32,33,34,35,36,37,38,44,45,46,47,48,49,50,330"
bad=
[ "$(cfg 'EV_CODES 1')" = "$keys" ] || bad="$bad key='$(cfg 'EV_CODES 1')'"
[ "$(cfg 'EV_CODES 3')" = "0,1,24" ] || bad="$bad abs='$(cfg 'EV_CODES 3')'"
[ "$(cfg 'EV_CODES 4')" = "4" ] || bad="$bad msc='$(cfg 'EV_CODES 4')'"
[ "$(cfg 'EV_CODES 17')" = "0,1,2" ] || bad="$bad led='$(cfg 'EV_CODES 17')'"
[ -n "$(cfg 'EV_BITS 20')" ] || bad="$bad rep=missing"
for t in 2 5 18 21; do    # EV_REL EV_SW EV_SND EV_FF: the profile has none
    [ -z "$(cfg "EV_BITS $t")" ] || bad="$bad type$t='$(cfg "EV_BITS $t")'"
done
if [ -z "$bad" ]; then pass config_ev_bits "27 keys, abs 0,1,24, msc 4, led 0,1,2, rep $(cfg 'EV_BITS 20')"
else fail config_ev_bits "$bad"; fi

bad=
[ "$(cfg 'ABS_INFO 0')" = "0 4095 4 8 12" ] || bad="$bad x='$(cfg 'ABS_INFO 0')'"
[ "$(cfg 'ABS_INFO 1')" = "0 2303 4 8 12" ] || bad="$bad y='$(cfg 'ABS_INFO 1')'"
[ "$(cfg 'ABS_INFO 24')" = "0 255 0 0 0" ] || bad="$bad pressure='$(cfg 'ABS_INFO 24')'"
[ "$(grep -c '^ABS_INFO ' "$T/config.out")" = 3 ] || bad="$bad count=$(grep -c '^ABS_INFO ' "$T/config.out")"
if [ -z "$bad" ]; then pass config_abs_info "x 0..4095 y 0..2303 (fuzz 4 flat 8 res 12) pressure 0..255"
else fail config_abs_info "$bad"; fi

# ---------------------------------------------------------------- events ----
# run_events TAG PREFIX [HOOK]: the probe fills the eventq and waits for the
# PREFIX events (the expected resync packets, one per line) plus
# SCRIPT_EVENTS while the feeder plays its script (after HOOK, if given).
# Leaves sent.TAG (what the feeder sent) and got.TAG (what the probe got).
run_events() {
    _tag=$1
    printf "$2" >"$T/prefix.$_tag"
    _count=$(( SCRIPT_EVENTS + $(wc -l <"$T/prefix.$_tag") ))
    rm -f "$T/ready.$_tag"
    $P input-events --count $_count --timeout-ms 90000 --idle-ms 500 \
        --ready-file "$T/ready.$_tag" >"$T/events.$_tag" 2>&1 &
    _ppid=$!
    if ! wait_for "$T/ready.$_tag" 30; then
        echo "INFO probe never became ready"; show "$T/events.$_tag"; return 1
    fi
    if [ -n "$3" ] && ! "$3"; then
        kill "$_ppid" 2>/dev/null; wait "$_ppid"
        : >"$T/sent.$_tag"; : >"$T/got.$_tag"
        return 1
    fi
    _sent_before=$(grep -c '^SENT ' "$T/feeder.out")
    _t=$(ms)
    feed script 120 || { echo "INFO feeder script failed"; show "$T/feeder.out" 5; }
    wait $_ppid
    _rc=$?
    events_ms=$(( $(ms) - _t ))
    grep '^SENT ' "$T/feeder.out" | tail -n +$((_sent_before + 1)) | sed 's/^SENT //' >"$T/sent.$_tag"
    sed -n 's/^EVENT //p' "$T/events.$_tag" >"$T/got.$_tag"
    return $_rc
}

if run_events 1 ""; then rc=0; else rc=$?; fi
n_sent=$(wc -l <"$T/sent.1"); n_got=$(wc -l <"$T/got.1")
if [ $rc = 0 ] && [ "$n_sent" = $SCRIPT_EVENTS ] && cmp -s "$T/sent.1" "$T/got.1"; then
    pass events_match "$n_got events equal to the $n_sent sent, in order ($events_ms ms)"
else
    fail events_match "probe exit $rc, $n_sent sent, $n_got received"
    show "$T/events.1" 20; diff "$T/sent.1" "$T/got.1" | head -n 20 | sed 's/^/INFO diff: /'
fi
syns=$(grep -c '^0 0 0$' "$T/got.1")
if [ "$syns" = $SCRIPT_REPORTS ] && [ "$(tail -n 1 "$T/got.1")" = "0 0 0" ] && ! grep -q '^0 3 ' "$T/got.1"; then
    pass events_syn "$syns SYN_REPORTs, the last event one, no SYN_DROPPED"
else
    fail events_syn "$syns SYN_REPORTs (want $SCRIPT_REPORTS), last '$(tail -n 1 "$T/got.1")'"
fi

# ------------------------------------------------------------------- LED ----
# The feeder waits for the write on its uinput fd while the probe sends
# EV_LED LED_CAPSL 1 on the statusq.
feed_send "expect-led 1 1 30000"
$P input-led --code 1 --value 1 >"$T/led.out" 2>&1
rc=$?
if feed_wait 40 && [ $rc = 0 ] && grep -q '^LED 1 1$' "$T/feeder.out"; then
    pass led_write "statusq EV_LED 1 1 reached the uinput device (used after $(grep "^LED_USED" "$T/led.out" | cut -d" " -f6-))"
else
    fail led_write "probe exit $rc; feeder: $(grep -E '^(LED|ERR)' "$T/feeder.out" | tail -n 2 | tr '\n' ' ')"
    show "$T/led.out" 10
fi
show "$T/led.out" 10

# -------------------------------------------------------------- recreate ----
# With a probe attached, destroy the uinput device, wait until the back end
# let go of the dead node, create it again and wait until the back end holds
# the new one; then the script must arrive unchanged.
recreate() {
    feed destroy 10 || { fail recreate_reopen "feeder: destroy failed"; return 1; }
    wait_until 15 not backend_has_node || { fail recreate_reopen "back end kept the dead node"; return 1; }
    feed create 10 || { fail recreate_reopen "feeder: create failed"; return 1; }
    _new=$(sed -n 's/^EVDEV //p' "$T/feeder.out" | tail -n 1)
    [ "$_new" = "$ev" ] || { fail recreate_reopen "the new node is $_new, not $ev"; return 1; }
    _t=$(ms)
    if wait_until 20 backend_has_node; then
        reopen_ms=$(( $(ms) - _t ))
        pass recreate_reopen "back end reopened $ev ${reopen_ms} ms after it came back"
    else
        fail recreate_reopen "back end did not reopen $ev within 20 s"; show "$T/backend.log" 20
        return 1
    fi
}
resync="3 0 3450\n3 1 1960\n0 0 0\n3 0 0\n3 1 0\n0 0 0\n"
if run_events 2 "$resync" recreate; then rc=0; else rc=$?; fi
head -n 6 "$T/got.2" >"$T/got-prefix.2"
tail -n +7 "$T/got.2" >"$T/got-script.2"
if cmp -s "$T/prefix.2" "$T/got-prefix.2"; then
    pass resync_state "start: ABS_X 3450 ABS_Y 1960 SYN; after re-creation: ABS_X 0 ABS_Y 0 SYN"
else
    fail resync_state "first events: $(tr '\n' ',' <"$T/got-prefix.2")"
fi
n_sent=$(wc -l <"$T/sent.2"); n_got=$(wc -l <"$T/got-script.2")
if [ $rc = 0 ] && [ "$n_sent" = $SCRIPT_EVENTS ] && cmp -s "$T/sent.2" "$T/got-script.2"; then
    pass recreate_events "$n_got events after the re-creation, equal to those sent"
else
    fail recreate_events "probe exit $rc, $n_sent sent, $n_got received"
    show "$T/events.2" 20; diff "$T/sent.2" "$T/got-script.2" | head -n 20 | sed 's/^/INFO diff: /'
fi

# ------------------------------------------------------------------ stop ----
if kill -0 "$bpid" 2>/dev/null; then pass backend_alive "pid $bpid after 3 front-end sessions"
else fail backend_alive "exited"; fi
t=$(ms)
kill -TERM "$bpid"
wait "$bpid"
rc=$?
if [ $rc = 0 ]; then pass backend_sigterm "exit 0 $(( $(ms) - t )) ms after SIGTERM"
else fail backend_sigterm "exit status $rc"; fi
show "$T/backend.log" 30

feed_send quit
exec 3>&-
wait "$fpid"
rc=$?
if [ $rc = 0 ] && ! grep -q '^ERR ' "$T/feeder.out"; then pass feeder_exit "exit 0, no ERR"
else fail feeder_exit "exit $rc: $(grep '^ERR ' "$T/feeder.out" | head -n 2 | tr '\n' ' ')"; show "$T/feeder.err"; fi
