#!/bin/bash
# make bench-scopes: boot our kernel BENCH_REPS times (default 2) with the
# scopes initramfs (scripts/guest/scopes.list); each boot's runner output
# goes to out/bench-scopes/rN.log, its BENCH lines shown as they come.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
reps=${BENCH_REPS:-2}
raw=$TOP/out/bench-scopes
rm -rf "$raw"
mkdir -p "$raw"
export KERNEL_APPEND="slab_nomerge ${KERNEL_APPEND:-}"
export BOOT_TIMEOUT=${BOOT_TIMEOUT:-900} TEST_TIMEOUT=${TEST_TIMEOUT:-300}
for r in $(seq 1 "$reps"); do
	log "bench-scopes run $r/$reps ($KSM-$CONFIG)"
	LOGS=$CACHE/logs/$KSM-$CONFIG-scopes-$(date +%Y%m%d-%H%M%S) \
		"$TOP/scripts/boot.sh" scopes 2>/dev/null |
		tee "$raw/r$r.log" | grep --line-buffered '^BENCH' || true
	grep -q '^### HARNESS DONE' "$raw/r$r.log" ||
		log "warning: run $r did not finish (see $raw/r$r.log)"
done
