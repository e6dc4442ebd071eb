// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the KSM features of Linux 6.12 beyond plain merging.
 *
 *  numa:     merge_across_nodes=0 merges identical pages only within a NUMA
 *            node (one KSM page per node), =1 across nodes; the knob cannot
 *            change (EBUSY) while KSM pages exist.
 *  chains:   max_page_sharing=2 with more identical pages than the limit
 *            builds stable node chains of duplicate KSM pages, each mapped
 *            at most twice; run=2 undoes it all.  Again at the end, with
 *            a run of pages of one content.
 *  zero:     use_zero_pages=1 maps zero-filled pages to the shared zero page
 *            (ksm_zero_pages), MADV_UNMERGEABLE breaks them again; with 0
 *            zero-filled pages merge into an ordinary KSM page.
 *  prctl:    PR_SET/GET_MEMORY_MERGE: value, argument checks (only unused
 *            arguments are checked: arg2 is a boolean), inheritance
 *            over fork, merging without madvise, unmerging by prctl 0.
 *  smart:    smart_scan=1 skips pages that never merge (pages_skipped).
 *  idle:     sleep_millisecs=0 with nothing to scan leaves ksmd nearly idle.
 *  advisor:  advisor_mode=scan-time owns pages_to_scan.
 *  ksm_stat: /proc/<pid>/ksm_stat and /proc/<pid>/ksm_merging_pages.
 *
 * Content is verified word by word wherever pages were merged or unmerged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/mempolicy.h>
#include <linux/types.h>

#include "kselftest.h"
#include "ksm_lib.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#define PR_GET_MEMORY_MERGE	68
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif

#define BASE		0x20000
#define NUMA_NPAGES	32
#define NUMA_NW		4
#define CHAIN_NPAGES	16
#define CHAIN_PERIOD	2
#define ZERO_NPAGES	32
#define PRCTL_NPAGES	32
#define PRCTL_PERIOD	4
#define SMART_NPAGES	64
#define STAT_NPAGES	32

/* One "name value" line of /proc/<pid>/ksm_stat (pid 0: self); -1: absent. */
static long ksm_stat_get(pid_t pid, const char *name)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ksm_stat");
	return proc_field(path, name);
}

