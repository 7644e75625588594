# SPDX-License-Identifier: MIT
SUMMARY = ".NET SDK (Microsoft's binary release) for building NativeAOT programs"
DESCRIPTION = "Installs Microsoft's .NET SDK tarball into the native sysroot \
(${libdir_native}/dotnet) for classes/dotnet_aot.bbclass. The version matches \
global.json of virtio-loopback."
HOMEPAGE = "https://dotnet.microsoft.com/"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE.txt;md5=9fc642ff452b28d62ab19b7eea50dfb9"

# Microsoft's release metadata (release-metadata/10.0/releases.json) gives the
# sha512 of each file; BitBake checks it in do_fetch. PV must be global.json's
# SDK version, and the -nuget.inc files must name the runtime this SDK bundles
# (tests/yocto/check-versions.sh).
def dotnet_sdk_host_arch(d):
    return dict(x86_64='x64', aarch64='arm64').get(d.getVar('BUILD_ARCH'), 'unsupported')

DOTNET_SDK_HOST_ARCH = "${@dotnet_sdk_host_arch(d)}"
SRC_URI = "https://builds.dotnet.microsoft.com/dotnet/Sdk/${PV}/dotnet-sdk-${PV}-linux-${DOTNET_SDK_HOST_ARCH}.tar.gz;subdir=dotnet-sdk-${PV};name=${DOTNET_SDK_HOST_ARCH}"
SRC_URI[x64.sha512sum] = "51c8b999af9e8dd9998c9edc5944e19a90788862068acd38694e098889054ce8c23d4f0c5cccfa16bf187d044562359e5ee69a9f8ad0bbe913ba90311fbce25b"
SRC_URI[arm64.sha512sum] = "58ace73ced6b4360754689a686bdfb8a317f4da6cb8bb416dbc7d0ba9f47e43e3c09f5eb1f1a1cfaacbd10df9558da4882bf2a5e195d6ab56a02c1f9f76102ed"

S = "${WORKDIR}/dotnet-sdk-${PV}"

inherit native

python () {
    if d.getVar('DOTNET_SDK_HOST_ARCH') == 'unsupported':
        raise bb.parse.SkipRecipe("no .NET SDK for build host %s" % d.getVar('BUILD_ARCH'))
}

# A prebuilt binary: nothing to configure or compile, and its ELF files must
# not be stripped in the sysroot. (A native recipe is never packaged, so no
# package QA runs on it and no INSANE_SKIP applies.)
do_configure[noexec] = "1"
do_compile[noexec] = "1"
INHIBIT_SYSROOT_STRIP = "1"

do_install() {
    install -d ${D}${libdir_native}/dotnet
    cp -R --no-preserve=ownership ${S}/. ${D}${libdir_native}/dotnet/
    install -d ${D}${bindir_native}
    ln -sf ../lib/dotnet/dotnet ${D}${bindir_native}/dotnet
}

