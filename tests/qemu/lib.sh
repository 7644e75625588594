#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Shared functions for the QEMU guest tests. Source this file, don't run it.
#
# The pieces:
#   find_kernel            pick the Debian amd64 kernel and its module tree
#   build_kit              build (or reuse) a cached initramfs: busybox, the
#                          guest kernel modules, extra binaries with their
#                          ldd libraries, guest-lib.sh and a guest script
#   run_qemu               boot a kit in qemu-system-x86_64 (TCG) under a hard
#                          timeout and log the serial console, '\r' stripped
#   check_log              judge a guest log: RESULT lines, expected results,
#                          kernel warnings, timeout
#   run_guest              build_kit + run_qemu + check_log in one call
#   summary                print "N passed, M failed" over all checked guests
#   fetch_arm64_kit        download (never install) the arm64 kernel, busybox
#                          and glibc into .cache/ with a private apt state
#   boot_arm64             boot qemu-system-aarch64 -M virt with a trivial kit
#
# Guest result protocol (printed by guest scripts, see guest/guest-lib.sh):
#   RESULT <name> PASS|FAIL|SKIP <detail...>
#   DATA <key> <value>       values for host-side cross checks
# A guest script lists the results it must produce in header lines:
#   # EXPECT: name1 name2 ...
#
# Tunables (environment):
#   KERNEL_VERSION   e.g. 6.1.0-56-amd64 (default: newest /boot/vmlinuz-6.1.*-amd64)
#   GUEST_TIMEOUT    seconds before a guest is killed (default 300)
#   GUEST_MEM        guest memory in MiB (default 512)
#   GUEST_SMP        guest vCPUs (default 2)
#   QEMU_X86         the amd64 QEMU (default qemu-system-x86_64; the sound
#                    VM test uses trixie's, fetch-trixie-qemu.sh)
#   QEMU_CACHE_DIR   kit cache (default <repo>/.cache/qemu)
#   QEMU_WORK_DIR    logs, images, sockets (default <repo>/tests/qemu/work)
#   VERBOSE=1        echo the guest console while it runs

QEMU_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$QEMU_LIB_DIR/../.." && pwd)
# KERNELS_DIR: downloaded and built kernels, outside the work tree.
. "$REPO_ROOT/kernel-module/scripts/kernels-dir.sh"
QEMU_CACHE_DIR=${QEMU_CACHE_DIR:-$REPO_ROOT/.cache/qemu}
QEMU_WORK_DIR=${QEMU_WORK_DIR:-$REPO_ROOT/tests/qemu/work}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-300}
GUEST_MEM=${GUEST_MEM:-512}
GUEST_SMP=${GUEST_SMP:-2}

# Modules every guest kit gets (dependencies are added from modules.dep).
# rng-core and ext2 are built into the Debian 6.1 kernel; ext2 is served by ext4.
GUEST_MODULES=${GUEST_MODULES:-"virtio_pci virtio_rng virtio_blk virtio_input evdev uinput ext4 crc32c_generic"}
# Soft dependencies that name CPU-specific crypto (crc32c-intel for ext4) fail
# under TCG's CPU model; crc32c_generic above serves instead.
GUEST_MODULES_EXCLUDE=${GUEST_MODULES_EXCLUDE:-"/arch/x86/crypto/"}

# Extra qemu arguments for the next run_qemu/run_guest call (an array).
GUEST_QEMU_ARGS=()

# Totals across check_log calls, printed by summary().
TOTAL_PASSED=0
TOTAL_FAILED=0
# The failed results' lines, repeated in the summary file by end_run.
FAILED_RESULTS=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# now_ms: wall clock in milliseconds (for timings).
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- kernel ----

