#!/bin/bash
# Install the Debian packages the harness needs, when any is missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pkgs=(build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils rsync kmod
	python3 qemu-system-x86 busybox-static libnuma-dev gnuplot-nox git shellcheck)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ "$have" = "$BASE_VERSION" ] || missing+=("linux-source-6.12")
[ ${#missing[@]} -eq 0 ] && exit 0
log "apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
for i in "${!missing[@]}"; do
	if [ "${missing[$i]}" = linux-source-6.12 ]; then
		# The recorded version when the archive still has it, else the newest.
		if apt-cache madison linux-source-6.12 | grep -qF "| $BASE_VERSION |"; then
			missing[$i]="linux-source-6.12=$BASE_VERSION"
		else
			log "warning: linux-source-6.12 $BASE_VERSION is gone from the archive; using the newest"
		fi
	fi
done
apt-get install -y -q --allow-downgrades --no-install-recommends "${missing[@]}" >/dev/null
