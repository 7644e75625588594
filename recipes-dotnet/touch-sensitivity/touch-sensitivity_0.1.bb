# SPDX-License-Identifier: MIT
SUMMARY = "Read and set the touch sensitivity of Matrix Orbital HTT displays"
DESCRIPTION = "${SUMMARY} through hidraw, or in a guest through the virtio-input \
device of vhost-user-input --hidraw. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
