#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-peer-test.sh (fs): an unmodified third-party vhost-user-fs
# back end (Debian's virtiofsd, which provides no config space) serves a
# directory of this guest through virtio_loopback.ko and the adapter's fs
# profile (--device fs --tag T); the guest's own virtiofs driver mounts it.
# Every check compares the two views of the same files: through virtiofs
# (/mnt/fs) and natively (the shared directory, /srv/share).
#
# Kernel command line knobs: fsd=PATH (the virtiofsd to run, default
# /bin/virtiofsd), fsdopts=... (its options after --socket-path, '#' for
# spaces; default the C daemon's "-o source=/srv/share -o cache=none
# -o sandbox=chroot").
#
# EXPECT: fs_insmod fs_backend fs_mount fs_tag fs_read fs_write fs_dir1000 fs_ops fs_bigger_than_pool fs_readers fs_throughput fs_umount fs_teardown fs_rmmod
. /lib/guest-lib.sh

arg() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline | tr '#' ' '; }
FSD=$(arg fsd); FSD=${FSD:-/bin/virtiofsd}
FSDOPTS=$(arg fsdopts); FSDOPTS=${FSDOPTS:--o source=/srv/share -o cache=none -o sandbox=chroot}
TAG=loopfs
T=/tmp/fs
S=/srv/share
M=/mnt/fs
mkdir -p $T $S $M

if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass fs_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail fs_insmod "no /dev/virtio-loopback"
fi

# The back end: a directory on this guest's tmpfs.
# shellcheck disable=SC2086
$FSD --socket-path=$T/fs.sock $FSDOPTS >$T/virtiofsd.log 2>&1 &
fpid=$!
if wait_for $T/fs.sock 30; then
    pass fs_backend "$(basename $FSD) listening (pid $fpid): $($FSD --version 2>&1 | head -n 1)"
else
    fail fs_backend "no socket: $(tail -n 5 $T/virtiofsd.log)"
fi

# The adapter with the fs profile: the tag and the queue count are the front end's.
virtio-loopback-adapter --socket-path $T/fs.sock --device fs --tag $TAG --pool-size 4 --log-level debug >$T/adapter.log 2>&1 &
apid=$!
watchdog 240 $T/adapter.log $T/virtiofsd.log:10
wpid=$WATCHDOG_PID

mounted=0
if within 60 sh -c 'ls -d /sys/bus/virtio/drivers/virtiofs/virtio* >/dev/null 2>&1' \
    && mount -t virtiofs $TAG $M 2>$T/mount.err; then
    mounted=1
    pass fs_mount "mount -t virtiofs $TAG $M: $(grep " $M " /proc/mounts)"
else
    fail fs_mount "$(cat $T/mount.err 2>/dev/null) $(ls /sys/bus/virtio/drivers/virtiofs 2>&1)"
    show $T/adapter.log 20
fi

# The tag the driver read from our config space, and the device's queue count.
dev=$(ls -d /sys/bus/virtio/drivers/virtiofs/virtio* 2>/dev/null | head -n 1)
if grep -q "created: handle .*, 2 queue(s) of up to 128," $T/adapter.log && [ -n "$dev" ] && [ "$(cat $dev/device)" = 0x001a ]; then
    pass fs_tag "device $(cat $dev/device) on $(basename $dev), tag $TAG mounted, $(grep -o '[0-9]* queue(s) of up to [0-9]*' $T/adapter.log | head -n 1)"
else
    fail fs_tag "device '$dev': $(grep -o 'created.*' $T/adapter.log | head -n 1)"
fi

# Natively written, read through virtiofs.
t0=$(ms)
head -c 3000000 /dev/urandom >$S/native.bin
want=$(sha $S/native.bin); got=$(sha $M/native.bin 2>/dev/null)
if [ "$got" = "$want" ]; then pass fs_read "3000000 bytes written natively, read through virtiofs: sha256 $want ($(( $(ms) - t0 )) ms)"
else fail fs_read "want $want got '$got'"; fi

# Written through virtiofs, read natively.
head -c 2500000 /dev/urandom >$T/up.bin
cp $T/up.bin $M/up.bin; sync
want=$(sha $T/up.bin); got=$(sha $S/up.bin 2>/dev/null)
if [ "$got" = "$want" ] && [ "$(sha $M/up.bin)" = "$want" ]; then pass fs_write "2500000 bytes written through virtiofs, read natively and back: sha256 $want"
else fail fs_write "want $want got '$got'"; fi

# A directory of 1,000 entries made natively, listed through virtiofs
# (READDIRPLUS in pages); and 100 made through virtiofs (four FUSE requests
# each, the slow direction under TCG), seen natively.
t0=$(ms)
mkdir $S/many && (cd $S/many && seq 1000 | sed 's/^/g/' | xargs touch)
mkdir $M/made && (cd $M/made && seq 100 | sed 's/^/f/' | xargs touch)
n1=$(ls $M/many | wc -l); n2=$(ls $S/made | wc -l)
l1=$(ls $M/many | sha256sum | cut -c1-16); l2=$(ls $S/many | sha256sum | cut -c1-16)
l3=$(ls $M/made | sha256sum | cut -c1-16); l4=$(ls $S/made | sha256sum | cut -c1-16)
if [ "$n1" = 1000 ] && [ "$n2" = 100 ] && [ "$l1" = "$l2" ] && [ "$l3" = "$l4" ]; then
    pass fs_dir1000 "1000 entries listed through virtiofs, 100 made through it seen natively, same names both ways ($(( $(ms) - t0 )) ms)"
else
    fail fs_dir1000 "through virtiofs $n1 of 1000, natively $n2 of 100, lists $l1/$l2 $l3/$l4"
fi

