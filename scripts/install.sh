#!/usr/bin/env bash
# Installs MAVFS like a tool: mavfs-mount and mavfsctl on the PATH, mount(8)'s helper
# (mount.fuse.mavfs), man pages, bash/zsh/fish completions and the systemd unit template.
#   scripts/install.sh [--prefix DIR] [--sbin DIR] [--systemd DIR] [--from DIR]
# --prefix   where bin/ and share/ go (default /usr/local)
# --sbin     where mount(8) looks for helpers (default /sbin)
# --systemd  where the unit template goes (default /etc/systemd/system, if systemd is there)
# --from     take the binaries from DIR instead of building them (release)
# What it installs is listed in PREFIX/share/mavfs/installed; scripts/uninstall.sh takes it
# all away again.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=/usr/local
sbin=/sbin
systemd=""
[ -d /etc/systemd/system ] && systemd=/etc/systemd/system
from=""
usage="usage: install.sh [--prefix DIR] [--sbin DIR] [--systemd DIR] [--from DIR]"
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --sbin) sbin=$2; shift 2 ;;
        --systemd) systemd=$2; shift 2 ;;
        --from) from=$2; shift 2 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done

if [ -z "$from" ]; then
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    fi
    (cd "$repo" && cargo build --release --quiet --bin mavfs-mount --bin mavfsctl)
    from="${CARGO_TARGET_DIR:-$repo/target}/release"
fi

manifest="$prefix/share/mavfs/installed"
mkdir -p "$prefix/bin" "$prefix/share/mavfs" "$sbin"
: > "$manifest.new"
put() { # put SRC DEST MODE
    mkdir -p "$(dirname "$2")"
    install -m "$3" "$1" "$2"
    echo "$2" >> "$manifest.new"
}
put "$from/mavfs-mount" "$prefix/bin/mavfs-mount" 755
put "$from/mavfsctl" "$prefix/bin/mavfsctl" 755
ln -sfn "$prefix/bin/mavfs-mount" "$sbin/mount.fuse.mavfs"
echo "$sbin/mount.fuse.mavfs" >> "$manifest.new"

docs=$(mktemp -d)
trap 'rm -rf "$docs"' EXIT
"$from/mavfsctl" generate-docs "$docs"
for page in "$docs"/man1/*.1; do
    put "$page" "$prefix/share/man/man1/$(basename "$page")" 644
done
for prog in mavfs-mount mavfsctl; do
    put "$docs/completions/$prog.bash" "$prefix/share/bash-completion/completions/$prog" 644
    put "$docs/completions/_$prog" "$prefix/share/zsh/site-functions/_$prog" 644
    put "$docs/completions/$prog.fish" "$prefix/share/fish/vendor_completions.d/$prog.fish" 644
done
if [ -n "$systemd" ]; then
    sed "s|/usr/local/bin/mavfs-mount|$prefix/bin/mavfs-mount|" "$repo/systemd/mavfs@.service" \
        > "$docs/mavfs@.service"
    put "$docs/mavfs@.service" "$systemd/mavfs@.service" 644
fi
echo "$manifest" >> "$manifest.new"
mv "$manifest.new" "$manifest"
echo "install.sh: mavfs-mount and mavfsctl in $prefix/bin, mount.fuse.mavfs in $sbin, man pages and completions in $prefix/share (list: $manifest)"
