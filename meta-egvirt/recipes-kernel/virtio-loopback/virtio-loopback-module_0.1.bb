# SPDX-License-Identifier: MIT
SUMMARY = "virtio_loopback.ko: a virtio transport served from user space"
DESCRIPTION = "Kernel module that creates virtio devices for the kernel's own \
drivers (virtio_rng, virtio_blk, virtio_input) whose queues a vhost-user back \
end serves through virtio-loopback-adapter and /dev/virtio-loopback."
HOMEPAGE = "https://github.com/virtio-loopback/virtio-loopback"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://LICENSE;md5=b234ee4d69f5fce4486a80fdaf4a4263"

inherit module

# meta-egvirt/recipes-kernel/virtio-loopback/ -> the repository root, whose
# kernel-module/ folder is the source (its Makefile takes KERNEL_SRC and has
# modules_install, like meta-skeleton's hello-mod).
FILESEXTRAPATHS:prepend := "${THISDIR}/../../..:"
SRC_URI = "file://kernel-module/"
S = "${WORKDIR}/kernel-module"

# A developer's checkout may hold objects of a host build.
do_configure:prepend() {
    rm -f ${S}/*.o ${S}/*.ko ${S}/*.mod ${S}/*.mod.c ${S}/.*.cmd ${S}/Module.symvers ${S}/modules.order
}

# The user-space API header goes to ${PN}-dev.
do_install:append() {
    install -D -m 0644 ${S}/include/uapi/linux/virtio_loopback.h \
        ${D}${includedir}/linux/virtio_loopback.h
}

# Load at boot (/etc/modules-load.d/virtio_loopback.conf).
KERNEL_MODULE_AUTOLOAD += "virtio_loopback"

RPROVIDES:${PN} += "kernel-module-virtio-loopback"
