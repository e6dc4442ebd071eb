# KSM for Linux 6.12: build, boot and test our KSM (or the stock one) in QEMU.
#   make / make run     build our kernel, boot it, show KSM merging memory
#   make check          the test suite on the fast config (KSM=stock for upstream's),
#                       after make harness-check
#   make harness-check  the harness's own tests (report.py, watch-guest.py on
#                       canned streams; shellcheck), on the host in seconds
#   make check-debug    the same on the debug config (KASAN, lockdep, DEBUG_VM)
#   make patches        the series as git format-patch files in out/patches
#   make patches-check  git am that series onto the pristine base and build it
#   make checkpatch     checkpatch.pl --strict on every patch of the series
#   make bench          ours vs stock KSM benchmark (BENCH_REPS runs each, default 3)
#   make bench-scopes   two tenants' memory in each merge scope (our KSM);
#                       report in docs/bench/scopes.md
#   make profile        where the kernel's time goes during WORKLOAD (a ksm_bench
#                       command line), ours and stock: out/profile/report.md
#   make vmhost         real QEMU guests (TCG, mem-merge=on) as KSM's clients
#   make stress         the long KSM stress on the debug config; report in
#                       out/stress-report.txt
#   make soak           SEEDS fresh boots (default 1), each one ksm_stress with its
#                       own seed (SEED_BASE, 1), SECONDS_PER_SEED (150), PROCS (6);
#                       a line per seed, report in
#                       out/soak-report-KSM-CONFIG.txt
KSM ?= ours
CONFIG ?= fast
export KSM CONFIG

.PHONY: all run check harness-check check-debug stress soak bench bench-scopes profile vmhost setup base source kernel tests patches patches-check checkpatch clean

all: run

run: kernel tests
	@scripts/mkinitramfs.sh demo
	@scripts/run-demo.sh

check: harness-check kernel tests
	@scripts/mkinitramfs.sh check
	@scripts/run-tests.sh check

harness-check: setup
	@scripts/test-harness.sh

bench: kernel tests
	@$(MAKE) --no-print-directory kernel KSM=stock
	@scripts/mkinitramfs.sh bench
	@scripts/run-bench.sh
	@scripts/bench-report.py
	@scripts/bench-publish.sh

bench-scopes: kernel tests
	@scripts/mkinitramfs.sh scopes
	@scripts/run-bench-scopes.sh
	@scripts/bench-scopes-report.py

WORKLOAD ?= images -l images-s64 -n 4 -s 64 -p 1000 -w 20 -t 120 -c 10 -d 5
export WORKLOAD
profile: kernel tests
	@$(MAKE) --no-print-directory kernel KSM=stock
	@scripts/run-profile.sh
	@scripts/profile-report.py

vmhost: kernel tests
	@scripts/mkinitramfs.sh vmhost
	@TEST_TIMEOUT=$${TEST_TIMEOUT:-1800} scripts/run-vmhost.sh

check-debug:
	@$(MAKE) --no-print-directory check CONFIG=debug

stress: CONFIG = debug
stress: kernel tests
	@scripts/mkinitramfs.sh stress
	@TEST_TIMEOUT=$${TEST_TIMEOUT:-3600} scripts/run-tests.sh stress; rc=$$?; \
		scripts/stress-report.sh; exit $$rc

soak: kernel tests
	@scripts/run-soak.sh

setup:
	@scripts/setup-host.sh

base: setup
	@scripts/unpack-base.sh

source: base
	@scripts/overlay.sh

kernel: source
	@scripts/build-kernel.sh

tests: base
	@scripts/build-tests.sh

patches: base
	@scripts/make-patches.sh

patches-check: patches
	@scripts/apply-patches.sh
	@KSM=patched scripts/build-kernel.sh

checkpatch: patches
	@scripts/checkpatch.sh

clean:
	rm -rf .cache/build .cache/src-ours .cache/src-patched .cache/tests .cache/initramfs-* out
