#!/usr/bin/env bash
# Takes away what scripts/install.sh installed (its list, PREFIX/share/mavfs/installed).
#   scripts/uninstall.sh [--prefix DIR]
set -euo pipefail
prefix=/usr/local
case "${1:-}" in
    --prefix) prefix=$2 ;;
    "") ;;
    *) echo "usage: uninstall.sh [--prefix DIR]" >&2; exit 2 ;;
esac
manifest="$prefix/share/mavfs/installed"
[ -f "$manifest" ] || { echo "uninstall.sh: nothing installed under $prefix ($manifest missing)" >&2; exit 1; }
while IFS= read -r f; do
    [ "$f" = "$manifest" ] && continue
    rm -f "$f"
done < "$manifest"
rm -f "$manifest"
rmdir "$prefix/share/mavfs" 2>/dev/null || true
echo "uninstall.sh: removed what install.sh had put under $prefix"
