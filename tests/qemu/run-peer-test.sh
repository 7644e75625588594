#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Third-party vhost-user back ends that provide no config space, served to
# the guest kernel's own drivers through virtio_loopback.ko and the
# adapter's device profiles, all inside one guest:
#
#   fs         Debian bookworm's virtiofsd (QEMU 7.2's C daemon) behind
#              --device fs --tag: virtiofs mount, both views by sha256, 1,000
#              entries, rename/unlink/mkdir/fsync, a file larger than the
#              pool, concurrent readers, throughput against the directory
#              read natively, umount and teardown (guest/peer-fs.sh)
#   fs-rust    the same with trixie's virtiofsd 1.13 (Rust, rust-vmm's
#              vm-memory, which checks the pool fd with lseek SEEK_END), run
#              with trixie's own loader and libraries
#   net        DPDK's vhost PMD (bookworm's dpdk-testpmd, two net_vhost ports
#              forwarding to each other) behind two --device net: two
#              virtio_net interfaces, one in another network namespace,
#              ping and a TCP transfer by sha256 (guest/peer-net.sh)
#
# Usage: run-peer-test.sh [fs|fs-rust|net]...   (default: fs net)
# Environment: KERNEL_VERSION (default the host's 6.1 amd64; 6.1.0-NN-arm64
# from kernel-module/scripts/fetch-kernels.sh runs under qemu-system-aarch64
# with the arm64 programs and arm64 packages), BIN_DIR, MODULE, PEERS_DIR,
# plus the lib.sh knobs. Results: tests/qemu/work/peers-<kver>/summary.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=peer-lib.sh
. "$HERE/peer-lib.sh"
find_kernel
# An arm64 kernel runs the arm64 programs unless BIN_DIR names others.
[[ $KARCH != arm64 || $BIN_DIR != "$REPO_ROOT/out/linux-x64" ]] || BIN_DIR=$REPO_ROOT/out/linux-arm64
begin_run "peers-$KVER"
ko=${MODULE:-$REPO_ROOT/out/modules/$KVER/virtio_loopback.ko}
[[ -f $ko ]] || die "$ko missing: run kernel-module/scripts/build-all.sh"
cp "$ko" "$QEMU_WORK_DIR/virtio_loopback.ko"
chmod +x "$QEMU_WORK_DIR/virtio_loopback.ko"
ko=$QEMU_WORK_DIR/virtio_loopback.ko
adapter=$BIN_DIR/virtio-loopback-adapter
[[ -x $adapter ]] || die "$adapter missing: run 'make'"
multi=x86_64-linux-gnu
[[ $KARCH == arm64 ]] && multi=aarch64-linux-gnu

# A loaded host can make TCG miss the kernel's IO-APIC timer check ("IO-APIC
# + timer doesn't work!" panic at boot): skip the check.
export GUEST_APPEND="${GUEST_APPEND:-} no_timer_check"

# The guest's /init is busybox; the arm64 guest needs its CPU to be able to
# run what Debian builds (DPDK wants more than the default cortex-a57).
cpu=(-cpu max)

