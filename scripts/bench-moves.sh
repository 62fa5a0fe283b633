#!/usr/bin/env bash
# How fast push and pull move data between the tiers, and a tiering policy demotes it, beside
# `cp -a` of the same data from a tmpfs to the host directory (the anchor), in one
# interleaved run. The policy's time runs from `mavfsctl policy load` to the last file gone. Two workloads: one big
# file (--big-mb) and a tree of many small files (--files, 1-4 KiB each, in 100 directories).
# Ratios are the anchor's time divided by the job's (>= 1: as fast as cp -a or faster).
#   bench-moves.sh [--big-mb N] [--files N] [--rounds N] [--ram memory|redis] [--verify]
# --rounds N runs each workload N times in turn and keeps each one's best time.
# Needs root (tmpfs mount). Cleans everything up, also when interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
big_mb=1024
files=10000
rounds=3
ram=memory
verify=""
usage="usage: bench-moves.sh [--big-mb N] [--files N] [--rounds N] [--ram memory|redis] [--verify]"
while [ $# -gt 0 ]; do
    case $1 in
        --big-mb) big_mb=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --ram) ram=$2; shift 2 ;;
        --verify) verify="--verify"; shift ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-moves.sh: needs root (tmpfs mount)" >&2; exit 1; }
command -v fusermount3 >/dev/null || { echo "bench-moves.sh: needs fuse3 (apt-get install fuse3)" >&2; exit 1; }

cargo build --release --quiet --bin mavfs-mount --bin mavfsctl
bin=target/release

work=$(mktemp -d /var/tmp/mavfs-moves.XXXXXX)
mkdir -p "$work"/{tmpfs,host,mnt,disk}
redis_pid=""
cleanup() {
    umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt" 2>/dev/null || true
    umount "$work/tmpfs" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount -t tmpfs -o size=$(( big_mb * 2 + 512 ))m tmpfs "$work/tmpfs"
args=()
if [ "$ram" = redis ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --maxmemory-policy noeviction --dir "$work" >"$work/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    args=(--ram redis --redis-url "redis://127.0.0.1:$port/0")
fi
"$bin/mavfs-mount" "$work/mnt" --disk-dir "$work/disk" "${args[@]}"
ctl() { "$bin/mavfsctl" --mount "$work/mnt" "$@"; }

# The data: made once in the tmpfs, copied into vram/ and onto the host as each run needs.
src="$work/tmpfs/src"
mkdir -p "$src/tree"
head -c $(( big_mb << 20 )) /dev/urandom > "$src/big"
python3 - "$src/tree" "$files" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(100):
    os.makedirs(os.path.join(root, f"d{d}"), exist_ok=True)
for i in range(n):
    with open(os.path.join(root, f"d{i % 100}", f"f{i}"), "wb") as f:
        f.write(os.urandom(1024 + (i * 37) % 3072))
EOF
cp -a "$src/big" "$src/tree" "$work/mnt/vram/"
cp -a "$src/big" "$src/tree" "$work/disk/"
sync

now() { date +%s.%N; }
# time_of CMD...: seconds the command took, each started with nothing dirty to write back
# (the host disk flushing an earlier step's data would slow whichever step comes next).
time_of() { sync; local t0; t0=$(now); "$@" >/dev/null; python3 -c "print($(now) - $t0)"; }
best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

# A policy that demotes what is under /vram/pol-W, and one that moves nothing.
for w in big tree; do
    printf '[[rule]]\npath = "/vram/pol-%s"\ndemote_after = "1h"\n' "$w" >"$work/demote-$w.toml"
done
: >"$work/none.toml"
demoted() { ctl stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("policy", {}).get("demoted", 0))'; }
# policy_demote W N: loads W's policy and waits until it has demoted N more files.
policy_demote() {
    local want=$(( $(demoted) + $2 ))
    ctl policy load "$work/demote-$1.toml"
    while [ "$(demoted)" -lt "$want" ]; do sleep 0.05; done
    ctl policy load "$work/none.toml"
}
count() { find "$src/$1" -type f | wc -l; }

declare -A t
for w in big tree; do
    for kind in cp push pull policy; do t[$w.$kind]=""; done
done
for r in $(seq "$rounds"); do
    for w in big tree; do
        rm -rf "$work/host/$w" "$work/disk/out-$w"
        t[$w.cp]+=" $(time_of cp -a "$src/$w" "$work/host/$w")"
        t[$w.push]+=" $(time_of ctl push -q $verify "/vram/$w" "/vdisk/out-$w")"
        t[$w.pull]+=" $(time_of ctl pull -q $verify "/vdisk/$w" "/vram/in-$w")"
        rm -rf "$work/mnt/vram/in-$w" "$work/disk/pol-$w"
        cp -a "$src/$w" "$work/mnt/vram/pol-$w"
        find "$work/mnt/vram/pol-$w" -exec touch -h -d '2 hours ago' {} +
        t[$w.policy]+=" $(time_of policy_demote "$w" "$(count "$w")")"
        rm -rf "$work/mnt/vram/pol-$w"
    done
done

printf '%s, ram=%s%s, best of %s rounds (seconds; ratio = cp -a time / job time)\n' \
    "$(uname -r)" "$ram" "${verify:+, --verify}" "$rounds"
printf '%-34s %10s %10s %10s %10s %8s %8s %8s\n' workload "cp -a" push pull policy \
    push/cp pull/cp pol/cp
for w in big tree; do
    cp_t=$(best ${t[$w.cp]}); push_t=$(best ${t[$w.push]}); pull_t=$(best ${t[$w.pull]})
    pol_t=$(best ${t[$w.policy]})
    label=$([ "$w" = big ] && echo "one file of $big_mb MiB" || echo "$files files of 1-4 KiB")
    python3 -c "
c, p, l, q = $cp_t, $push_t, $pull_t, $pol_t
print(f'{\"$label\":<34} {c:10.3f} {p:10.3f} {l:10.3f} {q:10.3f} {c/p:8.2f} {c/l:8.2f} {c/q:8.2f}')"
done
