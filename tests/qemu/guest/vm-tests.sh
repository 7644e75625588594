#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/qemu/run-vm-tests.sh: checks the virtio-rng and
# virtio-blk devices that QEMU's vhost-user front ends attach to the host's
# back ends. Parameters come on the kernel command line:
#   vltest.rng=0|1         a vhost-user-rng-pci device is attached
#   vltest.rw_kib=N        size of the writable disk (finds it among vd*)
#   vltest.rw_queues=N     queues the writable disk must have
#   vltest.ro_kib=N        size of the read-only disk
#   vltest.ro_sha=HEX      host-side sha256 of the read-only image
#
# EXPECT: hwrng_present rng_current rng_read rng_differ rng_spread
# EXPECT: rw_present rw_queues mkfs mount_write remount_verify
# EXPECT: raw_direct raw_parallel
# EXPECT: ro_present ro_flag ro_write_rejected ro_content

. /lib/guest-lib.sh

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^vltest\.$1=//p"; }

# disk_by_kib KIB: the vdX whose size is KIB.
disk_by_kib() {
    for d in /sys/block/vd*; do
        [ -e "$d/size" ] || continue
        if [ $(( $(cat "$d/size") / 2 )) = "$1" ]; then basename "$d"; return 0; fi
    done
    return 1
}

# distinct_bytes FILE: how many different byte values FILE holds.
distinct_bytes() { hexdump -v -e '1/1 "%02x\n"' "$1" | sort -u | wc -l; }

# ------------------------------------------------------------------- rng ----
rng_tests() {
    if [ "$(arg rng)" != 1 ]; then
        for t in hwrng_present rng_current rng_read rng_differ rng_spread; do
            skip "$t" "no rng back end in this run"
        done
        return
    fi
    if wait_for /dev/hwrng 10; then pass hwrng_present /dev/hwrng
    else fail hwrng_present "/dev/hwrng missing"; fi

    cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
    case $cur in
        virtio*) pass rng_current "$cur" ;;
        *) fail rng_current "rng_current is '$cur'" ;;
    esac

    # timeout: a back end that never answers must not hang the guest.
    if timeout 60 dd if=/dev/hwrng of=/tmp/r1 bs=4096 count=1 iflag=fullblock 2>/dev/null &&
       timeout 60 dd if=/dev/hwrng of=/tmp/r2 bs=4096 count=1 iflag=fullblock 2>/dev/null &&
       [ "$(stat -c %s /tmp/r1)" = 4096 ] && [ "$(stat -c %s /tmp/r2)" = 4096 ]; then
        pass rng_read "2 x 4096 bytes"
        data rng_sample "$(hexdump -v -n 32 -e '32/1 "%02x"' /tmp/r1)"
    else
        fail rng_read "reading /dev/hwrng failed or timed out"
        return
    fi
    if cmp -s /tmp/r1 /tmp/r2; then fail rng_differ "two reads are identical"
    else pass rng_differ "two reads differ"; fi
    # 4096 random bytes hold about 256 distinct values; constant data holds 1.
    n1=$(distinct_bytes /tmp/r1); n2=$(distinct_bytes /tmp/r2)
    if [ "$n1" -ge 200 ] && [ "$n2" -ge 200 ]; then pass rng_spread "$n1 and $n2 distinct byte values"
    else fail rng_spread "only $n1 and $n2 distinct byte values"; fi
}

