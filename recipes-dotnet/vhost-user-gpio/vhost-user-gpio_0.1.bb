# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user virtio-gpio back end (a host GPIO chip through its character device)"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
