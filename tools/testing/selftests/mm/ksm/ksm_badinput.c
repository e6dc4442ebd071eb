// SPDX-License-Identifier: GPL-2.0
/*
 * KSM with bad input and hostile callers.
 *
 *  sysfs:     every tunable gets malformed, negative, overflowing and
 *             out-of-range values that ksm_sysfs does not already try (a
 *             lone newline, hex, two numbers, a page of digits, the
 *             advisor limits); each write must fail with EINVAL (a page of
 *             digits: any error) and change no tunable.
 *  writers:   concurrent writers of run (0/1/2) and merge_across_nodes
 *             (EBUSY while pages are merged) against a merging process;
 *             afterwards the content is intact, every writer finished, and
 *             KSM merges exactly again.
 *  madvise:   unaligned and wrapping ranges (EINVAL), a zero length (0),
 *             unmapped (ENOMEM) and partially mapped ranges (ENOMEM, but
 *             the mapped parts are registered or unmerged), a shared
 *             mapping (accepted, never merged).
 *  memcg:     MADV_UNMERGEABLE, prctl(PR_SET_MEMORY_MERGE, 0) and run=2
 *             needing more memory than the process's memory cgroup allows
 *             (memory.max, no swap): each must end with an error or an
 *             OOM kill of the unmerging task, never hang; ksmd keeps
 *             scanning afterwards.
 *  unmerge-exit: a process is SIGKILLed while MADV_UNMERGEABLE or run=2
 *             unmerges its pages, repeatedly.
 *  exit-race: the exit-vs-scanner regression: a child registers memory
 *             with MADV_MERGEABLE and dies on a signal, many times over,
 *             while ksmd scans without sleeping.
 *
 * At the end nothing may be left: all counters return to 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "ksm_lib.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#endif

#define CG_ROOT	"/sys/fs/cgroup"
#define CG_DIR	CG_ROOT "/ksm_badinput"

/* Wait until pages_sharing >= @n; false on timeout. */
static bool wait_sharing(long n, int secs)
{
	double end = now_secs() + secs;

	while (ksm_get("pages_sharing") < n) {
		if (now_secs() > end) {
			ksm_print_counters("timeout waiting for sharing");
			return false;
		}
		sleep_msecs(20);
	}
	return true;
}

/* Wait until /proc/@pid/ksm_merging_pages >= @n; false on timeout. */
static bool wait_merging(pid_t pid, long n, int secs)
{
	double end = now_secs() + secs;
	char path[64], buf[32];
	long got = -1;
	int fd, len;

	snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", pid);
	while (got < n) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return false;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		got = len > 0 ? (buf[len] = '\0', strtol(buf, NULL, 10)) : -1;
		if (got >= n)
			break;
		if (now_secs() > end) {
			ksft_print_msg("timeout: %s is %ld, want %ld\n", path,
				       got, n);
			return false;
		}
		sleep_msecs(20);
	}
	return true;
}

/* ---- sysfs ---- */

static const char * const tunables[] = {
	"run", "pages_to_scan", "sleep_millisecs", "merge_across_nodes",
	"use_zero_pages", "max_page_sharing",
	"stable_node_chains_prune_millisecs", "smart_scan", "advisor_mode",
	"advisor_max_cpu", "advisor_target_scan_time",
	"advisor_min_pages_to_scan", "advisor_max_pages_to_scan",
};

#define NR_TUNABLES ARRAY_SIZE(tunables)

static const char * const numeric[] = {
	"run", "pages_to_scan", "sleep_millisecs", "max_page_sharing",
	"stable_node_chains_prune_millisecs", "advisor_max_cpu",
	"advisor_target_scan_time", "advisor_min_pages_to_scan",
	"advisor_max_pages_to_scan",
};

static void snap(char vals[][64])
{
	unsigned int i;

	for (i = 0; i < NR_TUNABLES; i++)
		if (ksm_read_knob_str(tunables[i], vals[i], 64))
			snprintf(vals[i], 64, "<absent>");
}