# find_kernel: sets KVER, KERNEL (vmlinuz path), MODDIR (/lib/modules/KVER)
# and KROOT (the root the kernel's files live under: empty for the host's own).
# KERNEL_VERSION names an installed kernel (/boot, /lib/modules) or one that
# kernel-module/scripts/fetch-kernels.sh unpacked under
# $KERNELS_DIR/<release>/root (see kernel-module/scripts/kernels-dir.sh).
find_kernel() {
    KROOT=
    KARCH=amd64
    if [[ -n ${KERNEL_VERSION:-} ]]; then
        KVER=$KERNEL_VERSION
        local fetched=$KERNELS_DIR/$KVER/root
        if [[ ! -e /boot/vmlinuz-$KVER && -d $fetched ]]; then
            KROOT=$fetched
            KARCH=$(cat "$fetched/../arch" 2>/dev/null || echo amd64)
            # Newer Debian images ship /usr/lib/modules only.
            [[ -e $KROOT/lib || ! -d $KROOT/usr/lib/modules ]] || ln -s usr/lib "$KROOT/lib"
            [[ -f $KROOT/lib/modules/$KVER/modules.dep ]] || depmod -b "$KROOT" "$KVER"
        fi
    else
        local k
        k=$(ls /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sort -V | tail -n1)
        [[ -n $k ]] || die "no /boot/vmlinuz-6.1.*-amd64; run 'make deps' (linux-image-amd64)"
        KVER=${k#/boot/vmlinuz-}
    fi
    KERNEL=$KROOT/boot/vmlinuz-$KVER
    MODDIR=$KROOT/lib/modules/$KVER
    # An arm64 guest needs the arm64 busybox and glibc for its user space.
    [[ $KARCH != arm64 ]] || fetch_arm64_kit
    [[ -r $KERNEL ]] || die "$KERNEL missing or unreadable (fetch it: kernel-module/scripts/fetch-kernels.sh)"
    [[ -f $MODDIR/modules.dep ]] || die "$MODDIR/modules.dep missing"
}

# resolve_modules NAME...: print the .ko files (absolute) needed for NAMEs, in
# load order, each once. Built-in modules print nothing.
resolve_modules() {
    local m
    local -a root=()
    [[ -z ${KROOT:-} ]] || root=(-d "$KROOT")
    for m in "$@"; do
        modprobe "${root[@]}" -S "$KVER" --show-depends "$m" ||
            die "module $m not found for $KVER"
    done | awk -v ex="$GUEST_MODULES_EXCLUDE" \
        '$1 == "insmod" && !(ex != "" && index($2, ex)) && !seen[$2]++ { print $2 }'
}

# ------------------------------------------------------------------- kit ----

# file_key FILE: a content hash line for cache keys.
file_key() { sha256sum "$1" | cut -d' ' -f1; }

# copy_with_libs SRC DEST ROOT: copy executable SRC to ROOT/DEST and every
# library that ldd lists to the same absolute path under ROOT.
copy_with_libs() {
    local src=$1 dest=$2 root=$3 lib
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$src" "$root$dest"
    chmod +x "$root$dest"
    # A program staged with its own loader and libraries (peer_stage in
    # peer-lib.sh) needs nothing else in the kit.
    [[ -e $(dirname "$src")/../.own-loader ]] && return 0
    if file -bL "$src" | grep -q 'ARM aarch64.*dynamically'; then
        copy_arm64_runtime "$root"
        copy_arm64_needed "$src" "$root"
        return 0
    fi
    # ldd prints "name => /path (addr)" or "/path (addr)"; static files none.
    for lib in $(ldd "$src" 2>/dev/null | awk '/=>/ { print $3; next } /^\t\// { print $1 }'); do
        [[ -e $root$lib ]] && continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

# build_kit NAME GUEST_SCRIPT [FILE[:DEST]...]
# Builds (or reuses) an initramfs and prints its path. FILEs default to
# /bin/<basename>; their ldd libraries are added. The guest script is
# installed as /guest.sh and run by /init, which then powers off.
build_kit() {
    local name=$1 script=$2; shift 2
    [[ -n ${KVER:-} ]] || find_kernel
    [[ -r $script ]] || die "guest script $script not found"
    local busybox
    busybox=$(command -v busybox) || die "busybox missing; run 'make deps' (busybox-static)"
    ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamic; install busybox-static"
    # The host's busybox-static lists the applets; an arm64 guest runs the arm64 build.
    local guest_busybox=$busybox
    [[ ${KARCH:-amd64} != arm64 ]] || guest_busybox=$ARM64_ROOT/bin/busybox

    local modules spec src
    modules=$(resolve_modules $GUEST_MODULES)
    for spec in "$@"; do
        src=${spec%%:*}
        [[ -x $src ]] || die "kit $name: $src missing (did 'make' run?)"
    done

    # Cache key: every input that ends up in the image.
    local key
    key=$( {
        echo "kver $KVER"
        echo "busybox $(file_key "$guest_busybox")"
        echo "init $(file_key "$QEMU_LIB_DIR/lib.sh")"
        echo "guestlib $(file_key "$QEMU_LIB_DIR/guest/guest-lib.sh")"
        echo "script $(file_key "$script")"
        echo "modules $modules"
        for spec in "$@"; do echo "file $spec $(file_key "${spec%%:*}")"; done
    } | sha256sum | cut -c1-16)
    local out=$QEMU_CACHE_DIR/kits/$name-$key.cpio.gz
    if [[ -s $out ]]; then
        log "kit $name: cached $(basename "$out")"
        echo "$out"; return 0
    fi

    local t0 root
    t0=$(now_ms)
    mkdir -p "$QEMU_CACHE_DIR/kits"
    root=$(mktemp -d "$QEMU_CACHE_DIR/kits/.root-XXXXXX")
    mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,etc,run,root,lib/modules/"$KVER"}

    # busybox and its applets as symlinks.
    cp "$guest_busybox" "$root/bin/busybox"
    local applet
    for applet in $("$busybox" --list); do
        [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
    done

    # Kernel modules, in load order, decompressed if needed.
    local ko dst
    : >"$root/etc/modules.order"
    for ko in $modules; do
        dst=$root/lib/modules/$KVER/$(basename "${ko%.xz}")
        dst=${dst%.zst}
        case $ko in
            *.xz) xz -dc "$ko" >"$dst" ;;
            *.zst) zstd -qdc "$ko" >"$dst" ;;
            *) cp "$ko" "$dst" ;;
        esac
        basename "$dst" >>"$root/etc/modules.order"
    done

    # Extra binaries with their libraries.
    for spec in "$@"; do
        src=${spec%%:*}
        dst=/bin/$(basename "$src")
        [[ $spec == *:* ]] && dst=${spec#*:}
        copy_with_libs "$src" "$dst" "$root"
    done

    cp "$QEMU_LIB_DIR/guest/guest-lib.sh" "$root/lib/guest-lib.sh"
    cp "$script" "$root/guest.sh"
    chmod +x "$root/guest.sh"
    write_init "$root"

    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
        gzip -1 >"$out.$$"
    mv "$out.$$" "$out"
    rm -rf "$root"
    # Keep the cache bounded: the 20 newest kits.
    ls -t "$QEMU_CACHE_DIR"/kits/*.cpio.gz | tail -n +21 | xargs -r rm -f
    log "kit $name: built $(basename "$out") ($(du -h "$out" | cut -f1), $(( $(now_ms) - t0 )) ms)"
    echo "$out"
}

# write_init ROOT: the guest's /init. Mounts the pseudo file systems, loads
# the modules, runs /guest.sh, reports its exit code and powers off.
write_init() {
    cat >"$1/init" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo
kver=$(uname -r)
while read -r m; do
    insmod "/lib/modules/$kver/$m" || echo "INIT insmod $m failed"
done </etc/modules.order
echo "GUEST-START $(uname -r) $(nproc) cpus uptime $(cut -d' ' -f1 /proc/uptime)"
sh /guest.sh
rc=$?
# A debug kernel with kmemleak: two scans, and any leak it reports counts as
# kernel trouble below. kmemleak reports an object the second scan finds
# unreferenced and unchanged since the first, once it is 5 s old (its
# minimum age) when that scan starts: so the second scan waits until 5.5 s
# after the test, which the first scan itself mostly covers.
if [ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null &&
    [ -e /sys/kernel/debug/kmemleak ]; then
    t_end=$(cut -d' ' -f1 /proc/uptime)
    echo scan >/sys/kernel/debug/kmemleak
    usleep "$(awk -v a="$t_end" -v b="$(cut -d' ' -f1 /proc/uptime)" \
        'BEGIN { d = 5.5 - (b - a); printf "%d", d > 0 ? d * 1000000 : 0 }')"
    echo scan >/sys/kernel/debug/kmemleak
    echo "kmemleak: two scans done $(awk -v a="$t_end" -v b="$(cut -d' ' -f1 /proc/uptime)" \
        'BEGIN { printf "%.1f", b - a }') s after the test"
    # One known leak is not ours and is left out of the verdict, shown as INFO: Debian 6.1's
    # gpio_virtio takes its request queue's used buffers (virtio_gpio_request_vq, in the
    # interrupt) without the lock that serialises its virtqueue_add_sgs, so on two CPUs the
    # ring's free list can lose an indirect table. It shows up with any transport and back end
    # (QEMU's virtio-pci included). Every other object counts, as before.
    awk '/^unreferenced object/ { flush() } { b[n++] = $0 } END { flush() }
        function flush(  i, req, add, tag) {
            req = add = 0
            for (i = 0; i < n; i++) { if (b[i] ~ /_virtio_gpio_req/) req = 1; if (b[i] ~ /virtqueue_add_split/) add = 1 }
            tag = req && add ? "INFO kmemleak (known gpio_virtio race, not counted): " : "DMESG kmemleak: "
            for (i = 0; i < n && i < 16; i++) print tag b[i]
            n = 0
        }' /sys/kernel/debug/kmemleak | head -n 64
fi
# The console is quiet (warnings don't reach it): report kernel trouble from
# the whole log, so check_log fails any run with a BUG, WARNING, Oops, a
# lockdep splat, a stall or a hung task.
dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|possible circular locking|inconsistent lock state|refcount_t:|KASAN|UBSAN|detected stall|soft lockup|blocked for more than' | sed 's/^/DMESG /'
echo "GUEST-END rc=$rc uptime $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
EOF
    chmod +x "$1/init"
}

# ------------------------------------------------------------------ boot ----

# clean_console: strip '\r' and the firmware's terminal escapes from a serial
# console stream.
clean_console() { sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'; }

# gpiod_kit: sets GPIOD_KIT to the kit specs of libgpiod's tools (Debian's
# gpiod) that the gpio guests use; a missing one is fatal.
gpiod_kit() {
    local g p
    GPIOD_KIT=()
    for g in gpiodetect gpioinfo gpioget gpioset gpiomon; do
        p=$(command -v $g) || die "$g missing: run 'make deps' (gpiod)"
        GPIOD_KIT+=("$p:/bin/$g")
    done
}

# run_qemu INITRD LOG: boot the amd64 kernel with INITRD, extra arguments
# from GUEST_QEMU_ARGS, serial console to LOG ('\r' stripped). Returns qemu's
# status; 124 means the hard timeout hit.
run_qemu() {
    local initrd=$1 logf=$2 rc=0
    [[ -n ${KVER:-} ]] || find_kernel
    # tsc=reliable: no clocksource watchdog. On a loaded host it finds TCG's TSC "unstable" a few
    # seconds after boot, and the resulting static-key flip in sched_clock_cpu is live text
    # patching that TCG can lose (an int3 oops in kernel text, twice in a row in one CI run).
    local mem=${GUEST_MEM}M console=ttyS0 clock=tsc=reliable
    local -a machine=("${QEMU_X86:-qemu-system-x86_64}" -accel tcg)
    if [[ ${KARCH:-amd64} == arm64 ]]; then
        machine=(qemu-system-aarch64 -accel tcg -M virt -cpu cortex-a57)
        console=ttyAMA0 clock=
    fi
    local -a cmd=(timeout --kill-after=10 "$GUEST_TIMEOUT"
        "${machine[@]}" -m "$mem" -smp "$GUEST_SMP"
        -nographic -no-reboot -nodefaults -serial stdio
        -object "memory-backend-memfd,id=mem,size=$mem,share=on"
        -numa node,memdev=mem
        -kernel "$KERNEL" -initrd "$initrd"
        -append "console=$console quiet panic=-1 $clock ${GUEST_APPEND:-}"
        "${GUEST_QEMU_ARGS[@]}")
    mkdir -p "$(dirname "$logf")"
    echo "${cmd[*]}" >"$logf.cmd"
    if [[ ${VERBOSE:-0} == 1 ]]; then
        "${cmd[@]}" </dev/null 2>&1 | clean_console | tee "$logf" >&2 || rc=${PIPESTATUS[0]}
    else
        "${cmd[@]}" </dev/null 2>&1 | clean_console >"$logf" || rc=${PIPESTATUS[0]}
    fi
    return "$rc"
}

# expected_results SCRIPT: the names listed in its "# EXPECT:" lines.
expected_results() {
    sed -n 's/^# EXPECT://p' "$1" | tr ' ' '\n' | sed '/^$/d'
}

# check_failed LINE: a failure check_log finds itself (it uses check_log's name
# and fail): logged, counted, and kept for end_run.
check_failed() { log "  $name: $1"; FAILED_RESULTS+=("$name: ${1:0:200}"); fail=$((fail + 1)); }

# hang_report LOG: what a guest that never ended printed last, on stderr, so
# that a hang in CI can be explained from CI's output alone: the guest
# watchdog's report (guest-lib.sh watchdog) if it fired, else the log's tail.
hang_report() {
    local lines=${HANG_REPORT_LINES:-120}
    if grep -q '^INFO watchdog: still running' "$1"; then
        sed -n '/^INFO watchdog: still running/,$p' "$1"
    else
        tail -n 40 "$1"
    fi | head -n "$lines" | sed "s/^/    $name: /" >&2
}

# check_log NAME LOG QEMU_RC EXPECTED...: print every RESULT line, then judge:
# a FAIL, a missing expected result, a kernel BUG/WARNING/Oops/Call Trace, a
# missing GUEST-END or a timeout fails. Adds to TOTAL_PASSED/TOTAL_FAILED.
check_log() {
    local name=$1 logf=$2 qrc=$3; shift 3
    local pass fail line
    local trouble='BUG:|WARNING:|Oops|Call Trace|Kernel panic|^DMESG '
    pass=$(grep -c '^RESULT [^ ]* PASS' "$logf" || true)
    fail=$(grep -c '^RESULT [^ ]* FAIL' "$logf" || true)
    grep '^RESULT ' "$logf" | sed "s/^/  $name: /" >&2
    while IFS= read -r line; do FAILED_RESULTS+=("$name: ${line:0:200}"); done \
        < <(grep '^RESULT [^ ]* FAIL' "$logf")

    local e
    for e in "$@"; do
        grep -q "^RESULT $e \(PASS\|FAIL\|SKIP\)" "$logf" || check_failed "RESULT $e FAIL missing"
    done
    if [[ $qrc == 124 || $qrc == 137 ]]; then
        check_failed "RESULT timeout FAIL guest killed after ${GUEST_TIMEOUT}s"
        hang_report "$logf"
    elif ! grep -q '^GUEST-END rc=' "$logf"; then
        check_failed "RESULT guest_end FAIL no GUEST-END line (qemu rc $qrc)"
        hang_report "$logf"
    fi
    if grep -Eq "$trouble" "$logf"; then
        check_failed "RESULT kernel_clean FAIL kernel trouble: $(grep -m 1 -E "$trouble" "$logf")"
        grep -E "$trouble" "$logf" | head -n 5 | sed 's/^/    /' >&2
    fi
    # QEMU's own complaints (vhost-user errors and such) help explain a failure.
    if grep -q '^qemu-system' "$logf"; then
        grep '^qemu-system' "$logf" | head -n 5 | sed "s/^/    $name: /" >&2
    fi
    if grep -q '^INIT ' "$logf"; then
        grep '^INIT ' "$logf" | sed 's/^/    /' >&2
        check_failed "RESULT init FAIL module load trouble"
    fi
    TOTAL_PASSED=$((TOTAL_PASSED + pass))
    TOTAL_FAILED=$((TOTAL_FAILED + fail))
    log "$name: $pass passed, $fail failed (log $logf)"
    [[ $fail == 0 ]]
}

# data_value LOG KEY: the value of the guest's "DATA KEY value" line.
data_value() { sed -n "s/^DATA $2 //p" "$1" | tail -n1; }

# host_result NAME PASS|FAIL DETAIL...: a host-side result, counted like a
# guest one.
host_result() {
    local name=$1 status=$2; shift 2
    log "  host: RESULT $name $status $*"
    case $status in
        PASS) TOTAL_PASSED=$((TOTAL_PASSED + 1)) ;;
        FAIL) TOTAL_FAILED=$((TOTAL_FAILED + 1)); local d="$*"; FAILED_RESULTS+=("host: RESULT $name FAIL ${d:0:160}") ;;
    esac
}

# emulator_text_patch_oops LOG: whether the guest died of an int3 oops whose
# RIP is kernel text, not our module (only the kernel's text patching puts
# int3 bytes there).
emulator_text_patch_oops() {
    grep -q 'Oops: int3' "$1" && grep -q 'Kernel panic' "$1" &&
        ! grep -m 1 'RIP: 0010:' "$1" | grep -q '\[virtio_loopback\]'
}

# run_guest NAME GUEST_SCRIPT [FILE[:DEST]...]
# Build the kit, boot it with GUEST_QEMU_ARGS, check the log against the
# script's "# EXPECT:" list. The log is $QEMU_WORK_DIR/NAME.log.
# Sets GUEST_LOG, GUEST_BOOT_MS (qemu start to GUEST-START, from the guest's
# uptime) and GUEST_RUN_MS (whole qemu run).
run_guest() {
    local name=$1 script=$2; shift 2
    local initrd t0 rc=0
    initrd=$(build_kit "$name" "$script" "$@") || return 1
    GUEST_LOG=$QEMU_WORK_DIR/$name.log
    log "$name: booting (timeout ${GUEST_TIMEOUT}s)"
    t0=$(now_ms)
    run_qemu "$initrd" "$GUEST_LOG" || rc=$?
    # A kernel that dies before /init ran (seen once in some thirty boots of
    # Debian's 6.12 under TCG on a loaded host: a double fault in
    # start_kernel) never met the code under test: boot it once more, and
    # keep the first log.
    # So does one whose kernel hit a breakpoint byte in its own text: an int3
    # oops outside our module is the kernel's live patching of a static key
    # (text_poke_bp) losing a race under TCG, seen once in Debian's 6.12 when
    # sched_clock_cpu's branch flipped 3 s after boot, as the TSC went unstable.
    # Up to two more boots; each such log is kept.
    local why= tries=0
    while (( tries < 2 )); do
        why=
        if ! grep -q '^GUEST-START' "$GUEST_LOG" && grep -q 'Kernel panic' "$GUEST_LOG"; then
            why="the kernel panicked before /init"
        elif emulator_text_patch_oops "$GUEST_LOG"; then
            why="the kernel died of an int3 in its own text ($(grep -m 1 -o 'RIP: [^ ]*' "$GUEST_LOG"))"
        fi
        [[ -n $why ]] || break
        tries=$((tries + 1))
        mv "$GUEST_LOG" "$GUEST_LOG.emulator-panic.$tries"
        log "$name: $why ($GUEST_LOG.emulator-panic.$tries); booting again"
        rc=0
        run_qemu "$initrd" "$GUEST_LOG" || rc=$?
    done
    GUEST_RUN_MS=$(( $(now_ms) - t0 ))
    GUEST_BOOT_MS=$(awk '/^GUEST-START/ { printf "%d", $NF * 1000 }' "$GUEST_LOG")
    log "$name: qemu rc $rc, ${GUEST_RUN_MS} ms (guest reached /guest.sh at ${GUEST_BOOT_MS:-?} ms uptime)"
    local -a expect
    mapfile -t expect < <(expected_results "$script")
    check_log "$name" "$GUEST_LOG" "$rc" "${expect[@]}"
}

# begin_run NAME: this run's work folder, fresh: W=$QEMU_WORK_DIR/NAME, which
# becomes QEMU_WORK_DIR for everything after (logs, images, sockets), and the
# back ends started with start_backend are stopped on exit.
begin_run() {
    W=$QEMU_WORK_DIR/$1
    rm -rf "$W"; mkdir -p "$W"
    QEMU_WORK_DIR=$W
    trap stop_backends EXIT
}

# write_summary FILE: the failed results and then the closing line, into FILE
# and on stdout (scripts/test-summary.sh adds up the last lines and repeats the
# failures, so the end of a long run names what failed); non-zero when
# anything failed.
write_summary() {
    local rc=0
    { (( ${#FAILED_RESULTS[@]} == 0 )) || printf 'failed: %s\n' "${FAILED_RESULTS[@]}"
      summary; } >"$1" || rc=1
    cat "$1"
    return "$rc"
}

# end_run RC: write_summary to $W/summary, and exit non-zero if RC is or
# anything failed.
end_run() {
    local rc=$1
    write_summary "$W/summary" || rc=1
    exit "$rc"
}

# summary: the closing line over everything checked so far; non-zero when
# anything failed.
summary() {
    echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
    [[ $TOTAL_FAILED == 0 ]]
}

# -------------------------------------------------------------- sockets ----

# wait_for_socket PATH PID [SECONDS]: wait until the unix socket exists, fail
# early if PID died.
wait_for_socket() {
    local path=$1 pid=$2 n=$(( ${3:-20} * 10 ))
    while (( n-- > 0 )); do
        [[ -S $path ]] && return 0
        kill -0 "$pid" 2>/dev/null || { log "process $pid exited before $path appeared"; return 1; }
        sleep 0.1
    done
    log "timeout waiting for $path"
    return 1
}

# stop_process NAME PID: SIGTERM, wait up to 10 s, report the exit code as a
# host result (must be 0).
stop_process() {
    local name=$1 pid=$2 rc=0 n=100
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" || rc=$?
        host_result "${name}_alive" FAIL "exited early with status $rc"
        return 1
    fi
    host_result "${name}_alive" PASS "pid $pid still running after the guest"
    kill -TERM "$pid"
    while (( n-- > 0 )) && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"; wait "$pid" 2>/dev/null
        host_result "${name}_sigterm" FAIL "did not exit within 10 s of SIGTERM"
        return 1
    fi
    wait "$pid" || rc=$?
    if [[ $rc == 0 ]]; then
        host_result "${name}_sigterm" PASS "exit 0 on SIGTERM"
    else
        host_result "${name}_sigterm" FAIL "exit status $rc on SIGTERM"
        return 1
    fi
}

# -------------------------------------------------------------- back ends ----
#   BLK_BACKEND   ours (default) | qsd (Debian's qemu-storage-daemon)
#   RNG_BACKEND   ours | none (default: ours, or none when BLK_BACKEND=qsd;
#                 Debian ships no third-party vhost-user-rng back end)
#   BIN_DIR       where our back ends are (default out/linux-x64)
BLK_BACKEND=${BLK_BACKEND:-ours}
if [[ $BLK_BACKEND == qsd ]]; then RNG_BACKEND=${RNG_BACKEND:-none}; else RNG_BACKEND=${RNG_BACKEND:-ours}; fi
BIN_DIR=${BIN_DIR:-$REPO_ROOT/out/linux-x64}
BACKEND_PIDS=()

# check_backends: our binaries exist when a run needs them.
check_backends() {
    local p
    [[ $BLK_BACKEND == ours ]] && { [[ -x $BIN_DIR/vhost-user-blk ]] || die "$BIN_DIR/vhost-user-blk missing: run 'make' first"; }
    [[ $RNG_BACKEND == ours ]] && { [[ -x $BIN_DIR/vhost-user-rng ]] || die "$BIN_DIR/vhost-user-rng missing: run 'make' first"; }
    case $BLK_BACKEND in ours|qsd) ;; *) die "BLK_BACKEND must be ours or qsd" ;; esac
    case $RNG_BACKEND in ours|none) ;; *) die "RNG_BACKEND must be ours or none" ;; esac
}

# start_backend NAME SOCKET CMD...: start a back end in the background with
# its output in $QEMU_WORK_DIR/NAME.out, wait for its socket. Sets BACKEND_PID.
start_backend() {
    local name=$1 sock=$2; shift 2
    log "start $name: $*"
    "$@" >"$QEMU_WORK_DIR/$name.out" 2>&1 &
    BACKEND_PID=$!
    BACKEND_PIDS+=("$BACKEND_PID")
    wait_for_socket "$sock" "$BACKEND_PID" ||
        { cat "$QEMU_WORK_DIR/$name.out" >&2; die "$name did not start"; }
}

# start_blk NAME IMAGE SOCKET rw|ro QUEUES: a vhost-user-blk back end
# (BLK_BACKEND) serving IMAGE with QUEUES queues (QEMU's num-queues must not
# exceed what the back end offers).
start_blk() {
    local name=$1 img=$2 sock=$3 mode=$4 queues=${5:-1}
    case $BLK_BACKEND in
        ours)
            local -a ro=()
            [[ $mode == ro ]] && ro=(--read-only)
            start_backend "$name" "$sock" "$BIN_DIR/vhost-user-blk" --socket-path "$sock" \
                --blk-file "$img" --num-queues "$queues" "${ro[@]}"
            ;;
        qsd)
            local ro=off writable=on
            [[ $mode == ro ]] && { ro=on; writable=off; }
            start_backend "$name" "$sock" qemu-storage-daemon \
                --blockdev "driver=file,node-name=f0,filename=$img,read-only=$ro" \
                --export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$sock,writable=$writable,num-queues=$queues"
            ;;
    esac
}

# start_rng NAME SOCKET: our vhost-user-rng back end.
start_rng() {
    start_backend "$1" "$2" "$BIN_DIR/vhost-user-rng" --socket-path "$2"
}

# stop_backends: kill whatever is left (for an EXIT trap).
stop_backends() {
    local p
    for p in "${BACKEND_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

# ----------------------------------------------------------------- arm64 ----

ARM64_DIR=${ARM64_DIR:-$(dirname "$KERNELS_DIR")/arm64}

# fetch_arm64_kit: download the Debian arm64 kernel (and its headers),
# busybox-static and the glibc/libgcc/libstdc++ runtime (for NativeAOT
# binaries) and extract them to $ARM64_DIR/root with dpkg -x. Uses a private apt state: the system's
# architectures, lists and caches are not touched and nothing is installed.
# Mirrors: ARM64_MIRROR, ARM64_SECURITY_MIRROR. Sets ARM64_KERNEL, ARM64_KVER,
# ARM64_MODDIR, ARM64_HEADERS, ARM64_ROOT.
fetch_arm64_kit() {
    local apt="$ARM64_DIR/apt" root="$ARM64_DIR/root"
    ARM64_ROOT=$root
    if [[ -f $ARM64_DIR/.done ]]; then
        arm64_paths; return 0
    fi
    log "arm64: fetching packages into $ARM64_DIR (private apt state)"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$root"
    local mirror=${ARM64_MIRROR:-http://deb.debian.org/debian}
    local security=${ARM64_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
    cat >"$apt/sources.list" <<EOF
deb [arch=arm64] $mirror bookworm main
deb [arch=arm64] $mirror bookworm-updates main
deb [arch=arm64] $security bookworm-security main
EOF
    arm64_apt_opts
    local -a opts=("${ARM64_APT_OPTS[@]}")
    apt-get "${opts[@]}" update -qq || die "arm64: apt-get update failed"
    # The kernel package that linux-image-arm64 points at (an ABI-versioned name).
    local kpkg
    kpkg=$(apt-cache "${opts[@]}" depends linux-image-arm64 2>/dev/null |
        awk '/Depends: linux-image-[0-9].*-arm64$/ { print $2; exit }')
    [[ -n $kpkg ]] || die "arm64: cannot resolve linux-image-arm64"
    # The -unsigned flavour has the same payload without the signing wrapper.
    if apt-cache "${opts[@]}" show "$kpkg-unsigned" >/dev/null 2>&1; then kpkg=$kpkg-unsigned; fi
    log "arm64: kernel package $kpkg"
    # The headers (same ABI) are for cross-building the kernel module later.
    local hpkg=${kpkg%-unsigned}
    hpkg=linux-headers-${hpkg#linux-image-}
    (cd "$apt/debs" && apt-get "${opts[@]}" download \
        "$kpkg:arm64" "$hpkg:arm64" busybox-static:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64) ||
        die "arm64: apt-get download failed"
    local deb
    for deb in "$apt"/debs/*.deb; do dpkg -x "$deb" "$root"; done
    rm -rf "$apt/debs"
    touch "$ARM64_DIR/.done"
    arm64_paths
}

# arm64_apt_opts: ARM64_APT_OPTS, the options of fetch_arm64_kit's private apt state.
arm64_apt_opts() {
    local apt="$ARM64_DIR/apt"
    ARM64_APT_OPTS=(-o "Dir::Etc::SourceList=$apt/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt/lists"
        -o "Dir::Cache=$apt/cache"
        -o "Dir::State::status=/dev/null"
        -o APT::Architecture=arm64
        -o APT::Architectures::=arm64
        -o Debug::NoLocking=1
        -o APT::Sandbox::User=root)
}

# fetch_arm64_tools TOOL...: the aarch64 builds of host programs (fio,
# qemu-storage-daemon, ...), for arm64 guests. The host's own copies say which
# bookworm packages are needed: the package of each program and of every
# library its ldd lists. Those packages are downloaded for arm64 with
# fetch_arm64_kit's private apt state (nothing is installed) and unpacked into
# $ARM64_DIR/tools. Prints the aarch64 path of each TOOL, in order; their
# libraries are found there by copy_with_libs (copy_arm64_needed).
fetch_arm64_tools() {
    fetch_arm64_kit >&2
    local tools=$ARM64_DIR/tools t path lib p alt line
    local -a pkgs=() files=()
    local -A seen=() owner=()
    for t in "$@"; do
        path=$(readlink -f "$(command -v "$t")") || die "arm64: $t is not on this host's PATH (make deps)"
        files+=("$path" $(ldd "$path" 2>/dev/null | awk '/=>/ { print $3 }'))
    done
    # One dpkg -S for all (it reads the whole database each time). Merged /usr: the
    # database may name a file with or without the /usr prefix, so ask for both.
    while IFS= read -r line; do
        [[ $line =~ ^([^\ ]+):\ (/.*)$ ]] || continue
        p=${BASH_REMATCH[1]%%,*}
        owner[${BASH_REMATCH[2]}]=${p%%:*}
    done < <(for f in "${files[@]}"; do echo "$f"; case $f in /usr/*) echo "${f#/usr}" ;; *) echo "/usr$f" ;; esac; done |
        sort -u | xargs dpkg -S 2>/dev/null)
    for f in "${files[@]}"; do
        case $f in /usr/*) alt=${f#/usr} ;; *) alt=/usr$f ;; esac
        p=${owner[$f]:-${owner[$alt]:-}}
        [[ -n $p ]] || die "arm64: no Debian package owns $f (needed by $*)"
        [[ -n ${seen[$p]:-} ]] || { seen[$p]=1; pkgs+=("$p"); }
    done
    local want
    want=$(printf '%s\n' "${pkgs[@]}" | sort)
    if [[ ! -f $tools/.packages ]] || [[ -n $(comm -23 <(echo "$want") "$tools/.packages") ]]; then
        log "arm64: fetching ${#pkgs[@]} packages for $* into $tools"
        arm64_apt_opts
        # The lists may be older than the archive's current versions.
        apt-get "${ARM64_APT_OPTS[@]}" update -qq >&2 || die "arm64: apt-get update failed"
        local debs=$ARM64_DIR/tools-debs
        rm -rf "$debs"; mkdir -p "$debs" "$tools"
        (cd "$debs" && apt-get "${ARM64_APT_OPTS[@]}" download $(printf '%s:arm64 ' "${pkgs[@]}")) >&2 ||
            die "arm64: apt-get download of ${pkgs[*]} failed"
        local deb
        for deb in "$debs"/*.deb; do dpkg -x "$deb" "$tools"; done
        rm -rf "$debs"
        { [[ -f $tools/.packages ]] && cat "$tools/.packages"; echo "$want"; } | sort -u >"$tools/.packages.new"
        mv "$tools/.packages.new" "$tools/.packages"
    fi
    for t in "$@"; do
        path=$(readlink -f "$(command -v "$t")")
        [[ -x $tools$path ]] || path=${path#/usr}
        [[ -x $tools$path ]] || path=/usr$path
        [[ -x $tools$path ]] || die "arm64: $t not found in the arm64 packages under $tools"
        file -bL "$tools$path" | grep -q 'ARM aarch64' || die "arm64: $tools$path is not an aarch64 program"
        echo "$tools$path"
    done
}

# copy_arm64_needed FILE ROOT: every library FILE (an aarch64 ELF) needs, and what
# those need, from the arm64 packages ($ARM64_DIR/tools, then the kit's glibc
# root) into ROOT at the same path (the loader's default directories, or the
# file's RUNPATH such as ceph's private folder). A library found nowhere is an
# error, not a guest that fails to start.
copy_arm64_needed() {
    local f=$1 root=$2 so dir found src
    local -a dirs=(lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib)
    for dir in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p' | tr ':' ' '); do
        dirs+=("${dir#/}")
    done
    for so in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        found=
        for dir in "${dirs[@]}"; do [[ -e $root/$dir/$so ]] && { found=1; break; }; done
        [[ -n $found ]] && continue
        for src in "$ARM64_DIR/tools" "$ARM64_ROOT"; do
            for dir in "${dirs[@]}"; do
                [[ -e $src/$dir/$so ]] || continue
                mkdir -p "$root/$dir"
                cp -L "$src/$dir/$so" "$root/$dir/$so"
                copy_arm64_needed "$src/$dir/$so" "$root"
                found=1; break 2
            done
        done
        [[ -n $found ]] || die "arm64: $so, needed by $f, is in none of the downloaded packages"
    done
}

arm64_paths() {
    ARM64_ROOT=$ARM64_DIR/root
    ARM64_KERNEL=$(ls "$ARM64_ROOT"/boot/vmlinuz-*-arm64 | sort -V | tail -n1)
    ARM64_KVER=${ARM64_KERNEL##*/vmlinuz-}
    ARM64_MODDIR=$ARM64_ROOT/lib/modules/$ARM64_KVER
    ARM64_HEADERS=$ARM64_ROOT/usr/src/linux-headers-$ARM64_KVER
}

