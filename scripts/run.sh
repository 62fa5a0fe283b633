#!/usr/bin/env bash
# Build mavfs, install it (scripts/install.sh: mavfs-mount and mavfsctl on the PATH, man
# pages, completions, mount(8)'s helper) and mount it.
#   scripts/run.sh MOUNTPOINT [mavfs-mount options]
# Without --disk-dir, vdisk/ is backed by ./block_dir (in the current directory).
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 MOUNTPOINT [mavfs-mount options]

Builds mavfs (release), creates MOUNTPOINT if needed and mounts it with the in-memory
RAM store. vdisk/ is backed by ./block_dir unless --disk-dir DIR is given.
Options are those of mavfs-mount, e.g. --ram-limit 4G, --allow-other, -f.
USAGE
    exit 2
}

[ $# -ge 1 ] || usage
case "$1" in
    -h | --help) usage ;;
esac
mnt=$1
shift
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    sudo=sudo
fi
if ! command -v fusermount3 >/dev/null 2>&1; then
    echo "run.sh: installing fuse3" >&2
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 >/dev/null
fi

(cd "$repo" && cargo build --release --quiet)
bin="${CARGO_TARGET_DIR:-$repo/target}/release/mavfs-mount"
# mavfs-mount, mavfsctl, mount.fuse.mavfs, man pages and completions on the system.
if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
    $sudo bash "$repo/scripts/install.sh" --from "$(dirname "$bin")"
else
    echo "run.sh: not root and no sudo: mavfsctl stays in $(dirname "$bin") (scripts/install.sh installs it)" >&2
fi

mkdir -p "$mnt"
mnt=$(cd "$mnt" && pwd)

args=("$@")
foreground=0
has_disk_dir=0
for a in "$@"; do
    case "$a" in
        --disk-dir | --disk-dir=*) has_disk_dir=1 ;;
        -f | --foreground) foreground=1 ;;
    esac
done
if [ "$has_disk_dir" -eq 0 ]; then
    disk="$PWD/block_dir"
    mkdir -p "$disk"
    args+=(--disk-dir "$disk")
fi

instructions() {
    cat <<INFO
  ls $mnt                    vram/ (in RAM) and vdisk/ (the disk dir)
  mavfsctl stats             where the bytes are (man mavfsctl)
  cp -r data $mnt/vram/      put something in RAM
  mv $mnt/vram/data $mnt/vdisk/   move it to disk
To unmount:
  umount $mnt                (or: fusermount3 -u $mnt)
INFO
}

if [ "$foreground" -eq 1 ]; then
    echo "Mounting mavfs on $mnt in the foreground; Ctrl-C unmounts. From another shell:"
    instructions
    exec "$bin" "$mnt" "${args[@]}"
fi
"$bin" "$mnt" "${args[@]}"
echo "mavfs is mounted on $mnt"
instructions
