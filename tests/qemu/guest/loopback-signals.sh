#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (signals): the adapter and the back ends
# while signal-storm sends SIGUSR1, SIGHUP and SIGCHLD to every one of their
# threads, one round every millisecond, from the first handshake to the last
# SIGTERM. Every blocking call on their paths (poll, epoll_wait, recvmsg,
# sendmsg, read, write, ioctl) is interrupted over and over.
#  1. lbsigcycles=N adapter runs (default 8), each: an rng and a blk device
#     created through vhost-user-rng and vhost-user-blk, 8 chunks of 256 KiB
#     written with O_DIRECT and read back by sha256, 4 KiB from /dev/hwrng,
#     SIGTERM, both devices gone, exit 0.
#  2. A last adapter run reads every chunk of every cycle back (the data went
#     through different adapters and devices into the same back end).
#  3. The back ends, stormed all along, still run and end within a second of
#     SIGTERM with exit 0; rmmod.
#
# EXPECT: lb_sig_insmod lb_sig_cycles lb_sig_io_errors lb_sig_mismatches lb_sig_rng lb_sig_reverify lb_sig_storm lb_sig_backends lb_sig_rmmod
. /lib/guest-lib.sh

T=/tmp/sig
mkdir -p $T
CYCLES=$(sed -n 's/.*lbsigcycles=\([0-9]*\).*/\1/p' /proc/cmdline); CYCLES=${CYCLES:-8}
CHUNKS=8

if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then pass lb_sig_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else fail lb_sig_insmod "no /dev/virtio-loopback"; fi

dd if=/dev/zero of=$T/disk.img bs=1M count=64 2>/dev/null
vhost-user-blk --socket-path $T/blk.sock --blk-file $T/disk.img --log-level warn >$T/blk.log 2>&1 &
bpid=$!
vhost-user-rng --socket-path $T/rng.sock --log-level warn >$T/rng.log 2>&1 &
rpid=$!
wait_for $T/blk.sock 20; wait_for $T/rng.sock 20
signal-storm --period-ms 1 vhost-user-blk vhost-user-rng virtio-loopback-adapter >$T/storm.out 2>&1 &
spid=$!

# adapter: one run serving both back ends; its pid in $apid.
adapter() {
    virtio-loopback-adapter --socket-path $T/blk.sock --device blk --pool-size 16 \
        --socket-path $T/rng.sock --device rng --pool-size 1 --log-level warning >>$T/adapter.log 2>&1 &
    apid=$!
}
rng_listed() { grep -q virtio_rng /sys/class/misc/hw_random/rng_available; }
not_rng_listed() { ! rng_listed; }

# chunk C J: the data of chunk J of cycle C (reproducible, so it can be checked again later).
chunk() { awk -v s=$(( $1 * 100 + $2 + 1 )) 'BEGIN { srand(s); for (i = 0; i < 8192; i++) printf "%08x%08x%08x%08x", rand() * 4294967295, rand() * 4294967295, rand() * 4294967295, rand() * 4294967295 }' >$T/chunk; }

