# SPDX-License-Identifier: MIT
# Kernel options for virtio-loopback (virtio core, virtio-rng, virtio_blk,
# virtio_input, uinput).
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI:append = " file://virtio-loopback.cfg"
