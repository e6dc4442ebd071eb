// SPDX-License-Identifier: GPL-2.0
/*
 * Merge domains: /sys/kernel/mm/ksm/merge_scope and
 * prctl(PR_SET_MEMORY_MERGE_SCOPE).  Pages are merged only within one
 * domain (all processes, one memory cgroup, or one process), and no page
 * of one domain may ever be mapped by a process of another through KSM.
 *
 *  sysfs:    the knob reads "[global] cgroup process", rejects an unknown
 *            word (EINVAL) and any change while KSM pages exist (EBUSY).
 *  prctl:    bad arguments (EINVAL), narrowing, never widening (EPERM).
 *  inherit:  the scope a process narrowed to is kept by a fork child and
 *            across exec, and ksm_stat names the scope in force.
 *  cgroup:   2 memory cgroups x 2 processes of identical memory: merged
 *            within each cgroup to the exact count, no pfn in common
 *            between the cgroups.
 *  process:  duplicates inside one process merge, nothing across two.
 *  narrow:   a process narrowing its scope while merged is unmerged by
 *            the prctl itself, and stays apart; two processes narrowed to
 *            the same cgroup still merge with each other.
 *  move:     a process moved to another memory cgroup leaves its old
 *            cgroup's KSM pages and merges with its new cgroup.
 *  fork:     scope process: a fork child does not keep sharing its
 *            parent's KSM pages, and merges its own duplicates.
 *  run:      scope process, 2 processes each with a run of pages of one
 *            content, the same in both: one KSM page each.
 *
 * The test process itself never narrows its own scope (that is for
 * good): every prctl is made by a worker or a child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "ksm_lib.h"

#ifndef PR_SET_MEMORY_MERGE_SCOPE
#define PR_SET_MEMORY_MERGE_SCOPE	0x4b534d00
#define PR_GET_MEMORY_MERGE_SCOPE	0x4b534d01
#endif
#define SCOPE_GLOBAL	0
#define SCOPE_CGROUP	1
#define SCOPE_PROCESS	2

#define NPAGES		64
#define CG_A		"ksm_scope_a"
#define CG_B		"ksm_scope_b"

static const char * const scope_words[] = { "global", "cgroup", "process" };

static bool set_scope(const char *word)
{
	char cur[32];

	if (ksm_write_knob("merge_scope", word)) {
		ksm_unmerge_all();
		if (ksm_write_knob("merge_scope", word))
			return false;
	}
	ksm_start();
	return !ksm_read_knob_word("merge_scope", cur, sizeof(cur)) &&
	       !strcmp(cur, word);
}

/* The pagemap entries of a worker's region, NPAGES of them. */
static bool worker_pfns(struct worker *w, unsigned long *pfn)
{
	uint64_t ent[NPAGES];
	long addr = worker_op(w, W_ADDR, 0, 0, 0);
	int i;

	if (addr <= 0 || pagemap_range(w->pid, (void *)addr, NPAGES, ent))
		return false;
	for (i = 0; i < NPAGES; i++)
		pfn[i] = (ent[i] & PM_PRESENT) ? ent[i] & PM_PFN_MASK : 0;
	return true;
}

/*
 * How many pages of @a map a pfn that a page of @b maps, counting only
 * KSM pages: the pages a fork child still shares with its parent since
 * fork() are not KSM's doing.  -1 if the pagemaps cannot be read.
 */
static long pfns_in_common(const unsigned long *a, const unsigned long *b)
{
	long n = 0;
	int i, j;

	for (i = 0; i < NPAGES; i++) {
		if (!a[i])
			continue;
		if (kpf_ksm_reliable() &&
		    !(kpageflags(a[i]) & BIT_ULL(KPF_KSM_BIT)))
			continue;
		for (j = 0; j < NPAGES; j++) {
			if (a[i] == b[j]) {
				n++;
				break;
			}
		}
	}
	return n;
}

static long workers_in_common(struct worker *a, struct worker *b)
{
	unsigned long pa[NPAGES], pb[NPAGES];

	if (!worker_pfns(a, pa) || !worker_pfns(b, pb))
		return -1;
	return pfns_in_common(pa, pb);
}

/* A worker with NPAGES pages tagged base + i % period, not yet mergeable. */
static bool worker_prepare(struct worker *w, uint64_t base, long period)
{
	return !worker_start(w) && !worker_op(w, W_MAP, NPAGES, 0, 0) &&
	       !worker_op(w, W_FILL, base, period, 0);
}

