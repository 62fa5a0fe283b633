#!/usr/bin/env bash
# Two mounts writing at once, on one Redis and on a Redis Cluster of three masters, in one
# interleaved run: each mount writes its own file (fio, 1 MiB writes, --size-mb each) and
# creates --files small files (4 KiB) in its own directory. Prints the two mounts' sum per
# store (MB/s, files/s), best of --rounds, and how the cluster spread the bytes.
#   bench-cluster.sh [--size-mb N] [--files N] [--rounds N]
# Every server and mount runs on this machine: where its cores are fewer than the servers,
# mounts and writers, the figures say what the machine can do, not what a cluster can.
# Needs root (mounts), fuse3, redis-server, redis-cli, fio. Cleans up, also when interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mb=256
files=2000
rounds=2
usage="usage: bench-cluster.sh [--size-mb N] [--files N] [--rounds N]"
while [ $# -gt 0 ]; do
    case $1 in
        --size-mb) size_mb=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-cluster.sh: needs root (mounts)" >&2; exit 1; }
for tool in fusermount3 redis-server redis-cli fio python3; do
    command -v "$tool" >/dev/null || { echo "bench-cluster.sh: needs $tool" >&2; exit 1; }
done

cargo build --release --quiet --bin mavfs-mount
bin=target/release/mavfs-mount

work=$(mktemp -d /var/tmp/mavfs-cluster.XXXXXX)
pids=()
cluster_pids=()
mounts=()
source scripts/cluster-lib.sh
cleanup() {
    for m in "${mounts[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    for p in "${pids[@]}" "${cluster_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# server PORT [options]: a redis-server of this run's own.
server() {
    local p=$1
    shift
    mkdir -p "$work/r$p"
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
        --maxmemory-policy noeviction --dir "$work/r$p" "$@" >"$work/r$p/log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && return; sleep 0.05; done
    echo "bench-cluster.sh: redis-server did not start on $p" >&2
    exit 1
}

one=$(cluster_free_port)
server "$one"
start_cluster "$work/cluster" 3 --maxmemory-policy noeviction
nodes=("${cluster_nodes[@]}")
seeds=$cluster_seeds

# mount_pair NAME ARGS...: two mounts of one store (one vram/), at $work/NAME-a and
# $work/NAME-b; each writes names of its own.
mount_pair() {
    local name=$1
    shift
    for side in a b; do
        mkdir -p "$work/$name-$side" "$work/disk-$name-$side"
        "$bin" "$work/$name-$side" --disk-dir "$work/disk-$name-$side" --ram redis "$@"
        mounts+=("$work/$name-$side")
    done
}
mount_pair one --redis-url "redis://127.0.0.1:$one/0" --redis-prefix bench
mount_pair cluster --redis-cluster "$seeds" --redis-prefix bench

# write NAME ROUND: both mounts write a file each at once; prints MB/s of the two together.
write() {
    local name=$1 r=$2 t0 t1
    t0=$(date +%s.%N)
    for side in a b; do
        fio --name=w --filename="$work/$name-$side/vram/w$r-$side" --rw=write --bs=1M \
            --size="${size_mb}M" --ioengine=psync --end_fsync=1 >/dev/null &
    done
    wait %fio 2>/dev/null || wait
    t1=$(date +%s.%N)
    python3 -c "print(f'{2 * $size_mb * 1.048576 / ($t1 - $t0):.0f}')"
    rm -f "$work/$name-a/vram/w$r-a" "$work/$name-b/vram/w$r-b"
}

# create NAME ROUND: both mounts create their small files at once; prints files/s together.
create() {
    local name=$1 r=$2 t0 t1
    t0=$(date +%s.%N)
    for side in a b; do
        python3 - "$work/$name-$side/vram/c$r-$side" "$files" <<'EOF' &
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
block = b"x" * 4096
for i in range(n):
    with open(f"{d}/f{i}", "wb") as f:
        f.write(block)
EOF
    done
    wait
    t1=$(date +%s.%N)
    python3 -c "print(f'{2 * $files / ($t1 - $t0):.0f}')"
    rm -rf "$work/$name-a/vram/c$r-a" "$work/$name-b/vram/c$r-b"
}

best() { sort -n | tail -1; }
declare -A w c
for r in $(seq "$rounds"); do
    for name in one cluster; do
        w[$name]+="$(write "$name" "$r") "
        c[$name]+="$(create "$name" "$r") "
    done
done
printf '%-22s %14s %16s\n' "two mounts at once" "write MB/s" "creates/s"
for name in one cluster; do
    label="one Redis"
    [ "$name" = cluster ] && label="cluster (3 masters)"
    printf '%-22s %14s %16s\n' "$label" \
        "$(tr ' ' '\n' <<<"${w[$name]}" | grep . | best)" \
        "$(tr ' ' '\n' <<<"${c[$name]}" | grep . | best)"
done
echo "(best of $rounds; $size_mb MiB and $files files of 4 KiB per mount; $(nproc) CPUs)"

# How the cluster holds one more such file per mount.
for side in a b; do
    fio --name=w --filename="$work/cluster-$side/vram/keep-$side" --rw=write --bs=1M \
        --size="${size_mb}M" --ioengine=psync >/dev/null
done
echo
printf '%-18s %8s %14s\n' "cluster master" "slices" "slice bytes"
for n in "${nodes[@]}"; do
    p=${n##*:}
    redis-cli -p "$p" --scan --pattern 'bench:s:*' >"$work/keys-$p"
    keys=$(wc -l <"$work/keys-$p")
    bytes=$(sed 's/^/STRLEN /' "$work/keys-$p" | redis-cli -p "$p" | awk '{ s += $1 } END { print s + 0 }')
    printf '%-18s %8s %14s\n' "$n" "$keys" "$bytes"
done
