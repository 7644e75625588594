# SPDX-License-Identifier: MIT
#
# Shared by scripts/gen-nuget-inc.sh and tests/yocto/*.sh: the publish command
# of classes/dotnet_aot.bbclass, run outside BitBake.
#
#   AOT_PROGRAMS                   the programs that have recipes
#   aot_publish_flags RID B WORKDIR  the class's DOTNET_AOT_PUBLISH_FLAGS line for
#                                  a build folder B and its WORKDIR (PathMap)
#   aot_stage_source DIR           copy what the recipes fetch (src/, props,
#                                  global.json) into DIR, without bin/ obj/
#   aot_write_linker FILE CC [LDFLAGS]  the class's linker wrapper
#   aot_list_packages DIR          "<id> <version>" of a NUGET_PACKAGES folder

# The programs the layers build, one recipe each (recipes-dotnet/<program>/):
# the Makefile's PROGRAMS (tests/yocto/check-layers.sh compares the two).
# shellcheck disable=SC2034
AOT_PROGRAMS=(virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input vhost-user-console vhost-user-sound vhost-user-gpio touch-sensitivity)

AOT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AOT_CLASS=$AOT_ROOT/classes/dotnet_aot.bbclass

aot_publish_flags() {
    local rid=${1:?rid} b=${2:?build folder} workdir=${3:?workdir} line
    line=$(sed -n 's/^DOTNET_AOT_PUBLISH_FLAGS = "\(.*\)"$/\1/p' "$AOT_CLASS")
    [[ -n $line ]] || { echo "error: no DOTNET_AOT_PUBLISH_FLAGS line in $AOT_CLASS" >&2; return 1; }
    line=${line//'${DOTNET_RID}'/$rid}
    line=${line//'${DOTNET_CONFIGURATION}'/Release}
    line=${line//'${B}'/$b}
    # The class's default DOTNET_AOT_PATHMAP, for a recipe whose PN is "pn".
    line=${line//'${DOTNET_AOT_PATHMAP}'/$workdir=/usr/src/debug/pn/0.1-r0}
    [[ $line != *'${'* ]] || { echo "error: unknown variable left in DOTNET_AOT_PUBLISH_FLAGS: $line" >&2; return 1; }
    echo "$line"
}

aot_stage_source() {
    local dst=$1
    mkdir -p "$dst"
    (cd "$AOT_ROOT" && tar -c --exclude=bin --exclude=obj src Directory.Build.props \
        Directory.Packages.props global.json LICENSE) | tar -x -C "$dst"
}

aot_write_linker() {
    local file=$1 cc=$2 ldflags=${3:-}
    cat > "$file" <<LINKEOF
#!/bin/sh
for a do
    shift
    case "\$a" in --target=*) continue ;; esac
    set -- "\$@" "\$a"
done
exec $cc $ldflags "\$@"
LINKEOF
    chmod +x "$file"
}

aot_list_packages() {
    local dir=$1 id ver
    for id in "$dir"/*/; do
        id=$(basename "$id")
        for ver in "$dir/$id"/*/; do
            ver=$(basename "$ver")
            [[ -f $dir/$id/$ver/$id.$ver.nupkg ]] && echo "$id $ver"
        done
    done | LC_ALL=C sort
}