static bool worker_mergeable(struct worker *w)
{
	return !worker_op(w, W_MADV, MADV_MERGEABLE, 0, NPAGES);
}

/* ---- sysfs ---- */

static void test_sysfs(void)
{
	char raw[64], word[32];
	struct worker w[2];
	bool ok = true;
	int err;

	if (ksm_read_knob_str("merge_scope", raw, sizeof(raw)) ||
	    strcmp(raw, "[global] cgroup process")) {
		ksft_print_msg("sysfs: merge_scope reads '%s'\n", raw);
		ok = false;
	}
	err = ksm_write_knob("merge_scope", "tenant");
	ksm_read_knob_word("merge_scope", word, sizeof(word));
	if (err != -EINVAL || strcmp(word, "global")) {
		ksft_print_msg("sysfs: 'tenant' gave %s, scope now %s\n",
			       strerror(-err), word);
		ok = false;
	}
	if (workers_start_same(w, 2, NPAGES, 0x5c0e0000) ||
	    !ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS)) {
		ksft_print_msg("sysfs: two workers did not merge\n");
		ok = false;
	} else {
		err = ksm_write_knob("merge_scope", "process");
		ksm_read_knob_word("merge_scope", word, sizeof(word));
		if (err != -EBUSY || strcmp(word, "global")) {
			ksft_print_msg("sysfs: change while merged gave %s, scope now %s\n",
				       strerror(-err), word);
			ok = false;
		}
	}
	workers_stop(w, 2);
	ksm_unmerge_all();
	if (!set_scope("cgroup") || !set_scope("global")) {
		ksft_print_msg("sysfs: cgroup and back to global after run=2 refused\n");
		ok = false;
	}
	ksft_test_result(ok, "sysfs: merge_scope shows, rejects bad words, EBUSY while merged\n");
}

/* ---- prctl ---- */

static long scope_prctl(struct worker *w, long opt, long arg)
{
	return worker_op(w, W_PRCTL, opt, arg, 0);
}

/* Unused prctl arguments must be 0: tried in a child of our own. */
static int unused_args_rejected(void)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		bool ok = prctl(PR_SET_MEMORY_MERGE_SCOPE, SCOPE_CGROUP, 1, 0,
				0) == -1 && errno == EINVAL;

		ok = ok && prctl(PR_GET_MEMORY_MERGE_SCOPE, 1, 0, 0, 0) == -1 &&
		     errno == EINVAL;
		/* ... and nothing was narrowed by the bad call. */
		ok = ok && prctl(PR_GET_MEMORY_MERGE_SCOPE, 0, 0, 0, 0) == 0;
		_exit(!ok);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && !WEXITSTATUS(status);
}

static void test_prctl(void)
{
	struct worker w;
	bool ok = false;
	long r[8];
	int extra;

	if (worker_start(&w)) {
		ksft_test_result_fail("prctl: no worker\n");
		return;
	}
	r[0] = scope_prctl(&w, PR_GET_MEMORY_MERGE_SCOPE, 0);
	r[1] = scope_prctl(&w, PR_SET_MEMORY_MERGE_SCOPE, 3);
	r[2] = scope_prctl(&w, PR_SET_MEMORY_MERGE_SCOPE, SCOPE_CGROUP);
	r[3] = scope_prctl(&w, PR_GET_MEMORY_MERGE_SCOPE, 0);
	r[4] = scope_prctl(&w, PR_SET_MEMORY_MERGE_SCOPE, SCOPE_GLOBAL);
	r[5] = scope_prctl(&w, PR_SET_MEMORY_MERGE_SCOPE, SCOPE_CGROUP);
	r[6] = scope_prctl(&w, PR_SET_MEMORY_MERGE_SCOPE, SCOPE_PROCESS);
	r[7] = scope_prctl(&w, PR_GET_MEMORY_MERGE_SCOPE, 0);
	extra = unused_args_rejected();
	worker_stop(&w);
	ok = r[0] == 0 && r[1] == -EINVAL && r[2] == 0 && r[3] == 1 &&
	     r[4] == -EPERM && r[5] == 0 && r[6] == 0 && r[7] == 2 && extra;
	if (!ok) {
		ksft_print_msg("prctl: get %ld, set 3 %ld, set cgroup %ld, get %ld,",
			       r[0], r[1], r[2], r[3]);
		printf(" widen %ld, same %ld, process %ld, get %ld, args %d\n",
		       r[4], r[5], r[6], r[7], extra);
	}
	ksft_test_result(ok, "prctl: EINVAL on bad arguments, narrows, EPERM on widening\n");
}