# copy_arm64_runtime ROOT: the arm64 glibc, libgcc_s and libstdc++ that our
# aarch64 programs need (host ldd cannot read them, so the whole small set).
copy_arm64_runtime() {
    local root=$1 f multi=lib/aarch64-linux-gnu
    [[ -e $root/lib/ld-linux-aarch64.so.1 ]] && return 0
    mkdir -p "$root/$multi"
    cp -L "$ARM64_ROOT/$multi/ld-linux-aarch64.so.1" "$root/lib/"
    for f in libc.so.6 libm.so.6 libgcc_s.so.1 libdl.so.2 libpthread.so.0 librt.so.1; do
        cp -L "$ARM64_ROOT/$multi/$f" "$root/$multi/"
    done
    cp -L "$ARM64_ROOT"/usr/$multi/libstdc++.so.6 "$root/$multi/"
}

# use_arm64_kernel: point find_kernel's variables at the downloaded arm64
# kernel (fetch_arm64_kit), for build_kit/run_qemu/run_guest.
use_arm64_kernel() {
    fetch_arm64_kit
    KARCH=arm64
    KVER=$ARM64_KVER
    KROOT=$ARM64_ROOT
    KERNEL=$ARM64_KERNEL
    MODDIR=$ARM64_MODDIR
    [[ -f $MODDIR/modules.dep ]] || depmod -b "$KROOT" "$KVER"
}

# boot_arm64 [GUEST_SCRIPT [FILE...]]: boot the arm64 kernel in
# qemu-system-aarch64 -M virt (TCG) with a busybox kit that runs
# GUEST_SCRIPT (default: print uname -m) and holds FILEs (aarch64 binaries,
# e.g. out/linux-arm64/*, in /bin). Log: $QEMU_WORK_DIR/arm64.log.
boot_arm64() {
    local script=${1:-$QEMU_LIB_DIR/guest/arm64-smoke.sh}
    [[ $# -gt 0 ]] && shift
    use_arm64_kernel
    GUEST_MODULES="${GUEST_MODULES_ARM64:-}" GUEST_MEM=1024 run_guest arm64 "$script" "$@"
}
