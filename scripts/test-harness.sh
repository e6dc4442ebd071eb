#!/bin/bash
# The harness's own tests, on the host in seconds: report.py and
# watch-guest.py fed canned runner streams (scripts/test-report.py), then
# the scripts checked with shellcheck.  Quiet when they pass.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! out=$(python3 "$TOP/scripts/test-report.py" 2>&1); then
	echo "$out" >&2
	log "harness self-test FAILED (scripts/test-report.py)"
	exit 1
fi
shellcheck -x -S warning "$TOP"/scripts/*.sh "$TOP/.ci/run"
shellcheck -s sh -S warning "$TOP/scripts/guest/init"
n=$(echo "$out" | sed -n "s/^Ran \([0-9]*\) tests.*/\1/p")
log "harness self-test: $n cases of report.py and watch-guest.py pass; shellcheck clean"
