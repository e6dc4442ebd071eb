// SPDX-License-Identifier: GPL-2.0
/*
 * KSM smoke test.
 *
 * Checks that every documented file in /sys/kernel/mm/ksm/ exists and reads
 * back a number, that the tunables carry their documented boot defaults
 * (Documentation/admin-guide/mm/ksm.rst) and the counters are consistent,
 * and that a minimal merge works: 32 pairs of identical pages in one
 * process become 32 KSM pages (pages_shared 32, pages_sharing 32) with
 * content intact, KPF_KSM set and both pages of a pair on one PFN; run=2
 * then brings both counters back to 0 synchronously.
 *
 * Run it first among ours: the default checks assume nobody left the
 * tunables changed (our tests restore them on exit; upstream's ksm_tests
 * does too).  run is only required to be 0 if KSM never completed a scan
 * since boot, as upstream's ksm_functional_tests leaves run=1 or 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest.h"
#include "ksm_lib.h"

static const char * const files[] = {
	"run", "pages_to_scan", "sleep_millisecs", "pages_shared",
	"pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
	"pages_scanned", "general_profit",
};

#define NR_FILES ARRAY_SIZE(files)

#define NR_PAIRS 32

static long read_ksm_merging_pages(void)
{
	char buf[32];
	FILE *f = fopen("/proc/self/ksm_merging_pages", "r");
	long val = -1;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		val = strtol(buf, NULL, 10);
	fclose(f);
	return val;
}

static void test_files(void)
{
	unsigned int i;
	long val;

	for (i = 0; i < NR_FILES; i++) {
		int ret = ksm_read_knob(files[i], &val);

		if (ret)
			ksft_print_msg("%s: %s\n", files[i], strerror(-ret));
		else
			ksft_print_msg("%s = %ld\n", files[i], val);
		ksft_test_result(!ret, "read %s\n", files[i]);
	}
}

#define DEFAULTS_FMT "run %ld pages_to_scan %ld sleep_millisecs %ld merge_across_nodes %ld full_scans %ld\n"

static void test_defaults(void)
{
	long run = ksm_get("run"), pts = ksm_get("pages_to_scan");
	long slp = ksm_get("sleep_millisecs");
	long man = ksm_get("merge_across_nodes");
	long shared = ksm_get("pages_shared"), sharing = ksm_get("pages_sharing");
	long unshared = ksm_get("pages_unshared");
	long volat = ksm_get("pages_volatile");
	long scans = ksm_get("full_scans"), scanned = ksm_get("pages_scanned");

	/*
	 * Other test suites may have run KSM before us in this boot: only
	 * if it never completed a scan must run still read its default 0.
	 */
	ksft_print_msg(DEFAULTS_FMT, run, pts, slp, man, scans);
	if (scans == 0)
		ksft_test_result(run == 0, "run default\n");
	else
		ksft_test_result(run >= 0 && run <= 2, "run default\n");
	ksft_test_result(pts == 100, "pages_to_scan defaults to 100\n");
	ksft_test_result(slp == 20, "sleep_millisecs defaults to 20\n");
	if (access(KSM_SYSFS "merge_across_nodes", F_OK))
		ksft_test_result_skip("merge_across_nodes defaults to 1 (no CONFIG_NUMA)\n");
	else
		ksft_test_result(man == 1, "merge_across_nodes defaults to 1\n");
	ksft_test_result(shared >= 0 && sharing >= 0 && unshared >= 0 &&
			 volat >= 0 && scans >= 0 && scanned >= 0 &&
			 (shared > 0 || sharing == 0),
			 "counters non-negative and consistent\n");
}

static void test_tiny_merge(void)
{
	struct region r;
	long i, bad, mp, scans;
	bool ksm_ok = true, pfn_ok = true, ok;

	if (region_map(&r, 2 * NR_PAIRS))
		ksft_exit_fail_msg("mmap failed\n");
	/* Page i and page i + NR_PAIRS carry the same content. */
	region_fill(&r, 0x5300, NR_PAIRS);
	if (madvise(r.buf, 2 * NR_PAIRS * page_size, MADV_MERGEABLE))
		ksft_exit_fail_msg("MADV_MERGEABLE: %s\n", strerror(errno));
	ksft_test_result_pass("MADV_MERGEABLE\n");

	scans = ksm_get("full_scans");
	ok = ksm_wait_counters(NR_PAIRS, NR_PAIRS, KSM_WAIT_SECS);
	ksft_test_result(ok, "tiny merge: %d pairs -> shared %d sharing %d\n",
			 NR_PAIRS, NR_PAIRS, NR_PAIRS);
	ksft_test_result(ksm_get("full_scans") > scans,
			 "full_scans advances while ksmd runs\n");

	bad = region_check(&r);
	ksft_test_result(!bad, "tiny merge content intact\n");

	for (i = 0; i < NR_PAIRS; i++) {
		unsigned long a = page_pfn(0, r.buf + i * page_size);
		unsigned long b = page_pfn(0, r.buf + (i + NR_PAIRS) * page_size);

		/* Without a usable KPF_KSM: a merged page is mapped twice. */
		if (!page_ksm_flag(0, r.buf + i * page_size) ||
		    (!kpf_ksm_reliable() && kpagecount(a) != 2))
			ksm_ok = false;
		if (!a || a != b)
			pfn_ok = false;
	}
	ksft_test_result(ok && ksm_ok, "tiny merge pages are KSM pages\n");
	ksft_test_result(ok && pfn_ok, "tiny merge pairs share one pfn\n");

	mp = read_ksm_merging_pages();
	ksft_print_msg("ksm_merging_pages %ld\n", mp);
	if (mp < 0)
		ksft_test_result_skip("ksm_merging_pages > 0 (no /proc/self/ksm_merging_pages)\n");
	else
		ksft_test_result(mp > 0, "ksm_merging_pages > 0 after merge\n");

	/* run=2 unmerges synchronously. */
	ok = !ksm_write_knob("run", "2");
	ok = ok && ksm_get("pages_shared") == 0 && ksm_get("pages_sharing") == 0;
	if (!ok)
		ksm_print_counters("after run=2");
	ksft_test_result(ok, "run=2 clears counters\n");
	ksft_test_result(ksm_get("run") == 2, "run reads 2 after run=2\n");
	ksft_test_result(!region_check(&r), "content intact after run=2\n");
	pfn_ok = true;
	for (i = 0; i < NR_PAIRS; i++) {
		void *a = r.buf + i * page_size;
		void *b = r.buf + (i + NR_PAIRS) * page_size;

		if (page_ksm_flag(0, a) == 1 || page_pfn(0, a) == page_pfn(0, b) ||
		    !(pagemap_entry(0, a) & PM_MMAP_EXCLUSIVE) ||
		    !(pagemap_entry(0, b) & PM_MMAP_EXCLUSIVE))
			pfn_ok = false;
	}
	ksft_test_result(pfn_ok, "pages private after run=2\n");
	mp = read_ksm_merging_pages();
	if (mp < 0)
		ksft_test_result_skip("ksm_merging_pages 0 after run=2\n");
	else
		ksft_test_result(mp == 0, "ksm_merging_pages 0 after run=2\n");
	region_unmap(&r);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(NR_FILES + 5 + 12);
	ksm_init();

	test_files();
	test_defaults();

	ksm_setup_fast();
	test_tiny_merge();

	ksm_restore_knobs();
	ksft_finished();
}
