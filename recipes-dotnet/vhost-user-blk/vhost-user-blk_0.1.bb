# SPDX-License-Identifier: MIT
SUMMARY = "vhost-user virtio-blk back end over an image file or block device"
DESCRIPTION = "${SUMMARY}. C#, built with NativeAOT (virtio-loopback)."

require recipes-dotnet/virtio-loopback-dotnet.inc
require ${BPN}-nuget.inc
