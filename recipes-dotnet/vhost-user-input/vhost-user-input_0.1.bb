# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user virtio-input back end in front of an evdev node"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