/* ---- inherit ---- */

static int stat_scope(pid_t pid, char *word, size_t len)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	if (file_read(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "ksm_merge_scope: ");
	if (!p)
		return -1;
	p += strlen("ksm_merge_scope: ");
	snprintf(word, len, "%.*s", (int)strcspn(p, "\n"), p);
	return 0;
}

/* Child: narrow to cgroup, fork, the grandchild execs us to report. */
static int inherit_child(const char *self)
{
	int status, fd[2];
	pid_t pid;
	char word[32] = "";

	if (prctl(PR_SET_MEMORY_MERGE_SCOPE, SCOPE_CGROUP, 0, 0, 0))
		return 10;
	if (stat_scope(getpid(), word, sizeof(word)) || strcmp(word, "cgroup"))
		return 11;
	if (pipe(fd))
		return 12;
	pid = fork();
	if (!pid) {
		if (prctl(PR_GET_MEMORY_MERGE_SCOPE, 0, 0, 0, 0) != SCOPE_CGROUP)
			_exit(13);
		execl(self, self, "--print-scope", NULL);
		_exit(14);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 15;
	return WEXITSTATUS(status);
}

static void test_inherit(void)
{
	char self[256];
	int status;
	ssize_t n;
	pid_t pid;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		ksft_test_result_fail("inherit: no /proc/self/exe\n");
		return;
	}
	self[n] = '\0';
	pid = fork();
	if (!pid)
		_exit(inherit_child(self));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		ksft_test_result_fail("inherit: child did not exit\n");
		return;
	}
	/* 100 + the scope the exec'ed grandchild found. */
	if (WEXITSTATUS(status) != 100 + SCOPE_CGROUP)
		ksft_print_msg("inherit: child status %d (10-15: a step failed, %s)\n",
			       WEXITSTATUS(status), "100 + scope: the exec'ed one");
	ksft_test_result(WEXITSTATUS(status) == 100 + SCOPE_CGROUP,
			 "inherit: narrowed scope kept by fork and exec, shown in ksm_stat\n");
}

/* ---- cgroup ---- */

/* Create both cgroups (by passing through them), stay in the root. */
static bool memcgs_ready(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return !memcg_add(CG_A, getpid()) && !memcg_add(CG_B, getpid()) &&
	       !file_write("/sys/fs/cgroup/cgroup.procs", pid);
}

/*
 * Start @n workers holding pages tagged @base + i, workers 0 and 1 in
 * cgroup A and the others in B, then make them mergeable.  Returns @n,
 * or the index of the worker that could not be set up.
 */
static int workers_in_cgroups(struct worker *w, int n, uint64_t base,
			      const char *test)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!worker_prepare(&w[i], base, NPAGES) ||
		    memcg_add(i < 2 ? CG_A : CG_B, w[i].pid) ||
		    !worker_mergeable(&w[i])) {
			ksft_print_msg("%s: worker %d not set up\n", test, i);
			return i;
		}
	}
	return n;
}

static void test_cgroup(void)
{
	struct worker w[4];
	long ab[4];
	bool ok = false;
	int i;

	if (!set_scope("cgroup")) {
		ksft_test_result_fail("cgroup: cannot set merge_scope=cgroup\n");
		return;
	}
	i = workers_in_cgroups(w, 4, 0x5c0f0000, "cgroup");
	if (i < 4)
		goto out;
	/* One KSM page per content per cgroup, shared twice. */
	ok = ksm_wait_counters(2 * NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS);
	ab[0] = workers_in_common(&w[0], &w[1]);
	ab[1] = workers_in_common(&w[2], &w[3]);
	ab[2] = workers_in_common(&w[0], &w[2]);
	ab[3] = workers_in_common(&w[1], &w[3]);
	ok = ok && ab[0] == NPAGES && ab[1] == NPAGES && !ab[2] && !ab[3] &&
	     workers_check(w, 4);
	if (!ok) {
		ksm_print_counters("cgroup");
		ksft_print_msg("cgroup: pages in common A-A %ld, B-B %ld, A-B %ld and %ld\n",
			       ab[0], ab[1], ab[2], ab[3]);
	}
out:
	workers_stop(w, i);
	ksm_unmerge_all();
	set_scope("global");
	ksft_test_result(ok, "cgroup: merged within each of 2 cgroups (%d + %d), nothing across\n",
			 NPAGES, NPAGES);
}