static bool knob_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_SYSFS "%s", name);
	return !access(path, F_OK);
}

/* @any_error: accept any errno, not only EINVAL. */
static void expect_reject(const char *knob, const char *val, const char *desc,
			  bool any_error)
{
	char before[NR_TUNABLES][64], after[NR_TUNABLES][64];
	unsigned int i;
	bool same = true;
	int ret;

	if (!knob_exists(knob)) {
		ksft_test_result_skip("sysfs: %s=%s rejected (no such file)\n",
				      knob, desc);
		return;
	}
	snap(before);
	ret = ksm_write_knob(knob, val);
	snap(after);
	for (i = 0; i < NR_TUNABLES; i++) {
		if (strcmp(before[i], after[i])) {
			ksft_print_msg("%s changed: '%s' -> '%s'\n", tunables[i],
				       before[i], after[i]);
			same = false;
		}
	}
	if (ret != -EINVAL)
		ksft_print_msg("write %s to %s: %s\n", desc, knob,
			       ret ? strerror(-ret) : "accepted");
	ksft_test_result((ret == -EINVAL || (any_error && ret)) && same,
			 "sysfs: %s=%s rejected, nothing changed\n", knob, desc);
}

static void test_sysfs(void)
{
	static char digits[8192];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(numeric); i++) {
		expect_reject(numeric[i], "\n", "newline", false);
		expect_reject(numeric[i], "0x10", "0x10", false);
		expect_reject(numeric[i], "1 2", "'1 2'", false);
	}
	memset(digits, '9', sizeof(digits) - 1);
	expect_reject("pages_to_scan", digits, "8191 digits", true);
	expect_reject("max_page_sharing", "-2", "-2", false);
	expect_reject("max_page_sharing", "4294967296", "2^32", false);
	expect_reject("stable_node_chains_prune_millisecs", "-1", "-1", false);
	expect_reject("stable_node_chains_prune_millisecs", "4294967296",
		      "2^32", false);
	expect_reject("smart_scan", "2", "2", false);
	expect_reject("smart_scan", "abc", "abc", false);
	expect_reject("merge_across_nodes", "\n", "newline", false);
	expect_reject("merge_across_nodes", "-1", "-1", false);
	expect_reject("use_zero_pages", "\n", "newline", false);
	expect_reject("advisor_mode", "\n", "newline", false);
	expect_reject("advisor_mode", "scan-timex", "scan-timex", false);
	expect_reject("advisor_max_cpu", "0", "0", false);
	expect_reject("advisor_max_cpu", "101", "101", false);
	expect_reject("advisor_max_cpu", "-1", "-1", false);
	expect_reject("advisor_target_scan_time", "0", "0", false);
	expect_reject("advisor_target_scan_time", "4294967296", "2^32", false);
	expect_reject("advisor_min_pages_to_scan", "0", "0", false);
	expect_reject("advisor_max_pages_to_scan", "0", "0", false);
}

#define NR_SYSFS_TESTS	(9 * 3 + 1 + 18)

/* ---- concurrent writers ---- */

#define WR_NPAGES	128
#define WR_BASE		0x7700

static void writer_loop(const char *knob, double end, int seed, int *counts)
{
	static const char * const runs[] = { "0", "1", "2", "1" };
	unsigned int x = seed;
	int ret;

	while (now_secs() < end) {
		x = x * 1103515245 + 12345;
		if (!strcmp(knob, "run"))
			ret = ksm_write_knob("run", runs[(x >> 16) % 4]);
		else
			ret = ksm_write_knob(knob, (x >> 16) & 1 ? "1" : "0");
		if (!ret)
			counts[0]++;
		else if (ret == -EBUSY)
			counts[1]++;
		else
			counts[2]++;
		sleep_msecs((x >> 20) % 5);
	}
}