# mkdir, write + fsync, rename, unlink, rmdir through virtiofs; each seen natively.
ok=1; why=
head -c 100000 /dev/urandom >$T/small.bin
mkdir $M/d1 && [ -d $S/d1 ] || { ok=0; why="$why mkdir"; }
dd if=$T/small.bin of=$M/d1/a bs=4k conv=fsync 2>/dev/null && [ "$(sha $S/d1/a)" = "$(sha $T/small.bin)" ] || { ok=0; why="$why write+fsync"; }
mv $M/d1/a $M/d1/b && [ ! -e $S/d1/a ] && [ "$(sha $S/d1/b)" = "$(sha $T/small.bin)" ] || { ok=0; why="$why rename"; }
mv $S/d1/b $S/d1/c && [ ! -e $M/d1/b ] && [ "$(sha $M/d1/c)" = "$(sha $T/small.bin)" ] || { ok=0; why="$why native-rename"; }
rm $M/d1/c && [ ! -e $S/d1/c ] || { ok=0; why="$why unlink"; }
rmdir $M/d1 && [ ! -e $S/d1 ] || { ok=0; why="$why rmdir"; }
sync -f $M/up.bin || { ok=0; why="$why syncfs"; }
if [ $ok = 1 ]; then pass fs_ops "mkdir, write + fsync, rename both ways, unlink, rmdir, syncfs: each seen on the other side"
else fail fs_ops "failed:$why"; fi

# A file larger than the pool (4 MiB): 10 MiB each way.
t0=$(ms)
head -c 10485760 /dev/urandom >$S/big.bin
want=$(sha $S/big.bin)
cp $S/big.bin $M/big2.bin
b1=$(sha $M/big.bin); b2=$(sha $S/big2.bin)
if [ "$b1" = "$want" ] && [ "$b2" = "$want" ]; then pass fs_bigger_than_pool "10 MiB (pool 4 MiB) read through virtiofs and written through it: sha256 $want ($(( $(ms) - t0 )) ms)"
else fail fs_bigger_than_pool "want $want, read $b1, written $b2"; fi

# Four concurrent readers of the big file.
t0=$(ms)
pids=
for i in 1 2 3 4; do sha $M/big.bin >$T/reader.$i & pids="$pids $!"; done
for p in $pids; do wait $p; done
good=$(grep -c "^$want\$" $T/reader.* | awk -F: '{ s += $2 } END { print s + 0 }')
if [ "$good" = 4 ]; then pass fs_readers "4 concurrent readers of 10 MiB through virtiofs, all sha256 $want ($(( $(ms) - t0 )) ms)"
else fail fs_readers "$good of 4 readers saw $want"; fi

# Throughput: 16 MiB read and written (dd, 1 MiB blocks) through virtiofs
# against the same directory natively (tmpfs: the memory-speed bound).
mbs() { awk -v b="$1" -v t="$2" 'BEGIN { if (t < 1) t = 1; printf "%.1f", b / 1048576 / (t / 1000) }'; }
B=16777216
dd if=/dev/zero of=$S/tp.bin bs=1M count=16 2>/dev/null
t0=$(ms); dd if=$S/tp.bin of=/dev/null bs=1M 2>/dev/null; tnr=$(( $(ms) - t0 ))
t0=$(ms); dd if=$M/tp.bin of=/dev/null bs=1M 2>/dev/null; tvr=$(( $(ms) - t0 ))
t0=$(ms); dd if=/dev/zero of=$S/tpw.bin bs=1M count=16 conv=fsync 2>/dev/null; tnw=$(( $(ms) - t0 ))
t0=$(ms); dd if=/dev/zero of=$M/tpw2.bin bs=1M count=16 conv=fsync 2>/dev/null; tvw=$(( $(ms) - t0 ))
size=$(stat -c %s $S/tpw2.bin 2>/dev/null)
data fs_read_mbs "$(mbs $B $tvr)"
data fs_write_mbs "$(mbs $B $tvw)"
data native_read_mbs "$(mbs $B $tnr)"
data native_write_mbs "$(mbs $B $tnw)"
if [ "$size" = $B ]; then
    pass fs_throughput "16 MiB through virtiofs: read $(mbs $B $tvr) MB/s, write $(mbs $B $tvw) MB/s; natively (tmpfs): read $(mbs $B $tnr) MB/s, write $(mbs $B $tnw) MB/s"
else
    fail fs_throughput "the 16 MiB write left $size bytes"
fi
rm -f $S/tp.bin $S/tpw.bin $S/tpw2.bin $S/big.bin $S/big2.bin
kill $wpid 2>/dev/null

if [ $mounted = 1 ] && umount $M; then pass fs_umount "unmounted"; else fail fs_umount "umount failed: $(grep " $M " /proc/mounts)"; fi

# Teardown: the adapter's SIGTERM removes the device (and virtiofsd, whose
# front end left, ends by itself).
kill -TERM $apid; wait $apid; arc=$?
gone=1; for d in /sys/bus/virtio/devices/*; do [ "$(cat $d/device 2>/dev/null)" = 0x001a ] && gone=0; done
if [ $arc = 0 ] && [ $gone = 1 ]; then pass fs_teardown "adapter exit 0 on SIGTERM, virtio-fs device gone"
else fail fs_teardown "adapter exit $arc, device gone=$gone"; show $T/adapter.log 20; fi
if within 10 sh -c "! kill -0 $fpid 2>/dev/null"; then info "virtiofsd ended after its front end left"; else info "virtiofsd still runs"; kill $fpid; fi
if rmmod virtio_loopback; then pass fs_rmmod "module unloaded"; else fail fs_rmmod "rmmod refused"; fi
echo "---- adapter log (tail)"
tail -n 15 $T/adapter.log
echo "---- virtiofsd log (tail)"
tail -n 15 $T/virtiofsd.log