/* ---- process ---- */

static void test_process(void)
{
	struct worker w[2];
	bool ok = false;
	long common = -1;
	int i;

	if (!set_scope("process")) {
		ksft_test_result_fail("process: cannot set merge_scope=process\n");
		return;
	}
	/* Each worker holds every content twice; both hold the same. */
	for (i = 0; i < 2; i++) {
		if (!worker_prepare(&w[i], 0x5c100000, NPAGES / 2) ||
		    !worker_mergeable(&w[i])) {
			ksft_print_msg("process: worker %d not set up\n", i);
			goto out;
		}
	}
	ok = ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS);
	common = workers_in_common(&w[0], &w[1]);
	ok = ok && common == 0 && workers_check(w, 2);
	if (!ok) {
		ksm_print_counters("process");
		ksft_print_msg("process: %ld pages of worker 0 map a pfn of worker 1\n",
			       common);
	}
out:
	workers_stop(w, i);
	ksm_unmerge_all();
	set_scope("global");
	ksft_test_result(ok, "process: duplicates merged within each process, nothing across\n");
}

/*
 * The same with a run of one content in both.  ksmd tries each page of a
 * run against the KSM page the page before went into, until the end of
 * the chunk of pages it scans under ksm_lock (64, where entering an mm
 * counts 16).  Here ksmd's first batch scans both processes (ksmd stopped
 * while they are set up), and both runs are short enough for one chunk:
 * the run of the process scanned second comes right after the other
 * one's, which must not be where it merges.  A page merged across would
 * be unmerged again at ksmd's next visit, so the pfns are also compared
 * while ksmd sleeps after that batch.
 */
#define RUN_A		(NPAGES * 5 / 16)
#define RUN_B		(NPAGES * 3 / 8)
#define RUN_BATCH	"100"		/* pages: room for both runs */
#define RUN_SLEEP_MS	"20000"

/*
 * Both runs merged in ksmd's first batch, or @timeout_s passed (less than
 * RUN_SLEEP_MS: either way ksmd is asleep after that batch, unless the
 * batch had not even begun).
 */
static void wait_first_batch(long sharing, int timeout_s)
{
	double end = now_secs() + timeout_s;

	while (now_secs() < end && (ksm_get("pages_shared") < 2 ||
				    ksm_get("pages_sharing") < sharing))
		sleep_msecs(5);
}

static void test_process_run(void)
{
	long counts[2] = { RUN_A, RUN_B };
	long early = -1, common = -1;
	struct worker w[2];
	bool ok = false;
	int i;

	if (!set_scope("process")) {
		ksft_test_result_fail("process run: cannot set merge_scope=process\n");
		return;
	}
	ksm_write_knob("run", "0");
	for (i = 0; i < 2; i++) {
		if (!worker_prepare(&w[i], 0x5c180000, 1) ||
		    worker_op(&w[i], W_MADV, MADV_MERGEABLE, 0, counts[i])) {
			ksft_print_msg("process run: worker %d not set up\n", i);
			goto out;
		}
	}
	ok = !ksm_write_knob("pages_to_scan", RUN_BATCH) &&
	     !ksm_write_knob("sleep_millisecs", RUN_SLEEP_MS) && !ksm_start();
	wait_first_batch(counts[0] - 1 + counts[1] - 1, 10);
	early = workers_in_common(&w[0], &w[1]);
	ksm_print_counters("process run, first batch");
	ok = ok && !ksm_write_knob("pages_to_scan", "2000") &&
	     !ksm_write_knob("sleep_millisecs", "10") &&
	     ksm_wait_counters(2, counts[0] - 1 + counts[1] - 1, KSM_WAIT_SECS) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS);
	common = workers_in_common(&w[0], &w[1]);
	ok = ok && !early && !common && workers_check(w, 2);
	if (!ok) {
		ksm_print_counters("process run");
		ksft_print_msg("process run: pfns in common: %ld after batch 1, %ld at the end\n",
			       early, common);
	}
out:
	workers_stop(w, i);
	ksm_unmerge_all();
	set_scope("global");	/* and run=1 */
	ksft_test_result(ok, "process run: one content in 2 processes, a KSM page each\n");
}