static void test_writers(void)
{
	int *counts, k, status, bad = 0;
	struct worker w[2];
	pid_t pids[3];
	double end;
	bool ok;

	counts = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED || workers_start_same(w, 2, WR_NPAGES, WR_BASE))
		ksft_exit_fail_msg("writers: setup failed\n");
	ksm_write_knob("sleep_millisecs", "0");
	end = now_secs() + 10;
	for (k = 0; k < 3; k++) {
		fflush(stdout);
		pids[k] = fork();
		if (!pids[k]) {
			writer_loop(k == 2 ? "merge_across_nodes" : "run", end,
				    k + 1, counts + 3 * k);
			_exit(0);
		}
	}
	for (k = 0; k < 3; k++) {
		if (waitpid(pids[k], &status, 0) != pids[k] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	ksft_print_msg("writers: run ok=%d/%d other=%d/%d,", counts[0], counts[3],
		       counts[2], counts[5]);
	printf(" merge_across_nodes ok=%d busy=%d other=%d\n", counts[6],
	       counts[7], counts[8]);
	ksft_test_result(!bad && !counts[2] && !counts[5] && !counts[8] &&
			 counts[0] + counts[3] > 0 && counts[6] + counts[7] > 0,
			 "writers: concurrent run and merge_across_nodes writers finish, only EBUSY\n");
	ksft_test_result(workers_check(w, 2),
			 "writers: content intact after concurrent writers\n");
	/* A consistent state: one KSM page per page index, on any node. */
	ksm_write_knob("run", "2");
	ksm_write_knob("merge_across_nodes", "1");
	ksm_write_knob("sleep_millisecs", "10");
	ksm_start();
	ok = ksm_wait_counters(WR_NPAGES, WR_NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 2, 0, WR_NPAGES) && workers_check(w, 2);
	ksft_test_result(ok, "writers: KSM merges exactly again afterwards\n");
	workers_stop(w, 2);
	munmap(counts, page_size);
}

/* ---- madvise ranges ---- */

static bool errno_is(int ret, int err)
{
	if (ret == -1 && errno == err)
		return true;
	ksft_print_msg("  returned %d errno %s, expected %s\n", ret,
		       ret ? strerror(errno) : "-", strerror(err));
	return false;
}

static void test_madvise(void)
{
	size_t ps = page_size;
	struct region r;
	char *p, *s;
	bool ok;
	long i;

	if (region_map(&r, 8))
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	region_fill(&r, 0x8800, 1);	/* 8 identical pages */
	p = r.buf;
	ksft_test_result(errno_is(madvise(p + 1, ps, MADV_MERGEABLE), EINVAL),
			 "madvise: unaligned start: EINVAL\n");
	ksft_test_result(errno_is(madvise(p, (size_t)-ps, MADV_MERGEABLE), EINVAL),
			 "madvise: wrapping range: EINVAL\n");
	ksft_test_result(errno_is(madvise(p, (size_t)-1, MADV_UNMERGEABLE), EINVAL),
			 "madvise: length -1: EINVAL\n");
	ksft_test_result(madvise(p, 0, MADV_MERGEABLE) == 0,
			 "madvise: zero length: 0\n");
	s = mmap(NULL, 4 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(s, 4 * ps);
	ksft_test_result(errno_is(madvise(s, 4 * ps, MADV_MERGEABLE), ENOMEM) &&
			 errno_is(madvise(s, 4 * ps, MADV_UNMERGEABLE), ENOMEM),
			 "madvise: unmapped range: ENOMEM\n");

	/* a hole in the middle: pages 0-2 and 4-7 remain */
	munmap(p + 3 * ps, ps);
	ok = errno_is(madvise(p, 8 * ps, MADV_MERGEABLE), ENOMEM);
	ok = ksm_wait_counters(1, 6, KSM_WAIT_SECS) && ok;
	ksft_test_result(ok, "madvise: partly mapped: ENOMEM, mapped parts merge\n");
	ok = errno_is(madvise(p, 8 * ps, MADV_UNMERGEABLE), ENOMEM);
	ok = ksm_wait_counters(0, 0, KSM_WAIT_SECS) && ok;
	for (i = 0; i < 8; i++)
		if (i != 3 && !check_page(p + i * ps, r.tags[i]))
			ok = false;
	ksft_test_result(ok, "madvise: partly mapped: ENOMEM, mapped parts unmerged\n");
	region_unmap(&r);

	/* shared memory: accepted, never merged */
	s = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < 8; i++)
		fill_page(s + i * ps, 0x8900);
	ok = madvise(s, 8 * ps, MADV_MERGEABLE) == 0;
	ok = ksm_wait_scans(3, KSM_WAIT_SECS) && ok;
	ok = ok && ksm_get("pages_shared") == 0 && ksm_get("pages_sharing") == 0;
	for (i = 0; i < 8; i++)
		ok = ok && check_page(s + i * ps, 0x8900);
	ksft_test_result(ok, "madvise: shared mapping accepted, never merged\n");
	munmap(s, 8 * ps);
}

/* ---- memcg: unmerging beyond memory.max ---- */

#define CG_NPAGES	4096	/* 16 MiB unmerged */
#define CG_MAX		"8M"

enum { UNMERGE_MADV, UNMERGE_PRCTL, UNMERGE_RUN2 };

static const char * const unmerge_names[] = {
	"MADV_UNMERGEABLE", "prctl(PR_SET_MEMORY_MERGE, 0)", "run=2",
};

static bool cg_ready;

static void cg_setup(void)
{
	if (access(CG_ROOT "/cgroup.controllers", F_OK))
		return;
	file_write(CG_ROOT "/cgroup.subtree_control", "+memory");
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		return;
	cg_ready = !access(CG_DIR "/memory.max", F_OK);
	if (!cg_ready)
		rmdir(CG_DIR);
}

static long cg_event(const char *name)
{
	return proc_field(CG_DIR "/memory.events", name);
}

/*
 * The child: join the cgroup, map CG_NPAGES identical pages, let them merge,
 * tell the parent (pipe), wait for the limit, then unmerge (kind) and report
 * the errno through its exit status: 0 success, else errno.
 */
static void cg_child(int kind, int rfd, int wfd)
{
	char buf[32], *p;
	long i;
	int ret = 0;

	snprintf(buf, sizeof(buf), "%d", getpid());
	if (file_write(CG_DIR "/cgroup.procs", buf))
		_exit(200);
	p = mmap(NULL, CG_NPAGES * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(201);
	madvise(p, CG_NPAGES * page_size, MADV_NOHUGEPAGE);
	for (i = 0; i < CG_NPAGES; i++)
		fill_page(p + i * page_size, 0x9900);
	if (kind == UNMERGE_PRCTL)
		ret = prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
	else
		ret = madvise(p, CG_NPAGES * page_size, MADV_MERGEABLE);
	if (ret)
		_exit(202);
	if (write(wfd, "m", 1) != 1 || read(rfd, buf, 1) != 1)
		_exit(203);
	if (kind == UNMERGE_MADV)
		ret = madvise(p, CG_NPAGES * page_size, MADV_UNMERGEABLE);
	else if (kind == UNMERGE_PRCTL)
		ret = prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0);
	else if (read(rfd, buf, 1) != 1)	/* parent writes run=2 */
		_exit(203);
	ret = ret ? errno : 0;
	/* Whatever was unmerged or not, the content must be intact. */
	for (i = 0; i < CG_NPAGES; i++)
		if (!check_page(p + i * page_size, 0x9900))
			_exit(204);
	_exit(ret);
}

static void test_memcg_one(int kind)
{
	int to_child[2], from_child[2], status = 0, run2 = 0;
	long ooms, scans;
	char c;
	pid_t pid;
	double end;
	bool ok, hang = false;

	if (pipe(to_child) || pipe(from_child))
		ksft_exit_fail_msg("pipe\n");
	file_write(CG_DIR "/memory.max", "max");
	file_write(CG_DIR "/memory.swap.max", "0");
	ooms = cg_event("oom_kill");
	fflush(stdout);
	pid = fork();
	if (!pid)
		cg_child(kind, to_child[0], from_child[1]);
	close(to_child[0]);
	close(from_child[1]);
	ok = read(from_child[0], &c, 1) == 1;
	/*
	 * All but a few merged (max_page_sharing 256 makes chains): the
	 * cgroup's usage drops well below the limit to be set.
	 */
	ok = ok && wait_merging(pid, CG_NPAGES - 64, 120);
	if (!ok)
		ksft_print_msg("memcg: %s: child did not merge\n",
			       unmerge_names[kind]);
	if (file_write(CG_DIR "/memory.max", CG_MAX))
		ksft_print_msg("memcg: cannot set memory.max\n");
	if (write(to_child[1], "u", 1) != 1)
		ok = false;
	if (kind == UNMERGE_RUN2) {
		run2 = ksm_write_knob("run", "2");
		/* EPIPE if the child was OOM-killed */
		if (write(to_child[1], "c", 1) != 1)
			ksft_print_msg("memcg: child gone after run=2\n");
	}
	end = now_secs() + 120;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_secs() > end) {
			hang = true;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_msecs(20);
	}
	ksft_print_msg("memcg: %s: child %s %d, run=2 write: %s, oom_kill %ld -> %ld\n",
		       unmerge_names[kind],
		       WIFSIGNALED(status) ? "killed by signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		       kind == UNMERGE_RUN2 ? (run2 ? strerror(-run2) : "ok") : "-",
		       ooms, cg_event("oom_kill"));
	/* success, a clear errno, or an OOM kill; never a hang or bad data */
	if (WIFEXITED(status)) {
		int e = WEXITSTATUS(status);

		ok = ok && (e == 0 || e == ENOMEM || e == EAGAIN || e == EINTR);
	} else {
		ok = ok && WTERMSIG(status) == SIGKILL;
	}
	if (kind == UNMERGE_RUN2)
		ok = ok && (!run2 || run2 == -ENOMEM || run2 == -EINTR);
	ksft_test_result(ok && !hang,
			 "memcg: %s beyond memory.max: errno or OOM kill, no hang\n",
			 unmerge_names[kind]);
	close(to_child[1]);
	close(from_child[0]);
	file_write(CG_DIR "/memory.max", "max");
	/* ksmd is alive and well */
	ksm_write_knob("run", "1");
	scans = ksm_get("full_scans");
	ok = ksm_wait_scans(2, KSM_WAIT_SECS);
	ksft_test_result(ok, "memcg: ksmd still scanning after %s (full_scans %ld -> %ld)\n",
			 unmerge_names[kind], scans, ksm_get("full_scans"));
}

