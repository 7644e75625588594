#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Download (never install) Debian trixie's QEMU and every library it needs,
# and unpack them into a private root, for the guest tests whose vhost-user
# front end bookworm's QEMU 7.2 lacks (vhost-user-snd-pci). The host keeps its
# own QEMU and libraries: the trixie binary runs through trixie's own loader
# with the root's library path, and finds its modules in the root first
# (QEMU_MODULE_DIR). QEMU also looks in its built-in module folder, the
# host's, and aborts on a module of another build: that happens only when it
# loads every module (-device help), which the tests never ask for. The
# wrapper is $QEMU_TRIXIE_DIR/qemu-system-x86_64.
#
# apt runs with a private state (sources, lists, caches, no dpkg status), as
# kernel-module/scripts/fetch-kernels.sh does. Idempotent: a root that runs
# is kept.
#
# Environment: QEMU_TRIXIE_DIR (default $KERNELS_DIR/../qemu-trixie),
# DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
DIR=${QEMU_TRIXIE_DIR:-$(dirname "$KERNELS_DIR")/qemu-trixie}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf '[fetch-trixie-qemu] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# write_wrapper: the wrapper for the root (rewritten each run: cheap, and a
# wrapper from an older version of this script never lingers).
write_wrapper() {
    local ldso
    ldso=$(find "$root" -name 'ld-linux-x86-64.so.2' | head -n1)
    [[ -n $ldso ]] || return 1
    ldso=${ldso#"$root"}
    cat >"$wrapper" <<EOT
#!/bin/sh
# trixie's QEMU with trixie's loader, libraries and modules (fetch-trixie-qemu.sh).
R=$root
export QEMU_MODULE_DIR="\$R/usr/lib/x86_64-linux-gnu/qemu"
exec "\$R$ldso" --library-path "\$R/lib/x86_64-linux-gnu:\$R/usr/lib/x86_64-linux-gnu" \\
    "\$R/usr/bin/qemu-system-x86_64" -L "\$R/usr/share/qemu" -L "\$R/usr/share/seabios" "\$@"
EOT
    chmod +x "$wrapper"
}

wrapper=$DIR/qemu-system-x86_64
root=$DIR/root
works() { [[ -x $wrapper ]] && "$wrapper" -device vhost-user-snd-pci,help 2>/dev/null | grep -q 'chardev='; }
if [[ -x $root/usr/bin/qemu-system-x86_64 ]] && write_wrapper && works; then
    log "present: $("$wrapper" --version | head -n1)"
    exit 0
fi

apt=$DIR/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
cat >"$apt/sources.list" <<EOT
deb [arch=amd64] $MIRROR trixie main
deb [arch=amd64] $MIRROR trixie-updates main
deb [arch=amd64] $SECURITY trixie-security main
EOT
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
    -o Dir::State::status=/dev/null -o APT::Architecture=amd64
    -o "APT::Architectures::=amd64" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
for try in 1 2 3; do
    apt-get "${opts[@]}" update -qq && break
    [[ $try == 3 ]] && die "apt-get update failed three times"
    sleep 10
done

# The Depends/Pre-Depends closure of QEMU and its firmware; virtual packages
# (<name>) are left out, a real package provides each.
mapfile -t pkgs < <(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances qemu-system-x86 |
    grep -v '^ ' | grep -v '^<' | sort -u)
log "${#pkgs[@]} packages"
(cd "$apt/debs" && apt-get "${opts[@]}" download "${pkgs[@]}" >/dev/null) || die "download failed"

rm -rf "$root.new"; mkdir -p "$root.new"
for d in "$apt"/debs/*.deb; do dpkg -x "$d" "$root.new"; done
rm -rf "$root"; mv "$root.new" "$root"
write_wrapper || die "no loader in the root"
works || die "$wrapper does not run, or has no vhost-user-snd-pci"
"$wrapper" --version | head -n1
