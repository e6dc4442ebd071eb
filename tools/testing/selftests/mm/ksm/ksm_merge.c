// SPDX-License-Identifier: GPL-2.0
/*
 * KSM merge / COW / unmerge / mremap / mlock tests across processes.
 *
 * Three worker processes (exec'ed copies of this program, so they share
 * nothing with us) each map NPAGES anonymous pages.  Page i carries the same
 * pseudo-random content in every worker and different content from every
 * other page, so a complete merge is exactly pages_shared == NPAGES and
 * pages_sharing == 2 * NPAGES.  Every step checks the counters, the content
 * of every page of every worker, and (via /proc/<pid>/pagemap and
 * /proc/kpageflags) whether pages are KSM pages shared by pfn or private.
 *
 *  merge:    3 workers merge exactly; pages of unique content never merge.
 *  cow:      writing to merged pages copies them (cow_ksm grows), the other
 *            workers keep their data; rewriting them with content equal to
 *            other merged pages merges them into those KSM pages.
 *  unmerge:  MADV_UNMERGEABLE (partial and full), MADV_MERGEABLE again,
 *            run=0 keeps merged pages, run=2 unmerges synchronously,
 *            run=1 re-merges the still registered areas.
 *  mremap:   moving a merged region keeps content; the region is (still or
 *            again) merged at its new address; COW and MADV_UNMERGEABLE
 *            work there.
 *  mlock:    mlock'ed pages merge, COW on write, munlock + unmerge work.
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

#define NPAGES	256
#define NW	3
#define BASE	0x10000

static struct worker w[NW];

static bool setup_merged(uint64_t base)
{
	if (workers_start_same(w, NW, NPAGES, base)) {
		ksft_print_msg("cannot start workers\n");
		return false;
	}
	return ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS);
}

static void teardown(void)
{
	workers_stop(w, NW);
	if (!ksm_wait_counters(0, 0, KSM_WAIT_SECS))
		ksft_print_msg("counters did not return to 0 after %s\n",
			       __func__);
}

static void test_merge(void)
{
	struct worker u;
	bool ok;

	ok = setup_merged(BASE);
	ksft_test_result(ok, "merge: 3x%d identical pages -> shared %d sharing %d\n",
			 NPAGES, NPAGES, 2 * NPAGES);
	ksft_test_result(workers_check(w, NW), "merge: content intact\n");
	ksft_test_result(ok && workers_merged(w, NW, 0, NPAGES),
			 "merge: every page is one KSM page in all workers\n");
	ksft_test_result(ok && ksm_get("pages_unshared") == 0 &&
			 ksm_get("pages_volatile") == 0,
			 "merge: no unshared or volatile pages when all merged\n");

	/* A fourth worker with unique content must not merge with anything. */
	if (worker_start_filled(&u, NPAGES, BASE + 0x10000, NPAGES))
		ksft_exit_fail_msg("cannot start worker\n");
	ok = ksm_wait_scans(3, KSM_WAIT_SECS) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS);
	ksft_test_result(ok && workers_private(&u, 1, 0, NPAGES) &&
			 !worker_op(&u, W_CHECK, 0, 0, 0),
			 "merge: pages with unique content stay unmerged\n");
	worker_stop(&u);
	teardown();
}

