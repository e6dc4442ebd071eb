#!/bin/bash
# Write out/stress-report.txt from the newest stress run's logs: the stress
# program's report lines, every result, and the kernel splat check.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# The newest stress run of this build and config (not "latest": a make check
# may have run since).
logs=$(ls -d "$CACHE/logs/$KSM-$CONFIG-stress-"* | tail -n 1)
out=$TOP/out/stress-report.txt
mkdir -p "$TOP/out"
{
	echo "KSM stress report: $KSM-$CONFIG, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "logs: $logs"
	grep -h '^### HARNESS START' "$logs/runner.log" || true
	grep -hE '^# (seed=|config:|t=[0-9]+s|ops by kind|procs:|mm:|vmstat:|knobs:|knob:|sys:|poison:|hotplug:|watchdog:|self-test:|stress:|MISMATCH|FAULT|  pid|  pfn|writers:|memcg:|exit-race:)' \
		"$logs/runner.log" || true
	grep -hE '^### (BEGIN|END)' "$logs/runner.log" || true
	echo "--- results"
	cat "$logs/summary.txt"
} > "$out"
echo "== stress report in $out"
