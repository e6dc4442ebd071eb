#!/bin/bash
# Make the source tree for KSM=ours: a copy of the pristine base, this
# repository's kernel files laid over it, then patches/ applied in order.
# Files are copied only when their content differs, so that a change to
# mm/ksm.c rebuilds in seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$KSM" = ours ] || exit 0
owned() {
	cd "$TOP" && git ls-files -co --exclude-standard -- mm include Documentation \
		tools/testing/selftests/mm 2>/dev/null
}
patch_files=("$TOP"/patches/*.patch)
[ -e "${patch_files[0]}" ] || patch_files=()
stamp=$(cat "$TOP/BASE_VERSION" "$TOP/patches/series" "${patch_files[@]}" | sha1sum | cut -d' ' -f1)
if [ "$(cat "$SRC/.overlay-stamp" 2>/dev/null)" != "$stamp" ]; then
	log "fresh overlay tree (base or patches changed)"
	rm -rf "$SRC"
	cp -a "$BASE" "$SRC"
	chmod -R u+w "$SRC"
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		patch -s -d "$SRC" -p1 --no-backup-if-mismatch < "$TOP/patches/$p"
	done < <(cat "$TOP/patches/series" 2>/dev/null)
	echo "$stamp" > "$SRC/.overlay-stamp"
fi
owned | while read -r f; do
	[ -f "$TOP/$f" ] || continue
	if ! cmp -s "$TOP/$f" "$SRC/$f"; then
		mkdir -p "$(dirname "$SRC/$f")"
		cp "$TOP/$f" "$SRC/$f"
	fi
done
# MAINTAINERS here is our entry alone, merged into the base's file.
# (a name of its own: two builds, fast and debug, may lay the tree at once)
merged=$SRC/MAINTAINERS.new.$$
python3 "$TOP/scripts/maintainers-merge.py" "$BASE/MAINTAINERS" "$TOP/MAINTAINERS" > "$merged"
if cmp -s "$merged" "$SRC/MAINTAINERS"; then
	rm "$merged"
else
	mv "$merged" "$SRC/MAINTAINERS"
fi
