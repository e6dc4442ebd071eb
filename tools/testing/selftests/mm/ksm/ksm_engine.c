// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of how our KSM's engine finds and keeps merges: first-sight
 * merging (mm/ksm/heuristics.c), the content indexes (mm/ksm/index.c) and
 * the scan's fast path (cursor_pass_merged() in mm/ksm/seek.c).
 *
 *  first_scan: static duplicates are merged within the first full scan
 *              that sees them, not one scan later (stock waits a scan for
 *              a page's checksum to show that it does not change).
 *  last_byte:  pages that differ in their last byte only are never
 *              merged; their duplicates are, and every byte stays.
 *  passed:     pages still merged are stepped over in place, yet counted
 *              in pages_scanned once per full scan; a page written to
 *              among them is merged again and nothing else changes.
 *  backoff:    a process whose pages merged at first sight keep being
 *              written to before ksmd's next look loses first-sight
 *              merging for a while: fresh duplicates then wait a scan.
 *
 * Content is verified word by word wherever pages were merged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest.h"
#include "ksm_lib.h"

#define PG		4096L
#define WORDS		(PG / 8)
#define FIRST_NPAGES	1024
#define LAST_NPAGES	256
#define PASSED_NPAGES	512
#define BACKOFF_NPAGES	256
#define BACKOFF_CYCLES	6

/* @n pages, MADV_MERGEABLE, in this process. */
static uint64_t *map_mergeable(long n)
{
	void *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	if (madvise(p, n * PG, MADV_NOHUGEPAGE) ||
	    madvise(p, n * PG, MADV_MERGEABLE))
		ksft_exit_fail_msg("madvise: %s\n", strerror(errno));
	return p;
}

/* Pages i and i + n hold the same words, no two pages i < n do. */
static void fill_pairs(uint64_t *buf, long n)
{
	long i, w;

	for (i = 0; i < n; i++)
		for (w = 0; w < WORDS; w++) {
			buf[i * WORDS + w] = (i + 1) * 0x9e3779b97f4a7c15ULL ^ w;
			buf[(i + n) * WORDS + w] = buf[i * WORDS + w];
		}
}

static long count_bad_pairs(uint64_t *buf, long n)
{
	long i, w, bad = 0;

	for (i = 0; i < n; i++)
		for (w = 0; w < WORDS; w++)
			if (buf[i * WORDS + w] != ((i + 1) * 0x9e3779b97f4a7c15ULL ^ w) ||
			    buf[(i + n) * WORDS + w] != buf[i * WORDS + w]) {
				bad++;
				break;
			}
	return bad;
}

/* Wait for full_scans to pass @from; false on timeout. */
static bool wait_scan_after(long from, int timeout_s)
{
	int i;

	for (i = 0; i < timeout_s * 200; i++) {
		if (ksm_get("full_scans") > from)
			return true;
		sleep_msecs(5);
	}
	return false;
}

/*
 * ksmd stopped; FIRST_NPAGES pairs mapped; one batch (pages_to_scan above
 * the number of pages) then a long sleep, so that what is merged when the
 * first full scan is counted is what that scan merged.  Some pages of the
 * pairs faulted last may still be held by a per-CPU LRU batch and cannot
 * be merged in that scan: 90% is asked for.
 */
static void test_first_scan(void)
{
	long n = FIRST_NPAGES, fs, sharing;
	uint64_t *buf;
	bool ok;

	ksm_write_knob("run", "0");
	ok = !ksm_write_knob_long("pages_to_scan", 4 * n) &&
	     !ksm_write_knob("sleep_millisecs", "2000");
	buf = map_mergeable(2 * n);
	fill_pairs(buf, n);
	fs = ksm_get("full_scans");
	ok = ok && !ksm_start() && wait_scan_after(fs, KSM_WAIT_SECS);
	sharing = ksm_get("pages_sharing");
	ksft_print_msg("first_scan: after the first full scan: %ld of %ld pairs merged\n",
		       sharing, n);
	ksft_test_result(ok && sharing >= n * 9 / 10 && sharing <= n,
			 "first_scan: static duplicates merged within the first full scan\n");

	ok = ksm_write_knob("sleep_millisecs", "10") == 0 &&
	     ksm_wait_counters(n, n, KSM_WAIT_SECS);
	ksft_test_result(ok && !count_bad_pairs(buf, n),
			 "first_scan: all pairs merged a scan later, content intact\n");
	munmap(buf, 2 * n * PG);
	ksm_unmerge_all();
	ksm_start();
}

/*
 * Pages 0..n-1 and n..2n-1 are pairs; pages 2n..3n-1 are copies of the
 * first n but for their last byte.  Exactly the n pairs merge.
 */
static void test_last_byte(void)
{
	long n = LAST_NPAGES, i, w, bad = 0;
	uint64_t *buf = map_mergeable(3 * n);
	bool ok;

	fill_pairs(buf, n);
	for (i = 0; i < n; i++) {
		memcpy(&buf[(2 * n + i) * WORDS], &buf[i * WORDS], PG);
		((uint8_t *)&buf[(2 * n + i) * WORDS])[PG - 1] ^= 0x80;
	}
	ok = ksm_wait_counters(n, n, KSM_WAIT_SECS) && ksm_wait_scans(2, KSM_WAIT_SECS);
	ksm_print_counters("last_byte");
	ok = ok && ksm_get("pages_shared") == n && ksm_get("pages_sharing") == n;
	for (i = 0; i < n; i++)
		for (w = 0; w < WORDS; w++) {
			uint64_t want = buf[i * WORDS + w];

			if (w == WORDS - 1)
				want ^= 0x80ULL << 56;
			if (buf[(2 * n + i) * WORDS + w] != want) {
				bad++;
				break;
			}
		}
	ksft_test_result(ok && !bad && !count_bad_pairs(buf, n),
			 "last_byte: pages differing in their last byte only are not merged\n");
	munmap(buf, 3 * n * PG);
	ksm_unmerge_all();
	ksm_start();
}

/*
 * full_scans and pages_scanned as of one moment: read again until
 * full_scans did not move across the read of pages_scanned.  ksmd may
 * run several rounds while this process waits for a CPU between two
 * reads (it did, under the debug config on a loaded host), which would
 * count those rounds' pages against too few scans.
 */
static void read_scan_counters(long *full_scans, long *scanned)
{
	long again = ksm_get("full_scans");

	do {
		*full_scans = again;
		*scanned = ksm_get("pages_scanned");
		again = ksm_get("full_scans");
	} while (again != *full_scans);
}

/*
 * n pairs merged; over 3 full scans pages_scanned must grow by at least
 * 3 * 2n (every page counted, merged ones passed in place), and a page
 * written to with its own content again must be merged back.
 */
static void test_passed(void)
{
	long n = PASSED_NPAGES, s0, s1, fs0, fs1, i;
	uint64_t *buf = map_mergeable(2 * n);
	bool ok;

	fill_pairs(buf, n);
	ok = ksm_wait_counters(n, n, KSM_WAIT_SECS);
	read_scan_counters(&fs0, &s0);
	ok = ok && ksm_wait_scans(3, KSM_WAIT_SECS);
	read_scan_counters(&fs1, &s1);
	ksft_print_msg("passed: %ld full scans, pages_scanned +%ld (%ld pages)\n",
		       fs1 - fs0, s1 - s0, 2 * n);
	ksft_test_result(ok && s1 - s0 >= (fs1 - fs0 - 1) * 2 * n &&
			 s1 - s0 <= (fs1 - fs0 + 1) * 2 * n,
			 "passed: merged pages are counted once per full scan\n");

	/* Break every 7th pair by writing the same word back. */
	for (i = 0; i < n; i += 7)
		/* a store the compiler cannot drop, though it changes nothing */
		__atomic_store_n(&buf[i * WORDS], buf[i * WORDS], __ATOMIC_RELAXED);
	ok = ksm_wait_counters(n, n, KSM_WAIT_SECS);
	ksm_print_counters("passed after the writes");
	ksft_test_result(ok && !count_bad_pairs(buf, n),
			 "passed: pages written to are merged back, content intact\n");
	munmap(buf, 2 * n * PG);
	ksm_unmerge_all();
	ksm_start();
}

/*
 * One cycle: ksmd stopped at a round's end; a fresh area (never at an
 * address used before) of BACKOFF_NPAGES pairs; exactly one full round;
 * how many pairs merged in it; then every page written to and the area
 * unmapped.  The first cycle merges at first sight; the writes make those
 * merges count as too early, and after a few cycles first-sight merging
 * must be off: a cycle then merges nothing in its round.
 */
static long backoff_cycle(char *where)
{
	long n = BACKOFF_NPAGES, fs, merged, i;
	uint64_t *buf;

	buf = mmap(where, 2 * n * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (buf == MAP_FAILED || madvise(buf, 2 * n * PG, MADV_NOHUGEPAGE) ||
	    madvise(buf, 2 * n * PG, MADV_MERGEABLE))
		return -1;
	fill_pairs(buf, n);
	fs = ksm_get("full_scans");
	if (ksm_start() || !wait_scan_after(fs, KSM_WAIT_SECS))
		merged = -1;
	else
		merged = proc_field("/proc/self/ksm_stat", "ksm_merging_pages");
	ksm_write_knob("run", "0");
	for (i = 0; i < 2 * n; i++)
		__atomic_store_n(&buf[i * WORDS], buf[i * WORDS] + 1, __ATOMIC_RELAXED);
	munmap(buf, 2 * n * PG);
	return merged;
}

static void test_backoff(void)
{
	long n = BACKOFF_NPAGES, merged[BACKOFF_CYCLES], first, off = -1;
	char *base;
	int c;

	/* Room for every cycle's area at its own address. */
	base = mmap(NULL, BACKOFF_CYCLES * 4 * n * PG, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	munmap(base, BACKOFF_CYCLES * 4 * n * PG);
	ksm_unmerge_all();	/* run=0 after: stopped at a round's end */
	ksm_write_knob_long("pages_to_scan", 8 * n);
	ksm_write_knob("sleep_millisecs", "2000");
	for (c = 0; c < BACKOFF_CYCLES; c++) {
		merged[c] = backoff_cycle(base + c * 4 * n * PG);
		ksft_print_msg("backoff: cycle %d: %ld pages merged in its one round\n",
			       c, merged[c]);
		if (off < 0 && c > 0 && merged[c] == 0)
			off = c;
	}
	first = merged[0];
	ksft_test_result(first >= 2 * n * 9 / 10 && off > 0,
			 "backoff: first-sight merges written to at once turn first-sight merging off\n");
	ksm_write_knob("sleep_millisecs", "10");
	ksm_unmerge_all();
	ksm_start();
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(6);
	ksm_init();
	ksm_setup_fast();

	test_first_scan();
	test_last_byte();
	test_passed();
	test_backoff();

	ksm_restore_knobs();
	ksft_finished();
}
