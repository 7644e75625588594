#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mkrootfs.sh ARCH: a Debian bookworm root file system for the system tests,
# made with mmdebstrap from Debian packages only (systemd as init, udev, kmod,
# procps on top of the Essential set), as a tar in the cache folder; prints
# its path. The tar is reused while its inputs are the same: mmdebstrap's
# options (architecture, packages, hooks), the suite, the mirror and the
# mmdebstrap version (the cache key).
#
#   tests/system/mkrootfs.sh amd64|arm64
#
# Cache: $ROOTFS_CACHE, default /var/cache/virtio-loopback/rootfs for root
# (~/.cache/virtio-loopback/rootfs otherwise), outside the work tree; the
# three newest tars per architecture are kept. Needs root (mmdebstrap's root
# mode), mmdebstrap and, for a foreign architecture, qemu-user-static.
#
# A foreign (arm64) root runs its maintainer scripts under qemu-aarch64-static.
# The binfmt_misc entry for that is registered in a private binfmt_misc
# instance of a user namespace (Linux 6.7 and later), so the host's own
# binfmt_misc is not touched. On older kernels an existing host entry is used;
# without one, the host's binfmt_misc gets qemu-aarch64 (said on stderr).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/kernel-module/scripts/kernels-dir.sh"
ARCH=${1:?usage: mkrootfs.sh amd64|arm64}
case $ARCH in amd64|arm64) ;; *) echo "mkrootfs.sh: unknown architecture '$ARCH' (amd64 or arm64)" >&2; exit 2 ;; esac
ROOTFS_CACHE=${ROOTFS_CACHE:-$(dirname "$KERNELS_DIR")/rootfs}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd-sysv,udev,kmod,procps

log() { printf '[mkrootfs %s] %s\n' "$ARCH" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (mmdebstrap --mode=root keeps file owners)"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run 'make deps'"

opts=(--mode=root --variant=essential --architectures="$ARCH" --include="$PACKAGES"
    --format=tar --skip=check/qemu --skip=chroot/mount/sys
    --dpkgopt=force-unsafe-io
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    # A test machine: a fixed name, no login prompt on the serial console.
    --customize-hook='echo virtio-loopback-test >"$1/etc/hostname"'
    --customize-hook='chroot "$1" systemctl mask serial-getty@.service getty@.service')
# The cache key: everything that makes the tar (the options above, the suite,
# the mirror and the mmdebstrap version).
key=$( { printf '%s\n' "${opts[@]}" "$SUITE" "$MIRROR"; mmdebstrap --version; } | sha256sum | cut -c1-16)
out=$ROOTFS_CACHE/$SUITE-$ARCH-$key.tar
mkdir -p "$ROOTFS_CACHE"
# One build per architecture at a time: a second caller (the system test
# while `make test`'s early background build runs) waits for the first.
exec 9>"$ROOTFS_CACHE/.lock-$ARCH"
if ! flock -n 9; then
    log "waiting for another build of this root file system"
    flock 9
fi
if [[ -s $out ]]; then
    log "cached: $out"
    echo "$out"; exit 0
fi
rm -rf "$out.part"

mmdeb=(mmdebstrap "${opts[@]}" "$SUITE" "$out.part" "$MIRROR")
t0=$(date +%s)
if [[ $ARCH == "$(dpkg --print-architecture)" ]]; then
    "${mmdeb[@]}" >&2
else
    qemu=/usr/libexec/qemu-binfmt/aarch64-binfmt-P
    conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    [[ -x $qemu && -f $conf ]] || die "qemu-user-static missing: run 'make deps'"
    # A user namespace mapping uids and gids 0-65535 to themselves, with its
    # own mount and pid namespaces and its own binfmt_misc instance.
    fifo=$(mktemp -u /tmp/mkrootfs.XXXXXX); mkfifo "$fifo"
    inner='read -r _ <"$0"; rm -f "$0"
        mount -t proc proc /proc
        if mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; then
            cat "$1" >/proc/sys/fs/binfmt_misc/register; shift
        else
            shift; echo "private binfmt_misc unsupported" >&2; exit 99
        fi
        exec "$@"'
    unshare --user --mount --pid --fork --kill-child bash -c "$inner" "$fifo" "$conf" "${mmdeb[@]}" >&2 &
    pid=$!
    for _ in $(seq 50); do [[ -e /proc/$pid/uid_map ]] && break; sleep 0.1; done
    echo "0 0 65536" >"/proc/$pid/uid_map"
    echo "0 0 65536" >"/proc/$pid/gid_map"
    echo go >"$fifo"
    rc=0; wait "$pid" || rc=$?
    if [[ $rc == 99 ]]; then
        log "no private binfmt_misc on this kernel; using the host's"
        if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
            mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
            log "registering qemu-aarch64 in the host's binfmt_misc ($conf)"
            cat "$conf" >/proc/sys/fs/binfmt_misc/register
        fi
        "${mmdeb[@]}" >&2
    elif [[ $rc != 0 ]]; then
        die "mmdebstrap failed ($rc)"
    fi
fi
mv "$out.part" "$out"
ls -t "$ROOTFS_CACHE/$SUITE-$ARCH-"*.tar | tail -n +4 | xargs -r rm -f
log "built $out ($(du -h "$out" | cut -f1), $(( $(date +%s) - t0 )) s)"
echo "$out"