# ------------------------------------------------------------ rw disk ----
# Layout of the writable disk (sizes in MiB): 0-32 ext2, 40-48 parallel raw
# writes, 48-56 one raw direct write. The host checks the same regions in the
# image file afterwards.
rw_tests() {
    kib=$(arg rw_kib)
    rw=$(disk_by_kib "$kib") || {
        fail rw_present "no vd* disk of $kib KiB ($(ls /sys/block | tr '\n' ' '))"
        for t in rw_queues mkfs mount_write remount_verify raw_direct raw_parallel; do
            fail "$t" "no writable disk"
        done
        return
    }
    dev=/dev/$rw
    pass rw_present "$dev $((kib / 1024)) MiB ro=$(cat /sys/block/$rw/ro)"
    data rw_dev "$rw"

    want=$(arg rw_queues); have=$(ls /sys/block/$rw/mq | wc -l)
    if [ "$have" = "$want" ]; then pass rw_queues "$have queue(s)"
    else fail rw_queues "$have queue(s), expected $want"; fi

    if mke2fs -F -b 1024 "$dev" 32768 >/tmp/mkfs.log 2>&1; then pass mkfs "ext2, 32 MiB"
    else fail mkfs "mke2fs: $(tail -n1 /tmp/mkfs.log)"; fi

    ok=1
    mount -t ext2 "$dev" /mnt || ok=0
    if [ $ok = 1 ]; then
        # Sizes chosen to cover a partial block, a few blocks and many blocks.
        dd if=/dev/urandom of=/mnt/small bs=1000 count=1 2>/dev/null || ok=0
        dd if=/dev/urandom of=/mnt/medium bs=64k count=16 2>/dev/null || ok=0
        dd if=/dev/urandom of=/mnt/large bs=1M count=8 2>/dev/null || ok=0
        mkdir -p /mnt/dir && i=0
        while [ $i -lt 50 ]; do echo "file $i" >/mnt/dir/f$i || ok=0; i=$((i + 1)); done
        for f in small medium large; do
            s=$(sha /mnt/$f); eval "sha_$f=$s"; data "file_sha256_$f" "$s"
        done
        sync
        umount /mnt || ok=0
    fi
    if [ $ok = 1 ]; then pass mount_write "small medium large + 50 small files"
    else fail mount_write "mount/write/umount failed"; fi

    # Drop the page cache so the second mount really reads from the device.
    echo 3 >/proc/sys/vm/drop_caches
    ok=1; detail=""
    if mount -t ext2 "$dev" /mnt; then
        for f in small medium large; do
            eval "want=\$sha_$f"
            [ "$(sha /mnt/$f)" = "$want" ] || { ok=0; detail="$detail $f"; }
        done
        [ "$(cat /mnt/dir/f49)" = "file 49" ] || { ok=0; detail="$detail dir/f49"; }
        umount /mnt || ok=0
    else
        ok=0; detail="mount failed"
    fi
    if [ $ok = 1 ]; then pass remount_verify "sha256 of 3 files and 50 small files match after remount"
    else fail remount_verify "mismatch:$detail"; fi

    # One 8 MiB O_DIRECT write at 48 MiB, read back with O_DIRECT.
    dd if=/dev/urandom of=/tmp/raw bs=1M count=8 2>/dev/null
    want=$(sha /tmp/raw)
    if dd if=/tmp/raw of="$dev" bs=1M seek=48 oflag=direct conv=fsync 2>/dev/null &&
       got=$(dd if="$dev" bs=1M skip=48 count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1) &&
       [ "$got" = "$want" ]; then
        pass raw_direct "8 MiB at 48 MiB, O_DIRECT write + read, sha256 ${want%${want#????????????}}"
    else
        fail raw_direct "readback sha256 ${got:-none} != $want"
    fi
    data raw_sha256 "$want"

    # Four concurrent O_DIRECT writers, 2 MiB each at 40..46 MiB: several
    # requests in flight at once.
    dd if=/dev/urandom of=/tmp/par bs=1M count=8 2>/dev/null
    i=0
    while [ $i -lt 4 ]; do
        dd if=/tmp/par of="$dev" bs=64k skip=$((i * 32)) seek=$((640 + i * 32)) count=32 \
            oflag=direct 2>/dev/null &
        i=$((i + 1))
    done
    wait
    sync
    want=$(sha /tmp/par)
    got=$(dd if="$dev" bs=1M skip=40 count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ "$got" = "$want" ]; then pass raw_parallel "4 concurrent writers, 8 MiB at 40 MiB"
    else fail raw_parallel "readback sha256 $got != $want"; fi
    data par_sha256 "$want"
}

# ------------------------------------------------------------ ro disk ----
ro_tests() {
    kib=$(arg ro_kib)
    ro=$(disk_by_kib "$kib") || {
        fail ro_present "no vd* disk of $kib KiB"
        for t in ro_flag ro_write_rejected ro_content; do fail "$t" "no read-only disk"; done
        return
    }
    dev=/dev/$ro
    pass ro_present "$dev $((kib / 1024)) MiB"

    flag=$(cat /sys/block/$ro/ro)
    if [ "$flag" = 1 ]; then pass ro_flag "/sys/block/$ro/ro = 1"
    else fail ro_flag "/sys/block/$ro/ro = $flag"; fi

    if dd if=/dev/zero of="$dev" bs=4096 count=1 oflag=direct conv=fsync 2>/tmp/ro.err; then
        fail ro_write_rejected "a write to $dev succeeded"
    else
        pass ro_write_rejected "$(head -n1 /tmp/ro.err)"
    fi

    echo 3 >/proc/sys/vm/drop_caches
    got=$(sha "$dev"); want=$(arg ro_sha)
    if [ "$got" = "$want" ]; then pass ro_content "sha256 matches the host image"
    else fail ro_content "sha256 $got != host $want"; fi
}

rng_tests
rw_tests
ro_tests
