#!/bin/bash
# Apply out/patches with git am to a fresh git copy of the pristine base,
# in $CACHE/src-patched, as a user of the series would.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
KSM=patched
. "$(dirname "$0")/lib.sh"
log "git am out/patches onto a copy of the base"
rm -rf "$SRC"
cp -a "$BASE" "$SRC"
chmod -R u+w "$SRC"
cd "$SRC"
git init -q
git add -A -f .	# Debian's tarball .gitignore ignores every top-level path
git -c user.name=base -c user.email=base@localhost commit -q -m "linux-source-6.12 $BASE_VERSION"
git -c user.name=ksm -c user.email=ksm@localhost am -q "$TOP"/out/patches/*.patch
git log --oneline | head -n 20 >&2
