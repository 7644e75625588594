#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The VM path of vhost-user-sound: QEMU's vhost-user-snd-pci front end on our
# back end, for a Debian 6.12 guest (virtio_snd). Bookworm's QEMU 7.2 has no
# vhost-user-snd front end; trixie's QEMU 10.0 has, and runs here from a
# private root (fetch-trixie-qemu.sh, cached outside the work tree). The same
# back end, the same options, as in the loopback test.
#
# Guest checks are in guest/vm-sound.sh. Host checks, after the guest: the
# back end's playback file holds the guest's sine sample for sample; the back
# end is alive and exits 0 on SIGTERM.
#
# Environment: KERNEL_VERSION (default the fetched Debian 6.12 amd64 kernel),
# BIN_DIR (default out/linux-x64), QEMU_TRIXIE_DIR, plus the lib.sh tunables.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"

if [[ -z ${KERNEL_VERSION:-} ]]; then
    KERNEL_VERSION=$(cd "$KERNELS_DIR" 2>/dev/null && ls -d 6.12.*-amd64 2>/dev/null | tail -n 1) ||
        true
    [[ -n $KERNEL_VERSION ]] || die "no Debian 6.12 amd64 kernel in $KERNELS_DIR: run kernel-module/scripts/fetch-kernels.sh"
    export KERNEL_VERSION
fi
"$HERE/fetch-trixie-qemu.sh" || die "trixie's QEMU cannot be fetched or run"
export QEMU_X86=${QEMU_TRIXIE_DIR:-$(dirname "$KERNELS_DIR")/qemu-trixie}/qemu-system-x86_64

begin_run vm-sound
find_kernel
for p in vhost-user-sound wav-tool; do
    [[ -x $BIN_DIR/$p ]] || die "$BIN_DIR/$p missing: run 'make'"
done
aplay=$(command -v aplay) && arecord=$(command -v arecord) || die "aplay/arecord missing: run 'make deps' (alsa-utils)"
install -m 0755 /usr/share/alsa/alsa.conf "$QEMU_WORK_DIR/alsa.conf"
log "kernel $KVER, $("$QEMU_X86" --version | head -n 1)"

W=$QEMU_WORK_DIR
"$BIN_DIR/wav-tool" sine "$W/tone3.wav" 48000 2 3 1000 >/dev/null
"$BIN_DIR/wav-tool" sine "$W/source.wav" 44100 1 3 440 >/dev/null
start_backend sound "$W/snd.sock" "$BIN_DIR/vhost-user-sound" --socket-path "$W/snd.sock" \
    --playback-file "$W/played.wav" --capture-file "$W/source.wav"
SND_PID=$BACKEND_PID
GUEST_QEMU_ARGS=(-chardev "socket,id=snd0,path=$W/snd.sock" -device vhost-user-snd-pci,chardev=snd0)
GUEST_MODULES="virtio_pci virtio_snd" \
    run_guest vm-sound "$HERE/guest/vm-sound.sh" \
    "$BIN_DIR/wav-tool:/bin/wav-tool" "$aplay:/bin/aplay" "$arecord:/bin/arecord" \
    "$QEMU_WORK_DIR/alsa.conf:/usr/share/alsa/alsa.conf" || true

if out=$("$BIN_DIR/wav-tool" compare "$W/tone3.wav" "$W/played.wav" 2>&1); then
    host_result vm_snd_played_file PASS "the back end's file: $out"
else
    host_result vm_snd_played_file FAIL "$out"
fi
grep -o 'Stream [01]: released after .*' "$QEMU_WORK_DIR/sound.out" | sed 's/^/    /' >&2 || true
stop_process sound "$SND_PID" || true
BACKEND_PIDS=()
end_run 0
