# SPDX-License-Identifier: MIT
#
# dotnet_aot.bbclass: build a .NET project into a NativeAOT executable for the
# target, fully offline, with the Yocto cross GCC as the native linker.
#
# How it works:
#   * Every NuGet package the publish needs is in SRC_URI (a generated
#     <recipe>-nuget.inc, see scripts/gen-nuget-inc.sh), pinned by the sha256
#     of the .nupkg file, and fetched by do_fetch like any other source.
#   * do_configure links those .nupkg files into a local feed folder and writes
#     a nuget.config with <clear/> and only that folder, plus a linker wrapper
#     that drops ILCompiler's --target=<triple> (gcc rejects it) and execs
#     ${CC} ${LDFLAGS} "$@" (${CC} already carries --sysroot).
#   * do_compile runs one `dotnet publish -r ${DOTNET_RID}` with the NuGet and
#     CLI homes under ${WORKDIR}; no task but do_fetch touches the network.
#     Its bin/ and obj/ go to ${B}/artifacts (--artifacts-path), never into
#     ${S}; PathMap maps ${WORKDIR} to the /usr/src/debug/ prefix that
#     DEBUG_PREFIX_MAP gives C, so the executable is the same byte for byte
#     from any build folder; PARALLEL_MAKE's -j N limits MSBuild and ILC.
#   * do_install copies the executable to ${bindir}. Symbols are kept
#     (StripSymbols=false) so that Yocto strips and splits debug info itself.
#
# The build host must be x86_64 (the ILCompiler host package in the generated
# list is runtime.linux-x64.microsoft.dotnet.ilcompiler).
#
# Knobs (weak defaults; set them in the recipe):
#   DOTNET_PROJECT        the .csproj to publish, relative to ${S} (required)
#   DOTNET_AOT_EXECUTABLE the name of the produced executable (default ${PN})
#   DOTNET_CONFIGURATION  Release or Debug (default Release)
#   DOTNET_RID            the target runtime identifier (from TARGET_ARCH)
#   DOTNET_AOT_EXTRA_ARGS extra arguments for dotnet publish (default empty)
#   DOTNET_NUGET_FEED     the local feed folder built in do_configure
#   DOTNET_NUGET_CONFIG   the offline nuget.config written in do_configure
#   DOTNET_AOT_LINKER     the linker wrapper written in do_configure
#   DOTNET_AOT_PATHMAP    PathMap of source and build paths (default: ${WORKDIR}
#                         to /usr/src/debug/${PN}/${EXTENDPE}${PV}-${PR})
#   DOTNET_AOT_PARALLEL   processors MSBuild and ILC may use (default: the N
#                         of PARALLEL_MAKE's -j N)

DEPENDS:append = " dotnet-sdk-native"

DOTNET_PROJECT ??= ""
DOTNET_AOT_EXECUTABLE ??= "${PN}"
DOTNET_CONFIGURATION ??= "Release"
DOTNET_AOT_EXTRA_ARGS ??= ""
DOTNET_NUGET_FEED ??= "${WORKDIR}/nuget-feed"
DOTNET_NUGET_CONFIG ??= "${WORKDIR}/nuget.offline.config"
DOTNET_AOT_LINKER ??= "${WORKDIR}/dotnet-aot-cc"
DOTNET_AOT_PATHMAP ??= "${WORKDIR}=/usr/src/debug/${PN}/${EXTENDPE}${PV}-${PR}"
DOTNET_AOT_PARALLEL ??= "${@oe.utils.parallel_make(d) or oe.utils.cpu_count()}"

def dotnet_aot_rid(d):
    arch = d.getVar('TARGET_ARCH')
    rids = {'aarch64': 'linux-arm64', 'x86_64': 'linux-x64', 'arm': 'linux-arm'}
    if arch not in rids:
        raise bb.parse.SkipRecipe("dotnet_aot: no NativeAOT runtime identifier for TARGET_ARCH %s" % arch)
    return rids[arch]

DOTNET_RID ??= "${@dotnet_aot_rid(d)}"

