# SPDX-License-Identifier: MIT
# Kernel options for virtio-loopback (virtio core, virtio-rng, virtio_blk,
# virtio_input, uinput) and for touch-sensitivity (HID, hidraw, USB HID).
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI:append = " file://virtio-loopback.cfg file://touch-hid.cfg"
