#!/bin/bash
# SPDX-License-Identifier: MIT
#
# oe-init.sh: one-step set-up of an AGL needlefish (kirkstone) build with the
# agl-virtio-loopback feature. See --help.

set -euo pipefail
PROG=oe-init.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AGL_BRANCH=needlefish
AGL_MANIFEST=needlefish_14.0.5.xml
AGL_REPO_URL=https://gerrit.automotivelinux.org/gerrit/AGL/AGL-repo
FEATURE=agl-virtio-loopback

usage() {
    cat <<USAGE
Usage: $PROG [OPTIONS] [METADIR]

Set up an AGL needlefish build of an image with virtio-loopback:
  1. (--fetch) get the AGL tree into METADIR with 'repo' ($AGL_MANIFEST);
  2. place this repository as METADIR/meta-virtio-loopback (a symbolic link,
     unless it already is that folder);
  3. run 'source meta-agl/scripts/aglsetup.sh -m MACHINE -b BUILD $FEATURE'
     in METADIR, which adds both layers (meta-virtio-loopback and its nested
     meta-egvirt) and packagegroup-virtio-loopback to the image;
  4. print the commands that build the image.

METADIR is the AGL checkout (the folder holding meta-agl/ and external/poky);
default: \$METADIR, else the parent folder of this repository.

Options:
  -m, --machine M   qemuarm64 (default) or an R-Car Gen3 board (needs
                    METADIR/bsp/meta-renesas): m3ulcb-nogfx, h3ulcb-nogfx (no
                    proprietary graphics), or m3ulcb, h3ulcb (these need the
                    Renesas graphics and multimedia zips in ~/Downloads; AGL's
                    setup_mm_packages.sh says which)
  -b, --build DIR   the build folder, relative to METADIR (default: build)
  -f, --force       pass -f to aglsetup.sh (regenerate an existing conf/)
      --fetch       fetch the AGL tree with 'repo' first (prints the commands
                    when 'repo' is not installed, and stops)
  -n, --dry-run     print what would be done, change nothing
  -h, --help        print this help and exit

Run as a normal user: BitBake refuses to run as root.
USAGE
}

die() { echo "$PROG: error: $1" >&2; exit "${2:-1}"; }

MACHINE=qemuarm64 BUILD=build FORCE= FETCH=0 DRY=0 META=${METADIR:-}
while (( $# )); do
    case $1 in
        -m|--machine) [[ $# -ge 2 && -n $2 ]] || die "$1 needs a machine name" 2; MACHINE=$2; shift 2 ;;
        --machine=*) MACHINE=${1#*=}; shift ;;
        -b|--build) [[ $# -ge 2 && -n $2 ]] || die "$1 needs a folder" 2; BUILD=$2; shift 2 ;;
        --build=*) BUILD=${1#*=}; shift ;;
        -f|--force) FORCE=-f; shift ;;
        --fetch) FETCH=1; shift ;;
        -n|--dry-run) DRY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option '$1' (see --help)" 2 ;;
        *) [[ -z ${ARG_META:-} ]] || die "more than one METADIR given: '$1'" 2; ARG_META=$1; shift ;;
    esac
done
(( $# == 0 )) || { [[ -z ${ARG_META:-} && $# == 1 ]] && ARG_META=$1 || die "too many arguments" 2; }
[[ -n ${ARG_META:-} ]] && META=$ARG_META
[[ -n $META ]] || META=$(dirname "$HERE")
[[ $MACHINE =~ ^[A-Za-z0-9._-]+$ ]] || die "bad machine name '$MACHINE'" 2
[[ $BUILD != /* && $BUILD != *..* ]] || die "--build must be a folder inside METADIR: '$BUILD'" 2

run() {
    if (( DRY )); then printf 'would run:'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}

if (( FETCH )); then
    if (( DRY )) || ! command -v repo >/dev/null; then
        echo "fetch commands for the AGL tree:"
        echo "  mkdir -p $META && cd $META"
        echo "  repo init -b $AGL_BRANCH -m $AGL_MANIFEST -u $AGL_REPO_URL"
        echo "  repo sync"
        (( DRY )) || die "'repo' is not installed: run the commands above, then $PROG $META"
    else
        mkdir -p "$META"
        (cd "$META" && repo init -b "$AGL_BRANCH" -m "$AGL_MANIFEST" -u "$AGL_REPO_URL" && repo sync)
    fi
fi

if [[ ! -d $META ]]; then
    (( DRY && FETCH )) || die "METADIR '$META' does not exist (use --fetch, or give the AGL checkout)"
else
    META=$(cd "$META" && pwd)
    if ! (( DRY && FETCH )); then
        [[ -f $META/meta-agl/scripts/aglsetup.sh ]] || die "'$META' is not an AGL tree: no meta-agl/scripts/aglsetup.sh"
        [[ -d $META/external/poky ]] || die "'$META' is not an AGL tree: no external/poky"
        # The feature adds meta-python (AGL_META_PYTHON) for the R-Car BSP layer.
        [[ -d $META/external/meta-openembedded/meta-python ]] \
            || die "'$META' has no external/meta-openembedded/meta-python, which agl-virtio-loopback adds"
        shopt -s nullglob
        machines=("$META"/*/templates/machine/"$MACHINE" "$META"/bsp/*/templates/machine/"$MACHINE")
        shopt -u nullglob
        (( ${#machines[@]} )) || die "no AGL machine template '$MACHINE' in $META"
        # The layers the machine template adds must be there (R-Car: bsp/meta-renesas).
        for l in $(sed -n 's#.*${METADIR}/\([^ "\\]*\).*#\1#p' "${machines[0]}/50_bblayers.conf.inc" 2>/dev/null); do
            [[ -d $META/$l ]] || die "machine '$MACHINE' needs the layer $META/$l, which is missing"
        done
        grep -qs kirkstone "$META"/meta-agl/meta-agl-core/conf/layer.conf \
            || echo "$PROG: warning: $META/meta-agl does not look like needlefish (kirkstone)" >&2
    fi
fi

LAYER=$META/meta-virtio-loopback
if [[ -e $LAYER || -L $LAYER ]]; then
    if [[ $(cd "$LAYER" 2>/dev/null && pwd -P) == "$(cd "$HERE" && pwd -P)" ]]; then
        echo "layer: $LAYER is this repository"
    else
        die "$LAYER exists and is not this repository ($HERE)"
    fi
else
    run ln -s "$HERE" "$LAYER"
fi

(( EUID != 0 )) || echo "$PROG: warning: running as root; BitBake will refuse to build" >&2

SETUP="source meta-agl/scripts/aglsetup.sh ${FORCE:+$FORCE }-m $MACHINE -b $BUILD $FEATURE"
if (( DRY )); then
    echo "would run in $META: $SETUP"
else
    # aglsetup.sh's own output stays visible: it says why a set-up fails (a
    # missing layer, the R-Car graphics zips), and what it configured.
    (cd "$META" && bash -c "$SETUP") || die "aglsetup.sh failed (its output is above)"
fi

cat <<NEXT
next, to build the image:
  cd $META
  $SETUP
  bitbake agl-image-minimal
NEXT
