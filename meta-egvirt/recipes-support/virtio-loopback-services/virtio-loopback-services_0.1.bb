# SPDX-License-Identifier: MIT
SUMMARY = "systemd units, configuration and udev rules of virtio-loopback"
DESCRIPTION = "Least-privilege template units vhost-user-{rng,blk,input,console,sound,gpio}@.service \
with their sockets (socket activation) and virtio-loopback-adapter@.service, \
configured by /etc/virtio-loopback/<instance>.conf; the generator that starts \
input instances when their evdev node appears; default instances rng0, blk0 \
(image file created at first start) and input0 (idle until EVDEV is set), and \
console0, sound0 and gpio0 configured but not enabled; the \
udev rules of /dev/virtio-loopback, of GPIO chips and of HTT touch displays; tmpfiles.d, \
sysusers.d (groups virtio-loopback and gpio) and modules-load.d. All of it is installed \
by the repository's 'make install-data', the same command the system tests boot."
HOMEPAGE = "https://github.com/virtio-loopback/virtio-loopback"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=cadec942c3d7d09b1932e41fcc6b0475"

# meta-egvirt/recipes-support/virtio-loopback-services/ -> the repository root.
FILESEXTRAPATHS:prepend := "${THISDIR}/../../..:"
SRC_URI = " \
    file://Makefile;subdir=virtio-loopback \
    file://dist/;subdir=virtio-loopback \
    file://LICENSE;subdir=virtio-loopback \
"
S = "${WORKDIR}/virtio-loopback"

inherit systemd features_check allarch
REQUIRED_DISTRO_FEATURES = "systemd"

# The units enabled in the image: each back end's socket, and the adapter of
# rng0 and blk0 (connecting starts the back end); input0 starts when its EVDEV
# appears. The same set as dist/systemd/virtio-loopback.preset (checked by
# tests/yocto/check-layers.sh). Override in a bbappend or local.conf.
VIRTIO_LOOPBACK_INSTANCES ??= "virtio-loopback-adapter@rng0.service virtio-loopback-adapter@blk0.service \
    vhost-user-rng@rng0.socket vhost-user-blk@blk0.socket vhost-user-input@input0.socket"

# The group that may use HTT touch displays' hidraw nodes (touch-sensitivity,
# vhost-user-input --hidraw); "input" exists in systemd images.
HTT_TOUCH_GROUP ??= "input"

SYSTEMD_PACKAGES = "${PN}"
SYSTEMD_SERVICE:${PN} = "${VIRTIO_LOOPBACK_INSTANCES}"
SYSTEMD_AUTO_ENABLE = "enable"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

# The repository's install entry point, with this distribution's folders.
do_install() {
    oe_runmake -C ${S} install-data DESTDIR=${D} \
        prefix=${prefix} bindir=${bindir} sysconfdir=${sysconfdir} \
        nonarch_base_libdir=${nonarch_base_libdir} nonarch_libdir=${nonarch_libdir} \
        systemd_system_unitdir=${systemd_system_unitdir} \
        systemd_generatordir=${systemd_unitdir}/system-generators \
        systemd_presetdir=${systemd_unitdir}/system-preset \
        udevrulesdir=${nonarch_base_libdir}/udev/rules.d \
        HTT_TOUCH_GROUP=${HTT_TOUCH_GROUP}
}

FILES:${PN} += " \
    ${systemd_system_unitdir} \
    ${systemd_unitdir}/system-generators \
    ${systemd_unitdir}/system-preset \
    ${nonarch_base_libdir}/udev/rules.d \
    ${nonarch_libdir}/tmpfiles.d \
    ${nonarch_libdir}/sysusers.d \
    ${nonarch_libdir}/modules-load.d \
"
CONFFILES:${PN} = "${sysconfdir}/virtio-loopback/rng0.conf \
    ${sysconfdir}/virtio-loopback/blk0.conf \
    ${sysconfdir}/virtio-loopback/input0.conf"

# vhost-user-blk@.service creates the image with truncate(1), which poky's
# busybox leaves out; the generator uses systemd-escape (systemd itself).
RDEPENDS:${PN} = "virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input \
    kernel-module-virtio-loopback kmod coreutils"
