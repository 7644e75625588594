#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (sound): our vhost-user-sound with a playback
# stream recorded into a WAV file and a capture stream read from one, served to
# the guest kernel's virtio_snd through virtio_loopback.ko and our adapter, and
# used by ALSA's own aplay and arecord (Debian's alsa-utils) on hw:SoundCard,0;
# then the same back end on ALSA devices: the two ends of snd-aloop's cables.
#
#   lb_snd_card      the driver made card 0 with a playback and a capture PCM
#   lb_snd_play      an 11 s 1 kHz stereo S16 48 kHz sine played with aplay is in the
#                    back end's WAV file sample for sample, with only silence around it
#   lb_snd_duration  the device played the 11 s in 11 s within 1 % (START to RELEASE, as the
#                    back end logs it), and aplay of 11 s and of 1 s differ by 10 s within 2 %
#                    (from /proc/uptime; aplay's own start-up varies by up to 100 ms under TCG)
#   lb_snd_capture   2 s captured with arecord are the capture file's first 2 s exactly
#   lb_snd_alive     the back end, the adapter and the kernel are fine afterwards
#   lb_snd_alsa_card the back end on ALSA (playback hw:Loopback,0,0, capture hw:Loopback,0,1)
#   lb_snd_alsa_play a 2 s sine played with aplay on the virtio card comes out of the
#                    cable's other end (arecord hw:Loopback,1,0) sample for sample
#   lb_snd_alsa_capture a 3 s sine played into the other cable (aplay hw:Loopback,1,1)
#                    arrives through the back end's capture in arecord on the virtio card
#
# EXPECT: lb_insmod lb_snd_socket lb_snd_card lb_snd_play lb_snd_duration lb_snd_capture lb_snd_alive lb_adapter_sigterm lb_backend_sigterm lb_snd_alsa_card lb_snd_alsa_play lb_snd_alsa_capture lb_snd_alsa_alive lb_rmmod
. /lib/guest-lib.sh

T=/tmp/lb
mkdir -p $T
if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail lb_insmod "no /dev/virtio-loopback"
fi

wav-tool sine $T/tone11.wav 48000 2 11 1000 >/dev/null
wav-tool sine $T/tone1.wav 48000 2 1 1000 >/dev/null
wav-tool sine $T/tone2.wav 48000 2 2 1000 >/dev/null
wav-tool sine $T/source.wav 44100 1 3 440 >/dev/null
# Played into snd-aloop: the cable loses what is left of its last period when the player stops.
wav-tool sine $T/source-padded.wav 44100 1 3 440 0.5 >/dev/null

vhost-user-sound --socket-path $T/snd.sock --playback-file $T/played.wav --capture-file $T/source.wav \
    >$T/backend.log 2>&1 &
bpid=$!
if wait_for $T/snd.sock 20; then pass lb_snd_socket "vhost-user-sound listening (pid $bpid)"
else fail lb_snd_socket "no socket"; show $T/backend.log; fi

virtio-loopback-adapter --socket-path $T/snd.sock --device sound >$T/adapter.log 2>&1 &
apid=$!
watchdog 200 $T/adapter.log $T/backend.log
wpid=$WATCHDOG_PID

if wait_until 30 test -e /proc/asound/SoundCard; then
    pass lb_snd_card "$(grep SoundCard /proc/asound/cards | sed 's/  */ /g'); $(ls /dev/snd | tr '\n' ' ')"
else
    fail lb_snd_card "no PCM: $(ls /dev/snd 2>&1 | tr '\n' ' ')"; show $T/adapter.log; show $T/backend.log; dmesg | tail -n 20
fi

# play FILE: aplay's wall time in ms.
play() {
    _t=$(ms)
    aplay -q -D hw:SoundCard,0 "$1" >$T/aplay.log 2>&1 || { echo "aplay failed: $(cat $T/aplay.log)" >&2; echo -1; return; }
    echo $(($(ms) - _t))
}
d11=$(play $T/tone11.wav)
if cmp=$(wav-tool compare $T/tone11.wav $T/played.wav) && [ "$d11" -gt 0 ]; then
    pass lb_snd_play "aplay 11 s in $d11 ms; back end's file: $cmp"
else
    fail lb_snd_play "aplay ${d11} ms; $cmp"; show $T/aplay.log; show $T/backend.log
fi
# Start-up and drain cost the same for both files, so the difference is the device's pace.
d1=$(play $T/tone1.wav)
diff=$((d11 - d1))
# The back end's summary of the 11 s run: "released after 528000 frames (...) in X ms since START".
dev=$(grep -o 'after 528000 frames ([0-9.]* ms of audio) in [0-9]*' $T/backend.log | head -n 1 | awk '{ print $NF }')
if [ "$d1" -gt 0 ] && [ -n "$dev" ] && [ "$dev" -ge 10890 ] && [ "$dev" -le 11110 ] && [ $diff -ge 9800 ] && [ $diff -le 10200 ]; then
    pass lb_snd_duration "device: 11000 ms of audio from START to RELEASE in $dev ms; aplay 11 s: $d11 ms, 1 s: $d1 ms, difference $diff ms"