static void test_memcg(void)
{
	int k;

	cg_setup();
	if (!cg_ready) {
		for (k = 0; k < 3; k++) {
			ksft_test_result_skip("memcg: %s beyond memory.max (no memory cgroup)\n",
					      unmerge_names[k]);
			ksft_test_result_skip("memcg: ksmd still scanning after %s\n",
					      unmerge_names[k]);
		}
		return;
	}
	for (k = 0; k < 3; k++)
		test_memcg_one(k);
	rmdir(CG_DIR);
}

/* ---- exit during unmerge ---- */

#define UX_NPAGES	2048
#define UX_ROUNDS	8

static void test_unmerge_exit(void)
{
	int round, status, bad = 0, slow = 0;
	struct worker w;
	double t;
	bool run2;

	for (round = 0; round < UX_ROUNDS; round++) {
		run2 = round & 1;
		ksm_write_knob("run", "2");
		if (worker_start(&w) ||
		    worker_op(&w, W_MAP, UX_NPAGES, 0, 0) < 0 ||
		    worker_op(&w, W_FILL, 0xaa00, 2, 0) < 0 ||
		    worker_op(&w, W_MADV, MADV_MERGEABLE, 0, UX_NPAGES) < 0)
			ksft_exit_fail_msg("unmerge-exit: worker setup\n");
		ksm_start();
		if (!wait_sharing(UX_NPAGES * 3 / 4, 60))
			bad++;
		if (run2) {
			fflush(stdout);
			if (!fork()) {
				ksm_write_knob("run", "2");
				_exit(0);
			}
		} else {
			/* fire and forget: the worker unmerges until killed */
			struct { long op, a, b, c; } q = {
				W_MADV, MADV_UNMERGEABLE, 0, UX_NPAGES };

			if (write(w.fd, &q, sizeof(q)) != sizeof(q))
				bad++;
		}
		sleep_msecs(round * 3);
		t = now_secs();
		kill(w.pid, SIGKILL);
		waitpid(w.pid, &status, 0);
		close(w.fd);
		if (now_secs() - t > 30)
			slow++;
		if (run2)
			wait(&status);
	}
	ksm_write_knob("run", "1");
	ksft_test_result(!bad && !slow,
			 "unmerge-exit: SIGKILL during MADV_UNMERGEABLE and run=2, %d rounds\n",
			 UX_ROUNDS);
}

