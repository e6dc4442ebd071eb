#!/bin/bash
# make soak: SEEDS fresh boots of the $KSM-$CONFIG kernel, each running one
# ksm_stress of SECONDS_PER_SEED s with PROCS processes and its own seed
# (SEED_BASE, SEED_BASE+1, ...).  One line per seed, the command that reruns
# a failed one, a summary; all in out/soak-report-$KSM-$CONFIG.txt too.
# Exit 1 when any seed failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
seeds=${SEEDS:-1} first=${SEED_BASE:-1} secs=${SECONDS_PER_SEED:-150} procs=${PROCS:-6}
# The rerun command keeps what the caller set of the boot's knobs.
rerun="make soak KSM=$KSM CONFIG=$CONFIG SECONDS_PER_SEED=$secs PROCS=$procs SEEDS=1"
for v in QEMU_ACCEL BOOT_TIMEOUT TEST_TIMEOUT HANG_MARGIN KERNEL_APPEND; do
	[ -z "${!v:-}" ] || rerun="$v='${!v}' $rerun"
done
slow=1
[ "$CONFIG" = debug ] && slow=4
# The guest's bound for the stress, and the boot's: room for its tear-down.
export TEST_TIMEOUT=${TEST_TIMEOUT:-$(((2 * secs + 300) * slow))}
export BOOT_TIMEOUT=${BOOT_TIMEOUT:-$((TEST_TIMEOUT + 600 * slow))}
report=$TOP/out/soak-report-$KSM-$CONFIG.txt
mkdir -p "$TOP/out"
echo "KSM soak: $KSM-$CONFIG, seeds $first-$((first + seeds - 1)), $secs s each, $procs procs;" \
	"$(git -C "$TOP" describe --always --dirty), $(date -u '+%Y-%m-%d %H:%M UTC')" | tee "$report"
failed=()
for seed in $(seq "$first" $((first + seeds - 1))); do
	log "seed $seed: ksm_stress --seed $seed --seconds $secs --procs $procs (a fresh boot)"
	if ! line=$("$TOP/scripts/soak-seed.sh" "$seed" "$secs" "$procs"); then
		failed+=("$seed")
		line+=$'\n'"    rerun: $rerun SEED_BASE=$seed"
	fi
	echo "$line" | tee -a "$report"
done
echo "soak $KSM-$CONFIG: $seeds seeds: $((seeds - ${#failed[@]})) passed, ${#failed[@]} failed${failed[*]:+ (seeds ${failed[*]})}" |
	tee -a "$report"
log "report in $report"
[ ${#failed[@]} -eq 0 ]
