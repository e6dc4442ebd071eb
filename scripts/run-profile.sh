#!/bin/bash
# make profile: boot the ours and the stock kernel (same config) with
# profile=2 and a list of PROFILE_REPS (3) lines "ksm_bench -P WORKLOAD":
# the kernel is sampled at every timer tick over what the workload measures.  Each boot's
# runner output goes to out/profile/KSM.log; scripts/profile-report.py
# turns them into out/profile/report.md.  PROFILE_BEFORE=IMAGE:SYSTEM_MAP
# also boots an earlier build of ours (kept by hand), as "before".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
workload=${WORKLOAD:?WORKLOAD is a ksm_bench command line without ksm_bench}
raw=$TOP/out/profile
rm -rf "$raw"
mkdir -p "$raw"
for _ in $(seq 1 "${PROFILE_REPS:-3}"); do
	echo "ksm_bench -P $workload"
done > "$raw/list"
TEST_LIST=$raw/list "$TOP/scripts/mkinitramfs.sh" profile
export KERNEL_APPEND="profile=2 slab_nomerge ${KERNEL_APPEND:-}"
# As make bench: guest time (and so the sampling tick) counts instructions.
export QEMU_ICOUNT=${QEMU_ICOUNT-$ICOUNT_DEFAULT}
echo "${QEMU_ICOUNT:-off}" > "$raw/icount"
export BOOT_TIMEOUT=${BOOT_TIMEOUT:-900} TEST_TIMEOUT=${TEST_TIMEOUT:-600}
kernels="ours stock"
[ -n "${PROFILE_BEFORE:-}" ] && kernels="before $kernels"
for k in $kernels; do
	log "profile: $k KSM ($CONFIG config): ksm_bench -P $workload"
	image=$CACHE/build/$k-$CONFIG/arch/x86/boot/bzImage
	map=$CACHE/build/$k-$CONFIG/System.map
	[ "$k" = before ] && image=${PROFILE_BEFORE%%:*} map=${PROFILE_BEFORE#*:}
	KSM=${k/before/ours} KERNEL_IMAGE=$image \
		LOGS=$CACHE/logs/$k-$CONFIG-profile-$(date +%Y%m%d-%H%M%S) \
		"$TOP/scripts/boot.sh" profile 2>/dev/null > "$raw/$k.log" || true
	grep '^BENCH' "$raw/$k.log" || log "warning: no BENCH line from $k (see $raw/$k.log)"
	cp "$map" "$raw/$k.System.map"
done
