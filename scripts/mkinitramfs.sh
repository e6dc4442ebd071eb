#!/bin/bash
# Pack busybox, the test programs, the runner and the list for MODE into
# $CACHE/initramfs-MODE.cpio.gz.  MODE: check, demo, stress or bench.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mode=${1:-check}
root=$CACHE/initramfs-$mode
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests/ours}
cp /bin/busybox "$root/bin/busybox"
cp "$TOP/scripts/guest/init" "$root/init"
cp "$TESTS"/ksm_tests "$TESTS"/ksm_functional_tests "$TESTS"/ksm_demo "$TESTS"/ksm_bench "$root/tests/"
cp "$TESTS"/ksm_vmhost "$TESTS"/vmguest.elf "$root/tests/"
case "$mode" in
check|bench|vmhost) "$TOP/scripts/qemu-bundle.sh" "$root" ;;
esac
# make vmhost's Linux guest: this same kernel, busybox and vmguest/linux-init
if [ "$mode" = vmhost ]; then
	lroot=$CACHE/initramfs-vmguest-linux
	rm -rf "$lroot"
	mkdir -p "$lroot"/{bin,dev,proc,sys,tmp}
	cp /bin/busybox "$lroot/bin/busybox"
	install -m 755 "$TOP/scripts/guest/vmguest/linux-init" "$lroot/init"
	(cd "$lroot" && find . | cpio -o -H newc --quiet | gzip -1) > "$root/tests/vmguest-linux.cpio.gz"
	cp "$OUT/arch/x86/boot/bzImage" "$root/tests/vmguest-bzImage"
fi
find "$TESTS/ours" -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/tests/ours/" \;
cp "$TOP"/scripts/guest/*.sh "$root/tests/" 2>/dev/null || true
ourlist=$TOP/tools/testing/selftests/mm/ksm/tests.list
# ksm_tests gives ksmd 120 s for its timed merges, meant for real hardware;
# the debug kernel under TCG is about 4x slower (as boot.sh's timeouts).
case "$mode-$CONFIG" in
check-debug) sed 's/^ksm_tests .*/& -l 480/' "$TOP/scripts/guest/check.list" ;;
check-*) cat "$TOP/scripts/guest/check.list" ;;
*) cat "$TOP/scripts/guest/$mode.list" ;;
esac > "$root/tests/list"
if [ "$mode" = check ] && [ -f "$ourlist" ]; then
	cat "$ourlist" >> "$root/tests/list"
fi
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$CACHE/initramfs-$mode.cpio.gz"
