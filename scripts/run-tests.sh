#!/bin/bash
# Boot the MODE initramfs and report each test as it finishes, then the
# summary.  Exit status 1 when any test failed.  LOGS (a folder) overrides
# where the logs go; the test list the guest ran is kept there as "list".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:-check}
LOGS=${LOGS:-$CACHE/logs/$KSM-$CONFIG-$mode-$(date +%Y%m%d-%H%M%S)}
export LOGS
mkdir -p "$LOGS"
cp "$CACHE/initramfs-$mode/tests/list" "$LOGS/list"
echo "== $KSM KSM, $CONFIG config: testing; logs in $LOGS"
"$TOP/scripts/boot.sh" "$mode" 2>/dev/null |
	python3 "$TOP/scripts/report.py" --known "$TOP/tests/known-failures" \
		--allowed-skips "$TOP/tests/allowed-skips" --list "$LOGS/list" \
		--build "$KSM-$CONFIG" --console "$LOGS/console.log" | tee "$LOGS/summary.txt"
