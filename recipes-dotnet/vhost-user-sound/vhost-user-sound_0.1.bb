# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user virtio-snd back end (ALSA devices or WAV files)"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc

# libasound is opened when an ALSA device is used (LibraryImport), not linked.
RDEPENDS:${PN} += "alsa-lib"
