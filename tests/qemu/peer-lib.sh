#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Third-party programs for guest tests, from Debian packages that are
# downloaded (never installed) with a private apt state, as
# kernel-module/scripts/fetch-kernels.sh does for kernels. Source after lib.sh.
#
#   peer_fetch SUITE ARCH PKG...   download and unpack PKGs into one root
#                                  (cached); prints the root
#   peer_stage NAME ROOT PROG...   kit specs that put each PROG (a path in
#                                  ROOT) and the closure of its NEEDED
#                                  libraries, from ROOT only, under
#                                  /opt/NAME in the guest, with a wrapper
#                                  /bin/<prog> that runs it with ROOT's own
#                                  loader: a trixie or arm64 program runs
#                                  beside the guest's other binaries
#
# Environment: PEERS_DIR (default: beside the kernels cache), DEBIAN_MIRROR,
# DEBIAN_SECURITY_MIRROR.

PEERS_DIR=${PEERS_DIR:-$(dirname "$KERNELS_DIR")/peers}

# peer_fetch SUITE ARCH PKG...
peer_fetch() {
    local suite=$1 arch=$2; shift 2
    local key base root apt
    key=$(printf '%s\n' "$@" | sha256sum | cut -c1-12)
    base=$PEERS_DIR/$suite-$arch
    root=$base/root-$key
    if [[ -f $root/.done ]]; then
        echo "$root"; return 0
    fi
    apt=$base/apt
    local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    local security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    cat >"$apt/sources.list" <<EOT
deb [arch=$arch] $mirror $suite main
deb [arch=$arch] $mirror $suite-updates main
deb [arch=$arch] $security $suite-security main
EOT
    local -a opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt/lists"
        -o "Dir::Cache=$apt/cache"
        -o Dir::State::status=/dev/null
        -o "APT::Architecture=$arch"
        -o "APT::Architectures::=$arch"
        -o Debug::NoLocking=1
        -o APT::Sandbox::User=root)
    log "peers: $suite:$arch: fetching $*"
    local try
    for try in 1 2 3; do
        apt-get "${opts[@]}" update -qq >&2 && break
        [[ $try == 3 ]] && die "peers: $suite:$arch: apt-get update failed three times"
        sleep 10
    done
    local debs=$base/debs-$key p
    rm -rf "$debs" "$root"; mkdir -p "$debs" "$root"
    local -a pkgs=()
    for p in "$@"; do pkgs+=("$p:$arch"); done
    (cd "$debs" && apt-get "${opts[@]}" download "${pkgs[@]}" >&2) || die "peers: $suite:$arch: apt-get download failed"
    local deb
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
    rm -rf "$debs"
    touch "$root/.done"
    echo "$root"
}

# peer_needed FILE: the sonames FILE needs (readelf reads any architecture).
peer_needed() {
    readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# peer_find ROOT SONAME: the file in ROOT's library folders.
peer_find() {
    local d
    for d in "$1"/lib/*-linux-gnu "$1"/usr/lib/*-linux-gnu "$1"/usr/lib/*-linux-gnu/dpdk/pmds-* "$1"/lib64 "$1"/usr/lib64 "$1"/lib; do
        [[ -e $d/$2 ]] && { readlink -f "$d/$2"; return 0; }
    done
    return 1
}

# peer_stage NAME ROOT PROG...: prints kit specs (FILE:DEST), staged in
# $QEMU_WORK_DIR/stage-NAME (build_kit wants executable files). A PROG that
# ends in .so is a plugin: it goes to /opt/NAME/lib with the libraries (one
# path, one copy: DPDK's plugins are NEEDED by dpdk-testpmd too).
peer_stage() {
    local name=$1 root=$2; shift 2
    local stage=$QEMU_WORK_DIR/stage-$name
    rm -rf "$stage"; mkdir -p "$stage/lib" "$stage/bin" "$stage/wrap"
    # copy_with_libs (lib.sh) leaves what is staged here alone.
    touch "$stage/.own-loader"
    local -a todo=() seen=()
    local prog base f so dest
    for prog in "$@"; do
        f=$root/$prog
        [[ -f $f ]] || die "peers: $f missing"
        base=$(basename "$prog")
        if [[ $base == *.so* ]]; then cp -L "$f" "$stage/lib/$base"; seen+=("$base"); else cp -L "$f" "$stage/bin/$base"; fi
        todo+=("$f")
    done
    # The loader: what the first program names as its interpreter.
    local interp
    interp=$(readelf -l "$root/$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
    [[ -n $interp ]] || die "peers: $1 has no interpreter"
    # Merged-/usr suites (trixie) have it under usr/ only.
    local ldso=$root$interp
    [[ -e $ldso ]] || ldso=$root/usr$interp
    [[ -e $ldso ]] || die "peers: $interp is in none of the fetched packages"
    todo+=("$ldso")
    cp -L "$ldso" "$stage/lib/$(basename "$interp")"
    while [[ ${#todo[@]} -gt 0 ]]; do
        f=${todo[0]}; todo=("${todo[@]:1}")
        for so in $(peer_needed "$f"); do
            [[ " ${seen[*]} " == *" $so "* ]] && continue
            seen+=("$so")
            local path
            path=$(peer_find "$root" "$so") || die "peers: $so (needed by $(basename "$f")) is in none of the fetched packages"
            cp -L "$path" "$stage/lib/$so"
            todo+=("$path")
        done
    done
    chmod -R a+x "$stage"
    for f in "$stage"/lib/* "$stage"/bin/*; do
        [[ -e $f ]] || continue
        dest=/opt/$name/${f#"$stage"/}
        echo "$f:$dest"
    done
    for f in "$stage"/bin/*; do
        base=$(basename "$f")
        cat >"$stage/wrap/$base" <<EOT
#!/bin/sh
# $name's $base with its own loader and libraries (peer-lib.sh).
exec /opt/$name/lib/$(basename "$interp") --library-path /opt/$name/lib /opt/$name/bin/$base "\$@"
EOT
        chmod +x "$stage/wrap/$base"
        echo "$stage/wrap/$base:/bin/$base"
    done
}