ok=0; errors=0; bad=0; rngok=0; c=0
t0=$(ms)
while [ $c -lt $CYCLES ]; do
    adapter
    if ! wait_until 60 blk_by_sectors 131072 >/dev/null || ! wait_until 30 rng_listed; then
        info "cycle $c: the devices did not appear"; show $T/adapter.log 20; kill -TERM $apid; wait $apid; break
    fi
    dev=$(blk_by_sectors 131072)
    j=0
    while [ $j -lt $CHUNKS ]; do
        chunk $c $j
        want=$(sha $T/chunk)
        off=$((c * CHUNKS + j))
        dd if=$T/chunk of="$dev" bs=256k seek=$off count=1 oflag=direct conv=notrunc 2>/dev/null || errors=$((errors + 1))
        got=$(dd if="$dev" bs=256k skip=$off count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
        [ "$got" = "$want" ] || bad=$((bad + 1))
        j=$((j + 1))
    done
    echo virtio_rng >/sys/class/misc/hw_random/rng_current 2>/dev/null ||
        grep -o 'virtio_rng[.0-9]*' /sys/class/misc/hw_random/rng_available | head -n 1 >/sys/class/misc/hw_random/rng_current
    [ "$(timeout 30 head -c 4096 /dev/hwrng | wc -c)" = 4096 ] && rngok=$((rngok + 1))
    kill -TERM $apid; wait $apid; st=$?
    if [ $st = 0 ] && wait_until 30 not_there /sys/block/${dev#/dev/} && wait_until 30 not_rng_listed; then
        ok=$((ok + 1))
    else
        info "cycle $c: adapter exit $st, ${dev} or rng still there"; show $T/adapter.log 20
    fi
    c=$((c + 1))
done
t1=$(ms)
if [ $ok = $CYCLES ]; then pass lb_sig_cycles "$CYCLES adapter runs under the storm in $((t1 - t0)) ms: rng and blk created, used, destroyed, exit 0 on SIGTERM"
else fail lb_sig_cycles "$ok of $CYCLES adapter runs"; fi
if [ $errors = 0 ] && [ $ok -gt 0 ]; then pass lb_sig_io_errors "0 I/O errors in $((c * CHUNKS)) O_DIRECT writes and reads"
else fail lb_sig_io_errors "$errors I/O errors"; fi
if [ $bad = 0 ] && [ $ok -gt 0 ]; then pass lb_sig_mismatches "0 mismatches in $((c * CHUNKS)) reads"
else fail lb_sig_mismatches "$bad mismatches"; fi
if [ $rngok = $c ] && [ $c -gt 0 ]; then pass lb_sig_rng "4096 bytes from /dev/hwrng in each of $c runs"
else fail lb_sig_rng "$rngok of $c reads"; fi

# Every chunk of every run again, through one more adapter.
adapter
bad=0; n=0
if wait_until 60 blk_by_sectors 131072 >/dev/null; then
    dev=$(blk_by_sectors 131072)
    cc=0
    while [ $cc -lt $c ]; do
        j=0
        while [ $j -lt $CHUNKS ]; do
            chunk $cc $j
            got=$(dd if="$dev" bs=256k skip=$((cc * CHUNKS + j)) count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
            [ "$got" = "$(sha $T/chunk)" ] || bad=$((bad + 1))
            n=$((n + 1)); j=$((j + 1))
        done
        cc=$((cc + 1))
    done
fi
kill -TERM $apid; wait $apid
if [ $bad = 0 ] && [ $n -gt 0 ]; then pass lb_sig_reverify "all $n chunks read back through a new adapter, sha256 equal"
else fail lb_sig_reverify "$bad of $n chunks differ"; fi

kill -TERM $spid; wait $spid
signals=$(sed -n 's/^SIGNALS //p' $T/storm.out)
data signals ${signals:-0}
if [ "${signals:-0}" -gt $((CYCLES * 1000)) ]; then pass lb_sig_storm "$signals signals delivered to the adapters' and back ends' threads"
else fail lb_sig_storm "only ${signals:-0} signals delivered"; show $T/storm.out; fi

# The back ends saw every signal too: still running, and gone within a second of SIGTERM.
alive=0
for p in $bpid $rpid; do grep -q '^State:.*[RS]' /proc/$p/status 2>/dev/null && alive=$((alive + 1)); done
t0=$(ms); kill -TERM $bpid; wait $bpid; sb=$?; tb=$(( $(ms) - t0 ))
t0=$(ms); kill -TERM $rpid; wait $rpid; sr=$?; tr=$(( $(ms) - t0 ))
if [ $alive = 2 ] && [ $sb = 0 ] && [ $sr = 0 ] && [ $tb -lt 1000 ] && [ $tr -lt 1000 ]; then
    pass lb_sig_backends "both back ends outlived the storm; SIGTERM: blk exit 0 in $tb ms, rng exit 0 in $tr ms"
else
    fail lb_sig_backends "$alive of 2 alive; blk exit $sb in $tb ms, rng exit $sr in $tr ms"; show $T/blk.log 20; show $T/rng.log 20
fi
if rmmod virtio_loopback; then pass lb_sig_rmmod "module unloaded"; else fail lb_sig_rmmod "rmmod refused"; fi
