// SPDX-License-Identifier: GPL-2.0
/*
 * KSM page lifetime tests: fork, exit, MADV_DONTNEED and munmap of merged
 * pages, with exact pages_shared/pages_sharing accounting and content
 * checks at every step, and a check that nothing leaks (all counters,
 * including pages_unshared and pages_volatile, return to 0) once every
 * mergeable process is gone.
 *
 *  fork:     this process and a worker merge NPAGES pages; a forked child
 *            inherits the KSM pages (after a scan they count as sharing);
 *            child and parent write different pages, each must keep seeing
 *            its own data, the worker keeps the original.
 *  exit:     three workers merge; one is SIGKILLed before merging, in the
 *            middle of merging (slow scan rate) or after merging; the
 *            survivors stay merged and intact; after all exit, no leak.
 *  dontneed: MADV_DONTNEED drops merged pages (they read back as zeroes),
 *            munmap drops a whole merged region, refilled pages merge
 *            again; no leak at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "ksm_lib.h"

#define NPAGES	256
#define BASE	0x20000

static void test_fork(void)
{
	long n = 128, k = 32, i, bad;
	int to_child[2], from_child[2], status;
	struct region r;
	struct worker w;
	bool ok;
	char c;
	pid_t pid;

	if (region_map(&r, n) || pipe(to_child) || pipe(from_child))
		ksft_exit_fail_msg("fork: setup failed\n");
	region_fill(&r, BASE, n);
	if (madvise(r.buf, n * page_size, MADV_MERGEABLE))
		ksft_exit_fail_msg("MADV_MERGEABLE: %s\n", strerror(errno));
	if (worker_start_filled(&w, n, BASE, n))
		ksft_exit_fail_msg("cannot start worker\n");
	ok = ksm_wait_counters(n, n, KSM_WAIT_SECS);
	ksft_test_result(ok, "fork: parent and worker merged\n");

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!pid) {
		/* Child: obey commands, report bad page counts (capped). */
		close(to_child[1]);
		close(from_child[0]);
		while (read(to_child[0], &c, 1) == 1) {
			if (c == 'w') {
				for (i = 0; i < k; i++)
					region_set(&r, i, BASE + 0x1000 + i);
			} else if (c == 'x') {
				_exit(0);
			}
			bad = region_check(&r);
			c = bad > 100 ? 100 : bad;
			if (write(from_child[1], &c, 1) != 1)
				_exit(2);
		}
		_exit(1);
	}
	close(to_child[0]);
	close(from_child[1]);

	/* The child's inherited mappings of the KSM pages join the sharing. */
	ok = ksm_wait_counters(n, 2 * n, KSM_WAIT_SECS);
	ksft_test_result(ok, "fork: child's inherited KSM pages counted\n");

	/* Child writes pages [0, k), parent writes [k, 2k). */
	c = 'w';
	ok = write(to_child[1], &c, 1) == 1;
	for (i = k; i < 2 * k; i++)
		region_set(&r, i, BASE + 0x2000 + i);
	ok = ok && read(from_child[0], &c, 1) == 1 && c == 0;
	c = 'c';
	ok = ok && write(to_child[1], &c, 1) == 1 &&
	     read(from_child[0], &c, 1) == 1 && c == 0;
	ksft_test_result(ok, "fork: child sees its own writes and old data\n");
	ksft_test_result(!region_check(&r),
			 "fork: parent sees its own writes and old data\n");
	ksft_test_result(!worker_op(&w, W_CHECK, 0, 0, 0),
			 "fork: worker data untouched\n");

	c = 'x';
	ok = write(to_child[1], &c, 1) == 1;
	ok = ok && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	     WEXITSTATUS(status) == 0;
	close(to_child[1]);
	close(from_child[0]);
	ksft_test_result(ok, "fork: child exited cleanly\n");

	/*
	 * Pages [k, 2k) now have no mapping left of the original content
	 * once the worker rewrites them too; [0, k) and [2k, n) stay merged
	 * between parent and worker.
	 */
	for (i = k; i < 2 * k; i++)
		worker_op(&w, W_SET, i, BASE + 0x3000 + i, 0);
	ok = ksm_wait_counters(n - k, n - k, KSM_WAIT_SECS) &&
	     !region_check(&r) && !worker_op(&w, W_CHECK, 0, 0, 0);
	ksft_test_result(ok, "fork: counters settle after child exit\n");

	region_unmap(&r);
	worker_stop(&w);
	ksft_test_result(ksm_wait_idle(KSM_WAIT_SECS), "fork: no leak after exit\n");
}

