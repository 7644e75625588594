#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of run-peer-test.sh (net): an unmodified third-party vhost-user
# net back end, DPDK's vhost PMD in dpdk-testpmd with two ports forwarding to
# each other (io mode), serves two virtio_net devices made by the adapter's
# net profile (--device net --mac M). DPDK provides no config space and never
# serves a control queue: the profile owns the MAC and status and does not
# offer VIRTIO_NET_F_CTRL_VQ (nor MQ, which needs it), so the driver uses one
# rx/tx pair and never waits on a control queue. One interface moves to
# another network namespace, so traffic between them can only cross the
# wire: virtio_net -> loopback -> DPDK port 0 -> port 1 -> loopback ->
# virtio_net. Addresses are link-local and exist only inside this guest.
#
# EXPECT: net_insmod net_testpmd net_probe net_features net_ping net_tcp net_tcp_back net_dpdk_counts net_teardown net_rmmod
. /lib/guest-lib.sh

T=/tmp/net
mkdir -p $T /var/run
# testpmd may be gone when it is told to stop: EPIPE, not a dead shell.
trap '' PIPE
MAC0=02:00:00:00:00:01
MAC1=02:00:00:00:00:02
IP0=169.254.10.1
IP1=169.254.10.2

if insmod /lib/modules/virtio_loopback.ko && wait_for /dev/virtio-loopback 5; then
    pass net_insmod "$(cat /sys/class/misc/virtio-loopback/dev)"
else
    fail net_insmod "no /dev/virtio-loopback"
fi

# testpmd without -i forwards until a line on stdin: keep a fifo open.
P=/opt/dpdk/lib
mkfifo $T/pmd.in
dpdk-testpmd -l 0-1 -n 1 --no-huge -m 256 --no-pci --file-prefix vl --no-telemetry \
    -d $P/librte_mempool_ring.so.23 -d $P/librte_net_vhost.so.23 \
    --vdev net_vhost0,iface=$T/vh0.sock --vdev net_vhost1,iface=$T/vh1.sock \
    -- --total-num-mbufs=4096 --forward-mode=io --nb-cores=1 <$T/pmd.in >$T/testpmd.log 2>&1 &
ppid=$!
exec 4>$T/pmd.in
if wait_for $T/vh0.sock 60 && wait_for $T/vh1.sock 10; then
    pass net_testpmd "dpdk-testpmd (pid $ppid) listening on two net_vhost ports: $(grep -o 'io packet forwarding.*' $T/testpmd.log | head -n 1)"
else
    fail net_testpmd "no sockets: $(tail -n 8 $T/testpmd.log)"
fi

virtio-loopback-adapter --socket-path $T/vh0.sock --device net --mac $MAC0 \
    --socket-path $T/vh1.sock --device net --mac $MAC1 --log-level debug >$T/adapter.log 2>&1 &
apid=$!
watchdog 240 $T/adapter.log $T/testpmd.log:20
wpid=$WATCHDOG_PID

