#!/bin/bash
# Configure (tinyconfig + fragments) and build bzImage for $KSM/$CONFIG.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkdir -p "$OUT"
frags=("$TOP/configs/common.config" "$TOP/configs/$CONFIG.config")
stamp=$(cat "${frags[@]}" | sha1sum | cut -d' ' -f1)
if [ ! -f "$OUT/.config" ] || [ "$(cat "$OUT/.config.stamp" 2>/dev/null)" != "$stamp" ]; then
	log "configure $KSM-$CONFIG"
	make -s -C "$SRC" O="$OUT" ARCH=x86_64 tinyconfig >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" "${frags[@]}" >/dev/null
	make -s -C "$SRC" O="$OUT" ARCH=x86_64 olddefconfig >/dev/null
	missing=$(grep -h '^CONFIG_.*=y' "${frags[@]}" | sort -u | while read -r want; do
		grep -qx "$want" "$OUT/.config" || echo "${want%=y}"
	done)
	[ -z "$missing" ] || log "config options that did not stick: $(echo $missing)"
	echo "$stamp" > "$OUT/.config.stamp"
fi
log "build $KSM-$CONFIG kernel"
make -s -C "$SRC" O="$OUT" ARCH=x86_64 -j"$JOBS" bzImage
ls -l "$OUT/arch/x86/boot/bzImage" >&2