/* ---- exit vs scanner ---- */

#define ER_NPAGES	64

static void test_exit_race(long rounds, long max_secs)
{
	long i, bad = 0, scans = ksm_get("full_scans"), done = 0;
	double end = now_secs() + max_secs;
	int status, sig;
	pid_t pid;

	ksm_write_knob("sleep_millisecs", "0");
	for (i = 0; i < rounds && now_secs() < end; i++) {
		sig = (i % 3 == 0) ? SIGKILL : (i % 3 == 1) ? SIGTERM : SIGSEGV;
		fflush(stdout);
		pid = fork();
		if (!pid) {
			char *p = mmap(NULL, ER_NPAGES * page_size,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			long k;

			if (p == MAP_FAILED)
				_exit(1);
			signal(SIGTERM, SIG_DFL);
			signal(SIGSEGV, SIG_DFL);
			for (k = 0; k < ER_NPAGES; k++)
				memset(p + k * page_size, k & 3, page_size);
			if (madvise(p, ER_NPAGES * page_size, MADV_MERGEABLE))
				_exit(1);
			/* sometimes let ksmd get at the pages first */
			for (k = 0; k < (i & 4 ? (i % 7) * 200 : 0); k++)
				getppid();
			if (sig == SIGSEGV) {
				/* die of a fault */
				mprotect(p, page_size, PROT_NONE);
				p[0] = 0;
			}
			raise(sig);
			_exit(2);
		}
		if (i % 5 == 4)
			kill(pid, SIGKILL);	/* maybe before it even madvised */
		if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
			bad++;
		done++;
	}
	ksm_write_knob("sleep_millisecs", "10");
	ksft_print_msg("exit-race: %ld children, full_scans %ld -> %ld\n", done,
		       scans, ksm_get("full_scans"));
	ksft_test_result(!bad && done > 0 && ksm_wait_scans(2, KSM_WAIT_SECS),
			 "exit-race: children madvise then die on a signal, ksmd survives\n");
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 0) : 1000;
	bool idle;

	ksft_print_header();
	ksft_set_plan(NR_SYSFS_TESTS + 3 + 8 + 6 + 1 + 1 + 1);
	ksm_init();
	ksm_setup_fast();

	test_sysfs();
	ksm_setup_fast();
	test_writers();
	test_madvise();
	test_memcg();
	ksm_setup_fast();
	test_unmerge_exit();
	test_exit_race(rounds, 120);

	ksm_write_knob("run", "2");
	idle = ksm_wait_idle(60);
	ksft_test_result(idle, "nothing left: all counters 0 after run=2\n");
	ksm_restore_knobs();
	ksft_finished();
}