# ifname MAC: the interface with that address.
ifname() { for n in /sys/class/net/*; do [ "$(cat $n/address)" = "$1" ] && { basename $n; return 0; }; done; return 1; }
if within 60 ifname $MAC0 && within 10 ifname $MAC1; then
    IF0=$(ifname $MAC0); IF1=$(ifname $MAC1)
    pass net_probe "$IF0 ($MAC0) and $IF1 ($MAC1) on $(basename $(readlink -f /sys/class/net/$IF0/device)) and $(basename $(readlink -f /sys/class/net/$IF1/device))"
else
    fail net_probe "interfaces: $(ls /sys/class/net)"; show $T/adapter.log 20; show $T/testpmd.log 20
fi

# The driver's negotiated features (a bit string, bit 0 first): MAC and STATUS
# from the profile, no control queue, no MQ; and the device has two queues.
f=$(cat /sys/class/net/${IF0:-none}/device/features 2>/dev/null)
bit() { echo "$f" | cut -c$(($1 + 1)); }
if [ -n "$f" ] && [ "$(bit 5)" = 1 ] && [ "$(bit 16)" = 1 ] && [ "$(bit 17)" = 0 ] && [ "$(bit 22)" = 0 ] \
    && grep -q "created: handle .*, 2 queue(s)" $T/adapter.log; then
    pass net_features "MAC and STATUS negotiated, CTRL_VQ and MQ not; 2 queues; MRG_RXBUF=$(bit 15) CSUM=$(bit 0); $(grep -o 'withheld features [0-9a-f]*' $T/adapter.log | head -n 1)"
else
    fail net_features "features '$f'"; grep created $T/adapter.log
fi

if [ -z "${IF1:-}" ]; then
    # Nothing to send through: say so now rather than after every timeout.
    for r in net_ping net_tcp net_tcp_back; do fail $r "no interfaces"; done
    IF0=none; IF1=none
fi

# One end in its own network namespace.
unshare -n sleep 1000 &
nspid=$!
usleep 200000
inns() { nsenter -t $nspid -n "$@"; }
ip2 link set ${IF1:-none} netns $nspid
ip2 addr add $IP0/24 dev ${IF0:-none}; ip2 link set ${IF0:-none} up
inns ip2 link set lo up; inns ip2 addr add $IP1/24 dev ${IF1:-none}; inns ip2 link set ${IF1:-none} up
within 20 sh -c "[ \"\$(cat /sys/class/net/${IF0:-none}/carrier 2>/dev/null)\" = 1 ]"
[ $IF0 = none ] || ping -c 5 -w 30 $IP1 >$T/ping.out 2>&1
if [ $IF0 = none ]; then
    :
elif grep -q ' 0% packet loss' $T/ping.out; then
    pass net_ping "$IP0 -> $IP1 (other namespace): $(grep -o '[0-9]* packets transmitted.*' $T/ping.out), $(grep -o 'round-trip.*' $T/ping.out)"
else
    fail net_ping "$(tail -n 3 $T/ping.out | tr '\n' ' ')"; ip2 -s link show ${IF0:-none}
fi

# tcp NAME BYTES FROM_NS: one TCP stream by busybox nc, checked by sha256.
# busybox nc ends at EOF on either side: the listener's stdin is a fifo this
# shell holds open and never writes, so it ends when the sender closes.
mbs() { awk -v b="$1" -v t="$2" 'BEGIN { if (t < 1) t = 1; printf "%.2f", b / 1048576 / (t / 1000) }'; }
mkfifo $T/hold
exec 5<>$T/hold
tcp() {
    head -c $2 /dev/urandom >$T/send.$1
    rm -f $T/recv.$1
    if [ $3 = 0 ]; then
        inns nc -l -p 5001 <$T/hold >$T/recv.$1 & lpid=$!; dst=$IP1; src=""
    else
        nc -l -p 5001 <$T/hold >$T/recv.$1 & lpid=$!; dst=$IP0; src="inns"
    fi
    usleep 500000
    t0=$(ms)
    $src timeout 120 nc $dst 5001 <$T/send.$1
    wait $lpid
    t=$(( $(ms) - t0 ))
    want=$(sha $T/send.$1); got=$(sha $T/recv.$1 2>/dev/null)
    data $1_mbs "$(mbs $2 $t)"
    if [ "$got" = "$want" ]; then pass $1 "$2 bytes to $dst by TCP in $t ms ($(mbs $2 $t) MB/s), sha256 $want"
    else fail $1 "want $want got '$got' ($(stat -c %s $T/recv.$1 2>/dev/null) bytes)"; fi
}
if [ $IF0 != none ]; then
    tcp net_tcp 8000000 0
    tcp net_tcp_back 2000000 1
fi
kill $wpid 2>/dev/null

# Teardown: the adapter removes both interfaces; then testpmd stops on a
# line of input and prints what each port forwarded.
kill -TERM $apid; wait $apid; arc=$?
left=0; for n in /sys/class/net/*; do case $(cat $n/address) in $MAC0) left=$((left + 1)) ;; esac; done
inns sh -c "cat /sys/class/net/*/address" | grep -q $MAC1 && left=$((left + 1))
if [ $arc = 0 ] && [ $left = 0 ]; then pass net_teardown "adapter exit 0 on SIGTERM, both interfaces gone"
else fail net_teardown "adapter exit $arc, $left interface(s) left"; show $T/adapter.log 20; fi
echo >&4
within 30 sh -c "! kill -0 $ppid 2>/dev/null"
rx=$(sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' $T/testpmd.log | head -n 2 | tr '\n' ' ')
set -- $rx
if [ -n "${1:-}" ] && [ "${1:-0}" -gt 1000 ] && [ "${2:-0}" -gt 1000 ]; then
    pass net_dpdk_counts "testpmd forwarded: port 0 received $1 packets, port 1 received $2"
else
    fail net_dpdk_counts "RX-packets '$rx'"; show $T/testpmd.log 30
fi
kill $nspid 2>/dev/null
if rmmod virtio_loopback; then pass net_rmmod "module unloaded"; else fail net_rmmod "rmmod refused"; fi
echo "---- adapter log (tail)"
tail -n 15 $T/adapter.log
echo "---- testpmd log (tail)"
tail -n 40 $T/testpmd.log
