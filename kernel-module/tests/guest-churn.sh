#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of run-qemu-test.sh: vl-churn creates and removes devices 100
# times in each of three ways (a bare device with pool and queue fds; a
# virtio-rng device the real driver binds to and reads from; a control fd
# closed with a bare and an rng device alive), after a warm-up of 10 rounds.
# A vl-rng-test device stays registered meanwhile: the hwrng core then never
# loses its last rng (on 5.10 that races its fill thread: kthread_stop() on
# a thread that exited by itself, a use-after-free in the kernel).
# Memory before and after the 100 rounds (caches dropped) must not grow
# beyond these thresholds:
#   MemAvailable  drops by at most 16384 kB (an estimate: it moves by a few
#                 MB between idle snapshots; 100 leaked 256 KiB pools are
#                 25 MB, and VmallocUsed shows them exactly)
#   VmallocUsed   grows by at most 1024 kB (the pools are vmalloc memory)
#   Slab          grows by at most 1024 kB, SUnreclaim by at most 512 kB
#   /proc/slabinfo: no unreclaimable cache's active objects grow by 100 or
#                   more (an object per device is 100 to 200 per mode, 400
#                   in all) and by more than two slabs (SLUB counts each
#                   CPU's current slab as wholly in use: reading slabinfo
#                   after the flush refills one per CPU). Left out:
#                   reclaimable caches (dentry, inode: they swing by
#                   hundreds between idle snapshots; MemAvailable covers
#                   them), vmap_area (vmalloc bookkeeping, purged
#                   lazily; VmallocUsed covers vmalloc), and on a debug
#                   kernel the checkers' own bookkeeping: debug_objects_cache
#                   (DEBUG_OBJECTS keeps a pool of trackers, refilled and
#                   trimmed in batches) and kmemleak_object (freed after an
#                   RCU grace period; kmemleak's own scan reports our leaks).
# Then no virtio device may be left and the module must unload.
# EXPECT: vc_insmod vc_warmup vc_churn vc_meminfo vc_slab vc_leftover vc_rmmod vc_dmesg
. /lib/guest-lib.sh
. /bin/vl-guest-lib.sh

dmesg -n 1 2>/dev/null
vl_insmod vc_insmod "$VL_ALLOW_BARE"

/bin/vl-rng-test 600 >/tmp/keep.log 2>&1 &
keeper=$!
i=0
while [ $i -lt 100 ] && ! grep -q virtio_rng /sys/class/misc/hw_random/rng_current 2>/dev/null; do
    usleep 100000; i=$((i + 1))
done
VL_RNG_KEEP=$(cat /sys/class/misc/hw_random/rng_current)
export VL_RNG_KEEP
info "kept rng: $VL_RNG_KEEP"

# settle: let deferred frees run (RCU, delayed fput), then drop caches.
settle() {
    sync
    sleep 1
    echo 3 >/proc/sys/vm/drop_caches
    sleep 1
    echo 3 >/proc/sys/vm/drop_caches
}
mem() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# snapshot NAME: NAME.mem (meminfo) and NAME.slab ("name active_objs
# objsize objperslab reclaimable" per cache, read by vl-churn -S right after flushing
# SLUB's per-CPU slabs, whose free objects count as active: without the
# flush, counts swing by hundreds).
snapshot() {
    settle
    /bin/vl-churn -S >"$1.slab"
    echo "$(mem MemAvailable) $(mem VmallocUsed) $(mem Slab) $(mem SUnreclaim)" >"$1.mem"
}

out=$(/bin/vl-churn -n 10 2>&1)
rc=$?
if [ $rc = 0 ]; then pass vc_warmup "$(echo "$out" | tr '\n' ';')"; else fail vc_warmup "exit $rc: $(echo "$out" | tail -n 5 | tr '\n' ';')"; fi

snapshot /tmp/before
t0=$(cut -d' ' -f1 /proc/uptime)
out=$(/bin/vl-churn -n 100 2>&1)
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
echo "$out" | sed 's/^/INFO /'
if [ $rc = 0 ]; then
    pass vc_churn "100 rounds of a, b, c in $t0..$t1 s uptime: $(echo "$out" | grep '^VL churn' | sed 's/^VL churn //' | tr '\n' ';')"
else
    fail vc_churn "exit $rc: $(echo "$out" | tail -n 5 | tr '\n' ';')"
fi
snapshot /tmp/after

set -- $(cat /tmp/before.mem) $(cat /tmp/after.mem)
avail=$(( $1 - $5 )); vmalloc=$(( $6 - $2 )); slab=$(( $7 - $3 )); sunr=$(( $8 - $4 ))
data churn_memavailable_drop_kb $avail
data churn_vmalloc_growth_kb $vmalloc
data churn_slab_growth_kb $slab
data churn_sunreclaim_growth_kb $sunr
detail="MemAvailable drop ${avail} kB, growth of VmallocUsed ${vmalloc} kB, Slab ${slab} kB, SUnreclaim ${sunr} kB"
if [ $avail -le 16384 ] && [ $vmalloc -le 1024 ] && [ $slab -le 1024 ] && [ $sunr -le 512 ]; then
    pass vc_meminfo "$detail"
else
    fail vc_meminfo "$detail (limits 16384/1024/1024/512 kB)"
fi

# Per cache: growth of active objects, worst first.
awk 'NR == FNR { a[$1] = $2; next }
     $5 == 0 { d = $2 - a[$1]; if (d > 0) printf "%d %s %d %d\n", d, $1, $3, $4 }' \
    /tmp/before.slab /tmp/after.slab | sort -rn >/tmp/slab.diff
head -n 8 /tmp/slab.diff | while read -r d name size per; do
    info "slab $name +$d objects of $size bytes ($per per slab)"
done
bad=$(awk '$1 >= 100 && $1 > 2 * $4 && $2 !~ /^(vmap_area|debug_objects_cache|kmemleak_object)$/ { printf "%s +%d, ", $2, $1 }' /tmp/slab.diff)
top=$(head -n 3 /tmp/slab.diff | awk '{ printf "%s +%d, ", $2, $1 }')
if grep -q ' kasan_report$' /proc/kallsyms; then
    # KASAN's quarantine holds freed objects back from their caches, so slabinfo
    # counts them as in use (kmalloc-8 +353 after the churn on the debug kernel);
    # there kmemleak's scan (vc_dmesg) is the leak check.
    pass vc_slab "not judged under KASAN (its quarantine counts freed objects; kmemleak decides): largest ${top%, }"
elif [ -z "$bad" ]; then
    pass vc_slab "no unreclaimable cache grew by 100 objects; largest: ${top%, }"
else
    fail vc_slab "grew: ${bad%, }"
fi

kill -TERM $keeper
wait $keeper
if [ -z "$(vl_leftover)" ]; then
    pass vc_leftover "no virtio device and no DMA parent left; hwrng: '$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)'"
else
    fail vc_leftover "left: $(vl_leftover | tr '\n' ' ')"
fi
vl_finish vc "dmesg clean ($(dmesg | grep -c 'no reply') sync timeouts)"

