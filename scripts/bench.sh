#!/usr/bin/env bash
# Side-by-side benchmarks, all in one run (this machine's figures swing from day to day, so
# compare only columns of the same run): tmpfs, the host disk, MAVFS vram/ and vdisk/.
#   bench.sh [--size-mb N] [--files N]
# Needs root (tmpfs mount, drop_caches). Prints a table; ratios are to tmpfs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mb=512
files=5000
while [ $# -gt 0 ]; do
    case $1 in
        --size-mb) size_mb=$2; shift 2 ;;
        --files) files=$2; shift 2 ;;
        *) echo "usage: bench.sh [--size-mb N] [--files N]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: needs root" >&2; exit 1; }

cargo build --release --quiet --bin mavfs-mount
work=$(mktemp -d /var/tmp/mavfs-bench.XXXXXX)
mkdir -p "$work/tmpfs" "$work/host" "$work/mnt" "$work/disk"
mount -t tmpfs -o size=$((size_mb * 2 + 512))m tmpfs "$work/tmpfs"
target/release/mavfs-mount "$work/mnt" --disk-dir "$work/disk" --ram-limit $((size_mb * 2 + 512))M
cleanup() {
    umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt" 2>/dev/null || true
    umount "$work/tmpfs" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

python3 - "$size_mb" "$files" "$work/tmpfs" "$work/host" "$work/mnt/vram" "$work/mnt/vdisk" <<'PY'
import os, sys, time, tarfile, io

size_mb, nfiles = int(sys.argv[1]), int(sys.argv[2])
places = [("tmpfs", sys.argv[3]), ("host dir", sys.argv[4]), ("vram", sys.argv[5]), ("vdisk", sys.argv[6])]
block = b"\xa5" * (1 << 20)

def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")

def seq_write(d):
    p = os.path.join(d, "blob")
    t = time.perf_counter()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(size_mb):
        os.write(fd, block)
    os.fsync(fd)
    os.close(fd)
    return size_mb / (time.perf_counter() - t)

def seq_read(d):
    p = os.path.join(d, "blob")
    t = time.perf_counter()
    fd = os.open(p, os.O_RDONLY)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)
    return size_mb / (time.perf_counter() - t)

def meta(d):
    sub = os.path.join(d, "meta")
    os.mkdir(sub)
    names = [os.path.join(sub, f"f{i}") for i in range(nfiles)]
    t = time.perf_counter()
    for n in names:
        os.close(os.open(n, os.O_WRONLY | os.O_CREAT, 0o644))
    c = nfiles / (time.perf_counter() - t)
    t = time.perf_counter()
    for n in names:
        os.stat(n)
    s = nfiles / (time.perf_counter() - t)
    t = time.perf_counter()
    for n in names:
        os.unlink(n)
    u = nfiles / (time.perf_counter() - t)
    os.rmdir(sub)
    return c, s, u

def make_tar():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(2000):
            data = os.urandom(64 + (i * 37) % 8192)
            info = tarfile.TarInfo(f"tree/d{i % 50}/f{i}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()

tar_bytes = make_tar()

def untar(d):
    t = time.perf_counter()
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        tar.extractall(os.path.join(d, "untar"), filter="fully_trusted")
    return time.perf_counter() - t

rows = {}
for name, d in places:
    r = {}
    r["seq write MB/s"] = seq_write(d)
    drop_caches()
    r["seq read cold MB/s"] = seq_read(d)
    r["seq read warm MB/s"] = seq_read(d)
    os.unlink(os.path.join(d, "blob"))
    r["create/s"], r["stat/s"], r["unlink/s"] = meta(d)
    r["untar 2000 files (s)"] = untar(d)
    rows[name] = r

keys = list(rows["tmpfs"].keys())
print(f"{'workload':<22}" + "".join(f"{n:>22}" for n, _ in places))
for k in keys:
    base = rows["tmpfs"][k]
    cells = []
    for n, _ in places:
        v = rows[n][k]
        cells.append(f"{v:>12.1f} ({v / base:5.2f}x)")
    print(f"{k:<22}" + "".join(f"{c:>22}" for c in cells))
PY
