#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (console): our vhost-user-console with three
# ports, a console (/dev/hvc0, socket peer, size 100x40), a named serial port
# (/dev/vportNp1, socket peer) and a second console on port 2 (/dev/hvc1, socket
# peer), served to the guest kernel's virtio_console through virtio_loopback.ko
# and our adapter. The host side of each port is stream-peer on the port's socket.
#
#   lb_con_ports      the driver made hvc0, hvc1 and the named serial port
#   lb_con_size       the console's size from the back end (stty size: 40 100)
#   lb_con_closed     with no peer on its socket, the serial port reads end of file
#                     (the back end told the driver the host side is closed)
#   lb_con_hvc        1 MiB each way through hvc0 (raw tty, one way at a time), by sha256,
#   lb_con_vport      and meanwhile 1 MiB each way at once through the serial port
#   lb_con_guest_close the guest closing the serial port hangs up its peer (EOF)
#   lb_con_one_cpu    64 KiB through hvc0 with the writer and the back end pinned to one vCPU
#   lb_con_stopped    with the back end stopped, a writer of 4 MiB to hvc0 still finishes (the
#                     module drops what it cannot post), and after SIGCONT the console carries data
#                     again
#   lb_con_hvc1_stopped the same on hvc1: a console on port 2, which the module posts once the back
#                     end's control message makes it a console
#   lb_con_alive      the back end, the adapter and the kernel are fine afterwards
#
# On 2 vCPUs: virtio_console spins with interrupts off for each console buffer, which the module
# answers at the kick (its posted queues), so no spare CPU is needed for the back end.
#
# EXPECT: lb_insmod lb_con_socket lb_con_ports lb_con_size lb_con_closed lb_con_hvc lb_con_vport lb_con_guest_close lb_con_one_cpu lb_con_stopped lb_con_hvc1_stopped lb_con_alive lb_adapter_sigterm lb_backend_sigterm lb_rmmod
. /lib/guest-lib.sh

T=/tmp/lb

# What a lost or late console byte needs to be explained: the driver's port counters (debugfs),
# the loopback device's counters, the back end's STATS line and log, the kernel's messages.
con_diag() {
    mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
    for _p in /sys/kernel/debug/virtio-ports/*; do
        [ -e "$_p" ] && info "${_p##*/}: $(tr '\n' ' ' <"$_p")"
    done
    lb_counters
    kill -USR1 "$bpid" 2>/dev/null; usleep 300000
    show $T/backend.log 20
    dmesg | grep -E 'virtio|loopback' | tail -n 12 | sed 's/^/INFO dmesg: /'
}
MIB=1048576
mkdir -p $T
if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass lb_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail lb_insmod "no /dev/virtio-loopback"
fi

vhost-user-console --socket-path $T/con.sock \
    --port console,socket=$T/p0.sock,size=100x40 \
    --port serial,socket=$T/p1.sock,name=org.virtio-loopback.test \
    --port console,socket=$T/p2.sock \
    >$T/backend.log 2>&1 &
bpid=$!
if wait_for $T/con.sock 20; then pass lb_con_socket "vhost-user-console listening (pid $bpid)"
else fail lb_con_socket "no socket"; show $T/backend.log; fi

virtio-loopback-adapter --socket-path $T/con.sock --device console --log-level debug >$T/adapter.log 2>&1 &
apid=$!
watchdog 200 $T/adapter.log $T/backend.log
wpid=$WATCHDOG_PID

