#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-loopback-test.sh (console): our vhost-user-console with two
# ports, a console (/dev/hvc0, socket peer, size 100x40) and a named serial port
# (/dev/vportNp1, socket peer), served to the guest kernel's virtio_console
# through virtio_loopback.ko and our adapter. The host side of each port is
# stream-peer on the port's socket.
#
#   lb_con_ports      the driver made hvc0 and the named serial port
#   lb_con_size       the console's size from the back end (stty size: 40 100)
#   lb_con_closed     with no peer on its socket, the serial port reads end of file
#                     (the back end told the driver the host side is closed)
#   lb_con_hvc        1 MiB each way through hvc0 (raw tty, one way at a time), by sha256,
#   lb_con_vport      and meanwhile 1 MiB each way at once through the serial port
#   lb_con_guest_close the guest closing the serial port hangs up its peer (EOF)
#   lb_con_alive      the back end, the adapter and the kernel are fine afterwards
#
# EXPECT: lb_insmod lb_con_socket lb_con_ports lb_con_size lb_con_closed lb_con_hvc lb_con_vport lb_con_guest_close lb_con_alive lb_adapter_sigterm lb_backend_sigterm lb_rmmod
. /lib/guest-lib.sh

T=/tmp/lb
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
if wait_until 30 test -c /dev/hvc0 && wait_until 10 named_port org.virtio-loopback.test >/dev/null; then
    vport=$(named_port org.virtio-loopback.test)
    pass lb_con_ports "/dev/hvc0 and $vport ($(cat /sys/class/virtio-ports/$(basename $vport)/name)); $(grep -o 'queue(s) of up to [0-9]*' $T/adapter.log)"
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
# carries 1 MiB to the host and then 1 MiB to the guest. The console goes one way at a time because
# hvc's put_chars spins with interrupts off, holding the hvc lock, until the device returns each
# buffer; a receive interrupt for the same console spins on that lock, and with the back end in the
# same 2-CPU kernel no CPU would be left to return the buffer (README.md, "virtio-console through the loopback needs spare CPUs").
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
    show $T/peer0.log; show $T/backend.log
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
kill $hold 2>/dev/null
kill $wpid 2>/dev/null

# (The harness judges the kernel log itself: kernel_clean.)
lb_alive lb_con_alive $bpid $apid $T/backend.log
lb_sigterm $apid $T/adapter.log $bpid $T/backend.log
if rmmod virtio_loopback; then pass lb_rmmod "module unloaded"; else fail lb_rmmod "rmmod refused"; fi
echo "---- back-end log (tail)"
tail -n 30 $T/backend.log
echo "---- adapter log (tail)"
tail -n 20 $T/adapter.log
