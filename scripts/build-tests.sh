#!/bin/bash
# Build the guest's test programs, statically: upstream's KSM selftests from
# the base tree, and ours from tools/testing/selftests/mm/ksm/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
uapi=$CACHE/uapi
if [ ! -f "$uapi/.done" ]; then
	log "install uapi headers"
	make -s -C "$BASE" O="$CACHE/headers" ARCH=x86_64 headers_install INSTALL_HDR_PATH="$uapi" >/dev/null
	touch "$uapi/.done"
fi
mkdir -p "$TESTS"
sel=$BASE/tools/testing/selftests
cflags=(-static -Wall -O2 -U_FORTIFY_SOURCE -isystem "$uapi/include" -I "$BASE" -I "$sel"
	-isystem "$BASE/tools/include/uapi")
libs=(-lnuma -lrt -lpthread -lm)
# cc_if_stale OUT SOURCES...: compile when OUT is older than a source or header
cc_if_stale() {
	local out=$1; shift
	local s
	for s in "$@" "${headers[@]}"; do
		if [ ! -e "$out" ] || [ "$s" -nt "$out" ]; then
			log "cc $(basename "$out")"
			gcc "${cflags[@]}" -o "$out" "$@" "${libs[@]}" > "$out.log" 2>&1 ||
				{ cat "$out.log" >&2; exit 1; }
			return
		fi
	done
}
headers=("$sel/mm/vm_util.h" "$sel/mm/thp_settings.h")
for t in ksm_tests ksm_functional_tests; do
	cc_if_stale "$TESTS/$t" "$sel/mm/$t.c" "$sel/mm/vm_util.c" "$sel/mm/thp_settings.c"
done
ours=$TOP/tools/testing/selftests/mm/ksm
mkdir -p "$TESTS/ours"
if [ -d "$ours" ]; then
	headers=("$ours"/*.h)
	[ -e "${headers[0]}" ] || headers=()
	lib=()
	[ -f "$ours/ksm_lib.c" ] && lib=("$ours/ksm_lib.c")
	for src in "$ours"/ksm_*.c; do
		[ -e "$src" ] || continue
		case "$src" in */ksm_lib.c) continue ;; esac
		cc_if_stale "$TESTS/ours/$(basename "$src" .c)" "$src" "${lib[@]}"
	done
fi
headers=()
cc_if_stale "$TESTS/ksm_demo" "$TOP/scripts/guest/demo.c"
cc_if_stale "$TESTS/ksm_bench" "$TOP/scripts/guest/bench.c"
# ksm_vmhost runs QEMU guests whose payload is vmguest.elf: 32-bit,
# freestanding, booted by QEMU's multiboot loader (no multilib needed).
vmg=$TOP/scripts/guest/vmguest
headers=("$vmg/vmguest.h")
cc_if_stale "$TESTS/ksm_vmhost" "$TOP/scripts/guest/vmhost.c"
for s in "$vmg"/*; do
	if [ ! -e "$TESTS/vmguest.elf" ] || [ "$s" -nt "$TESTS/vmguest.elf" ]; then
		log "cc vmguest.elf"
		gcc -m32 -march=i686 -O2 -Wall -Wextra -ffreestanding -fno-pic -fno-pie \
			-fno-stack-protector -fno-builtin -mgeneral-regs-only -nostdlib -static \
			-no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,"$vmg/vmguest.ld" \
			-o "$TESTS/vmguest.elf" "$vmg/head.S" "$vmg/vmguest.c"
		break
	fi
done
