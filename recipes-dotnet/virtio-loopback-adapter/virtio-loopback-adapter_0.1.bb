# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user front end that serves a virtio_loopback.ko device"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
