#!/bin/bash
# Boot the demo initramfs and show what the demonstration prints.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
echo "== booting the $KSM KSM kernel ($CONFIG config) under QEMU; this takes a minute"
"$TOP/scripts/boot.sh" demo 2>/dev/null | grep -v '^### \(BEGIN\|END\|STATE\|HARNESS DONE\)' |
	sed 's/^### HARNESS START /guest up: /'
