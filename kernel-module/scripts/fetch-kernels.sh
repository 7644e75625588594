#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Download (never install) Debian kernel headers and images for the kernels
# the module is built and tested against, and unpack each with dpkg -x into
# its own self-contained tree under $KERNELS_DIR (default: scripts/kernels-dir.sh):
#
#   $KERNELS_DIR/<kernelrelease>/root/      dpkg -x of headers, common headers,
#                                           linux-kbuild (host arch) and image
#   $KERNELS_DIR/<kernelrelease>/build      symlink to the headers tree, usable
#                                           as KERNEL_SRC for the Makefile
#   $KERNELS_DIR/<kernelrelease>/arch       "amd64" or "arm64"
#
# apt runs with a private state (sources, lists, caches, no dpkg status), so
# the system's apt configuration and architectures are not touched.
#
# Usage: fetch-kernels.sh [TARGET...]
#   TARGET is SUITE:ARCH, default: bullseye:amd64 trixie:amd64 bookworm:arm64
#   (bookworm:amd64 works too, but the host already has those headers).
# Environment: KERNELS_DIR, DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, WITH_IMAGE=0
# to skip the kernel images.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
WITH_IMAGE=${WITH_IMAGE:-1}
HOST_ARCH=$(dpkg --print-architecture)

log() { printf '[fetch-kernels] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# first_dep APT_OPTS... -- PKG REGEX: the first Depends of PKG matching REGEX.
first_dep() {
	local -a opts=()
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	# awk reads to the end: stopping at the first match would leave
	# apt-cache to die of SIGPIPE now and then, and pipefail exit the script.
	apt-cache "${opts[@]}" depends "$1" 2>/dev/null |
		awk -v re="$2" '$1 == "Depends:" { gsub(/[<>]/, "", $2); sub(/:.*/, "", $2) } $1 == "Depends:" && $2 ~ re && !found { print $2; found = 1 }'
}

# glibc_needed FILE: the newest GLIBC_x.y symbol version FILE references.
glibc_needed() {
	objdump -p "$1" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1
}

# wrap_host_tools DEST APT_OPTS...: the kbuild tools (objtool, modpost, ...)
# of a newer suite may need a newer glibc than the host has. Fetch that
# suite's libc6 into DEST/hostglibc and replace each such binary by a
# wrapper that runs it with that glibc's loader (other libraries, such as
# libelf, still come from the host).
wrap_host_tools() {
	local dest=$1; shift
	local host_glibc f need bins=()
	host_glibc=$(ldd --version | sed -n '1s/.* //p')
	while IFS= read -r f; do
		file -b "$f" | grep -q '^ELF' || continue
		need=$(glibc_needed "$f")
		[[ -n $need ]] || continue
		if [[ $(printf '%s\n%s\n' "$need" "$host_glibc" | sort -V | tail -n1) != "$host_glibc" ]]; then
			bins+=("$f")
		fi
	done < <(find "$dest"/root/usr/lib/linux-kbuild-* -type f -perm -u+x)
	[[ ${#bins[@]} -gt 0 ]] || return 0
	log "host glibc $host_glibc is too old for ${#bins[@]} kbuild tools; wrapping them"
	local g=$dest/root/hostglibc debs=$dest/glibc-debs
	mkdir -p "$g" "$debs"
	(cd "$debs" && apt-get "$@" download "libc6:$HOST_ARCH") || die "libc6 download failed"
	dpkg -x "$debs"/libc6_*.deb "$g"
	local ldso libdir
	ldso=$(find "$g" -name 'ld-linux*.so.*' -type f | head -n1)
	libdir=$(dirname "$(find "$g" -name libc.so.6 | head -n1)")
	for f in "${bins[@]}"; do
		mv "$f" "$f.bin"
		cat >"$f" <<EOT
#!/bin/sh
# Added by fetch-kernels.sh: run with the glibc this tool was built for.
exec "$ldso" --library-path "$libdir:/lib/$(gcc -print-multiarch):/usr/lib/$(gcc -print-multiarch)" "$f.bin" "\$@"
EOT
		chmod +x "$f"
	done
}

fetch_target() {
	local suite=${1%%:*} arch=${1#*:}
	local apt=$KERNELS_DIR/apt/$suite-$arch
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
	# Security suite naming changed with bullseye; all targets use the new one.
	cat >"$apt/sources.list" <<EOT
deb [arch=$arch,$HOST_ARCH] $MIRROR $suite main
deb [arch=$arch,$HOST_ARCH] $MIRROR $suite-updates main
deb [arch=$arch,$HOST_ARCH] $SECURITY $suite-security main
EOT
	local -a opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists"
		-o "Dir::Cache=$apt/cache"
		-o Dir::State::status=/dev/null
		-o "APT::Architecture=$HOST_ARCH"
		-o "APT::Architectures::=$HOST_ARCH"
		-o "APT::Architectures::=$arch"
		-o Debug::NoLocking=1
		-o APT::Sandbox::User=root)
	log "$suite:$arch: apt-get update (private state in $apt)"
	# A mirror can fail for a moment: three tries, ten seconds apart.
	local try
	for try in 1 2 3; do
		apt-get "${opts[@]}" update -qq && break
		[[ $try == 3 ]] && die "$suite:$arch: apt-get update failed three times"
		log "$suite:$arch: apt-get update failed (try $try); again in 10 s"
		sleep 10
	done

	# linux-headers-<arch> -> linux-headers-<abi>-<arch> -> -common, kbuild.
	local hdr common kbuild img
	hdr=$(first_dep "${opts[@]}" -- "linux-headers-$arch:$arch" "^linux-headers-[0-9].*-$arch$")
	[[ -n $hdr ]] || die "$suite:$arch: cannot resolve linux-headers-$arch"
	common=$(first_dep "${opts[@]}" -- "$hdr:$arch" "^linux-headers-.*-common")
	kbuild=$(first_dep "${opts[@]}" -- "$hdr:$arch" "^linux-kbuild-")
	[[ -n $common && -n $kbuild ]] || die "$suite:$arch: cannot resolve the dependencies of $hdr"
	local kver=${hdr#linux-headers-}
	img=linux-image-$kver-unsigned
	apt-cache "${opts[@]}" show "$img:$arch" >/dev/null 2>&1 || img=linux-image-$kver
	log "$suite:$arch: $kver ($hdr, $common, $kbuild, $img)"

	local dest=$KERNELS_DIR/$kver
	if [[ -f $dest/.done ]]; then
		log "$suite:$arch: $dest already complete"
		return 0
	fi
	rm -rf "$dest" "$apt/debs"
	mkdir -p "$dest/root" "$apt/debs"
	local -a pkgs=("$hdr:$arch" "$common" "$kbuild:$HOST_ARCH")
	[[ $WITH_IMAGE == 1 ]] && pkgs+=("$img:$arch")
	(cd "$apt/debs" && apt-get "${opts[@]}" download "${pkgs[@]}") ||
		die "$suite:$arch: apt-get download failed"
	local deb
	for deb in "$apt"/debs/*.deb; do
		dpkg -x "$deb" "$dest/root"
	done

	# The headers Makefile includes the -common tree by absolute path; point
	# it into this tree. The scripts/tools symlinks are relative and already
	# resolve to the kbuild package unpacked beside it.
	local tree=$dest/root/usr/src/linux-headers-$kver
	local ctree=$dest/root/usr/src/${common#linux-headers-}
	ctree=$(cd "$dest/root/usr/src" && ls -d linux-headers-*-common* | head -n1)
	[[ -f $tree/Makefile && -n $ctree ]] || die "$suite:$arch: unexpected header layout"
	sed -i "s|^include /usr/src/.*|include $dest/root/usr/src/$ctree/Makefile|" "$tree/Makefile"
	[[ -e $tree/scripts/Makefile.build ]] || die "$suite:$arch: $tree/scripts does not resolve"
	# Merged-/usr suites (trixie) ship modules in usr/lib/modules; give the
	# tree the classic lib/modules path too, for modprobe -d and depmod -b.
	[[ -e $dest/root/lib || ! -d $dest/root/usr/lib/modules ]] || ln -s usr/lib "$dest/root/lib"
	wrap_host_tools "$dest" "${opts[@]}"
	ln -sfn "root/usr/src/linux-headers-$kver" "$dest/build"
	echo "$arch" >"$dest/arch"
	touch "$dest/.done"
	log "$suite:$arch: ready: $dest/build"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(bullseye:amd64 trixie:amd64 bookworm:arm64)
for t in "${targets[@]}"; do
	fetch_target "$t"
done