static void test_cow(void)
{
	long cow0, cow1, i, k = NPAGES / 4;
	bool ok = setup_merged(BASE);

	if (!ok) {
		ksft_test_result_fail("cow: initial merge\n");
		ksft_test_result_skip("cow: cow_ksm counts copies\n");
		ksft_test_result_skip("cow: writer sees its data, others untouched\n");
		ksft_test_result_skip("cow: counters drop by written pages\n");
		ksft_test_result_skip("cow: copied pages private, rest still merged\n");
		ksft_test_result_skip("cow: rewritten pages merge into existing KSM pages\n");
		teardown();
		return;
	}
	ksft_test_result_pass("cow: initial merge\n");

	cow0 = vmstat_get("cow_ksm");
	/* Worker 0 writes unique content to its first k pages. */
	for (i = 0; i < k; i++)
		worker_op(&w[0], W_SET, i, BASE + 0x40000 + i, 0);
	cow1 = vmstat_get("cow_ksm");
	if (cow0 < 0) {
		ksft_test_result_skip("cow: cow_ksm counts copies (%s)\n",
				      "no cow_ksm in /proc/vmstat: CONFIG_VM_EVENT_COUNTERS off?");
	} else {
		ksft_print_msg("cow_ksm +%ld for %ld writes\n", cow1 - cow0, k);
		ksft_test_result(cow1 - cow0 >= k, "cow: cow_ksm counts copies\n");
	}
	ksft_test_result(workers_check(w, NW),
			 "cow: writer sees its data, others untouched\n");

	ok = ksm_wait_counters(NPAGES, 2 * NPAGES - k, KSM_WAIT_SECS);
	ksft_test_result(ok, "cow: counters drop by written pages\n");
	ksft_test_result(ok && workers_private(w, 1, 0, k) &&
			 workers_merged(w + 1, NW - 1, 0, NPAGES) &&
			 workers_merged(w, NW, k, NPAGES - k),
			 "cow: copied pages private, rest still merged\n");

	/*
	 * Give the copied pages the content of pages [k, 2k): ksmd must
	 * merge them into the existing KSM pages of that content.
	 */
	for (i = 0; i < k; i++)
		worker_op(&w[0], W_SET, i, BASE + k + i, 0);
	ok = ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_check(w, NW);
	if (ok) {
		long a0 = worker_op(&w[0], W_ADDR, 0, 0, 0);
		long a1 = worker_op(&w[1], W_ADDR, 0, 0, 0);

		for (i = 0; i < k && ok; i++) {
			unsigned long p0 = page_pfn(w[0].pid, (char *)a0 + i * page_size);
			unsigned long p1 = page_pfn(w[1].pid,
						    (char *)a1 + (k + i) * page_size);

			if (!p0 || p0 != p1 ||
			    !page_ksm_flag(w[0].pid, (char *)a0 + i * page_size)) {
				ksft_print_msg("page %ld: pfn %#lx, expected %#lx\n",
					       i, p0, p1);
				ok = false;
			}
		}
	}
	ksft_test_result(ok, "cow: rewritten pages merge into existing KSM pages\n");
	teardown();
}

static void test_unmerge(void)
{
	bool ok = setup_merged(BASE);
	long i, scans, half = NPAGES / 2;

	ksft_test_result(ok, "unmerge: initial merge\n");

	/* Partial: first half of worker 0 only. */
	ok = !worker_op(&w[0], W_MADV, MADV_UNMERGEABLE, 0, half);
	ok = ok && workers_check(w, NW);
	ok = ok && ksm_wait_counters(NPAGES, 2 * NPAGES - half, KSM_WAIT_SECS);
	ksft_test_result(ok && workers_private(w, 1, 0, half) &&
			 workers_merged(w, NW, half, NPAGES - half) &&
			 workers_merged(w + 1, NW - 1, 0, half),
			 "unmerge: partial MADV_UNMERGEABLE unmerges only that range\n");

	/* Full: all workers, whole range. */
	ok = true;
	for (i = 0; i < NW; i++)
		ok &= !worker_op(&w[i], W_MADV, MADV_UNMERGEABLE, 0, NPAGES);
	ok = ok && workers_check(w, NW);
	ok = ok && workers_private(w, NW, 0, NPAGES);
	ksft_test_result(ok, "unmerge: MADV_UNMERGEABLE leaves private pages, content intact\n");
	ksft_test_result(ksm_wait_counters(0, 0, KSM_WAIT_SECS),
			 "unmerge: MADV_UNMERGEABLE counters back to 0\n");

	/* Register again: everything merges again. */
	ok = true;
	for (i = 0; i < NW; i++)
		ok &= !worker_op(&w[i], W_MADV, MADV_MERGEABLE, 0, NPAGES);
	ok = ok && ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS);
	ksft_test_result(ok && workers_merged(w, NW, 0, NPAGES) &&
			 workers_check(w, NW),
			 "unmerge: MADV_MERGEABLE again re-merges\n");

	/* run=0 stops ksmd but keeps the merged pages. */
	ok = !ksm_write_knob("run", "0");
	scans = ksm_get("full_scans");
	usleep(300000);
	ok = ok && ksm_get("run") == 0 && ksm_get("full_scans") == scans &&
	     ksm_get("pages_shared") == NPAGES &&
	     ksm_get("pages_sharing") == 2 * NPAGES &&
	     workers_merged(w, NW, 0, NPAGES);
	ksft_test_result(ok, "unmerge: run=0 stops scanning, keeps merged pages\n");

	/* run=2 unmerges everything before the write returns. */
	ok = !ksm_write_knob("run", "2");
	ok = ok && ksm_get("pages_shared") == 0 && ksm_get("pages_sharing") == 0;
	if (!ok)
		ksm_print_counters("after run=2");
	ksft_test_result(ok, "unmerge: run=2 zeroes counters synchronously\n");
	ksft_test_result(workers_check(w, NW) && workers_private(w, NW, 0, NPAGES),
			 "unmerge: run=2 leaves private pages, content intact\n");

	/* Areas stay registered: run=1 merges them again. */
	ok = !ksm_start() &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, NW, 0, NPAGES) && workers_check(w, NW);
	ksft_test_result(ok, "unmerge: run=1 after run=2 re-merges registered areas\n");
	teardown();
}

