#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the harness's debug kernel once per machine: Debian's linux-source-6.1
# with allnoconfig plus debug-kernel.config (lockdep, KASAN, KFENCE, UBSAN,
# DEBUG_OBJECTS, kmemleak, ...), into the same layout fetch-kernels.sh gives:
#
#   $KERNELS_DIR/<release>/root/boot/vmlinuz-<release>
#   $KERNELS_DIR/<release>/root/lib/modules/<release>/   (modules_install)
#   $KERNELS_DIR/<release>/build -> the build tree (KERNEL_SRC for the module)
#   $KERNELS_DIR/<release>/arch                          "amd64"
#
# so find_kernel (tests/qemu/lib.sh), build-all.sh and run-qemu-test.sh take
# it like any fetched kernel. The cache lives outside the work tree (default
# /var/cache/virtio-loopback/kernels, or ~/.cache/virtio-loopback/kernels when
# not root); a tree whose key (source package version, fragment, this
# script) matches is reused, so a machine builds it at most once.
#
# Usage: build-debug-kernel.sh          prints the release on stdout
# Environment: KERNELS_DIR, JOBS (default nproc).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
FRAGMENT=$HERE/debug-kernel.config
# shellcheck source=kernels-dir.sh
. "$HERE/kernels-dir.sh"
JOBS=${JOBS:-$(nproc)}
TARBALL=/usr/src/linux-source-6.1.tar.xz

log() { printf '[debug-kernel] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -r $TARBALL ]] || die "$TARBALL missing: apt-get install linux-source-6.1 (make deps)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
key=$( { echo "$srcver"; cat "$FRAGMENT" "$0"; } | sha256sum | cut -c1-16)

work=$KERNELS_DIR/debug-src
mkdir -p "$work"
if [[ -f $work/.key && $(cat "$work/.key") == "$key" && -f $work/.release ]]; then
	rel=$(cat "$work/.release")
	if [[ -f $KERNELS_DIR/$rel/.done ]]; then
		log "cached: $KERNELS_DIR/$rel"
		echo "$rel"
		exit 0
	fi
fi

t0=$(date +%s)
src=$work/linux-source-6.1
if [[ ! -f $src/Makefile || $(cat "$work/.srcver" 2>/dev/null) != "$srcver" ]]; then
	log "unpacking $TARBALL ($srcver)"
	rm -rf "$src"
	tar -C "$work" -xJf "$TARBALL"
	echo "$srcver" >"$work/.srcver"
fi
obj=$work/build
rm -f "$work/.key"
mkdir -p "$obj"
log "configuring: allnoconfig + $(basename "$FRAGMENT")"
make -s -C "$src" O="$obj" allnoconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT" >/dev/null
make -s -C "$src" O="$obj" olddefconfig >/dev/null

# Every line of the fragment must have survived: a missing dependency
# silently drops an option (VIRTIO without a transport, say).
bad=0
while IFS= read -r line; do
	[[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
	opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
	if [[ $want == n ]]; then
		grep -q "^$opt=" "$obj/.config" && { log "$opt: wanted n, got $(grep "^$opt=" "$obj/.config")"; bad=1; }
	elif ! grep -qx "$opt=$want" "$obj/.config"; then
		log "$opt: wanted $want, got $(grep "^$opt=" "$obj/.config" || echo 'not set')"
		bad=1
	fi
done <"$FRAGMENT"
[[ $bad == 0 ]] || die "the fragment did not apply (see above)"

log "building bzImage and modules with $JOBS jobs (a 2-core machine needs minutes)"
make -s -C "$src" O="$obj" -j"$JOBS" bzImage modules >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log" >&2; die "build failed (log $work/build.log)"; }
rel=$(cat "$obj/include/config/kernel.release")
dest=$KERNELS_DIR/$rel
rm -rf "$dest"
mkdir -p "$dest/root/boot"
make -s -C "$src" O="$obj" INSTALL_MOD_PATH="$dest/root" modules_install >/dev/null
rm -f "$dest/root/lib/modules/$rel/build" "$dest/root/lib/modules/$rel/source"
cp "$obj/arch/x86/boot/bzImage" "$dest/root/boot/vmlinuz-$rel"
ln -sfn "$obj" "$dest/build"
echo amd64 >"$dest/arch"
touch "$dest/.done"
echo "$rel" >"$work/.release"
echo "$key" >"$work/.key"
log "built $rel in $(( $(date +%s) - t0 )) s: $dest"
echo "$rel"
