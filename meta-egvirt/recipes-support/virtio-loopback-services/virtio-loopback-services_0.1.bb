# SPDX-License-Identifier: MIT
SUMMARY = "systemd units, configuration and udev rule of virtio-loopback"
DESCRIPTION = "Template units vhost-user-{rng,blk,input}@.service and \
virtio-loopback-adapter@.service configured by /etc/virtio-loopback/<instance>.conf, \
default instances rng0, blk0 (image file created at first start) and input0 \
(evdev pass-through), the udev rule of /dev/virtio-loopback, and the udev rule that \
gives HTT_TOUCH_GROUP the hidraw nodes of Matrix Orbital HTT touch displays."
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

SRC_URI = " \
    file://vhost-user-rng@.service \
    file://vhost-user-blk@.service \
    file://vhost-user-input@.service \
    file://virtio-loopback-adapter@.service \
    file://rng0.conf \
    file://blk0.conf \
    file://input0.conf \
    file://90-virtio-loopback.rules \
    file://91-htt-touch.rules \
    file://virtio-loopback.tmpfiles \
"
S = "${WORKDIR}"

inherit systemd features_check
REQUIRED_DISTRO_FEATURES = "systemd"

# The default instances enabled in the image; the back-end units pull in
# their adapter@ instance. Override in a bbappend or local.conf to change.
VIRTIO_LOOPBACK_INSTANCES ??= "vhost-user-rng@rng0.service vhost-user-blk@blk0.service vhost-user-input@input0.service"

# The group that may use HTT touch displays' hidraw nodes (touch-sensitivity,
# vhost-user-input --hidraw); "input" exists in systemd images.
HTT_TOUCH_GROUP ??= "input"

SYSTEMD_PACKAGES = "${PN}"
SYSTEMD_SERVICE:${PN} = "${VIRTIO_LOOPBACK_INSTANCES}"
SYSTEMD_AUTO_ENABLE = "enable"

do_install() {
    install -d ${D}${systemd_system_unitdir}
    for u in vhost-user-rng@.service vhost-user-blk@.service \
             vhost-user-input@.service virtio-loopback-adapter@.service; do
        install -m 0644 ${WORKDIR}/$u ${D}${systemd_system_unitdir}/$u
    done
    install -d ${D}${sysconfdir}/virtio-loopback
    for c in rng0 blk0 input0; do
        install -m 0644 ${WORKDIR}/$c.conf ${D}${sysconfdir}/virtio-loopback/$c.conf
    done
    install -D -m 0644 ${WORKDIR}/90-virtio-loopback.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/90-virtio-loopback.rules
    install -D -m 0644 ${WORKDIR}/91-htt-touch.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/91-htt-touch.rules
    sed -i 's/@HTT_TOUCH_GROUP@/${HTT_TOUCH_GROUP}/g' \
        ${D}${nonarch_base_libdir}/udev/rules.d/91-htt-touch.rules
    install -D -m 0644 ${WORKDIR}/virtio-loopback.tmpfiles \
        ${D}${nonarch_libdir}/tmpfiles.d/virtio-loopback.conf
}

FILES:${PN} += " \
    ${systemd_system_unitdir} \
    ${nonarch_base_libdir}/udev/rules.d \
    ${nonarch_libdir}/tmpfiles.d \
"
CONFFILES:${PN} = "${sysconfdir}/virtio-loopback/rng0.conf \
    ${sysconfdir}/virtio-loopback/blk0.conf \
    ${sysconfdir}/virtio-loopback/input0.conf"

RDEPENDS:${PN} = "virtio-loopback-adapter vhost-user-rng vhost-user-blk vhost-user-input kmod"
