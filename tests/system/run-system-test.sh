#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The installed system, booted: a Debian bookworm root file system made with
# mmdebstrap from Debian packages (tests/system/mkrootfs.sh, cached) plus
# exactly what `make install DESTDIR=<root>` puts there (programs, module,
# units, udev rules, tmpfiles.d, sysusers.d, modules-load.d, configs), booted
# with systemd as PID 1 and Debian's kernel under TCG:
#
#   tests/system/run-system-test.sh [amd64|arm64]...     (default: both)
#
#   amd64  qemu-system-x86_64, the host's Debian 6.1 kernel, out/linux-x64
#   arm64  qemu-system-aarch64 -M virt, Debian's arm64 6.1 kernel
#          (kernel-module/scripts/fetch-kernels.sh), out/linux-arm64
#
# The image adds only the test's own parts: guest/system-test.sh (the checks,
# run by guest/vl-system-test.service), a test instance input1 on a uinput
# device (guest/input1.conf, guest/70-vl-test.rules) and the test tools
# uinput-feeder, evdev-inspect and htt-double (an HTT display made with uhid,
# for 91-htt-touch.rules). The root file system is a virtio-blk disk,
# mounted by a small busybox initramfs (Debian's kernel has virtio_blk and
# ext4 as modules); the loopback's own disk is found by its serial.
#
# Per architecture: tests/qemu/work/system-<arch>/{console.log,summary}.
# Timings are printed: the root file system (cached or built), the image,
# the boot, the kernel's time of /dev/hwrng, the whole guest run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../qemu/lib.sh"
ARCHES=("$@")
(( ${#ARCHES[@]} )) || ARCHES=(amd64 arm64)
BASE_WORK=$QEMU_WORK_DIR
# The kernel modules the image gets from the kernel's own package tree: the
# loopback's drivers, uinput and evdev for the input test, and what mounts root.
SYSTEM_MODULES="virtio_pci virtio_blk virtio_rng virtio_input evdev uinput uhid hid_generic ext4 crc32c_generic"
INITRD_MODULES="virtio_pci virtio_blk ext4 crc32c_generic"

# kbuild options for a Debian tree, as kernel-module/scripts/build-all.sh uses them.
kbuild_args() { # ARCH
    local cc=gcc
    [[ $1 == arm64 ]] && cc=aarch64-linux-gnu-gcc
    KBUILD=(CC=$cc)
    [[ $1 == arm64 ]] && KBUILD+=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
    [[ $($cc -fmin-function-alignment=16 -x c -c -o /dev/null /dev/null 2>&1) ]] &&
        KBUILD+=(CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=)
    command -v pahole >/dev/null || KBUILD+=(CONFIG_DEBUG_INFO_BTF_MODULES=)
}

# initramfs ARCH OUT: busybox, the modules that mount root, and an /init that
# mounts /dev/vda and switches to its /sbin/init (systemd).
make_initramfs() {
    local arch=$1 out=$2 d bb ko dst m
    d=$(mktemp -d "$W/initramfs.XXXXXX")
    mkdir -p "$d"/{bin,dev,proc,sys,newroot,lib/modules}
    bb=$(command -v busybox)
    [[ $arch == arm64 ]] && bb=$ARM64_ROOT/bin/busybox
    cp "$bb" "$d/bin/busybox"
    for m in sh mount umount insmod switch_root sleep cat echo mkdir; do ln -s busybox "$d/bin/$m"; done
    : >"$d/modules.order"
    for ko in $(resolve_modules $INITRD_MODULES); do
        dst=$d/lib/modules/$(basename "${ko%.xz}"); dst=${dst%.zst}
        case $ko in *.xz) xz -dc "$ko" >"$dst" ;; *.zst) zstd -qdc "$ko" >"$dst" ;; *) cp "$ko" "$dst" ;; esac
        basename "$dst" >>"$d/modules.order"
    done
    cat >"$d/init" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/modules/$m" || echo "INIT insmod $m failed"; done </modules.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "INIT cannot mount /dev/vda"; sleep 5; exit 1; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
    chmod +x "$d/init"
    (cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out"
    rm -rf "$d"
}

run_arch() {
    local arch=$1 rid tree t0 tar rootfs_s image_s
    QEMU_WORK_DIR=$BASE_WORK
    begin_run "system-$arch"
    log "== system test $arch"
    case $arch in
        amd64)
            rid=linux-x64
            GUEST_TIMEOUT=${SYSTEM_TIMEOUT:-400}
            unset KERNEL_VERSION; KVER=; find_kernel
            tree=/usr/src/linux-headers-$KVER
            ;;
        arm64)
            rid=linux-arm64
            # TCG emulating aarch64 is about twice as slow as x86_64.
            GUEST_TIMEOUT=${SYSTEM_TIMEOUT:-700}
            tree=$(ls -d "$KERNELS_DIR"/*-arm64/build 2>/dev/null | sort -V | tail -n1)
            if [[ -z $tree ]]; then
                "$REPO_ROOT/kernel-module/scripts/fetch-kernels.sh" bookworm:arm64 >&2 ||
                    { host_result kernel FAIL "fetch-kernels.sh bookworm:arm64"; return 1; }
                tree=$(ls -d "$KERNELS_DIR"/*-arm64/build | sort -V | tail -n1)
            fi
            KERNEL_VERSION=$(basename "$(dirname "$tree")"); find_kernel
            ;;
        *) die "unknown architecture '$arch' (amd64 or arm64)" ;;
    esac
    [[ -d $tree ]] || { host_result kernel FAIL "no kernel headers $tree"; return 1; }
    log "kernel $KVER ($KERNEL), headers $tree"

    # 1. The Debian root file system (cached by its inputs).
    t0=$(now_ms)
    tar=$("$HERE/mkrootfs.sh" "$arch") || { host_result rootfs FAIL "mkrootfs.sh $arch"; return 1; }
    rootfs_s=$(( ($(now_ms) - t0) / 1000 ))
    host_result rootfs PASS "$(basename "$tar") ($rootfs_s s)"

    # 2. The image: that root + the kernel's modules + make install + the test's parts.
    t0=$(now_ms)
    local R=$W/root ko rel
    rm -rf "$R"; mkdir -p "$R"
    tar -C "$R" --numeric-owner -xf "$tar" || { host_result image FAIL "untar $tar"; return 1; }
    for ko in $(resolve_modules $SYSTEM_MODULES); do
        rel=${ko#"$MODDIR"/}
        install -D -m 0644 "$ko" "$R/lib/modules/$KVER/$rel"
    done
    cp "$MODDIR"/modules.order "$MODDIR"/modules.builtin* "$R/lib/modules/$KVER/" 2>/dev/null
    # The module's sources as a recipe unpacks them: a copy, so kbuild's
    # objects stay out of the work tree.
    mkdir -p "$W/src"
    (cd "$REPO_ROOT" && tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' --exclude='.*.cmd' \
        --exclude=Module.symvers --exclude=modules.order kernel-module) | tar -x -C "$W/src"
    kbuild_args "$arch"
    if ! make -C "$REPO_ROOT" --no-print-directory install DESTDIR="$R" RID="$rid" \
            MODULE_DIR="$W/src/kernel-module" KERNEL_SRC="$tree" "${KBUILD[@]}" >"$W/install.log" 2>&1; then
        tail -n 20 "$W/install.log" >&2
        host_result make_install FAIL "make install DESTDIR=<root> RID=$rid (log $W/install.log)"
        return 1
    fi
    host_result make_install PASS "make install DESTDIR=<root> RID=$rid KERNEL_SRC=$tree: $(grep -c . <(cd "$R" && find usr/bin/vhost-user-* usr/bin/virtio-loopback-adapter lib/modules/"$KVER"/extra etc/virtio-loopback lib/systemd/system/*virtio-loopback* lib/systemd/system/vhost-user-* -type f 2>/dev/null)) files of ours"
    depmod -b "$R" "$KVER"
    # What distributions do when such files are installed: the sysusers.d
    # group (a Yocto image does it at rootfs time, Debian in postinst) and the
    # preset's default instances.
    systemd-sysusers --root="$R" >/dev/null
    systemctl --root="$R" preset virtio-loopback-adapter@.service vhost-user-rng@.socket \
        vhost-user-blk@.socket vhost-user-input@.socket >>"$W/install.log" 2>&1
    # A test machine: no gettys (Debian's getty-static starts them when
    # there is no logind, and fails when they are masked).
    systemctl --root="$R" mask getty-static.service >>"$W/install.log" 2>&1
    # The test's own parts.
    install -D -m 0755 "$HERE/guest/system-test.sh" "$R/usr/local/lib/vl-test/system-test.sh"
    install -D -m 0644 "$HERE/guest/vl-system-test.service" "$R/etc/systemd/system/vl-system-test.service"
    ln -sf /etc/systemd/system/vl-system-test.service "$R/etc/systemd/system/multi-user.target.wants/vl-system-test.service"
    install -D -m 0644 "$HERE/guest/input1.conf" "$R/etc/virtio-loopback/input1.conf"
    install -D -m 0644 "$HERE/guest/70-vl-test.rules" "$R/etc/udev/rules.d/70-vl-test.rules"
    local tool
    for tool in uinput-feeder evdev-inspect htt-double; do
        [[ -x $REPO_ROOT/out/$rid/$tool ]] || { host_result image FAIL "out/$rid/$tool missing (make out/$rid/$tool)"; return 1; }
        install -D -m 0755 "$REPO_ROOT/out/$rid/$tool" "$R/usr/local/bin/$tool"
    done
    rm -f "$W/root.img"
    mke2fs -q -t ext4 -L vl-root -d "$R" "$W/root.img" 1536M || { host_result image FAIL "mke2fs -d"; return 1; }
    make_initramfs "$arch" "$W/initrd.gz"
    rm -rf "$R" "$W/src"
    image_s=$(( ($(now_ms) - t0) / 1000 ))
    host_result image PASS "root.img ($(du -h "$W/root.img" | cut -f1) used) and initrd.gz ($(du -h "$W/initrd.gz" | cut -f1)) in $image_s s"

    # 3. Boot it, systemd as PID 1, and run the checks.
    GUEST_LOG=$W/console.log
    GUEST_QEMU_ARGS=(-drive "file=$W/root.img,if=none,format=raw,id=root" -device virtio-blk-pci,drive=root)
    GUEST_APPEND="root=/dev/vda rw systemd.show_status=error"
    local mem=1024 rc=0
    log "system-$arch: booting (timeout ${GUEST_TIMEOUT}s)"
    t0=$(now_ms)
    GUEST_MEM=$mem run_qemu "$W/initrd.gz" "$GUEST_LOG" || rc=$?
    local run_ms=$(( $(now_ms) - t0 ))
    local -a expect
    mapfile -t expect < <(expected_results "$HERE/guest/system-test.sh")
    check_log "system-$arch" "$GUEST_LOG" "$rc" "${expect[@]}" || true
    local hw boot
    hw=$(data_value "$GUEST_LOG" boot_to_hwrng_s); boot=$(data_value "$GUEST_LOG" boot_done_s)
    log "system-$arch timings: rootfs ${rootfs_s} s, image ${image_s} s, boot finished at ${boot:-?} s and /dev/hwrng served at ${hw:-?} s (kernel clock), guest run $(( run_ms / 1000 )) s"
    printf 'timings %s: rootfs %s s, image %s s, boot %s s, hwrng %s s, guest run %s s\n' \
        "$arch" "$rootfs_s" "$image_s" "${boot:-?}" "${hw:-?}" $(( run_ms / 1000 )) >"$W/timings"
    rm -f "$W/root.img"
    summary >"$W/summary"
    cat "$W/summary"
}

rc=0
# The units' exposure scores (systemd-analyze security), once for all arches.
mkdir -p "$BASE_WORK/system-units"
"$HERE/check-unit-security.sh" 2>&1 | tee "$BASE_WORK/system-units/log" || rc=1
echo "$(grep -c '^ok:' "$BASE_WORK/system-units/log") passed, $(grep -c '^FAIL:' "$BASE_WORK/system-units/log") failed" \
    >"$BASE_WORK/system-units/summary"
for a in "${ARCHES[@]}"; do
    TOTAL_PASSED=0 TOTAL_FAILED=0
    ( run_arch "$a" ) || rc=1
    [[ -f $BASE_WORK/system-$a/summary ]] && grep -q ' 0 failed' "$BASE_WORK/system-$a/summary" || rc=1
done
exit $rc
