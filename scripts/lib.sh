# Shared settings for the harness scripts; sourced, never run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts sourcing this
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KSM_CACHE:-$TOP/.cache}
BASE_VERSION=$(cat "$TOP/BASE_VERSION")
BASE=$CACHE/base/linux-source-6.12
KSM=${KSM:-ours}
CONFIG=${CONFIG:-fast}
case "$KSM" in
ours) SRC=$CACHE/src-ours ;;
stock) SRC=$BASE ;;
patched) SRC=$CACHE/src-patched ;;	# the base with out/patches applied by git am
*) echo "KSM must be 'ours', 'stock' or 'patched', not '$KSM'" >&2; exit 2 ;;
esac
case "$CONFIG" in
fast|debug) ;;
*) echo "CONFIG must be 'fast' or 'debug', not '$CONFIG'" >&2; exit 2 ;;
esac
OUT=$CACHE/build/$KSM-$CONFIG
TESTS=$CACHE/tests
JOBS=${JOBS:-$(nproc)}
# make bench and make profile: QEMU's -icount unless QEMU_ICOUNT is set
# (empty: off), so that guest time counts executed instructions
ICOUNT_DEFAULT=shift=3,sleep=off
log() { printf '== %s\n' "$*" >&2; }
