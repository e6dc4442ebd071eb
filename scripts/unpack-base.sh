#!/bin/bash
# Unpack the pristine base kernel once into the cache; never touched after.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
tarball=/usr/src/linux-source-6.12.tar.xz
have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ -f "$BASE/.unpacked" ] && [ "$(cat "$BASE/.unpacked")" = "$have" ] && exit 0
[ "$have" = "$BASE_VERSION" ] || log "warning: base is linux-source-6.12 $have, recorded $BASE_VERSION"
log "unpack linux-source-6.12 $have"
rm -rf "$BASE"
mkdir -p "$(dirname "$BASE")"
tar -xJf "$tarball" -C "$(dirname "$BASE")"
chmod -R a-w "$BASE"
echo "$have" | (chmod u+w "$BASE" && cat > "$BASE/.unpacked" && chmod u-w "$BASE")