else
    fail lb_snd_duration "device: 11 s in '${dev}' ms (want 11000 within 1 %); aplay 11 s: $d11 ms, 1 s: $d1 ms, difference $diff ms (want 10000 within 2 %)"
    show $T/backend.log
fi
data sound_device_11s_ms "$dev"
data sound_play_11s_ms "$d11"
data sound_play_1s_ms "$d1"

t=$(ms)
if arecord -q -D hw:SoundCard,0 -f S16_LE -r 44100 -c 1 -s 88200 $T/captured.wav >$T/arecord.log 2>&1 &&
    cmp=$(wav-tool prefix $T/source.wav $T/captured.wav); then
    pass lb_snd_capture "arecord 2 s in $(($(ms) - t)) ms: $cmp"
else
    fail lb_snd_capture "$(cat $T/arecord.log) $cmp"; show $T/backend.log
fi
kill $wpid 2>/dev/null

lb_alive lb_snd_alive $bpid $apid $T/backend.log
lb_sigterm $apid $T/adapter.log $bpid $T/backend.log
# The same back end on ALSA devices: snd-aloop's cable 0 carries playback out
# (the back end plays into hw:Loopback,0,0, arecord hears hw:Loopback,1,0) and
# cable 1 capture in (aplay plays into hw:Loopback,1,1, the back end captures
# hw:Loopback,0,1). The virtio card comes back under the same name.
vhost-user-sound --socket-path $T/alsa.sock --playback-device hw:Loopback,0,0 --capture-device hw:Loopback,0,1 \
    >$T/alsa-backend.log 2>&1 &
bpid=$!
wait_for $T/alsa.sock 20 || { show $T/alsa-backend.log; }
virtio-loopback-adapter --socket-path $T/alsa.sock --device sound >$T/alsa-adapter.log 2>&1 &
apid=$!
watchdog 200 $T/alsa-adapter.log $T/alsa-backend.log
wpid=$WATCHDOG_PID
if wait_until 30 test -e /proc/asound/SoundCard; then
    pass lb_snd_alsa_card "$(grep -e SoundCard -e Loopback /proc/asound/cards | sed 's/  */ /g' | tr '\n' ' '); $(grep -o 'Stream [01]: [a-z]* to/from .*' $T/alsa-backend.log | tr '\n' ' ')"
else
    fail lb_snd_alsa_card "no virtio card: $(cat /proc/asound/cards)"; show $T/alsa-backend.log; show $T/alsa-adapter.log
fi

arecord -q -D hw:Loopback,1,0 -f S16_LE -r 48000 -c 2 -d 4 $T/cable.wav >$T/cable.log 2>&1 &
rec=$!
usleep 300000
t=$(ms)
aplay -q -D hw:SoundCard,0 $T/tone2.wav >$T/aplay.log 2>&1; prc=$?
t=$(($(ms) - t))
wait $rec
if [ $prc = 0 ] && cmp=$(wav-tool compare $T/tone2.wav $T/cable.wav); then
    pass lb_snd_alsa_play "aplay 2 s in $t ms; at the cable's other end: $cmp"
else
    fail lb_snd_alsa_play "aplay status $prc ($(cat $T/aplay.log)); $cmp $(cat $T/cable.log)"; show $T/alsa-backend.log
fi

arecord -q -D hw:SoundCard,0 -f S16_LE -r 44100 -c 1 -d 5 $T/got.wav >$T/arecord.log 2>&1 &
rec=$!
usleep 500000
aplay -q -D hw:Loopback,1,1 $T/source-padded.wav >$T/aplay.log 2>&1; prc=$?
wait $rec; rrc=$?
if [ $prc = 0 ] && [ $rrc = 0 ] && cmp=$(wav-tool compare $T/source.wav $T/got.wav); then
    pass lb_snd_alsa_capture "3 s through the cable and the back end's capture: $cmp"
else
    fail lb_snd_alsa_capture "aplay status $prc ($(cat $T/aplay.log)), arecord $rrc ($(cat $T/arecord.log)); $cmp"; show $T/alsa-backend.log
fi
kill $wpid 2>/dev/null

viol=$(violations)
kill -TERM $apid; wait $apid; arc=$?
kill -TERM $bpid; wait $bpid; brc=$?
if [ $arc = 0 ] && [ $brc = 0 ] && [ "$viol" = 0 ]; then
    pass lb_snd_alsa_alive "adapter and back end exit 0 on SIGTERM, 0 rule violations"
else
    fail lb_snd_alsa_alive "adapter exit $arc, back end exit $brc, violations $viol"; show $T/alsa-backend.log
fi
if rmmod virtio_loopback; then pass lb_rmmod "module unloaded"; else fail lb_rmmod "rmmod refused"; fi
echo "---- back-end log (tail)"
tail -n 30 $T/backend.log
echo "---- adapter log (tail)"
tail -n 20 $T/adapter.log
echo "---- ALSA back-end log (tail)"
tail -n 30 $T/alsa-backend.log
