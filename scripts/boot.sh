#!/bin/bash
# Boot the $KSM-$CONFIG kernel with the MODE initramfs in QEMU.  The kernel
# console goes to console.log, the runner's report (ttyS1) to stdout and to
# runner.log, both in a fresh folder under $CACHE/logs (printed on stderr).
# Bounds (seconds; the debug config multiplies the defaults by 4):
#   TEST_TIMEOUT (600)  the guest kills a test that runs longer;
#   TEST_TIMEOUT + HANG_MARGIN (120)  the host ends QEMU when the runner has
#                       printed nothing for this long: the guest is hung;
#   30 s after "### HARNESS DONE" the host ends a guest that did not power off;
#   BOOT_TIMEOUT (2400) the whole boot.
# QEMU_ICOUNT (e.g. shift=4,sleep=off): guest time counts executed
# instructions (-icount), so the host's load drops out of guest timings;
# one host thread then runs both vCPUs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:-check}
accel=${QEMU_ACCEL:-tcg}
# The debug kernel (KASAN, lockdep, page poisoning) runs ~5x slower.
slow=1
[ "$CONFIG" = debug ] && slow=4
boot_timeout=${BOOT_TIMEOUT:-$((2400 * slow))}
test_timeout=${TEST_TIMEOUT:-$((600 * slow))}
hang_margin=${HANG_MARGIN:-$((120 * slow))}
logs=${LOGS:-$CACHE/logs/$KSM-$CONFIG-$mode-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$logs"
ln -sfn "$logs" "$CACHE/logs/latest"
echo "$logs"  > "$CACHE/logs/latest-path"
log "logs in $logs"
# 2 vCPUs on 2 NUMA nodes, 1 GiB each, and a 512 MiB pc-dimm on node 1 that
# the guest onlines as ZONE_MOVABLE so that tests can offline it.
# shellcheck disable=SC2054 # the commas are QEMU's
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
icount=()
[ -n "${QEMU_ICOUNT:-}" ] && icount=(-icount "$QEMU_ICOUNT")
rm -f "$logs/qemu.pid"
# watch-guest.py enforces the bounds; timeout(1) only backs it up.
timeout --foreground -k 10 $((boot_timeout + 60)) \
	qemu-system-x86_64 -accel "$accel" -cpu max -smp 2,sockets=2,cores=1,threads=1 "${mem[@]}" "${icount[@]}" \
	-kernel "${KERNEL_IMAGE:-$OUT/arch/x86/boot/bzImage}" -initrd "$CACHE/initramfs-$mode.cpio.gz" \
	-append "$append" -display none -monitor none -no-reboot -pidfile "$logs/qemu.pid" \
	-serial "file:$logs/console.log" -serial stdio </dev/null |
	python3 "$TOP/scripts/watch-guest.py" --pidfile "$logs/qemu.pid" \
		--silence $((test_timeout + hang_margin)) --boot-timeout "$boot_timeout" \
		--silence-why " (TEST_TIMEOUT $test_timeout + HANG_MARGIN $hang_margin)" |
	tee "$logs/runner.log" || true
