#!/bin/bash
# Boot the $KSM-$CONFIG kernel with the MODE initramfs in QEMU.  The kernel
# console goes to console.log, the runner's report (ttyS1) to stdout and to
# runner.log, both in a fresh folder under $CACHE/logs (printed on stderr).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:-check}
accel=${QEMU_ACCEL:-tcg}
# The debug kernel (KASAN, lockdep, page poisoning) runs ~5x slower.
slow=1
[ "$CONFIG" = debug ] && slow=4
boot_timeout=${BOOT_TIMEOUT:-$((2400 * slow))}
test_timeout=${TEST_TIMEOUT:-$((600 * slow))}
logs=${LOGS:-$CACHE/logs/$KSM-$CONFIG-$mode-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$logs"
ln -sfn "$logs" "$CACHE/logs/latest"
echo "$logs"  > "$CACHE/logs/latest-path"
log "logs in $logs"
# 2 vCPUs on 2 NUMA nodes, 1 GiB each, and a 512 MiB pc-dimm on node 1 that
# the guest onlines as ZONE_MOVABLE so that tests can offline it.
mem=(-m 2G,slots=2,maxmem=4G
	-object memory-backend-ram,id=m0,size=1G
	-object memory-backend-ram,id=m1,size=1G
	-numa node,nodeid=0,cpus=0,memdev=m0
	-numa node,nodeid=1,cpus=1,memdev=m1
	-object memory-backend-ram,id=hp0,size=512M
	-device pc-dimm,id=dimm0,memdev=hp0,node=1)
append="console=ttyS0 loglevel=5 panic=-1 zram.num_devices=2"
append+=" memhp_default_state=online_movable ksmharness.timeout=$test_timeout"
append+=" ${KERNEL_APPEND:-}"
timeout --foreground -k 10 "$boot_timeout" \
	qemu-system-x86_64 -accel "$accel" -cpu max -smp 2,sockets=2,cores=1,threads=1 "${mem[@]}" \
	-kernel "${KERNEL_IMAGE:-$OUT/arch/x86/boot/bzImage}" -initrd "$CACHE/initramfs-$mode.cpio.gz" \
	-append "$append" -display none -monitor none -no-reboot \
	-serial "file:$logs/console.log" -serial stdio </dev/null |
	sed -u 's/\r$//' | tee "$logs/runner.log" || true
