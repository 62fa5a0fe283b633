#!/usr/bin/env bash
# POSIX conformance against real mounts, as root: pjdfstest on each tier, fsx on a file in
# each tier. Prints one summary line per run and exits non-zero on any failure.
#   FSX_OPS=N   operations per fsx run (default 100000; half that on the writeback cache,
#               io_uring and Redis Cluster places)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
fsx_ops=${FSX_OPS:-100000}

if [ "$(id -u)" -ne 0 ]; then
    echo "conformance.sh: needs root (pjdfstest switches users; the mount needs allow_other)" >&2
    exit 1
fi

# The tools, built once and then reused.
for tool in pjdfstest fsx; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "conformance.sh: installing $tool" >&2
        cargo install --locked --quiet "$tool"
    fi
done
export PATH="$HOME/.cargo/bin:$PATH"

# pjdfstest switches to these users (its dummy_auth section).
getent group tests >/dev/null || groupadd tests
id tests >/dev/null 2>&1 || useradd -g tests -M -N -s /usr/sbin/nologin tests
getent group nogroup >/dev/null || groupadd -g 65534 nogroup

cargo build --release --quiet --bin mavfs-mount
bin=$repo/target/release/mavfs-mount

# Short paths: pjdfstest binds unix sockets, whose paths may not pass 108 bytes.
work=$(mktemp -d /tmp/mc.XXXXXX)
chmod 755 "$work"
mnt=$work/mnt
redis_pid=""
cluster_pids=()
source scripts/cluster-lib.sh
cleanup() {
    if grep -q " $mnt " /proc/self/mountinfo 2>/dev/null; then
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    for p in "${cluster_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# run_pjdfstest LABEL DIR [CONFIG]
run_pjdfstest() {
    local log=$work/pjdfstest-$1.log
    local config=${3:-$repo/conformance/pjdfstest.toml}
    (cd "$2" && pjdfstest -c "$config" -p "$2") >"$log" 2>&1 || true
    local summary
    summary=$(grep '^Summary:' "$log" || echo "Summary: no summary (pjdfstest crashed)")
    local f p s
    f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$summary")
    p=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$summary")
    s=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$summary")
    echo "pjdfstest on $1: ${p:-0} passed, ${f:-?} failed, ${s:-0} skipped"
    if [ "${f:-1}" != "0" ] || [ -z "$p" ]; then
        grep -E 'FAILED' -A 3 "$log" | head -40 >&2 || true
        touch "$work/failed"
    fi
}

# run_fsx LABEL FILE [OPS]
run_fsx() {
    local log=$work/fsx-$1.log ops=${3:-$fsx_ops}
    if fsx -f "$repo/conformance/fsx.toml" -N "$ops" -S 1 -P "$work" "$2" >"$log" 2>&1; then
        echo "fsx on $1: $ops operations, clean"
    else
        echo "fsx on $1: FAILED"
        tail -20 "$log" >&2
        touch "$work/failed"
    fi
}

# On each mount the runs go at once (start), each in a file or directory of its own: most
# of their time is waiting (pjdfstest's naps, fsx's round trips). together waits for them
# and prints what each printed, in the order started. With half as many fsx operations on
# the places that change only how requests travel or where keys go (variant_ops), the
# whole suite stays well within CI's 90 minutes.
variant_ops=$(( fsx_ops > 1 ? fsx_ops / 2 : fsx_ops ))
started=()
start() {
    local out=$work/out-$(( ${#started[@]} ))
    "$@" >"$out" 2>&1 &
    started+=("$!:$out")
}
together() {
    local s rc
    for s in "${started[@]}"; do
        rc=0
        wait "${s%%:*}" || rc=$?
        cat "${s#*:}"
        # The runs print their own failures; one that ends with a status ended before.
        if [ "$rc" -ne 0 ]; then
            echo "conformance.sh: a run ended with status $rc (its output above)" >&2
            touch "$work/failed"
        fi
    done
    started=()
}

mkdir -p "$mnt" "$work/disk"
"$bin" "$mnt" --disk-dir "$work/disk" --allow-other
for tier in vram vdisk; do
    label=$tier
    [ "$tier" = vram ] && label="vram (memory)"
    mkdir "$mnt/$tier/p"
    chmod 777 "$mnt/$tier/p"
    start run_pjdfstest "$label" "$mnt/$tier/p"
    start run_fsx "$label" "$mnt/$tier/fsx.data"
done
together
umount "$mnt"

# vram (memory) again with the kernel's writeback cache (--writeback-cache). The kernel
# then stamps file times itself, from its clock tick (4 ms at HZ=250): pjdfstest waits
# longer than one between two changes it compares.
"$bin" "$mnt" --disk-dir "$work/disk" --allow-other --writeback-cache
mkdir "$mnt/vram/p"
chmod 777 "$mnt/vram/p"
sed 's/^naptime = .*/naptime = 0.02/' "$repo/conformance/pjdfstest.toml" >"$work/pjdfstest-wb.toml"
start run_pjdfstest "vram (memory, writeback cache)" "$mnt/vram/p" "$work/pjdfstest-wb.toml"
start run_fsx "vram (memory, writeback cache)" "$mnt/vram/fsx.data" "$variant_ops"
together
umount "$mnt"

# vram (memory) and vdisk again, served over FUSE's io_uring queues (--uring), where the
# kernel has them; the fuse module's switch is turned on for it.
switch=/sys/module/fuse/parameters/enable_uring
if [ -e "$switch" ] && { grep -q Y "$switch" || echo Y >"$switch"; } 2>/dev/null; then
    "$bin" "$mnt" --disk-dir "$work/disk" --allow-other --uring
    mkdir "$mnt/vram/p"
    chmod 777 "$mnt/vram/p"
    start run_pjdfstest "vram (memory, io_uring)" "$mnt/vram/p"
    start run_fsx "vram (memory, io_uring)" "$mnt/vram/fsx.data" "$variant_ops"
    start run_fsx "vdisk (io_uring)" "$mnt/vdisk/fsx-uring.data" "$variant_ops"
    together
    umount "$mnt"
else
    echo "io_uring places skipped: this kernel has no FUSE over io_uring ($switch)"
fi

# vram on Redis: a server of our own on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/redis"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" \
    --daemonize no >"$work/redis/log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "conformance.sh: redis-server did not start on port $port:" >&2
    cat "$work/redis/log" >&2
    exit 1
fi
"$bin" "$mnt" --disk-dir "$work/disk" --allow-other --ram redis --redis-url "redis://127.0.0.1:$port/0"
mkdir "$mnt/vram/p"
chmod 777 "$mnt/vram/p"
start run_pjdfstest "vram (redis)" "$mnt/vram/p"
start run_fsx "vram (redis)" "$mnt/vram/fsx-redis.data"
together
umount "$mnt"

# vram on a Redis Cluster of three masters of our own.
start_cluster "$work/cluster" 3
"$bin" "$mnt" --disk-dir "$work/disk" --allow-other --ram redis --redis-cluster "$cluster_seeds"
mkdir "$mnt/vram/p"
chmod 777 "$mnt/vram/p"
start run_pjdfstest "vram (redis cluster)" "$mnt/vram/p"
start run_fsx "vram (redis cluster)" "$mnt/vram/fsx-cluster.data" "$variant_ops"
together
umount "$mnt"

[ ! -e "$work/failed" ]