static void test_mremap(void)
{
	bool ok = setup_merged(BASE);
	long old, moved;

	ksft_test_result(ok, "mremap: initial merge\n");
	old = worker_op(&w[0], W_ADDR, 0, 0, 0);
	moved = worker_op(&w[0], W_MREMAP, 0, 0, 0);
	if (moved < 0 && moved > -4096) {
		ksft_print_msg("mremap: %s\n", strerror(-moved));
		ksft_test_result_fail("mremap: moved region keeps content\n");
	} else {
		ksft_test_result(moved != old && workers_check(w, NW),
				 "mremap: moved region keeps content\n");
	}
	/*
	 * mremap may break the KSM pages of the moved range (upstream does,
	 * so they cannot surface at a new address) but the range stays
	 * mergeable: it must end up merged again.
	 */
	ok = ksm_wait_scans(2, KSM_WAIT_SECS) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, NW, 0, NPAGES) && workers_check(w, NW);
	ksft_test_result(ok, "mremap: merged at the new address\n");

	/* Write to the moved region: COW works at the new address. */
	worker_op(&w[0], W_SET, 0, BASE + 0x70000, 0);
	ok = workers_check(w, NW) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES - 1, KSM_WAIT_SECS);
	ksft_test_result(ok, "mremap: COW in moved region\n");

	ok = !worker_op(&w[0], W_MADV, MADV_UNMERGEABLE, 0, NPAGES) &&
	     workers_check(w, NW) && workers_private(w, 1, 0, NPAGES) &&
	     ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w + 1, NW - 1, 0, NPAGES);
	ksft_test_result(ok, "mremap: MADV_UNMERGEABLE at new address\n");
	teardown();
}

static void test_mlock(void)
{
	bool ok = true;
	long i, ret;

	for (i = 0; i < NW && ok; i++) {
		ok = !worker_start(&w[i]) &&
		     !worker_op(&w[i], W_MAP, NPAGES, 0, 0) &&
		     !worker_op(&w[i], W_FILL, BASE + 0x80000, NPAGES, 0);
		ret = worker_op(&w[i], W_MLOCK, 1, 0, 0);
		if (ret) {
			ksft_print_msg("mlock: %s\n", strerror(-ret));
			ok = false;
		}
		ok = ok && !worker_op(&w[i], W_MADV, MADV_MERGEABLE, 0, NPAGES);
	}
	if (!ok)
		ksft_exit_fail_msg("mlock: worker setup failed\n");

	ok = ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS);
	ksft_test_result(ok && workers_merged(w, NW, 0, NPAGES),
			 "mlock: mlocked pages merge\n");
	ksft_test_result(workers_check(w, NW), "mlock: content intact\n");

	worker_op(&w[1], W_SET, 7, BASE + 0x90000, 0);
	ok = workers_check(w, NW) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES - 1, KSM_WAIT_SECS);
	ksft_test_result(ok, "mlock: COW of mlocked merged page\n");

	ok = true;
	for (i = 0; i < NW; i++)
		ok &= !worker_op(&w[i], W_MLOCK, 0, 0, 0);
	ok = ok && workers_check(w, NW) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES - 1, KSM_WAIT_SECS);
	ksft_test_result(ok, "mlock: munlock keeps merged pages\n");

	ok = true;
	for (i = 0; i < NW; i++)
		ok &= !worker_op(&w[i], W_MADV, MADV_UNMERGEABLE, 0, NPAGES);
	ok = ok && workers_check(w, NW) && workers_private(w, NW, 0, NPAGES) &&
	     ksm_wait_counters(0, 0, KSM_WAIT_SECS);
	ksft_test_result(ok, "mlock: unmerge after munlock\n");
	teardown();
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(5 + 6 + 9 + 5 + 5);
	ksm_init();
	ksm_setup_fast();

	test_merge();
	test_cow();
	test_unmerge();
	test_mremap();
	test_mlock();

	ksm_restore_knobs();
	ksft_finished();
}
