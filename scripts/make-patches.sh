#!/bin/bash
# Write the series as git format-patch files in out/patches: first the
# patches in patches/series, then one commit per line of patches/commits.
# The history is built in a scratch repository holding only the files the
# series touches, taken from the pristine base.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
work=$CACHE/patch-work
dest=$TOP/out/patches
rm -rf "$work" "$dest"
mkdir -p "$work" "$dest"
series=$(grep -v '^\s*\(#\|$\)' "$TOP/patches/series" || true)
commits=$(grep -v '^\s*\(#\|$\)' "$TOP/patches/commits")
# Every path the series touches, in the base's layout.
paths=$( (for p in $series; do
	grep -h '^+++ ' "$TOP/patches/$p" | sed 's|^+++ [^/]*/||; s|\t.*||'; done
	echo "$commits" | cut -d' ' -f2-) | tr ' ' '\n' | sort -u)
cd "$work"
git init -q
git config user.name "${GIT_AUTHOR_NAME:-KSM developers}"
git config user.email "${GIT_AUTHOR_EMAIL:-ksm@localhost}"
for p in $paths; do
	[ -e "$BASE/$p" ] || continue
	mkdir -p "$(dirname "$p")"
	cp -a "$BASE/$p" "$p"
done
chmod -R u+w .
git add -A && git commit -q -m "base: linux-source-6.12 $BASE_VERSION" --allow-empty
base_sha=$(git rev-parse HEAD)
for p in $series; do
	git am -q "$TOP/patches/$p"
done
echo "$commits" | while read -r msg files; do
	for f in $files; do
		[ -e "$TOP/$f" ] || continue
		if [ "$f" = MAINTAINERS ]; then
			python3 "$TOP/scripts/maintainers-merge.py" "$BASE/MAINTAINERS" \
				"$TOP/MAINTAINERS" > MAINTAINERS.new
			mv MAINTAINERS.new MAINTAINERS
			continue
		fi
		rm -rf "$f"
		mkdir -p "$(dirname "$f")"
		cp -a "$TOP/$f" "$f"
	done
	git add -A $files 2>/dev/null || true
	git diff --cached --quiet && continue
	git commit -q -s -F "$TOP/patches/messages/$msg"
done
git format-patch -q -o "$dest" "$base_sha"..HEAD
ls "$dest"
