#!/bin/bash
# Copy the host's own (Debian) qemu-system-x86_64 into the initramfs root
# ROOT, at the same paths: the binary, the shared libraries ldd lists, the
# TCG accelerator module and the firmware a TCG guest booted with -kernel
# needs (SeaBIOS, the multiboot and Linux option ROMs).  Then
# ksm_vmhost can run real QEMU guests inside the test guest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$1
qemu=/usr/bin/qemu-system-x86_64
moddir=/usr/lib/x86_64-linux-gnu/qemu
[ -x "$qemu" ] || { log "no $qemu (scripts/setup-host.sh installs qemu-system-x86)"; exit 1; }
put() {	# put FILE...: copy each, dereferenced, to the same path under $root
	local f
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
}
libs() {	# the resolved libraries and the loader of an ELF file
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
put "$qemu" "$moddir/accel-tcg-x86_64.so"
mapfile -t deps < <({ libs "$qemu"; libs "$moddir/accel-tcg-x86_64.so"; } | sort -u)
put "${deps[@]}"
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/kvmvapic.bin \
	/usr/share/qemu/multiboot_dma.bin /usr/share/qemu/linuxboot_dma.bin; do
	put "$f"
done
