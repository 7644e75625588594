#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/run-vm-sound-test.sh: the virtio-snd card that
# QEMU's vhost-user-snd-pci attaches to our vhost-user-sound on the host,
# used by aplay and arecord. The host checks what reached its WAV file.
#
#   vm_snd_card      the card (SoundCard) with a playback and a capture PCM
#   vm_snd_play      aplay of a 3 s 1 kHz stereo S16 48 kHz sine succeeds in
#                    about 3 s (the device's pace; the samples are checked on the host)
#   vm_snd_capture   2 s captured with arecord are the host file's first 2 s
#                    exactly (the same sine is made here with wav-tool)
#
# EXPECT: vm_snd_card vm_snd_play vm_snd_capture
. /lib/guest-lib.sh

T=/tmp/vm
mkdir -p $T
wav-tool sine $T/tone3.wav 48000 2 3 1000 >/dev/null
wav-tool sine $T/source.wav 44100 1 3 440 >/dev/null

if wait_until 30 test -e /proc/asound/SoundCard; then
    pass vm_snd_card "$(grep SoundCard /proc/asound/cards | sed 's/  */ /g'); $(ls /dev/snd | tr '\n' ' ')"
else
    fail vm_snd_card "no card: $(cat /proc/asound/cards 2>&1) $(dmesg | grep -i virtio | tail -n 5)"
fi

t=$(ms)
if aplay -q -D hw:SoundCard,0 $T/tone3.wav >$T/aplay.log 2>&1; then
    t=$(($(ms) - t))
    if [ $t -ge 2950 ] && [ $t -le 4000 ]; then pass vm_snd_play "aplay 3 s in $t ms"
    else fail vm_snd_play "aplay 3 s in $t ms: not the device's pace"; fi
else
    fail vm_snd_play "aplay: $(cat $T/aplay.log)"
fi
data vm_sound_play_3s_ms "$t"

t=$(ms)
if arecord -q -D hw:SoundCard,0 -f S16_LE -r 44100 -c 1 -s 88200 $T/captured.wav >$T/arecord.log 2>&1 &&
    cmp=$(wav-tool prefix $T/source.wav $T/captured.wav); then
    pass vm_snd_capture "arecord 2 s in $(($(ms) - t)) ms: $cmp"
else
    fail vm_snd_capture "$(cat $T/arecord.log) $cmp"
fi
