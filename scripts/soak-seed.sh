#!/bin/bash
# One seed of make soak: a fresh boot running only
# "ksm_stress --seed SEED --seconds SECS --procs PROCS", judged by report.py
# (results, splats, set-up, watchdog).  Prints one line, "seed SEED: pass" or
# "seed SEED: FAIL <first evidence>", with the log folder; exit 1 on FAIL.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
seed=$1 secs=$2 procs=$3
# Named per build, so that soaks of two builds can run side by side.
mode=soak-$KSM-$CONFIG
list=$CACHE/$mode.list
echo "ksm_stress --seed $seed --seconds $secs --procs $procs" > "$list"
TEST_LIST=$list "$TOP/scripts/mkinitramfs.sh" "$mode"
LOGS=$CACHE/logs/$KSM-$CONFIG-soak-seed$seed-$(date +%Y%m%d-%H%M%S)
export LOGS
if "$TOP/scripts/run-tests.sh" "$mode" >/dev/null; then
	echo "seed $seed: pass  (logs: $LOGS)"
else
	echo "seed $seed: FAIL $(python3 "$TOP/scripts/soak-verdict.py" "$LOGS")  (logs: $LOGS)"
	exit 1
fi