/* ---- narrow ---- */

static void test_narrow(void)
{
	struct worker w[2];
	long common = -1, got = -1, sharing = -1;
	bool ok = false;

	ksm_start();
	if (workers_start_same(w, 2, NPAGES, 0x5c110000) ||
	    !ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS)) {
		ksft_print_msg("narrow: two workers did not merge\n");
		goto out;
	}
	got = scope_prctl(&w[0], PR_SET_MEMORY_MERGE_SCOPE, SCOPE_PROCESS);
	/* Unmerged by the prctl itself, before it returned. */
	common = workers_in_common(&w[0], &w[1]);
	if (got || common) {
		ksft_print_msg("narrow: prctl %ld, then %ld pages in common\n",
			       got, common);
		goto out;
	}
	ksm_wait_scans(3, KSM_WAIT_SECS);
	common = workers_in_common(&w[0], &w[1]);
	sharing = ksm_get("pages_sharing");
	ok = !common && !sharing && workers_check(w, 2);
	if (!ok)
		ksft_print_msg("narrow: 3 scans later %ld pages in common, pages_sharing %ld\n",
			       common, sharing);
out:
	workers_stop(w, 2);
	ksm_unmerge_all();
	ksft_test_result(ok, "narrow: a process narrowing to its own scope is unmerged at once\n");
}

static void test_narrow_same(void)
{
	struct worker w[3];
	long c01 = -1, c02 = -1;
	bool ok = false;
	int i;

	ksm_start();
	/* Workers 0 and 1 narrow to their (same) cgroup; 2 stays global. */
	for (i = 0; i < 3; i++) {
		if (!worker_prepare(&w[i], 0x5c120000, NPAGES) ||
		    (i < 2 && scope_prctl(&w[i], PR_SET_MEMORY_MERGE_SCOPE,
					  SCOPE_CGROUP)) ||
		    !worker_mergeable(&w[i])) {
			ksft_print_msg("narrow_same: worker %d not set up\n", i);
			goto out;
		}
	}
	ok = ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS);
	c01 = workers_in_common(&w[0], &w[1]);
	c02 = workers_in_common(&w[0], &w[2]);
	ok = ok && c01 == NPAGES && !c02 && workers_check(w, 3);
	if (!ok) {
		ksm_print_counters("narrow_same");
		ksft_print_msg("narrow_same: in common 0-1 %ld, 0-2 %ld\n",
			       c01, c02);
	}
out:
	workers_stop(w, i);
	ksm_unmerge_all();
	ksft_test_result(ok,
			 "narrow_same: processes narrowed to one cgroup merge, not with a global one\n");
}

/* ---- move ---- */

static void test_move(void)
{
	struct worker w[3];
	long c12 = -1, c01 = -1;
	bool ok = false;
	int i;

	if (!set_scope("cgroup")) {
		ksft_test_result_fail("move: cannot set merge_scope=cgroup\n");
		return;
	}
	/* Workers 0 and 1 in A, 2 in B, all alike. */
	i = workers_in_cgroups(w, 3, 0x5c130000, "move");
	if (i < 3)
		goto out;
	if (!ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS)) {
		ksft_print_msg("move: A's two workers did not merge\n");
		goto out;
	}
	if (memcg_add(CG_B, w[1].pid)) {
		ksft_print_msg("move: cannot move worker 1 to B\n");
		goto out;
	}
	/*
	 * Worker 0 keeps A's KSM pages to itself (pages_shared counts them),
	 * workers 1 and 2 merge in B.
	 */
	ok = ksm_wait_counters(2 * NPAGES, NPAGES, KSM_WAIT_SECS);
	c01 = workers_in_common(&w[0], &w[1]);
	c12 = workers_in_common(&w[1], &w[2]);
	ok = ok && !c01 && c12 == NPAGES && workers_check(w, 3);
	if (!ok) {
		ksm_print_counters("move");
		ksft_print_msg("move: in common 0-1 %ld, 1-2 %ld\n", c01, c12);
	}
out:
	workers_stop(w, i);
	ksm_unmerge_all();
	set_scope("global");
	ksft_test_result(ok,
			 "move: a process moved to another cgroup merges there, not with the old one\n");
}

/* ---- fork ---- */

