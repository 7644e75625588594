# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user virtio-rng back end (getrandom or a file)"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
