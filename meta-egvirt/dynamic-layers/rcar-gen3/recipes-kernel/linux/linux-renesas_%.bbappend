# SPDX-License-Identifier: MIT
# The same kernel options for R-Car Gen3 (m3ulcb, h3ulcb) with linux-renesas.
# AGL's linux-renesas bbappend (linux-agl-config.inc) turns each name in
# AGL_KCONFIG_FRAGMENTS into a file:// SRC_URI entry and merges it.
FILESEXTRAPATHS:prepend := "${THISDIR}/../../../../recipes-kernel/linux/files:"
AGL_KCONFIG_FRAGMENTS += "virtio-loopback.cfg touch-hid.cfg virtio-devices.cfg"
