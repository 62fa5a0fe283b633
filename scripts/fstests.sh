#!/usr/bin/env bash
# fstests (the kernel's filesystem regression suite) on one MAVFS place, as filesystem
# developers run it: through mount(8) and its helper, a test and a scratch filesystem.
#   scripts/fstests.sh PLACE [TESTS...]      PLACE: vram-memory, vram-redis or vdisk
# Without TESTS it runs `./check -g quick`. Builds the suite once, from
# ../shared/fstests/xfstests-*.tar.gz (or $FSTESTS_TARBALL; else fetched from GitHub at the
# same commit), in $XDG_CACHE_HOME/mavfs.
# Ends with one line `fstests PLACE: P passed, F failed (E expected), N not run` and the
# failing tests' names; exits 1 if a test failed that conformance/fstests-PLACE.expected does
# not list (one test a line, with its reason after a #) and fails again when run alone (one
# that then passes is named as flaky). $FSTESTS_EXCLUDE: tests left out.
# Needs root (mount, the helper in /sbin, tests as other users).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
place=${1:-}
case "$place" in
    vram-memory | vram-redis | vdisk) shift ;;
    *) echo "usage: fstests.sh vram-memory|vram-redis|vdisk [TESTS...]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "fstests.sh: needs root" >&2; exit 1; }

cache="${XDG_CACHE_HOME:-$HOME/.cache}/mavfs"
suite="$cache/xfstests"
tarball=${FSTESTS_TARBALL:-$(ls "$repo"/../shared/fstests/xfstests-*.tar.gz 2>/dev/null | head -1 || true)}
deps="xfslibs-dev uuid-dev libtool-bin e2fsprogs automake gcc libuuid1 quota attr make
      libacl1-dev libaio-dev xfsprogs libgdbm-dev gawk fio uuid-runtime python3 sqlite3
      liburing-dev libcap-dev bc redis-server fuse3 acl"
commit=63a29724
if [ ! -x "$suite/ltp/fsstress" ]; then
    mkdir -p "$cache" && rm -rf "$suite"
    if [ ! -f "$tarball" ]; then
        tarball="$cache/xfstests-$commit.tar.gz"
        echo "fstests.sh: fetching fstests $commit" >&2
        command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
        curl -fsSL -o "$tarball" "https://github.com/kdave/xfstests/archive/$commit.tar.gz" ||
            { echo "fstests.sh: no fstests tarball and none to fetch (set FSTESTS_TARBALL)" >&2; exit 1; }
    fi
    echo "fstests.sh: building fstests in $suite" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $deps >/dev/null
    mkdir -p "$suite"
    tar xzf "$tarball" -C "$suite" --strip-components=1
    make -C "$suite" -j"$(nproc)" >"$cache/xfstests-build.log" 2>&1 ||
        { tail -20 "$cache/xfstests-build.log" >&2; exit 1; }
fi
# The users some tests switch to.
id fsgqa >/dev/null 2>&1 || useradd -m fsgqa
id fsgqa2 >/dev/null 2>&1 || useradd -m fsgqa2
id 123456-fsgqa >/dev/null 2>&1 || useradd --badname 123456-fsgqa 2>/dev/null || true
getent group fsgqa >/dev/null || groupadd fsgqa

(cd "$repo" && cargo build --release --quiet --bin mavfs-mount --bin mavfsctl)
bin="${CARGO_TARGET_DIR:-$repo/target}/release"
# mount(8) finds the helper in /sbin; one put here is taken away at the end.
helper=/sbin/mount.fuse.mavfs
placed_helper=0
if [ ! -e "$helper" ]; then
    ln -s "$bin/mavfs-mount" "$helper"
    placed_helper=1
fi

work=$(mktemp -d /var/tmp/mavfs-fstests.XXXXXX)
# Tests run parts as other users, who must reach the mount points.
chmod 755 "$work"
mkdir -p "$work"/{test-dev,test-mnt,scratch-dev,scratch-mnt,results}
redis_pid=""
cleanup() {
    for m in "$work/test-mnt" "$work/scratch-mnt" "$work/test-dev" "$work/scratch-dev"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    [ "$placed_helper" -eq 1 ] && rm -f "$helper"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# vdisk's disk dirs each on a filesystem of their own (xfs on a loop device): tests that
# fill the scratch filesystem (generic/103) would otherwise fill this machine's. xfs holds
# the 1,000 attributes and 64 KiB values that fstests expects of FSTYP=fuse (generic/020;
# ext4 keeps one block of them per inode: FSTESTS_HOST_FS=ext4 to see it). Without loop
# devices they stay plain directories, and generic/103 is left out.
host_fs=${FSTESTS_HOST_FS:-xfs}
force=$([ "$host_fs" = xfs ] && echo -f || echo -F)
if [ "$place" = vdisk ]; then
    for d in test-dev scratch-dev; do
        truncate -s 3G "$work/$d.img"
        if ! { "mkfs.$host_fs" -q "$force" "$work/$d.img" && mount -o loop "$work/$d.img" "$work/$d"; } 2>/dev/null; then
            echo "fstests.sh: no loop device; vdisk's disk dirs are plain directories, generic/103 left out" >&2
            FSTESTS_EXCLUDE="${FSTESTS_EXCLUDE:-} generic/103"
        fi
        rm -f "$work/$d.img"
        chmod 755 "$work/$d"
    done
fi

case "$place" in
    # Snapshots keep the in-process store across the remounts tests make.
    vram-memory)
        test_opts="tier=vram,snapshot_dir=$work/test-snaps"
        scratch_opts="tier=vram,snapshot_dir=$work/scratch-snaps"
        ;;
    vdisk) test_opts="tier=vdisk"; scratch_opts="tier=vdisk" ;;
    vram-redis)
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --maxmemory-policy noeviction --dir "$work" >"$work/redis.log" 2>&1 &
        redis_pid=$!
        for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
        url="redis://127.0.0.1:$port/0"
        # One Redis, two filesystems: the prefix keeps them apart.
        test_opts="tier=vram,ram=redis,redis_url=$url,redis_prefix=fstests-test"
        scratch_opts="tier=vram,ram=redis,redis_url=$url,redis_prefix=fstests-scratch"
        ;;