rc=0
tests=("$@")
[[ ${#tests[@]} -gt 0 ]] || tests=(fs net)
for t in "${tests[@]}"; do
    t0=$(now_ms)
    case $t in
        fs)
            root=$(peer_fetch bookworm "$KARCH" qemu-system-common libc6 libcap-ng0 libglib2.0-0 libnuma1 libpcre2-8-0 libseccomp2)
            peer_stage virtiofsd "$root" usr/lib/qemu/virtiofsd >"$W/kit.list"
            mapfile -t kit <"$W/kit.list"
            GUEST_MODULES="virtiofs" GUEST_APPEND="${GUEST_APPEND:-} fsd=/bin/virtiofsd" \
                run_guest "peer-fs" "$HERE/guest/peer-fs.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "$adapter:/bin/virtio-loopback-adapter" "${kit[@]}" || rc=1
            ;;
        fs-rust)
            root=$(peer_fetch trixie "$KARCH" virtiofsd libc6 libcap-ng0 libgcc-s1 libseccomp2)
            peer_stage virtiofsd-rs "$root" usr/libexec/virtiofsd >"$W/kit.list"
            mapfile -t kit <"$W/kit.list"
            # 1.13 takes --shared-dir, --cache=never and --sandbox=chroot.
            GUEST_MODULES="virtiofs" GUEST_APPEND="${GUEST_APPEND:-} fsd=/bin/virtiofsd fsdopts=--shared-dir=/srv/share#--cache=never#--sandbox=chroot" \
                run_guest "peer-fs-rust" "$HERE/guest/peer-fs.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "$adapter:/bin/virtio-loopback-adapter" "${kit[@]}" || rc=1
            ;;
        net)
            # dpdk-testpmd (dpdk-dev) with the vhost PMD and the ring mempool as
            # plugins, and the libraries they and testpmd need (the vdev bus
            # among them).
            root=$(peer_fetch bookworm "$KARCH" dpdk-dev librte-net-vhost23 librte-mempool-ring23 librte-bus-vdev23 \
                ibverbs-providers libbsd0 libc6 libcap2 libdbus-1-3 libelf1 libfdt1 libgcrypt20 libgpg-error0 libibverbs1 \
                libjansson4 liblz4-1 liblzma5 libmd0 libnl-3-200 libnl-route-3-200 libnuma1 libpcap0.8 libsystemd0 libzstd1 zlib1g \
                libgcc-s1 iproute2 libbpf1 libmnl0 libselinux1 libpcre2-8-0 libxtables12 \
                librte-bitratestats23 librte-bpf23 librte-bus-auxiliary23 librte-bus-dpaa23 librte-bus-pci23 librte-cmdline23 \
                librte-common-dpaax23 librte-common-iavf23 librte-common-mlx5-23 librte-crypto-scheduler23 librte-cryptodev23 \
                librte-dmadev23 librte-eal23 librte-ethdev23 librte-eventdev23 librte-gro23 librte-gso23 librte-hash23 \
                librte-ip-frag23 librte-kvargs23 librte-latencystats23 librte-mbuf23 librte-mempool-dpaa23 librte-mempool23 \
                librte-meter23 librte-metrics23 librte-net-bnxt23 librte-net-bond23 librte-net-dpaa23 librte-net-i40e23 \
                librte-net-ice23 librte-net-ixgbe23 librte-net-mlx5-23 librte-net23 librte-pcapng23 librte-pci23 librte-pdump23 \
                librte-rcu23 librte-reorder23 librte-ring23 librte-sched23 librte-security23 librte-telemetry23 librte-timer23 \
                librte-vhost23)
            pmds=usr/lib/$multi/dpdk/pmds-23.0
            peer_stage dpdk "$root" usr/bin/dpdk-testpmd \
                "$pmds/librte_net_vhost.so.23" "$pmds/librte_mempool_ring.so.23" >"$W/kit.list"
            # iproute2's ip (busybox's cannot move a link into another namespace), as /bin/ip2.
            peer_stage iproute2 "$root" bin/ip | sed 's|:/bin/ip$|:/bin/ip2|' >>"$W/kit.list"
            mapfile -t kit <"$W/kit.list"
            # DPDK's Debian build needs SSE4.2 (amd64), which TCG's default CPU lacks.
            GUEST_QEMU_ARGS=("${cpu[@]}")
            GUEST_MODULES="virtio_net" GUEST_MEM=1024 \
                run_guest "peer-net" "$HERE/guest/peer-net.sh" \
                "$ko:/lib/modules/virtio_loopback.ko" "$adapter:/bin/virtio-loopback-adapter" "${kit[@]}" || rc=1
            GUEST_QEMU_ARGS=()
            ;;
        *) die "unknown test '$t' (fs, fs-rust or net)" ;;
    esac
    log "$t: $(( ($(now_ms) - t0) / 1000 )) s in all"
done
end_run $rc
