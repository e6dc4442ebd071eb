#!/bin/bash
# Boot the ours and stock kernels BENCH_REPS times each with the bench
# initramfs, alternating which goes first, so that drift on the host hits
# both.  Each boot's runner output goes to out/bench/raw/rN-KSM.log (its
# console to rN-KSM.console.log); the BENCH lines are shown as they come.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
reps=${BENCH_REPS:-3}
raw=$TOP/out/bench/raw
# The last run's logs stay as raw-prev: the report says which ratios it
# reproduces.
if ls "$raw"/r*-*.log >/dev/null 2>&1; then
	rm -rf "$raw-prev"
	mv "$raw" "$raw-prev"
fi
rm -rf "$raw"
mkdir -p "$raw"
# Guest time counts instructions unless QEMU_ICOUNT is set empty: the
# figures then reproduce within a few per cent however loaded the host is.
export QEMU_ICOUNT=${QEMU_ICOUNT-$ICOUNT_DEFAULT}
echo "${QEMU_ICOUNT:-off}" > "$raw/icount"
# slab_nomerge: else the KSM caches are merged into same-sized ones and
# /proc/slabinfo cannot tell their usage.  The same for both kernels.
export KERNEL_APPEND="slab_nomerge ${KERNEL_APPEND:-}"
export BOOT_TIMEOUT=${BOOT_TIMEOUT:-900} TEST_TIMEOUT=${TEST_TIMEOUT:-300}
for r in $(seq 1 "$reps"); do
	order="ours stock"
	[ $((r % 2)) = 0 ] && order="stock ours"
	for k in $order; do
		log "bench run $r/$reps: $k KSM ($CONFIG config)"
		logs=$CACHE/logs/$k-$CONFIG-bench-$(date +%Y%m%d-%H%M%S)
		start=$(date +%s)
		KSM=$k LOGS=$logs "$TOP/scripts/boot.sh" bench 2>/dev/null |
			tee "$raw/r$r-$k.log" | grep --line-buffered '^BENCH' || true
		cp "$logs/console.log" "$raw/r$r-$k.console.log" 2>/dev/null || true
		grep -q '^### HARNESS DONE' "$raw/r$r-$k.log" ||
			log "warning: run $r of $k did not finish (see $raw/r$r-$k.log)"
		log "bench run $r/$reps: $k took $(($(date +%s) - start)) s"
	done
done
