#!/bin/bash
# Boot the vmhost initramfs: ksm_vmhost runs real QEMU guests inside the
# test guest.  Its figures (VMHOST lines) and the guests' verification are
# shown as they come; then the results, as make check reports them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
export LOGS=$CACHE/logs/$KSM-$CONFIG-vmhost-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGS"
echo "== $KSM KSM, $CONFIG config: QEMU guests on a KSM host; logs in $LOGS"
"$TOP/scripts/boot.sh" vmhost 2>/dev/null |
	tee >(grep --line-buffered -E '^(VMHOST|# guest .*(READY|WROTE|FLIPPED|NOT|exited|no heartbeat|differ|checksum)|# thp)' >&2) |
	python3 "$TOP/scripts/report.py" --known "$TOP/tests/known-failures" \
		--build "$KSM-$CONFIG" --console "$LOGS/console.log" | tee "$LOGS/summary.txt"