/* A process with NPAGES / 2 contents twice each, mergeable, that forks. */
static void fork_parent(int cmd, int rep)
{
	struct region r;
	pid_t child;
	char c;

	if (region_map(&r, NPAGES))
		_exit(1);
	region_fill(&r, 0x5c140000, NPAGES / 2);
	if (madvise(r.buf, NPAGES * page_size, MADV_MERGEABLE))
		_exit(1);
	if (write(rep, &r.buf, sizeof(r.buf)) != sizeof(r.buf) ||
	    read(cmd, &c, 1) != 1)
		_exit(1);
	child = fork();
	if (!child) {
		pause();
		_exit(0);
	}
	if (write(rep, &child, sizeof(child)) != sizeof(child))
		_exit(1);
	read(cmd, &c, 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	_exit(region_check(&r) ? 2 : 0);
}

static bool pid_pfns(pid_t pid, void *addr, unsigned long *pfn)
{
	uint64_t ent[NPAGES];
	int i;

	if (pagemap_range(pid, addr, NPAGES, ent))
		return false;
	for (i = 0; i < NPAGES; i++)
		pfn[i] = (ent[i] & PM_PRESENT) ? ent[i] & PM_PFN_MASK : 0;
	return true;
}

static void test_fork(void)
{
	unsigned long pp[NPAGES], pc[NPAGES];
	int cmd[2], rep[2], status;
	long common = -1;
	pid_t parent, child = 0;
	void *addr = NULL;
	bool ok = false;

	if (!set_scope("process") || pipe(cmd) || pipe(rep)) {
		ksft_test_result_fail("fork: cannot set merge_scope=process\n");
		return;
	}
	parent = fork();
	if (!parent)
		fork_parent(cmd[0], rep[1]);
	if (parent < 0 || read(rep[0], &addr, sizeof(addr)) != sizeof(addr) ||
	    !ksm_wait_counters(NPAGES / 2, NPAGES / 2, KSM_WAIT_SECS)) {
		ksft_print_msg("fork: the parent's duplicates did not merge\n");
		goto out;
	}
	if (write(cmd[1], "f", 1) != 1 ||
	    read(rep[0], &child, sizeof(child)) != sizeof(child)) {
		ksft_print_msg("fork: no child\n");
		goto out;
	}
	/* Each process: NPAGES / 2 KSM pages, each shared twice. */
	ok = ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS);
	if (pid_pfns(parent, addr, pp) && pid_pfns(child, addr, pc))
		common = pfns_in_common(pp, pc);
	ok = ok && common == 0;
	if (!ok) {
		ksm_print_counters("fork");
		ksft_print_msg("fork: %ld KSM pages of the parent mapped by the child\n",
			       common);
	}
out:
	if (write(cmd[1], "q", 1) != 1 && parent > 0)
		kill(parent, SIGKILL);
	if (parent > 0 && (waitpid(parent, &status, 0) != parent ||
			   !WIFEXITED(status) || WEXITSTATUS(status))) {
		ksft_print_msg("fork: the parent's data did not verify\n");
		ok = false;
	}
	close(cmd[0]);
	close(cmd[1]);
	close(rep[0]);
	close(rep[1]);
	ksm_unmerge_all();
	set_scope("global");
	ksft_test_result(ok,
			 "fork: scope process, a fork child stops sharing its parent's KSM pages\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--print-scope")) {
		char word[32] = "";
		int scope = prctl(PR_GET_MEMORY_MERGE_SCOPE, 0, 0, 0, 0);

		if (scope < 0 || scope > SCOPE_PROCESS ||
		    stat_scope(getpid(), word, sizeof(word)) ||
		    strcmp(word, scope_words[scope]))
			return 16;
		return 100 + scope;
	}
	ksft_print_header();
	page_size = sysconf(_SC_PAGESIZE);
	if (access(KSM_SYSFS "merge_scope", F_OK))
		ksft_exit_skip("no merge_scope in " KSM_SYSFS "\n");
	ksft_set_plan(10);
	ksm_init();
	ksm_setup_fast();
	if (!memcgs_ready())
		ksft_exit_fail_msg("cannot create memory cgroups %s and %s\n",
				   CG_A, CG_B);

	test_sysfs();
	test_prctl();
	test_inherit();
	test_cgroup();
	test_process();
	test_narrow();
	test_narrow_same();
	test_move();
	test_fork();
	test_process_run();

	memcg_leave(CG_A);
	memcg_leave(CG_B);
	ksm_restore_knobs();
	ksft_finished();
}