# named_port NAME: the /dev node of the serial port the back end named NAME.
named_port() {
    for _p in /sys/class/virtio-ports/vport*; do
        [ "$(cat "$_p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/$(basename "$_p")"; return 0; }
    done
    return 1
}
vport=
if wait_until 30 test -c /dev/hvc0 && wait_until 10 test -c /dev/hvc1 && wait_until 10 named_port org.virtio-loopback.test >/dev/null; then
    vport=$(named_port org.virtio-loopback.test)
    pass lb_con_ports "/dev/hvc0, /dev/hvc1 and $vport ($(cat /sys/class/virtio-ports/$(basename $vport)/name)); $(grep -o 'queue(s) of up to [0-9]*' $T/adapter.log)"
else
    fail lb_con_ports "ports: $(ls /sys/class/virtio-ports 2>&1 | tr '\n' ' ')"; show $T/adapter.log; show $T/backend.log
fi

# Hold hvc0 open for the whole test, so the raw mode set here stays (the tty resets on last close).
sleep 1000 </dev/hvc0 &
hold=$!
usleep 200000
stty -F /dev/hvc0 raw -echo
size=$(stty -F /dev/hvc0 size 2>&1)
if [ "$size" = "40 100" ]; then pass lb_con_size "stty size: $size"; else fail lb_con_size "stty size: '$size'"; fi

if [ -n "$vport" ]; then
    got=$(timeout 5 head -c 16 "$vport" 2>&1 | wc -c); trc=$?
    if [ "$got" = 0 ] && [ $trc = 0 ]; then pass lb_con_closed "$vport reads end of file while no peer is connected"
    else fail lb_con_closed "read gave $got bytes, status $trc"; fi
else
    fail lb_con_closed "no serial port"
fi

# Both ports at once: the serial port carries 1 MiB each way at the same time, while the console
# carries 1 MiB to the host and then 1 MiB to the guest, one way at a time (a receive interrupt
# for the console takes the hvc lock that its writer holds). The module posts console buffers
# (kernel-module/vq.c), so hvc's writer waits only while the back end lags by a whole ring, and
# never for long: lb_con_one_cpu and lb_con_stopped check that.
head -c $MIB /dev/urandom >$T/to-guest0; head -c $MIB /dev/urandom >$T/to-host0
head -c $MIB /dev/urandom >$T/to-guest1; head -c $MIB /dev/urandom >$T/to-host1
: >$T/peer0.log; : >$T/peer1.log
t0=$(ms)
stream-peer $T/p1.sock --send $T/to-guest1 --expect $MIB --out $T/at-host1 --wait-eof --timeout 120000 >$T/peer1.log 2>&1 &
p1=$!
stream-peer $T/p0.sock --expect $MIB --out $T/at-host0 --timeout 120000 >$T/peer0.log 2>&1 &
p0=$!
wait_until 10 grep -q CONNECTED $T/peer1.log
# The serial port blocks readers once the peer is connected; give the driver its PORT_OPEN.
usleep 300000
if [ -n "$vport" ]; then
    # One open file for both directions: its close is the guest closing the port.
    ( exec 6<>"$vport"; cat $T/to-host1 >&6 & head -c $MIB <&6 >$T/at-guest1; wait ) &
    rw1=$!
else
    rw1=
fi
cat $T/to-host0 >/dev/hvc0
wait $p0; prc0=$?
t_out=$(($(ms) - t0))
t1=$(ms)
head -c $MIB /dev/hvc0 >$T/at-guest0 &
r0=$!
stream-peer $T/p0.sock --send $T/to-guest0 --timeout 120000 >>$T/peer0.log 2>&1; prc0b=$?
wait $r0
t_in=$(($(ms) - t1))
[ -n "$rw1" ] && wait $rw1
t_all=$(($(ms) - t0))

if [ $prc0 = 0 ] && [ $prc0b = 0 ] && [ "$(sha $T/at-guest0)" = "$(sha $T/to-guest0)" ] && [ "$(sha $T/at-host0)" = "$(sha $T/to-host0)" ]; then
    pass lb_con_hvc "1 MiB each way through hvc0, sha256 equal: to the host $t_out ms, to the guest $t_in ms"
else
    fail lb_con_hvc "peer status $prc0/$prc0b; guest got $(wc -c <$T/at-guest0 2>/dev/null) bytes, host $(wc -c <$T/at-host0 2>/dev/null)"
    show $T/peer0.log; con_diag
fi
if [ -s $T/at-guest1 ] && [ "$(sha $T/at-guest1)" = "$(sha $T/to-guest1)" ] && [ "$(sha $T/at-host1)" = "$(sha $T/to-host1)" ]; then
    pass lb_con_vport "1 MiB each way through $vport at the same time, sha256 equal ($t_all ms, while hvc0 ran)"
else
    fail lb_con_vport "guest got $(wc -c <$T/at-guest1 2>/dev/null) bytes, host $(wc -c <$T/at-host1 2>/dev/null)"
    show $T/peer1.log; show $T/backend.log
fi
data console_hvc_to_host_ms "$t_out"
data console_hvc_to_guest_ms "$t_in"

# The guest closed the serial port when its subshell ended: the peer saw end of file.
if wait_until 10 grep -q '^EOF' $T/peer1.log; then
    wait $p1; prc1=$?
    if [ $prc1 = 0 ]; then pass lb_con_guest_close "peer: $(grep '^EOF' $T/peer1.log)"; else fail lb_con_guest_close "peer exit $prc1"; fi
else
    fail lb_con_guest_close "no EOF at the peer"; show $T/peer1.log; kill $p1 2>/dev/null
fi
# The writer and the back end on one vCPU. hvc's put_chars spins with interrupts off until the
# device uses its buffer; here the back end could only run on that very CPU. The module posts
# console transmit buffers (kernel-module/vq.c), so the spin ends without it. 64 KiB is 32 of hvc's
# 2 KiB writes: less than a ring, so that the writer never has to wait for the back end at all.
ONE=65536
head -c $ONE /dev/urandom >$T/to-host2
: >$T/peer2.log
taskset -a -p 1 $bpid >/dev/null
stream-peer $T/p0.sock --expect $ONE --out $T/at-host2 --timeout 60000 >$T/peer2.log 2>&1 &
p2=$!
wait_until 10 grep -q CONNECTED $T/peer2.log
t2=$(ms)
taskset 1 cat $T/to-host2 >/dev/hvc0 &
w2=$!
wait $p2; prc2=$?
t_one=$(($(ms) - t2))
if within 10 sh -c "! kill -0 $w2 2>/dev/null" && [ $prc2 = 0 ] && [ "$(sha $T/at-host2)" = "$(sha $T/to-host2)" ]; then
    pass lb_con_one_cpu "64 KiB through hvc0 with the writer and the back end on vCPU 0, sha256 equal ($t_one ms)"
else
    fail lb_con_one_cpu "peer status $prc2, host got $(wc -c <$T/at-host2 2>/dev/null) bytes"
    show $T/peer2.log; show $T/backend.log; kill $w2 2>/dev/null
fi
taskset -a -p -c 0-$(($(nproc) - 1)) $bpid >/dev/null
data console_hvc_one_cpu_ms "$t_one"

# A stopped back end takes nothing: the module keeps posting until its backlog (a quarter of the
# 8 MiB pool) is full, then the writer spins, but only until the module gives up on the back end
# (1.5 s without progress) and drops what it cannot post. So 4 MiB: more than the backlog holds.
# Then the back end resumes, the kernel log says so, and the console carries data again.
# stopped_stage NAME TTY SOCKET TXQ: TXQ is the port's transmit queue (port N >= 1: 2N + 3).
stopped_stage() {
    _pu=$(find /sys/devices -name pool_used | head -n 1)
    _pool0=$(cat $_pu)
    kill -STOP $bpid
    _t=$(ms)
    head -c $((4 * MIB)) /dev/urandom >$2 &
    _w=$!
    if within 60 sh -c "! kill -0 $_w 2>/dev/null"; then _ok=1; else _ok=0; fi
    _took=$(($(ms) - _t))
    kill -CONT $bpid
    # The back end drains what was posted (to no peer) before the next peer connects.
    within 30 sh -c "[ \$(cat $_pu) = $_pool0 ]" || info "pool holds $(cat $_pu) bytes, $_pool0 before"
    head -c 65536 /dev/urandom >$T/to-host-$1
    : >$T/peer-$1.log
    stream-peer $3 --expect 65536 --out $T/at-host-$1 --timeout 60000 >$T/peer-$1.log 2>&1 &
    _p=$!
    wait_until 10 grep -q CONNECTED $T/peer-$1.log
    usleep 300000
    cat $T/to-host-$1 >$2
    wait $_p; _prc=$?
    if [ $_ok = 1 ] && dmesg | grep -q "queue $4: .*dropping what cannot be posted" \
        && within 10 sh -c "dmesg | grep -q 'queue $4: the back end takes transmit buffers again'" \
        && [ $_prc = 0 ] && [ "$(sha $T/at-host-$1)" = "$(sha $T/to-host-$1)" ]; then
        pass $1 "4 MiB to $2 with the back end stopped ended in $_took ms (queue $4, $(dmesg | grep -o '[0-9]* bytes were dropped' | tail -n 1)); 64 KiB after SIGCONT, sha256 equal"
    else
        fail $1 "writer done: $_ok ($_took ms); peer status $_prc, host got $(wc -c <$T/at-host-$1 2>/dev/null) bytes"
        dmesg | grep virtio | tail -n 5 | sed 's/^/INFO dmesg: /'; show $T/peer-$1.log; kill -CONT $bpid; kill $_w 2>/dev/null
        con_diag
    fi
}
stopped_stage lb_con_stopped /dev/hvc0 $T/p0.sock 1
# hvc1 is port 2: the module posts its queue once the back end's VIRTIO_CONSOLE_CONSOLE_PORT
# message made it a console. (A module that posted port 0 only left this writer spinning.)
sleep 1000 </dev/hvc1 &
hold1=$!
usleep 200000
stty -F /dev/hvc1 raw -echo
stopped_stage lb_con_hvc1_stopped /dev/hvc1 $T/p2.sock 7

kill $hold $hold1 2>/dev/null
kill $wpid 2>/dev/null

# (The harness judges the kernel log itself: kernel_clean.)
lb_alive lb_con_alive $bpid $apid $T/backend.log
lb_sigterm $apid $T/adapter.log $bpid $T/backend.log
if rmmod virtio_loopback; then pass lb_rmmod "module unloaded"; else fail lb_rmmod "rmmod refused"; fi
echo "---- back-end log (tail)"
tail -n 30 $T/backend.log
echo "---- adapter log (tail)"
tail -n 20 $T/adapter.log
