# SPDX-License-Identifier: MIT
SUMMARY = "virtio_loopback.ko: a virtio transport served from user space"
DESCRIPTION = "Kernel module that creates virtio devices for the kernel's own \
drivers (virtio_rng, virtio_blk, virtio_input) whose queues a vhost-user back \
end serves through virtio-loopback-adapter and /dev/virtio-loopback."
HOMEPAGE = "https://github.com/virtio-loopback/virtio-loopback"
LICENSE = "GPL-2.0-only"
# The UAPI header, in -dev, carries the syscall exception.
LICENSE:${PN}-dev = "GPL-2.0-only WITH Linux-syscall-note"
LIC_FILES_CHKSUM = "file://kernel-module/LICENSE;md5=b234ee4d69f5fce4486a80fdaf4a4263"

inherit module

# meta-egvirt/recipes-kernel/virtio-loopback/ -> the repository root: its
# kernel-module/ folder (a Makefile that takes KERNEL_SRC and has
# modules_install, like meta-skeleton's hello-mod) and the top-level Makefile,
# whose install entry point the system tests boot too.
FILESEXTRAPATHS:prepend := "${THISDIR}/../../..:"
SRC_URI = " \
    file://kernel-module/;subdir=virtio-loopback \
    file://Makefile;subdir=virtio-loopback \
"
S = "${WORKDIR}/virtio-loopback"

# module.bbclass runs `make ${MAKE_TARGETS}` and `make ${MODULES_INSTALL_TARGET}`
# (with MODLIB, CC, LD, O, KERNEL_SRC) in ${B} = ${S}: the top-level targets
# build kernel-module/ with kbuild and install the module (modules_install) and
# the UAPI header (${includedir}/linux/virtio_loopback.h, in -dev).
MAKE_TARGETS = "module-kbuild"
MODULES_INSTALL_TARGET = "install-module"
MODULES_MODULE_SYMVERS_LOCATION = "kernel-module"
EXTRA_OEMAKE += "DESTDIR=${D} includedir=${includedir} MODULE_DIR=kernel-module"

# A developer's checkout may hold objects of a host build.
do_configure:prepend() {
    rm -f ${S}/kernel-module/*.o ${S}/kernel-module/*.ko ${S}/kernel-module/*.mod \
        ${S}/kernel-module/*.mod.c ${S}/kernel-module/.*.cmd ${S}/kernel-module/Module.symvers \
        ${S}/kernel-module/modules.order
}

# Loaded at boot by ${nonarch_libdir}/modules-load.d/virtio-loopback.conf of
# virtio-loopback-services (make install-data), not KERNEL_MODULE_AUTOLOAD.

RPROVIDES:${PN} += "kernel-module-virtio-loopback"