# The publish flags. scripts/gen-nuget-inc.sh and tests/yocto/ read this very
# line (with ${DOTNET_RID}, ${DOTNET_CONFIGURATION}, ${B} and
# ${DOTNET_AOT_PATHMAP} substituted), so the generated package list is the one
# this command restores and the reproducibility check builds what this class
# builds. Keep it on one line.
DOTNET_AOT_PUBLISH_FLAGS = "-c ${DOTNET_CONFIGURATION} -r ${DOTNET_RID} -nologo --artifacts-path ${B}/artifacts -p:PathMap=${DOTNET_AOT_PATHMAP} -p:DisableTransitiveFrameworkReferenceDownloads=true -p:InvariantGlobalization=true -p:StripSymbols=false -p:CompressSymbols=false -p:NuGetAudit=false -p:RestoreLockedMode=true"

DOTNET_ROOT = "${STAGING_LIBDIR_NATIVE}/dotnet"

export DOTNET_CLI_TELEMETRY_OPTOUT = "1"
export DOTNET_NOLOGO = "1"
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE = "1"
# The SDK itself then needs no ICU on the build host.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT = "1"
export DOTNET_CLI_HOME = "${WORKDIR}/dotnet-home"
export NUGET_PACKAGES = "${WORKDIR}/nuget-packages"
export NUGET_HTTP_CACHE_PATH = "${WORKDIR}/nuget-http-cache"
export MSBUILDDISABLENODEREUSE = "1"
export DOTNET_CLI_USE_MSBUILD_SERVER = "0"
# ILC sizes its thread pool by the processor count the runtime reports.
export DOTNET_PROCESSOR_COUNT = "${DOTNET_AOT_PARALLEL}"

B = "${WORKDIR}/build"

# Build the local feed from the fetched .nupkg files of SRC_URI.
python dotnet_aot_feed() {
    import os
    feed = d.getVar('DOTNET_NUGET_FEED')
    bb.utils.remove(feed, True)
    bb.utils.mkdirhier(feed)
    fetcher = bb.fetch2.Fetch((d.getVar('SRC_URI') or '').split(), d)
    count = 0
    for url in fetcher.urls:
        path = fetcher.localpath(url)
        if path.endswith('.nupkg'):
            os.symlink(path, os.path.join(feed, os.path.basename(path)))
            count += 1
    if count == 0:
        bb.fatal("dotnet_aot: no .nupkg in SRC_URI (require the recipe's -nuget.inc)")
}

dotnet_aot_do_configure() {
    if [ -z "${DOTNET_PROJECT}" ]; then
        bbfatal "dotnet_aot: set DOTNET_PROJECT"
    fi
    cat > ${DOTNET_NUGET_CONFIG} <<NUGETEOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="offline" value="${DOTNET_NUGET_FEED}" />
  </packageSources>
</configuration>
NUGETEOF
    # ILCompiler passes --target=<triple>, which gcc rejects.
    cat > ${DOTNET_AOT_LINKER} <<LINKEOF
#!/bin/sh
for a do
    shift
    case "\$a" in --target=*) continue ;; esac
    set -- "\$@" "\$a"
done
exec ${CC} ${LDFLAGS} "\$@"
LINKEOF
    chmod +x ${DOTNET_AOT_LINKER}
    rm -rf ${NUGET_PACKAGES} ${DOTNET_CLI_HOME}
    mkdir -p ${NUGET_PACKAGES} ${DOTNET_CLI_HOME} ${B}
}
do_configure[prefuncs] += "dotnet_aot_feed"

dotnet_aot_do_compile() {
    export PATH="${DOTNET_ROOT}:$PATH"
    export DOTNET_ROOT="${DOTNET_ROOT}"
    cd ${S}
    dotnet publish ${DOTNET_PROJECT} ${DOTNET_AOT_PUBLISH_FLAGS} \
        -maxcpucount:${DOTNET_AOT_PARALLEL} \
        -p:RestoreConfigFile=${DOTNET_NUGET_CONFIG} \
        -p:CppCompilerAndLinker=${DOTNET_AOT_LINKER} \
        -o ${B}/publish ${DOTNET_AOT_EXTRA_ARGS}
}
do_compile[cleandirs] = "${B}/publish ${B}/artifacts"

dotnet_aot_do_install() {
    install -d ${D}${bindir}
    install -m 0755 ${B}/publish/${DOTNET_AOT_EXECUTABLE} ${D}${bindir}/${DOTNET_AOT_EXECUTABLE}
}

EXPORT_FUNCTIONS do_configure do_compile do_install

# A NativeAOT executable needs only libc, libm and the dynamic loader, found by
# shlibdeps; InvariantGlobalization means no ICU. No RDEPENDS are needed.
