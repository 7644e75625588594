# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user virtio-console back end (multiport: unix sockets, ptys, files)"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
