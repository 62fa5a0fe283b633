#!/usr/bin/env bash
# Snapshot save and load of the in-process store beside the host disk's own speed (dd), and
# clones: one file of --mb MiB, then --files files holding as much in all.
#   bench-snapshots.sh [--mb N] [--files N]
# Save: `mavfsctl snapshot` (written, synced). Load: the mount's start with the snapshot read
# from disk (page cache dropped first), as `mavfs-mount` takes until the mount answers.
# RSS: the daemon's peak while it saves, beside what the store holds. Clone: `mavfsctl clone`
# of the tree, and the daemon's RSS before and after. Needs root (drop_caches). Cleans up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mb=1024
files=100000
while [ $# -gt 0 ]; do
    case $1 in
        --mb) mb=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        *) echo "usage: bench-snapshots.sh [--mb N] [--files N]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-snapshots.sh: needs root (drop_caches)" >&2; exit 1; }
cargo build --release --quiet --bin mavfs-mount --bin mavfsctl
bin=$PWD/target/release
work=$(mktemp -d /var/tmp/mavfs-snapbench.XXXXXX)
mkdir -p "$work"/{mnt,disk}
cleanup() {
    umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
rate() { python3 -c "print(f'{$1 / 1e6 / max($2, 1e-9):.0f}')"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
pid_of() { pgrep -f "mavfs-mount $work/mnt" | head -1; }
kib() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }

bytes=$((mb << 20))
drop
t0=$(now); dd if=/dev/zero of="$work/dd" bs=1M count="$mb" conv=fsync status=none; t1=$(now)
drop
t2=$(now); dd if="$work/dd" of=/dev/null bs=1M status=none; t3=$(now)
rm -f "$work/dd"
printf '%-28s %10s %10s\n' "" "seconds" "MB/s"
printf '%-28s %10s %10s\n' "dd write (conv=fsync)" "$(secs "$t0" "$t1")" "$(rate $bytes "$(secs "$t0" "$t1")")"
printf '%-28s %10s %10s\n' "dd read (cold)" "$(secs "$t2" "$t3")" "$(rate $bytes "$(secs "$t2" "$t3")")"

mount_it() { "$bin/mavfs-mount" "$work/mnt" --disk-dir "$work/disk" --snapshot-dir "$work/snaps"; }

# One workload: fill vram/ with $1 (a command), save, unmount, load; clone the tree.
run() {
    local label=$1 fill=$2
    rm -rf "$work/snaps"
    mount_it
    eval "$fill"
    local pid held
    pid=$(pid_of)
    held=$("$bin/mavfsctl" --mount "$work/mnt" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vram_used"])')
    sync
    echo 5 >"/proc/$pid/clear_refs"   # VmHWM starts again from here
    local rss0 t0 t1 size
    rss0=$(kib "$pid" VmRSS)
    local said
    t0=$(now); said=$("$bin/mavfsctl" --mount "$work/mnt" snapshot); t1=$(now)
    local peak
    peak=$(kib "$pid" VmHWM)
    size=$(stat -c %s "$work"/snaps/vram-*.snap | tail -1)
    printf '%-28s %10s %10s   (%s bytes; changes paused %s; RSS %s MiB before, peak %s MiB while saving; store holds %s MiB)\n' \
        "$label save" "$(secs "$t0" "$t1")" "$(rate "$size" "$(secs "$t0" "$t1")")" "$size" \
        "$(echo "$said" | grep -o 'paused [0-9.]* ms' | cut -d' ' -f2-)" \
        $((rss0 / 1024)) $((peak / 1024)) $((held >> 20))
    umount "$work/mnt"
    while pgrep -f "mavfs-mount $work/mnt" >/dev/null; do sleep 0.05; done
    drop
    t0=$(now); mount_it; t1=$(now)
    printf '%-28s %10s %10s   (the mount ready, snapshot read cold)\n' \
        "$label load" "$(secs "$t0" "$t1")" "$(rate "$size" "$(secs "$t0" "$t1")")"
    pid=$(pid_of)
    rss0=$(kib "$pid" VmRSS)
    t0=$(now); "$bin/mavfsctl" --mount "$work/mnt" clone /vram/tree /vram/tree-clone >/dev/null; t1=$(now)
    printf '%-28s %10s %10s   (RSS %s -> %s MiB)\n' "$label clone" "$(secs "$t0" "$t1")" "" \
        $((rss0 / 1024)) $(($(kib "$pid" VmRSS) / 1024))
    umount "$work/mnt"
    while pgrep -f "mavfs-mount $work/mnt" >/dev/null; do sleep 0.05; done
}

run "1 file of ${mb} MiB" \
    "mkdir \"$work/mnt/vram/tree\"; head -c $bytes /dev/urandom >\"$work/mnt/vram/tree/big\""
per=$((bytes / files))
run "$files files" "python3 - \"$work/mnt/vram/tree\" $files $per <<'EOF'
import os, sys
root, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(per)
for d in range(100):
    os.makedirs(f'{root}/d{d}', exist_ok=True)
for i in range(n):
    with open(f'{root}/d{i % 100}/f{i}', 'wb') as f:
        f.write(data)
EOF"