/* The word after @name in /proc/self/ksm_stat; false if absent. */
static bool ksm_stat_word(const char *name, char *buf, size_t size)
{
	char line[128];
	size_t len = strlen(name);
	bool found = false;
	FILE *f = fopen("/proc/self/ksm_stat", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		/* "name value" or, for the yes/no lines, "name: value" */
		if (!strncmp(line, name, len) &&
		    (line[len] == ' ' || line[len] == ':')) {
			snprintf(buf, size, "%s", line + len + 1 +
				 strspn(line + len + 1, " "));
			buf[strcspn(buf, "\n")] = '\0';
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static long proc_merging_pages(pid_t pid)
{
	char path[64];
	long val = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ksm_merging_pages");
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

/* Wait until @get(@name) == @want; prints the last value on timeout. */
static bool wait_value(long (*get)(const char *), const char *name, long want,
		       int timeout_s)
{
	double end = now_secs() + timeout_s;
	long v;

	for (;;) {
		v = get(name);
		if (v == want)
			return true;
		if (now_secs() > end)
			break;
		usleep(10000);
	}
	ksft_print_msg("timeout: %s is %ld, expected %ld\n", name, v, want);
	return false;
}

static long self_stat(const char *name)
{
	return ksm_stat_get(0, name);
}

/* Start over: nothing merged, fast scanning, default-ish knobs. */
static void reset_ksm(void)
{
	ksm_write_knob("run", "2");
	ksm_write_knob("advisor_mode", "none");
	ksm_write_knob("smart_scan", "0");
	ksm_write_knob("merge_across_nodes", "1");
	ksm_write_knob("max_page_sharing", "256");
	ksm_write_knob("use_zero_pages", "0");
	ksm_write_knob("pages_to_scan", "2000");
	ksm_write_knob("sleep_millisecs", "10");
	ksm_start();
}

/* Node of the page at @addr in process @pid, or -errno. */
static int page_node(pid_t pid, void *addr)
{
	int status = -1;

	if (sys_move_pages(pid, 1, &addr, NULL, &status, 0))
		return -errno;
	return status;
}

/* ---- merge_across_nodes ---- */

static bool numa_groups_ok(struct worker *w)
{
	long a0 = worker_op(&w[0], W_ADDR, 0, 0, 0);
	long a2 = worker_op(&w[2], W_ADDR, 0, 0, 0);
	long i;

	if (!workers_merged(w, 2, 0, NUMA_NPAGES) ||
	    !workers_merged(w + 2, 2, 0, NUMA_NPAGES))
		return false;
	for (i = 0; i < NUMA_NPAGES; i++) {
		char *p0 = (char *)a0 + i * page_size;
		char *p2 = (char *)a2 + i * page_size;
		int n0 = page_node(w[0].pid, p0), n2 = page_node(w[2].pid, p2);

		if (page_pfn(w[0].pid, p0) == page_pfn(w[2].pid, p2) ||
		    n0 != 0 || n2 != 1) {
			ksft_print_msg("page %ld: pfn %#lx node %d / pfn %#lx node %d\n",
				       i, page_pfn(w[0].pid, p0), n0,
				       page_pfn(w[2].pid, p2), n2);
			return false;
		}
	}
	return true;
}

/*
 * Move worker @w's pages [0, NUMA_NPAGES) to @node; true if all moved.
 * A page briefly referenced by someone else (ksmd, say) fails to move
 * and is tried again.
 */
static bool worker_move_pages(struct worker *w, int node)
{
	long addr = worker_op(w, W_ADDR, 0, 0, 0);
	int nodes[NUMA_NPAGES], status[NUMA_NPAGES];
	void *pages[NUMA_NPAGES];
	long i, ret = -1, left = NUMA_NPAGES;
	int try;

	for (i = 0; i < NUMA_NPAGES; i++) {
		pages[i] = (char *)addr + i * page_size;
		nodes[i] = node;
	}
	for (try = 0; try < 10 && left; try++) {
		if (try)
			usleep(100000);
		/* KSM pages are mapped by several processes: MOVE_ALL. */
		ret = sys_move_pages(w->pid, NUMA_NPAGES, pages, nodes, status,
				     MPOL_MF_MOVE_ALL);
		if (ret < 0)
			break;
		for (i = 0, left = 0; i < NUMA_NPAGES; i++)
			left += status[i] != node;
	}
	if (left)
		ksft_print_msg("move_pages: %ld pages not on node %d (ret %ld, %s)\n",
			       left, node, ret, ret < 0 ? strerror(errno) : "");
	return !left;
}

/*
 * With merge_across_nodes=0, the node-0 KSM pages are migrated to node 1:
 * they must leave node 0's tree (joining the chains of their twins in
 * node 1's), so that a newcomer on node 0 with the same content finds
 * nothing to merge with on its node.
 */
static bool numa_migrated_pages_change_tree(struct worker *w)
{
	struct worker late;
	bool ok;

	if (!worker_move_pages(&w[0], 1) || !ksm_wait_scans(2, KSM_WAIT_SECS))
		return false;
	ok = !worker_start(&late) &&
	     !worker_op(&late, W_MAP, NUMA_NPAGES, 0, 0) &&
	     !worker_op(&late, W_MBIND, 0, 0, 0) &&
	     !worker_op(&late, W_FILL, BASE, NUMA_NPAGES, 0) &&
	     !worker_op(&late, W_MADV, MADV_MERGEABLE, 0, NUMA_NPAGES) &&
	     ksm_wait_scans(3, KSM_WAIT_SECS);
	ksft_print_msg("after migration: shared %ld sharing %ld chains %ld\n",
		       ksm_get("pages_shared"), ksm_get("pages_sharing"),
		       ksm_get("stable_node_chains"));
	ok = ok && ksm_get("pages_sharing") == 2 * NUMA_NPAGES &&
	     ksm_get("stable_node_chains") == NUMA_NPAGES &&
	     workers_private(&late, 1, 0, NUMA_NPAGES) &&
	     workers_check(w, NUMA_NW) && workers_check(&late, 1);
	worker_stop(&late);
	return ok;
}

static void test_numa(void)
{
	struct worker w[NUMA_NW];
	bool ok = true;
	long ret;
	int i;

	if (numa_node_count() < 2 || ksm_get("merge_across_nodes") < 0) {
		ksft_test_result_skip("numa: merge_across_nodes=0 merges per node (%s)\n",
				      "needs 2 NUMA nodes and the knob");
		ksft_test_result_skip("numa: one KSM page per node, content intact\n");
		ksft_test_result_skip("numa: merge_across_nodes busy while merged\n");
		ksft_test_result_skip("numa: migrated KSM pages move to their node's tree\n");
		ksft_test_result_skip("numa: merge_across_nodes=1 merges across nodes\n");
		return;
	}
	ksm_write_knob("run", "2");
	ret = ksm_write_knob("merge_across_nodes", "0");
	if (ret)
		ksft_print_msg("merge_across_nodes=0: %s\n", strerror(-ret));
	ok = !ret && !ksm_start();
	for (i = 0; i < NUMA_NW && ok; i++) {
		ok = !worker_start(&w[i]);
		if (!ok)
			break;
		ret = worker_op(&w[i], W_MAP, NUMA_NPAGES, 0, 0);
		if (!ret)
			ret = worker_op(&w[i], W_MBIND, i / 2, 0, 0);
		if (!ret)
			ret = worker_op(&w[i], W_FILL, BASE, NUMA_NPAGES, 0);
		if (!ret)
			ret = worker_op(&w[i], W_MADV, MADV_MERGEABLE, 0,
					NUMA_NPAGES);
		if (ret) {
			ksft_print_msg("worker %d setup: %s\n", i, strerror(-ret));
			ok = false;
		}
	}
	if (!ok) {
		ksft_exit_fail_msg("numa: setup failed\n");
		return;
	}
	ok = ksm_wait_counters(2 * NUMA_NPAGES, 2 * NUMA_NPAGES, KSM_WAIT_SECS);
	ksft_test_result(ok, "numa: merge_across_nodes=0 merges per node\n");
	ksft_test_result(ok && numa_groups_ok(w) && workers_check(w, NUMA_NW),
			 "numa: one KSM page per node, content intact\n");

	ret = ksm_write_knob("merge_across_nodes", "1");
	ksft_test_result(ret == -EBUSY && ksm_get("merge_across_nodes") == 0,
			 "numa: merge_across_nodes busy while merged (%s)\n",
			 strerror(-ret));

	ksft_test_result(numa_migrated_pages_change_tree(w),
			 "numa: migrated KSM pages move to their node's tree\n");

	ok = !ksm_write_knob("run", "2") &&
	     !ksm_write_knob("merge_across_nodes", "1") && !ksm_start() &&
	     ksm_wait_counters(NUMA_NPAGES, 3 * NUMA_NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, NUMA_NW, 0, NUMA_NPAGES) &&
	     workers_check(w, NUMA_NW);
	ksft_test_result(ok, "numa: merge_across_nodes=1 merges across nodes\n");
	workers_stop(w, NUMA_NW);
	reset_ksm();
}

/* ---- max_page_sharing / stable node chains ---- */

/*
 * @period contents in turn over CHAIN_NPAGES pages (1: a run of one content,
 * which ksmd merges into the KSM page the page before went into while it
 * can take more), max_page_sharing=2: a chain of duplicates per content.
 */
static void test_chains(long period)
{
	const char *what = period == 1 ? "chains of a run" : "chains";
	long addr, i, j, n, bad = 0, expect = CHAIN_NPAGES / 2;
	unsigned long pfns[CHAIN_NPAGES];
	struct worker w;
	bool ok;

	ksm_write_knob("run", "2");
	if (ksm_write_knob("max_page_sharing", "2") || ksm_start()) {
		ksft_exit_fail_msg("chains: cannot set max_page_sharing=2\n");
		return;
	}
	if (worker_start_filled(&w, CHAIN_NPAGES, BASE + 0x1000, period))
		ksft_exit_fail_msg("%s: cannot start worker\n", what);

	/* Every content: CHAIN_NPAGES / period copies, 2 to a KSM page */
	ok = ksm_wait_counters(expect, expect, KSM_WAIT_SECS);
	ksft_print_msg("stable_node_chains=%ld stable_node_dups=%ld\n",
		       ksm_get("stable_node_chains"), ksm_get("stable_node_dups"));
	ok = ok && ksm_get("stable_node_chains") == period &&
	     ksm_get("stable_node_dups") == expect;
	ksft_test_result(ok, "%s: max_page_sharing=2 builds chains of dups\n",
			 what);

	addr = worker_op(&w, W_ADDR, 0, 0, 0);
	for (i = 0; i < CHAIN_NPAGES; i++)
		pfns[i] = page_pfn(w.pid, (char *)addr + i * page_size);
	for (i = 0; i < CHAIN_NPAGES; i++) {
		n = 0;
		for (j = 0; j < CHAIN_NPAGES; j++)
			if (pfns[j] == pfns[i])
				n++;
		if (!pfns[i] || n != 2) {
			ksft_print_msg("page %ld: pfn %#lx mapped %ld times\n",
				       i, pfns[i], n);
			bad++;
		}
	}
	ok = !bad && ksm_get("pages_sharing") <=
	     ksm_get("pages_shared") * (2 - 1);
	ksft_test_result(ok && !worker_op(&w, W_CHECK, 0, 0, 0),
			 "%s: each KSM page mapped at most twice, content intact\n",
			 what);

	ok = !ksm_write_knob("run", "2") && !ksm_get("pages_shared") &&
	     !ksm_get("pages_sharing") && !ksm_get("stable_node_chains") &&
	     !ksm_get("stable_node_dups");
	if (!ok)
		ksm_print_counters("after run=2");
	ok = ok && workers_private(&w, 1, 0, CHAIN_NPAGES) &&
	     !worker_op(&w, W_CHECK, 0, 0, 0);
	ksft_test_result(ok, "%s: run=2 unmerges chains, content intact\n",
			 what);
	worker_stop(&w);
	reset_ksm();
}

/*
 * KSM pages of a chain that outlive all their mappings (here, held by a
 * pipe) leave stale duplicates behind once freed.  Chains are swept for
 * those at most once per stable_node_chains_prune_millisecs: an hour keeps
 * them, 0 sweeps them within a few scans.
 */
static bool chain_prune_run(struct region *r, int *pipefd, long *kept,
			    long *left)
{
	long expect = CHAIN_NPAGES / 2;
	struct iovec iov = { r->buf, CHAIN_NPAGES * page_size };

	if (!ksm_wait_counters(expect, expect, KSM_WAIT_SECS) ||
	    vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)iov.iov_len ||
	    ksm_write_knob("stable_node_chains_prune_millisecs", "3600000"))
		return false;
	region_unmap(r);
	if (!ksm_wait_counters(0, 0, KSM_WAIT_SECS))
		return false;
	close(pipefd[0]);
	close(pipefd[1]);
	if (!ksm_wait_scans(3, KSM_WAIT_SECS))
		return false;
	*kept = ksm_get("stable_node_dups");
	if (ksm_write_knob("stable_node_chains_prune_millisecs", "0") ||
	    !ksm_wait_scans(3, KSM_WAIT_SECS))
		return false;
	*left = ksm_get("stable_node_dups");
	return true;
}

static void test_chain_prune(void)
{
	long kept = -1, left = -1;
	int pipefd[2];
	struct region r;
	bool ok;

	ksm_write_knob("run", "2");
	ok = !ksm_write_knob("max_page_sharing", "2") &&
	     !ksm_write_knob("stable_node_chains_prune_millisecs", "0") &&
	     !ksm_start() && !pipe(pipefd) && !region_map(&r, CHAIN_NPAGES);
	if (!ok)
		ksft_exit_fail_msg("chains: cannot set up the prune test\n");
	/*
	 * No other mergeable page: a lookup in the stable tree would drop
	 * stale heads on the way, whatever the prune interval.
	 */
	region_fill(&r, BASE + 0x1100, CHAIN_PERIOD);
	ok = !madvise(r.buf, CHAIN_NPAGES * page_size, MADV_MERGEABLE) &&
	     chain_prune_run(&r, pipefd, &kept, &left);
	ksft_print_msg("chains: stale dups kept %ld (of %d), left after prune %ld\n",
		       kept, CHAIN_NPAGES / 2, left);
	ksft_test_result(ok && kept == CHAIN_NPAGES / 2 && left == 0 &&
			 ksm_get("stable_node_chains") == 0,
			 "chains: stale dups pruned per stable_node_chains_prune_millisecs\n");
	ksm_write_knob("stable_node_chains_prune_millisecs", "2000");
	region_unmap(&r);
	reset_ksm();
}

/* ---- use_zero_pages ---- */

static unsigned long zero_pfn(void)
{
	unsigned long pfn = 0;
	char *p;

	p = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return 0;
	/* A read fault maps the shared zero page. */
	if (!madvise(p, page_size, MADV_POPULATE_READ))
		pfn = page_pfn(0, p);
	munmap(p, page_size);
	return pfn;
}

static void test_zero(void)
{
	unsigned long zpfn = zero_pfn();
	struct region r;
	long before, i;
	bool ok;

	if (ksm_get("use_zero_pages") < 0 || ksm_get("ksm_zero_pages") < 0) {
		ksft_test_result_skip("zero: use_zero_pages=0 merges zero pages as KSM page (%s)\n",
				      "no use_zero_pages/ksm_zero_pages");
		ksft_test_result_skip("zero: use_zero_pages=1 maps the zero page\n");
		ksft_test_result_skip("zero: MADV_UNMERGEABLE breaks zero pages\n");
		return;
	}

	/* use_zero_pages=0: one ordinary KSM page for all zero pages */
	if (region_map(&r, ZERO_NPAGES))
		ksft_exit_fail_msg("zero: mmap failed\n");
	region_fill(&r, 0, 1);
	ok = !madvise(r.buf, ZERO_NPAGES * page_size, MADV_MERGEABLE) &&
	     ksm_wait_counters(1, ZERO_NPAGES - 1, KSM_WAIT_SECS);
	for (i = 1; i < ZERO_NPAGES && ok; i++)
		ok = page_pfn(0, r.buf + i * page_size) == page_pfn(0, r.buf) &&
		     page_pfn(0, r.buf) != zpfn;
	ksft_test_result(ok && !region_check(&r) &&
			 self_stat("ksm_zero_pages") <= 0,
			 "zero: use_zero_pages=0 merges zero pages as KSM page\n");
	region_unmap(&r);
	if (!ksm_wait_counters(0, 0, KSM_WAIT_SECS))
		ksft_print_msg("counters not 0 after unmap\n");

	/* use_zero_pages=1: each zero page maps the shared zero page */
	before = ksm_get("ksm_zero_pages");
	if (ksm_write_knob("use_zero_pages", "1") || region_map(&r, ZERO_NPAGES))
		ksft_exit_fail_msg("zero: cannot set use_zero_pages=1\n");
	region_fill(&r, 0, 1);
	ok = !madvise(r.buf, ZERO_NPAGES * page_size, MADV_MERGEABLE) &&
	     wait_value(ksm_get, "ksm_zero_pages", before + ZERO_NPAGES,
			KSM_WAIT_SECS) &&
	     wait_value(self_stat, "ksm_zero_pages", ZERO_NPAGES, KSM_WAIT_SECS);
	for (i = 0; i < ZERO_NPAGES && ok; i++) {
		if (page_pfn(0, r.buf + i * page_size) != zpfn) {
			ksft_print_msg("page %ld: pfn %#lx, zero pfn %#lx\n", i,
				       page_pfn(0, r.buf + i * page_size), zpfn);
			ok = false;
		}
	}
	ksft_test_result(ok && !region_check(&r) &&
			 !ksm_get("pages_shared") && !ksm_get("pages_sharing"),
			 "zero: use_zero_pages=1 maps the zero page\n");

	/* MADV_UNMERGEABLE: back to private zero-filled, writable pages */
	ok = !madvise(r.buf, ZERO_NPAGES * page_size, MADV_UNMERGEABLE) &&
	     wait_value(ksm_get, "ksm_zero_pages", before, KSM_WAIT_SECS) &&
	     wait_value(self_stat, "ksm_zero_pages", 0, KSM_WAIT_SECS) &&
	     !region_check(&r);
	for (i = 0; i < ZERO_NPAGES && ok; i++)
		ok = page_pfn(0, r.buf + i * page_size) != zpfn;
	for (i = 0; i < ZERO_NPAGES; i++)
		region_set(&r, i, BASE + 0x2000 + i);
	ksft_test_result(ok && !region_check(&r),
			 "zero: MADV_UNMERGEABLE breaks zero pages\n");
	region_unmap(&r);
	reset_ksm();
}

/* ---- prctl(PR_SET_MEMORY_MERGE) ---- */

enum { P_SETGET, P_BADARGS, P_FORK, P_EXEC, P_MERGE, P_UNMERGE, P_NR };

/* argv[1] of a re-executed ksm_features that reports PR_GET_MEMORY_MERGE */
#define EXEC_GET_MERGE "--get-memory-merge"

static bool prctl_einval(int op, long a2, long a3, long a4, long a5)
{
	return prctl(op, a2, a3, a4, a5) == -1 && errno == EINVAL;
}

/* All pages of @r share their pfn with the first page of equal content. */
static bool self_merged(struct region *r, long period)
{
	long i;

	for (i = 0; i < r->npages; i++) {
		unsigned long pfn = page_pfn(0, r->buf + i * page_size);

		if (!pfn || pfn != page_pfn(0, r->buf + (i % period) * page_size))
			return false;
	}
	return true;
}

static bool self_private(struct region *r)
{
	long i, j;

	for (i = 0; i < r->npages; i++) {
		__u64 e = pagemap_entry(0, r->buf + i * page_size);

		if (!(e & PM_PRESENT) || !(e & PM_MMAP_EXCLUSIVE))
			return false;
		for (j = 0; j < i; j++)
			if (page_pfn(0, r->buf + j * page_size) ==
			    (e & PM_PFN_MASK))
				return false;
	}
	return true;
}

static void prctl_child(int fd)
{
	bool res[P_NR] = { 0 };
	struct region r;
	double end;
	int status;
	pid_t pid;

	res[P_SETGET] = prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 0 &&
			!prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) &&
			prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1;
	/*
	 * Only nonzero unused arguments are rejected: 6.12's kernel/sys.c
	 * takes any nonzero arg2 of PR_SET_MEMORY_MERGE as "enable".
	 */
	res[P_BADARGS] = !prctl(PR_SET_MEMORY_MERGE, 2, 0, 0, 0) &&
			 prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1 &&
			 prctl_einval(PR_SET_MEMORY_MERGE, 1, 1, 0, 0) &&
			 prctl_einval(PR_SET_MEMORY_MERGE, 1, 0, 1, 0) &&
			 prctl_einval(PR_SET_MEMORY_MERGE, 0, 0, 0, 1) &&
			 prctl_einval(PR_GET_MEMORY_MERGE, 1, 0, 0, 0) &&
			 prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1;

	fflush(NULL);
	pid = fork();
	if (!pid)
		_exit(prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1 ? 0 : 1);
	res[P_FORK] = pid > 0 && waitpid(pid, &status, 0) == pid &&
		      WIFEXITED(status) && !WEXITSTATUS(status);

	fflush(NULL);
	pid = fork();
	if (!pid) {
		execl("/proc/self/exe", "ksm_features", EXEC_GET_MERGE, NULL);
		_exit(2);
	}
	res[P_EXEC] = pid > 0 && waitpid(pid, &status, 0) == pid &&
		      WIFEXITED(status) && !WEXITSTATUS(status);

	/* New mappings are mergeable without madvise. */
	if (region_map(&r, PRCTL_NPAGES))
		_exit(1);
	region_fill(&r, BASE + 0x3000, PRCTL_PERIOD);
	end = now_secs() + KSM_WAIT_SECS;
	while (!self_merged(&r, PRCTL_PERIOD) && now_secs() < end)
		usleep(10000);
	res[P_MERGE] = self_merged(&r, PRCTL_PERIOD) && !region_check(&r) &&
		       self_stat("ksm_merging_pages") >= PRCTL_NPAGES;
	if (!res[P_MERGE])
		ksft_print_msg("prctl: region not merged, ksm_merging_pages %ld\n",
			       self_stat("ksm_merging_pages"));

	res[P_UNMERGE] = !prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0) &&
			 prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 0 &&
			 self_private(&r) && !region_check(&r) &&
			 wait_value(self_stat, "ksm_merging_pages", 0,
				    KSM_WAIT_SECS);
	if (write(fd, res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

static void test_prctl(void)
{
	static const char * const names[P_NR] = {
		"PR_GET returns the value set",
		"nonzero extra arguments give EINVAL, arg2=2 enables",
		"setting inherited across fork",
		"setting kept across execve",
		"new mappings merge without madvise, content intact",
		"prctl 0 unmerges, content intact",
	};
	bool res[P_NR] = { 0 };
	int fds[2], i;
	pid_t pid;

	if (prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		for (i = 0; i < P_NR; i++)
			ksft_test_result_skip("prctl: %s (no PR_GET_MEMORY_MERGE)\n",
					      names[i]);
		return;
	}
	if (pipe(fds))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!pid) {
		close(fds[0]);
		prctl_child(fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != sizeof(res))
		ksft_print_msg("prctl: child died\n");
	close(fds[0]);
	waitpid(pid, NULL, 0);
	for (i = 0; i < P_NR; i++)
		ksft_test_result(res[i], "prctl: %s\n", names[i]);
	if (!ksm_wait_counters(0, 0, KSM_WAIT_SECS))
		ksft_print_msg("counters not 0 after prctl test\n");
	reset_ksm();
}

/* ---- smart_scan ---- */

static void test_smart(void)
{
	long s0, s1, s2;
	struct worker w;
	bool ok;

	if (ksm_get("smart_scan") < 0 || ksm_get("pages_skipped") < 0) {
		ksft_test_result_skip("smart: smart_scan=1 skips unmergeable pages (%s)\n",
				      "no smart_scan/pages_skipped");
		ksft_test_result_skip("smart: smart_scan=0 skips nothing\n");
		return;
	}
	/* Pages of unique content: never merge. */
	if (worker_start_filled(&w, SMART_NPAGES, BASE + 0x4000, SMART_NPAGES))
		ksft_exit_fail_msg("smart: cannot start worker\n");
	ok = !ksm_write_knob("smart_scan", "1");
	s0 = ksm_get("pages_skipped");
	ok = ok && ksm_wait_scans(12, KSM_WAIT_SECS);
	s1 = ksm_get("pages_skipped");
	ksft_print_msg("smart_scan=1: pages_skipped %ld -> %ld\n", s0, s1);
	ksft_test_result(ok && s1 > s0 && !ksm_get("pages_shared"),
			 "smart: smart_scan=1 skips unmergeable pages\n");

	ok = !ksm_write_knob("smart_scan", "0");
	s1 = ksm_get("pages_skipped");
	ok = ok && ksm_wait_scans(6, KSM_WAIT_SECS);
	s2 = ksm_get("pages_skipped");
	ksft_print_msg("smart_scan=0: pages_skipped %ld -> %ld\n", s1, s2);
	ksft_test_result(ok && s2 == s1 && !worker_op(&w, W_CHECK, 0, 0, 0),
			 "smart: smart_scan=0 skips nothing\n");
	worker_stop(&w);
	reset_ksm();
}

/* ---- an idle ksmd ---- */

#define IDLE_SECS	3

/*
 * sleep_millisecs=0 with nothing to scan: ksmd goes on completing (empty)
 * full scans, but must not keep a CPU busy doing so.  A quarter of one CPU
 * is far above what an idle ksmd takes and far below a spinning one.
 */
static void test_idle(void)
{
	long hz = sysconf(_SC_CLK_TCK), t0, t1, f0, f1;
	void *area;
	bool ok;

	/* A mergeable area with no page in it keeps this mm a KSM client. */
	area = mmap(NULL, 16 * page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok = area != MAP_FAILED &&
	     !madvise(area, 16 * page_size, MADV_MERGEABLE) &&
	     !ksm_write_knob("sleep_millisecs", "0");
	t0 = ksmd_cpu_ticks();
	f0 = ksm_get("full_scans");
	sleep(IDLE_SECS);
	t1 = ksmd_cpu_ticks();
	f1 = ksm_get("full_scans");
	ksft_print_msg("idle, sleep_millisecs=0: ksmd %ld ticks in %d s, %ld full scans\n",
		       t1 - t0, IDLE_SECS, f1 - f0);
	ok = ok && t0 >= 0 && t1 >= 0 && f1 > f0 &&
	     (t1 - t0) * 4 < hz * IDLE_SECS;
	ksft_test_result(ok, "idle: sleep_millisecs=0 with nothing to scan does not spin\n");
	ksm_write_knob("sleep_millisecs", "10");
	if (area != MAP_FAILED)
		munmap(area, 16 * page_size);
}

/* ---- advisor_mode ---- */

/* Wait up to @secs for pages_to_scan to satisfy @cmp against @val. */
static bool advisor_wait(int cmp, long val, int secs)
{
	long pts = -1;
	int i;

	for (i = 0; i < secs * 10; i++) {
		pts = ksm_get("pages_to_scan");
		if ((cmp > 0 && pts > val) || (cmp == 0 && pts == val))
			return true;
		usleep(100000);
	}
	ksft_print_msg("pages_to_scan stayed at %ld (wanted %s %ld)\n",
		       pts, cmp ? ">" : "==", val);
	return false;
}

/*
 * With a 1000 s target the advisor must come down to its minimum; then
 * 1000 pages at 10 pages per 50 ms take 5 s a round, longer than a 1 s
 * target, so it must scan faster.  Never outside [10, 400].
 */
static bool advisor_steers(void)
{
	struct worker w;
	bool ok;

	if (worker_start_filled(&w, 1000, BASE + 0x5100, 1000))
		return false;
	ok = !ksm_write_knob("advisor_min_pages_to_scan", "10") &&
	     !ksm_write_knob("advisor_max_pages_to_scan", "400") &&
	     !ksm_write_knob("advisor_target_scan_time", "1000") &&
	     !ksm_write_knob("sleep_millisecs", "50") &&
	     advisor_wait(0, 10, 60) &&
	     !ksm_write_knob("advisor_target_scan_time", "1") &&
	     advisor_wait(1, 10, 60) && ksm_get("pages_to_scan") <= 400;
	ksft_print_msg("advisor: raised to %ld\n", ksm_get("pages_to_scan"));
	ksm_write_knob("advisor_target_scan_time", "200");
	ksm_write_knob("advisor_min_pages_to_scan", "500");
	ksm_write_knob("advisor_max_pages_to_scan", "30000");
	ksm_write_knob("sleep_millisecs", "10");
	worker_stop(&w);
	return ok;
}

static void test_advisor(void)
{
	long lo, hi, pts, ret;
	int i;
	struct worker w;
	char mode[64];
	bool ok;

	if (ksm_read_knob_str("advisor_mode", mode, sizeof(mode))) {
		ksft_test_result_skip("advisor: pages_to_scan read-only (no advisor_mode)\n");
		ksft_test_result_skip("advisor: pages_to_scan within advisor limits\n");
		ksft_test_result_skip("advisor: raises and lowers pages_to_scan\n");
		ksft_test_result_skip("advisor: advisor_mode=none restores writability\n");
		return;
	}
	if (worker_start_filled(&w, SMART_NPAGES, BASE + 0x5000, SMART_NPAGES / 2))
		ksft_exit_fail_msg("advisor: cannot start worker\n");
	ok = !ksm_write_knob("advisor_mode", "scan-time") &&
	     !ksm_read_knob_str("advisor_mode", mode, sizeof(mode)) &&
	     strstr(mode, "[scan-time]");
	ret = ksm_write_knob("pages_to_scan", "123");
	ksft_test_result(ok && ret == -EINVAL && ksm_get("pages_to_scan") != 123,
			 "advisor: pages_to_scan read-only (%s)\n",
			 strerror(-ret));

	lo = ksm_get("advisor_min_pages_to_scan");
	hi = ksm_get("advisor_max_pages_to_scan");
	ok = lo > 0 && hi >= lo;
	/* Sample pages_to_scan after each of a few full scans. */
	for (i = 0; i < 4 && ok; i++) {
		ok = ksm_wait_scans(1, KSM_WAIT_SECS);
		pts = ksm_get("pages_to_scan");
		ksft_print_msg("pages_to_scan %ld, advisor limits [%ld, %ld]\n",
			       pts, lo, hi);
		ok = ok && pts >= lo && pts <= hi;
	}
	ksft_test_result(ok &&
			 ksm_wait_counters(SMART_NPAGES / 2, SMART_NPAGES / 2,
					   KSM_WAIT_SECS) &&
			 !worker_op(&w, W_CHECK, 0, 0, 0),
			 "advisor: pages_to_scan within advisor limits\n");

	worker_stop(&w);
	ksft_test_result(advisor_steers(), "advisor: raises and lowers pages_to_scan\n");

	ok = !ksm_write_knob("advisor_mode", "none") &&
	     !ksm_write_knob("pages_to_scan", "1234") &&
	     ksm_get("pages_to_scan") == 1234;
	ksft_test_result(ok, "advisor: advisor_mode=none restores writability\n");
	reset_ksm();
}

/* ---- /proc/<pid>/ksm_stat ---- */

/* ksm_merge_any reads "yes" while PR_SET_MEMORY_MERGE is on, else "no". */
static bool merge_any_follows_prctl(void)
{
	char on[32] = "", off[32] = "";
	bool ok;

	ok = !prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) &&
	     ksm_stat_word("ksm_merge_any", on, sizeof(on));
	ok = !prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0) && ok &&
	     ksm_stat_word("ksm_merge_any", off, sizeof(off));
	if (!ok || strcmp(on, "yes") || strcmp(off, "no"))
		ksft_print_msg("ksm_merge_any: with prctl '%s', without '%s'\n",
			       on, off);
	return ok && !strcmp(on, "yes") && !strcmp(off, "no");
}

/*
 * The "KSM:" figure, in kB, of the vma starting at @start in
 * /proc/self/smaps, or of the whole process in smaps_rollup (@start 0).
 */
static long smaps_ksm_kb(const void *start)
{
	char line[256], head[32];
	bool in_vma = !start;
	long kb = -1;
	FILE *f;

	f = fopen(start ? "/proc/self/smaps" : "/proc/self/smaps_rollup", "r");
	if (!f)
		return -1;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)start);
	while (fgets(line, sizeof(line), f)) {
		if (start && strchr(line, '-') && !strchr(line, ':'))
			in_vma = false;
		if (start && !strncmp(line, head, strlen(head)))
			in_vma = true;
		if (in_vma && sscanf(line, "KSM: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Every page of @r is a KSM page: smaps must say so, in kB. */
static bool smaps_count_ksm(struct region *r)
{
	long vma_kb = smaps_ksm_kb(r->buf), all_kb = smaps_ksm_kb(NULL);
	long want = r->npages * (long)page_size / 1024;

	ksft_print_msg("smaps KSM: vma %ld kB, rollup %ld kB, want %ld\n",
		       vma_kb, all_kb, want);
	return vma_kb == want && all_kb >= want;
}

static void test_ksm_stat(void)
{
	long rmap, merging, profit, zero;
	char any[32], able[32];
	bool has_any, has_able;
	struct region r;
	int status;
	pid_t pid;
	bool ok;

	if (self_stat("ksm_rmap_items") < 0) {
		ksft_test_result_skip("ksm_stat: counts rmap items and merged pages (%s)\n",
				      "no /proc/self/ksm_stat");
		ksft_test_result_skip("ksm_stat: ksm_process_profit\n");
		ksft_test_result_skip("ksm_stat: ksm_merging_pages file matches\n");
		ksft_test_result_skip("ksm_stat: smaps and smaps_rollup count KSM pages\n");
		ksft_test_result_skip("ksm_stat: ksm_merge_any and ksm_mergeable\n");
		ksft_test_result_skip("ksm_stat: forked child starts at 0\n");
		return;
	}
	/* 16 contents x 2 copies in this process: all 32 pages merge. */
	if (region_map(&r, STAT_NPAGES))
		ksft_exit_fail_msg("ksm_stat: mmap failed\n");
	region_fill(&r, BASE + 0x6000, STAT_NPAGES / 2);
	ok = !madvise(r.buf, STAT_NPAGES * page_size, MADV_MERGEABLE) &&
	     ksm_wait_counters(STAT_NPAGES / 2, STAT_NPAGES / 2, KSM_WAIT_SECS);
	rmap = self_stat("ksm_rmap_items");
	merging = self_stat("ksm_merging_pages");
	profit = self_stat("ksm_process_profit");
	zero = self_stat("ksm_zero_pages");
	ksft_print_msg("ksm_stat: rmap_items %ld zero_pages %ld merging_pages %ld profit %ld\n",
		       rmap, zero, merging, profit);
	ksft_test_result(ok && rmap >= STAT_NPAGES && merging == STAT_NPAGES &&
			 zero == 0 && !region_check(&r),
			 "ksm_stat: counts rmap items and merged pages\n");
	/* profit = saved pages - rmap_items * sizeof(rmap item) */
	ksft_test_result(ok && profit <= merging * (long)page_size &&
			 profit > merging * (long)page_size - rmap * 256,
			 "ksm_stat: ksm_process_profit\n");
	ksft_test_result(ok && proc_merging_pages(0) == merging,
			 "ksm_stat: ksm_merging_pages file matches\n");
	ksft_test_result(ok && smaps_count_ksm(&r),
			 "ksm_stat: smaps and smaps_rollup count KSM pages\n");

	has_any = ksm_stat_word("ksm_merge_any", any, sizeof(any));
	has_able = ksm_stat_word("ksm_mergeable", able, sizeof(able));
	if (!has_any && !has_able)
		ksft_test_result_skip("ksm_stat: ksm_merge_any and ksm_mergeable (%s)\n",
				      "not in this kernel's ksm_stat, not documented for 6.12");
	else
		ksft_test_result(has_any && has_able && !strcmp(any, "no") &&
				 !strcmp(able, "yes") && merge_any_follows_prctl(),
				 "ksm_stat: ksm_merge_any and ksm_mergeable\n");

	fflush(NULL);
	pid = fork();
	if (!pid) {
		ok = self_stat("ksm_merging_pages") == 0 &&
		     self_stat("ksm_rmap_items") == 0 &&
		     self_stat("ksm_zero_pages") == 0 &&
		     proc_merging_pages(0) == 0;
		if (!ok)
			ksft_print_msg("child: rmap %ld zero %ld merging %ld (file %ld)\n",
				       self_stat("ksm_rmap_items"),
				       self_stat("ksm_zero_pages"),
				       self_stat("ksm_merging_pages"),
				       proc_merging_pages(0));
		_exit(ok && !region_check(&r) ? 0 : 1);
	}
	ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	     !WEXITSTATUS(status);
	ksft_test_result(ok, "ksm_stat: forked child starts at 0\n");
	region_unmap(&r);
	reset_ksm();
}

/* ---- tracepoints ---- */

static const char *tracefs(void)
{
	static const char * const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/events/ksm", dirs[i]);
		if (!access(path, F_OK))
			return dirs[i];
	}
	if (!mount("tracefs", dirs[0], "tracefs", 0, NULL))
		return dirs[0];
	return NULL;
}

static int trace_write(const char *dir, const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return file_write(path, val);
}

/* How many lines of the trace buffer show event @name. */
static long trace_count(const char *dir, const char *name)
{
	char path[128], line[512], key[64];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", dir);
	snprintf(key, sizeof(key), " %s: ", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, key))
			n++;
	fclose(f);
	return n;
}

/*
 * Two pairs of identical pages, merged and then unmapped, must show up as
 * scan rounds, one new KSM page per pair, a merge into it for the
 * other page, and the entries being dropped.
 */
static void test_tracepoints(void)
{
	static const char * const events[] = {
		"ksm_start_scan", "ksm_stop_scan", "ksm_remove_rmap_item",
	};
	const char *dir = tracefs();
	long merges = 0;
	struct region r;
	bool ok;
	size_t i;

	if (!dir) {
		ksft_test_result_skip("tracepoints: ksm events fire (no tracefs)\n");
		return;
	}
	ok = !trace_write(dir, "trace", "") &&
	     !trace_write(dir, "events/ksm/enable", "1") &&
	     !region_map(&r, 4);
	if (ok) {
		region_fill(&r, BASE + 0x7000, 2);
		ok = !madvise(r.buf, 4 * page_size, MADV_MERGEABLE) &&
		     ksm_wait_counters(2, 2, KSM_WAIT_SECS) && !region_check(&r);
		region_unmap(&r);
		ok = ok && ksm_wait_idle(KSM_WAIT_SECS);
	}
	trace_write(dir, "events/ksm/enable", "0");
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		long n = trace_count(dir, events[i]);

		if (n <= 0) {
			ksft_print_msg("event %s: %ld lines\n", events[i], n);
			ok = false;
		}
	}
	/* Each of the 4 pages was merged: into a new KSM page, or into one. */
	merges = trace_count(dir, "ksm_merge_one_page") +
		 trace_count(dir, "ksm_merge_with_ksm_page");
	if (merges < 4) {
		ksft_print_msg("merge events: %ld lines\n", merges);
		ok = false;
	}
	trace_write(dir, "trace", "");
	ksft_test_result(ok, "tracepoints: ksm events fire\n");
}

int main(int argc, char **argv)
{
	/* The execve half of the prctl test: exit 0 if merging is on. */
	if (argc > 1 && !strcmp(argv[1], EXEC_GET_MERGE))
		return prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1 ? 0 : 1;

	ksft_print_header();
	ksft_set_plan(5 + 4 + 3 + P_NR + 2 + 1 + 4 + 6 + 1 + 3);
	ksm_init();
	ksm_setup_fast();

	test_numa();
	test_chains(CHAIN_PERIOD);
	test_chain_prune();
	test_zero();
	test_prctl();
	test_smart();
	test_idle();
	test_advisor();
	test_ksm_stat();
	test_tracepoints();
	test_chains(1);

	ksm_restore_knobs();
	ksft_finished();
}
