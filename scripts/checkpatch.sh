#!/bin/bash
# Run the base tree's checkpatch.pl --strict on every patch in out/patches.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
rc=0
for p in "$TOP"/out/patches/*.patch; do
	out=$(perl "$BASE/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES,GIT_COMMIT_ID "$p")
	status=$?
	printf '%s: %s\n' "$(basename "$p")" "${out:+$(echo "$out" | tail -n 1)}"
	[ -n "$out" ] || { echo "    clean"; continue; }
	[ $status -eq 0 ] || { echo "$out" | head -n -1 | sed 's/^/    /'; rc=1; }
done
exit $rc
