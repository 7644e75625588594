# SPDX-License-Identifier: MIT
# Kernel options for virtio-loopback (virtio core and a transport, virtio-rng,
# virtio_blk, virtio_input, uinput), for the further device types (virtio
# console, snd and gpio, with snd-aloop and gpio-sim) and for touch-sensitivity
# (HID, hidraw, USB HID), through AGL's AGL_KCONFIG_FRAGMENTS, as AGL asks layers to do
# (meta-agl-core's linux-agl-config.inc turns each name into a file:// entry,
# and AGL_KERNEL_SRC = "" still drops every AGL addition). A build without
# AGL's kernel include (AGL_FEATURES without aglcore) gets the same files
# through SRC_URI. tests/yocto/check-kconfig.sh checks the fragments.
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
AGL_KCONFIG_FRAGMENTS += "virtio-loopback.cfg touch-hid.cfg virtio-devices.cfg"
SRC_URI:append = "${@'' if bb.utils.contains('AGL_FEATURES', 'aglcore', True, False, d) else ' file://virtio-loopback.cfg file://touch-hid.cfg file://virtio-devices.cfg'}"