static void test_exit(void)
{
	struct worker w[3];
	long pts = ksm_get("pages_to_scan");
	int iter;
	bool ok;

	for (iter = 0; iter < 3; iter++) {
		uint64_t base = BASE + 0x100000 * (iter + 1);

		if (iter == 1)
			ksm_write_knob_long("pages_to_scan", 64);
		if (workers_start_same(w, 3, NPAGES, base))
			ksft_exit_fail_msg("cannot start workers\n");
		if (iter == 1) {
			/* Kill while ksmd is half way through merging. */
			int t;

			for (t = 0; t < 3000; t++) {
				if (ksm_get("pages_sharing") >= NPAGES / 2)
					break;
				usleep(2000);
			}
			ksft_print_msg("exit loop 1: killing at sharing=%ld\n",
				       ksm_get("pages_sharing"));
		} else if (iter == 2) {
			if (!ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS))
				ksft_print_msg("exit loop 2: full merge not reached\n");
		}
		worker_kill(&w[0]);
		if (iter == 1)
			ksm_write_knob_long("pages_to_scan", pts);

		ok = ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
		     workers_merged(w + 1, 2, 0, NPAGES) &&
		     workers_check(w + 1, 2);
		ksft_test_result(ok, "exit loop %d: survivors merged and intact\n",
				 iter);

		worker_kill(&w[1]);
		ok = !worker_op(&w[2], W_CHECK, 0, 0, 0);
		worker_stop(&w[2]);
		ok = ksm_wait_idle(KSM_WAIT_SECS) && ok;
		ksft_test_result(ok, "exit loop %d: no leak after all exit\n",
				 iter);
	}
}

static void test_dontneed(void)
{
	struct worker w[4], alive[3];
	long half = NPAGES / 2, i;
	bool ok;

	if (workers_start_same(w, 4, NPAGES, BASE + 0x800000))
		ksft_exit_fail_msg("cannot start workers\n");
	ok = ksm_wait_counters(NPAGES, 3 * NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 4, 0, NPAGES);
	ksft_test_result(ok, "dontneed: 4 workers merged\n");

	ok = !worker_op(&w[0], W_MADV, MADV_DONTNEED, 0, half);
	for (i = 0; i < half; i++)
		worker_op(&w[0], W_SET_TAG, i, 0, 0);	/* expect zeroes */
	ok = ok && workers_check(w, 4);
	ksft_test_result(ok, "dontneed: discarded pages read zero, others intact\n");
	ok = ksm_wait_counters(NPAGES, 3 * NPAGES - half, KSM_WAIT_SECS) &&
	     workers_merged(w + 1, 3, 0, NPAGES) &&
	     workers_merged(w, 4, half, NPAGES - half);
	ksft_test_result(ok, "dontneed: counters drop by discarded pages\n");

	ok = !worker_op(&w[1], W_MUNMAP, 0, 0, 0);
	ok = ok && workers_check(w, 1) && workers_check(w + 2, 2);
	ok = ok && ksm_wait_counters(NPAGES, 3 * NPAGES - half - NPAGES,
				     KSM_WAIT_SECS);
	ksft_test_result(ok, "munmap: counters drop by unmapped pages\n");

	for (i = 0; i < half; i++)
		worker_op(&w[0], W_SET, i, BASE + 0x800000 + i, 0);
	alive[0] = w[0];
	alive[1] = w[2];
	alive[2] = w[3];
	ok = ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_check(alive, 3) && workers_merged(alive, 3, 0, NPAGES);
	ksft_test_result(ok, "dontneed: refilled pages merge again\n");

	workers_stop(w, 4);
	ksft_test_result(ksm_wait_idle(KSM_WAIT_SECS),
			 "dontneed/munmap: no leak after exit\n");
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(8 + 6 + 6);
	ksm_init();
	ksm_setup_fast();

	test_fork();
	test_exit();
	test_dontneed();

	ksm_restore_knobs();
	ksft_finished();
}