esac

cat >"$suite/local.config" <<EOF
export FSTYP=fuse
export FUSE_SUBTYP=.mavfs
export TEST_DEV=mavfs-fstests-test
export TEST_DIR=$work/test-mnt
export SCRATCH_DEV=mavfs-fstests-scratch
export SCRATCH_MNT=$work/scratch-mnt
export TEST_FS_MOUNT_OPTS="-o $test_opts,disk_dir=$work/test-dev,allow_other"
export MOUNT_OPTIONS="-o $scratch_opts,disk_dir=$work/scratch-dev,allow_other"
export RESULT_BASE=$work/results
EOF

# The sources are names, not directories, so that `umount SOURCE` (which fstests runs) finds
# the mount by its source. fstests compares `df -T`'s type with FSTYP (fuse) and knows subtypes only of glusterfs and
# ceph: its df sees fuse.mavfs as fuse.
mkdir -p "$work/shim"
printf '#!/bin/sh\n%s "$@" | sed "s/ fuse\\.mavfs / fuse /"\n' "$(command -v df)" >"$work/shim/df"
chmod +x "$work/shim/df"

log="$work/check.log"
exclude=()
for t in ${FSTESTS_EXCLUDE:-}; do exclude+=(-e "$t"); done
(cd "$suite" && PATH="$work/shim:$PATH" ./check "${exclude[@]}" ${@:--g quick}) 2>&1 | tee "$log" || true
# The work folder goes at exit; each failure's .out.bad and .full stay here.
kept="$cache/results-$place"
rm -rf "$kept" && cp -r "$work/results" "$kept" && cp "$log" "$kept/"

# check's own summary lines: "Ran: ..." (every test tried, those not run included),
# "Not run: ...", "Failures: ...".
ran=$( (grep -m1 '^Ran:' "$log" || true) | cut -d: -f2- | wc -w)
notrun=$( (grep -m1 '^Not run:' "$log" || true) | cut -d: -f2- | wc -w)
failures=$(grep -m1 '^Failures:' "$log" | cut -d: -f2- || true)
nfail=$(echo "$failures" | wc -w)
expected="$repo/conformance/fstests-$place.expected"
unexpected=""
for t in $failures; do
    if ! grep -q "^$t\b" "$expected" 2>/dev/null; then
        unexpected="$unexpected $t"
    fi
done
# An unexpected failure shows what it printed, and runs once more alone: one that passes
# then is reported as flaky (its first output stays in $kept) and does not fail the run.
flaky=""
again=""
for t in $unexpected; do
    echo "fstests $place: $t failed; what it printed (first 20 lines of its .out.bad):" >&2
    head -20 "$kept/$t.out.bad" 2>/dev/null | sed "s/^/fstests $place | /" >&2 || true
    if (cd "$suite" && PATH="$work/shim:$PATH" ./check "$t") >"$work/again.log" 2>&1 &&
        grep -q '^Passed all 1 tests' "$work/again.log"; then
        flaky="$flaky $t"
    else
        again="$again $t"
    fi
done
unexpected=$again
nflaky=$(echo "$flaky" | wc -w)
nfail=$(( nfail - nflaky ))
nexp=$(( nfail - $(echo "$unexpected" | wc -w) ))
echo "fstests $place: $(( ran - notrun - nfail )) passed, $nfail failed ($nexp expected), $notrun not run"
[ -n "$failures" ] && echo "failed:$failures (outputs in $kept)"
[ -n "$flaky" ] && echo "fstests $place: of those, passed when run again alone (flaky):$flaky"
if [ -n "$unexpected" ]; then
    echo "fstests $place: failures not in $(basename "$expected"):$unexpected" >&2
    exit 1
fi
exit 0
