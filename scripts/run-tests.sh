#!/bin/bash
# Boot the MODE initramfs and report each test as it finishes, then the
# summary.  Exit status 1 when any test failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:-check}
export LOGS=$CACHE/logs/$KSM-$CONFIG-$mode-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGS"
echo "== $KSM KSM, $CONFIG config: testing; logs in $LOGS"
"$TOP/scripts/boot.sh" "$mode" 2>/dev/null |
	python3 "$TOP/scripts/report.py" --known "$TOP/tests/known-failures" \
		--build "$KSM-$CONFIG" --console "$LOGS/console.log" | tee "$LOGS/summary.txt"
