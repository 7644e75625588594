# SPDX-License-Identifier: MIT
SUMMARY = "virtio-loopback: kernel module, adapter, back ends and their services"
LICENSE = "MIT"

PACKAGE_ARCH = "${MACHINE_ARCH}"
inherit packagegroup

RDEPENDS:${PN} = " \
    kernel-module-virtio-loopback \
    virtio-loopback-adapter \
    vhost-user-rng \
    vhost-user-blk \
    vhost-user-input \
    vhost-user-console \
    vhost-user-sound \
    vhost-user-gpio \
    touch-sensitivity \
    virtio-loopback-services \
"

# The kernel drivers that bind to the loopback devices, when built as modules.
RRECOMMENDS:${PN} = " \
    kernel-module-virtio-rng \
    kernel-module-virtio-blk \
    kernel-module-virtio-input \
    kernel-module-uinput \
    kernel-module-virtio-console \
    kernel-module-virtio-snd \
    kernel-module-gpio-virtio \
"
