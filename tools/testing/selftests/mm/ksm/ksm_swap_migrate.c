// SPDX-License-Identifier: GPL-2.0
/*
 * KSM pages under swap, NUMA migration and memory offlining.
 *
 *  swap:    two workers in a fresh cgroup v2 merge NPAGES pages; the
 *           cgroup's memory.reclaim pushes them to swap (zram): the KSM
 *           pages must show up as swap entries in pagemap (MADV_PAGEOUT
 *           cannot be used: it skips pages mapped more than once, which
 *           every KSM page with sharers is); clear_refs first clears the
 *           young bits merging left, else reclaim just activates the pages.
 *           A write to a swapped KSM page
 *           and reads of the rest must give the right content; ksmd must
 *           merge everything again.  pswpout / ksm_swpin_copy are printed.
 *  migrate: three workers merge; move_pages(MPOL_MF_MOVE_ALL) moves the KSM
 *           pages to node 1 (move_pages status query of every worker),
 *           mbind(MPOL_BIND, MPOL_MF_MOVE_ALL) brings them back to node 0;
 *           content, shared pfn and counters are checked.  Migration is
 *           best effort (ksmd keeps scanning and may hold a page briefly),
 *           so each step is retried up to 10 times.
 *  two vmas: pages of two vmas (two anon_vmas) side by side in one window
 *           of KSM_WINDOW pages, kept apart by a PROT_NONE page, merge in
 *           pairs, one page of each vma per KSM page; move_pages must move
 *           every KSM page, which takes an rmap walk finding both vmas'
 *           ptes: the window's entries must keep the anon_vma of each.
 *  offline: two workers bound (mbind) to the node of an online ZONE_MOVABLE
 *           memory block merge; the block holding most of the KSM pages
 *           (pfn from pagemap) is offlined: content intact, pages still
 *           merged and moved out of the block; then it is onlined again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest.h"
#include "ksm_lib.h"

#define NPAGES	256
#define BASE	0x30000

#ifndef BIT
#define BIT(nr)			(1UL << (nr))
#endif

#define MPOL_MF_STRICT		BIT(0)
#define MPOL_MF_MOVE_ALL	BIT(2)

/* ---- swap ---- */

static char cg_root[128], cg_dir[192];
static bool cg_mounted;

static bool swap_active(void)
{
	char line[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

static bool find_cgroup2(void)
{
	char dev[128], mnt[128], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (f) {
		while (fscanf(f, "%127s %127s %63s %*[^\n]", dev, mnt, type) == 3) {
			if (!strcmp(type, "cgroup2")) {
				snprintf(cg_root, sizeof(cg_root), "%s", mnt);
				found = true;
				break;
			}
		}
		fclose(f);
	}
	if (found)
		return true;
	snprintf(cg_root, sizeof(cg_root), "/tmp/ksm_cgroup2");
	mkdir(cg_root, 0755);
	if (mount("none", cg_root, "cgroup2", 0, NULL)) {
		ksft_print_msg("mount cgroup2: %s\n", strerror(errno));
		rmdir(cg_root);
		return false;
	}
	cg_mounted = true;
	return true;
}

static void cg_cleanup(void)
{
	if (cg_dir[0])
		rmdir(cg_dir);
	cg_dir[0] = '\0';
	if (cg_mounted) {
		umount(cg_root);
		rmdir(cg_root);
		cg_mounted = false;
	}
}

static const char *cg_setup(void)
{
	char path[256], buf[256];

	if (!find_cgroup2())
		return "cannot mount cgroup2";
	snprintf(path, sizeof(path), "%s/cgroup.controllers", cg_root);
	if (file_read(path, buf, sizeof(buf)) || !strstr(buf, "memory")) {
		cg_cleanup();
		return "memory controller not available in cgroup2";
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg_root);
	file_write(path, "+memory");
	snprintf(cg_dir, sizeof(cg_dir), "%s/ksm_selftest_swap", cg_root);
	if (mkdir(cg_dir, 0755) && errno != EEXIST) {
		cg_dir[0] = '\0';
		cg_cleanup();
		return "cannot create cgroup";
	}
	snprintf(path, sizeof(path), "%s/memory.reclaim", cg_dir);
	if (access(path, F_OK)) {
		cg_cleanup();
		return "no memory.reclaim in cgroup2";
	}
	return NULL;
}

static int cg_write(const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg_dir, file);
	return file_write(path, val);
}

static void cg_dump(const char *when)
{
	static const char * const keys[] = {
		"anon ", "active_anon ", "inactive_anon ", "file ", "pgscan ",
		"pgsteal ", "pgactivate ", "pgdeactivate ", "swapcached ",
	};
	char path[256], line[256];
	unsigned int i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", cg_dir);
	if (!file_read(path, line, sizeof(line)))
		ksft_print_msg("%s: memory.current %s\n", when, line);
	snprintf(path, sizeof(path), "%s/memory.stat", cg_dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				ksft_print_msg("%s: %s", when, line);
	}
	fclose(f);
}

static long swapped_pages(struct worker *w)
{
	uint64_t ents[NPAGES];
	long addr = worker_op(w, W_ADDR, 0, 0, 0);
	long i, n = 0;

	if (pagemap_range(w->pid, (void *)addr, NPAGES, ents))
		return -1;
	for (i = 0; i < NPAGES; i++)
		if (ents[i] & PM_SWAP)
			n++;
	return n;
}

static void test_swap(void)
{
	long pswpout0, swpin_copy0, s0 = 0, s1 = 0;
	const char *why;
	struct worker w[2];
	char pid[16];
	int i, round, ret;
	bool ok;

	if (!swap_active()) {
		why = "no active swap device";
		goto skip;
	}
	why = cg_setup();
	if (why)
		goto skip;

	for (i = 0; i < 2; i++) {
		if (worker_start(&w[i]))
			ksft_exit_fail_msg("cannot start worker\n");
		snprintf(pid, sizeof(pid), "%d", w[i].pid);
		if (cg_write("cgroup.procs", pid))
			ksft_exit_fail_msg("cannot move worker into cgroup\n");
		if (worker_op(&w[i], W_MAP, NPAGES, 0, 0) ||
		    worker_op(&w[i], W_FILL, BASE, NPAGES, 0) ||
		    worker_op(&w[i], W_MADV, MADV_MERGEABLE, 0, NPAGES))
			ksft_exit_fail_msg("worker setup failed\n");
	}
	ok = ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 2, 0, NPAGES);
	ksft_test_result(ok, "swap: workers merged before reclaim\n");

	pswpout0 = vmstat_get("pswpout");
	swpin_copy0 = vmstat_get("ksm_swpin_copy");
	/* ksmd must not touch the pages while we reclaim them. */
	ksm_write_knob("run", "0");
	cg_dump("before reclaim");
	for (round = 0; round < 30; round++) {
		/*
		 * Merging left young ptes behind, and reclaim activates a
		 * folio referenced through any of its mappings: clear the
		 * accessed bits of both workers so the pages look cold.
		 */
		for (i = 0; i < 2; i++) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/clear_refs",
				 w[i].pid);
			file_write(path, "1");
		}
		ret = cg_write("memory.reclaim", "16M");
		if (!round)
			ksft_print_msg("memory.reclaim: %s\n",
				       ret ? strerror(-ret) : "ok");
		s0 = swapped_pages(&w[0]);
		s1 = swapped_pages(&w[1]);
		if (s0 >= NPAGES * 9 / 10 && s1 >= NPAGES * 9 / 10)
			break;
	}
	cg_dump("after reclaim");
	ksft_print_msg("swap: %ld/%ld pages swapped after %d rounds, pswpout %ld -> %ld\n",
		       s0, s1, round + 1, pswpout0, vmstat_get("pswpout"));
	ksft_test_result(s0 >= NPAGES / 2 && s1 >= NPAGES / 2,
			 "swap: merged pages swapped out\n");

	/* Write to a (swapped) KSM page in both workers, read the rest. */
	worker_op(&w[0], W_SET, 0, BASE + 0x5000, 0);
	worker_op(&w[1], W_SET, 0, BASE + 0x6000, 0);
	ksft_test_result(workers_check(w, 2),
			 "swap: content intact after swap-in\n");
	ksft_print_msg("swap: ksm_swpin_copy %ld -> %ld (-1: not in /proc/vmstat)\n",
		       swpin_copy0, vmstat_get("ksm_swpin_copy"));

	ksm_start();
	ok = ksm_wait_counters(NPAGES - 1, NPAGES - 1, KSM_WAIT_SECS) &&
	     workers_merged(w, 2, 1, NPAGES - 1) && workers_check(w, 2);
	ksft_test_result(ok, "swap: pages merged again after swap-in\n");

	workers_stop(w, 2);
	cg_cleanup();
	ksft_test_result(ksm_wait_idle(KSM_WAIT_SECS), "swap: no leak after exit\n");
	return;
skip:
	ksft_test_result_skip("swap: workers merged before reclaim (%s)\n", why);
	ksft_test_result_skip("swap: merged pages swapped out (%s)\n", why);
	ksft_test_result_skip("swap: content intact after swap-in (%s)\n", why);
	ksft_test_result_skip("swap: pages merged again after swap-in (%s)\n", why);
	ksft_test_result_skip("swap: no leak after exit (%s)\n", why);
}

/* ---- migration ---- */

/* All NPAGES pages of every worker are on @node (move_pages query). */
static bool all_on_node(struct worker *w, int nw, int node, bool verbose)
{
	void *pages[NPAGES];
	int status[NPAGES];
	long addr, i;
	int j;

	for (j = 0; j < nw; j++) {
		addr = worker_op(&w[j], W_ADDR, 0, 0, 0);
		for (i = 0; i < NPAGES; i++)
			pages[i] = (char *)addr + i * page_size;
		if (sys_move_pages(w[j].pid, NPAGES, pages, NULL, status, 0)) {
			ksft_print_msg("move_pages query: %s\n", strerror(errno));
			return false;
		}
		for (i = 0; i < NPAGES; i++) {
			if (status[i] == node)
				continue;
			if (verbose)
				ksft_print_msg("worker %d page %ld on node %d, expected %d\n",
					       j, i, status[i], node);
			return false;
		}
	}
	return true;
}

#define MBIND_TEST "migrate: mbind MPOL_MF_MOVE_ALL moves KSM pages to node 0\n"

static void test_migrate(void)
{
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES];
	struct worker w[3];
	long addr, ret, i;
	int try;
	bool ok;

	if (numa_node_count() < 2) {
		ksft_test_result_skip("migrate: initial merge (fewer than 2 NUMA nodes)\n");
		ksft_test_result_skip("migrate: move_pages moves KSM pages to node 1\n");
		ksft_test_result_skip("migrate: intact and merged after move_pages\n");
		ksft_test_result_skip(MBIND_TEST);
		ksft_test_result_skip("migrate: intact and merged after mbind\n");
		return;
	}
	if (workers_start_same(w, 3, NPAGES, BASE + 0x10000))
		ksft_exit_fail_msg("cannot start workers\n");
	ok = ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 3, 0, NPAGES);
	ksft_test_result(ok, "migrate: initial merge\n");

	addr = worker_op(&w[0], W_ADDR, 0, 0, 0);
	for (i = 0; i < NPAGES; i++) {
		pages[i] = (char *)addr + i * page_size;
		nodes[i] = 1;
		status[i] = -1;
	}
	/*
	 * Migration is best effort: a page that is briefly busy (ksmd keeps
	 * scanning) is left behind and reported; retry like users do.
	 */
	for (try = 0; try < 10; try++) {
		ret = sys_move_pages(w[0].pid, NPAGES, pages, nodes, status,
				     MPOL_MF_MOVE_ALL);
		if (ret < 0)
			break;
		if (!ret && all_on_node(w, 3, 1, false))
			break;
		usleep(20000);
	}
	if (ret)
		ksft_print_msg("move_pages returned %ld (%s)\n", ret,
			       ret < 0 ? strerror(errno) : "pages not moved");
	ksft_print_msg("move_pages: %d attempt(s)\n", try + 1);
	ksft_test_result(!ret && all_on_node(w, 3, 1, true),
			 "migrate: move_pages moves KSM pages to node 1\n");
	ok = workers_check(w, 3) && workers_merged(w, 3, 0, NPAGES) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 3, 0, NPAGES);
	ksft_test_result(ok, "migrate: intact and merged after move_pages\n");

	for (try = 0; try < 10; try++) {
		/* MPOL_MF_STRICT: EIO if some page could not be moved. */
		ret = worker_op(&w[1], W_MBIND, 0,
				MPOL_MF_MOVE_ALL | MPOL_MF_STRICT, 0);
		if (ret != -EIO && (ret || all_on_node(w, 3, 0, false)))
			break;
		usleep(20000);
	}
	if (ret)
		ksft_print_msg("mbind: %s\n", strerror(-ret));
	ksft_print_msg("mbind: %d attempt(s)\n", try + 1);
	ksft_test_result(!ret && all_on_node(w, 3, 0, true),
			 MBIND_TEST);
	ok = workers_check(w, 3) && workers_merged(w, 3, 0, NPAGES) &&
	     ksm_wait_scans(2, KSM_WAIT_SECS) &&
	     ksm_wait_counters(NPAGES, 2 * NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 3, 0, NPAGES);
	ksft_test_result(ok, "migrate: intact and merged after mbind\n");

	workers_stop(w, 3);
	if (!ksm_wait_idle(KSM_WAIT_SECS))
		ksft_print_msg("migrate: counters did not return to 0\n");
}

/* ---- memory offlining ---- */

#define MEMDIR "/sys/devices/system/memory"
#define MAX_BLOCKS 64

struct mblock {
	long id;
	int node;
};

static int find_movable_blocks(struct mblock *b, int max)
{
	char path[512], buf[128];
	struct dirent *de;
	int n = 0, node;
	DIR *d = opendir(MEMDIR);

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, "memory", 6) ||
		    !strchr("0123456789", de->d_name[6]) || !de->d_name[6])
			continue;
		snprintf(path, sizeof(path), MEMDIR "/%s/state", de->d_name);
		if (file_read(path, buf, sizeof(buf)) || strcmp(buf, "online"))
			continue;
		snprintf(path, sizeof(path), MEMDIR "/%s/valid_zones", de->d_name);
		if (file_read(path, buf, sizeof(buf)) || strcmp(buf, "Movable"))
			continue;
		for (node = 0; node < 64; node++) {
			snprintf(path, sizeof(path), MEMDIR "/%s/node%d",
				 de->d_name, node);
			if (!access(path, F_OK))
				break;
		}
		if (node == 64)
			continue;
		b[n].id = atol(de->d_name + 6);
		b[n].node = node;
		n++;
	}
	closedir(d);
	return n;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int block_set_state(long id, const char *state)
{
	char path[128];
	int i, ret = -EIO;

	snprintf(path, sizeof(path), MEMDIR "/memory%ld/state", id);
	for (i = 0; i < 3; i++) {
		alarm(30);
		ret = file_write(path, state);
		alarm(0);
		if (!ret || (ret != -EBUSY && ret != -EAGAIN && ret != -EINTR))
			break;
		ksft_print_msg("%s memory%ld: %s, retrying\n", state, id,
			       strerror(-ret));
		sleep(1);
	}
	return ret;
}

static void test_offline(void)
{
	struct mblock blocks[MAX_BLOCKS];
	long hits[MAX_BLOCKS] = { 0 };
	uint64_t ents[NPAGES];
	unsigned long block_pages;
	struct worker w[2];
	struct sigaction sa;
	char buf[64];
	long addr, ret, i;
	int nb, j, best = -1, node;
	bool ok, offlined = false;

	nb = find_movable_blocks(blocks, MAX_BLOCKS);
	if (!nb || file_read(MEMDIR "/block_size_bytes", buf, sizeof(buf))) {
		ksft_test_result_skip("offline: KSM pages merged on the movable node (%s)\n",
				      "no online movable memory block");
		ksft_test_result_skip("offline: KSM pages in a movable block\n");
		ksft_test_result_skip("offline: block holding KSM pages offlined\n");
		ksft_test_result_skip("offline: content intact, merged, moved out\n");
		ksft_test_result_skip("offline: block onlined again\n");
		return;
	}
	block_pages = strtoul(buf, NULL, 16) / page_size;
	node = blocks[0].node;
	ksft_print_msg("offline: %d movable block(s), first memory%ld on node %d\n",
		       nb, blocks[0].id, node);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	for (j = 0; j < 2; j++) {
		if (worker_start(&w[j]) ||
		    worker_op(&w[j], W_MAP, NPAGES, 0, 0) ||
		    worker_op(&w[j], W_MBIND, node, 0, 0) ||
		    worker_op(&w[j], W_FILL, BASE + 0x20000, NPAGES, 0) ||
		    worker_op(&w[j], W_MADV, MADV_MERGEABLE, 0, NPAGES))
			ksft_exit_fail_msg("worker setup failed\n");
	}
	ok = ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 2, 0, NPAGES);
	ksft_test_result(ok, "offline: KSM pages merged on the movable node\n");

	addr = worker_op(&w[0], W_ADDR, 0, 0, 0);
	if (pagemap_range(w[0].pid, (void *)addr, NPAGES, ents))
		ksft_exit_fail_msg("pagemap read failed\n");
	for (i = 0; i < NPAGES; i++) {
		long blk = (ents[i] & PM_PFN_MASK) / block_pages;

		for (j = 0; j < nb; j++)
			if (blocks[j].id == blk)
				hits[j]++;
	}
	for (j = 0; j < nb; j++)
		if (hits[j] && (best < 0 || hits[j] > hits[best]))
			best = j;
	if (best < 0) {
		ksft_test_result_fail("offline: KSM pages in a movable block\n");
		ksft_test_result_skip("offline: block holding KSM pages offlined\n");
		ksft_test_result_skip("offline: content intact, merged, moved out\n");
		ksft_test_result_skip("offline: block onlined again\n");
		goto out;
	}
	ksft_print_msg("offline: %ld KSM pages in memory%ld\n", hits[best],
		       blocks[best].id);
	ksft_test_result_pass("offline: KSM pages in a movable block\n");

	ret = block_set_state(blocks[best].id, "offline");
	if (ret)
		ksft_print_msg("offline memory%ld: %s\n", blocks[best].id,
			       strerror(-ret));
	{
		char st[32] = "", path[128];

		snprintf(path, sizeof(path), MEMDIR "/memory%ld/state",
			 blocks[best].id);
		file_read(path, st, sizeof(st));
		offlined = !ret && !strcmp(st, "offline");
	}
	ksft_test_result(offlined, "offline: block holding KSM pages offlined\n");

	ok = offlined && workers_check(w, 2) && workers_merged(w, 2, 0, NPAGES) &&
	     !pagemap_range(w[0].pid, (void *)addr, NPAGES, ents);
	for (i = 0; ok && i < NPAGES; i++) {
		if ((long)((ents[i] & PM_PFN_MASK) / block_pages) == blocks[best].id) {
			ksft_print_msg("page %ld still in offlined block\n", i);
			ok = false;
		}
	}
	ok = ok && ksm_wait_scans(2, KSM_WAIT_SECS) &&
	     ksm_wait_counters(NPAGES, NPAGES, KSM_WAIT_SECS) &&
	     workers_merged(w, 2, 0, NPAGES);
	ksft_test_result(ok, "offline: content intact, merged, moved out\n");

	if (offlined) {
		ret = block_set_state(blocks[best].id, "online_movable");
		if (ret)
			ksft_print_msg("online memory%ld: %s\n", blocks[best].id,
				       strerror(-ret));
		ksft_test_result(!ret, "offline: block onlined again\n");
	} else {
		ksft_test_result_skip("offline: block onlined again (not offlined)\n");
	}
out:
	workers_stop(w, 2);
	if (!ksm_wait_idle(KSM_WAIT_SECS))
		ksft_print_msg("offline: counters did not return to 0\n");
}

/* ---- two vmas in one window ---- */

#define KSM_WINDOW	24	/* pages of a block of entries (our KSM) */
#define HALF		11	/* pages of each vma: 11, a gap, 12 */

/* @npages anonymous read-write pages at @addr, replacing what was there. */
static char *map_fixed(char *addr, long npages)
{
	return mmap(addr, npages * page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* Two vmas: does /proc/self/maps show @a and @b in different ones? */
static bool separate_vmas(char *a, char *b)
{
	unsigned long start, end;
	char line[256];
	bool apart = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if ((unsigned long)a >= start && (unsigned long)a < end)
			apart = (unsigned long)b >= end;
	}
	fclose(f);
	return apart;
}

static void test_two_vmas(void)
{
	const long n = 2 * KSM_WINDOW;
	void *pages[KSM_WINDOW];
	int nodes[KSM_WINDOW], status[KSM_WINDOW];
	char *area, *w, *second;
	long i, ret = -1, merged;
	int try, target;
	bool ok;

	if (numa_node_count() < 2) {
		ksft_test_result_skip("%s (fewer than 2 NUMA nodes)\n",
				      "two vmas: merged across vmas in one window");
		ksft_test_result_skip("two vmas: move_pages moves every KSM page\n");
		ksft_test_result_skip("two vmas: intact after move_pages\n");
		return;
	}
	/* A window's worth of address space, aligned to a window. */
	area = mmap(NULL, n * page_size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	i = ((unsigned long)area / page_size) % KSM_WINDOW;
	w = area + (i ? KSM_WINDOW - i : 0) * page_size;
	second = w + (HALF + 1) * page_size;
	/* Each faulted in on its own: an anon_vma each. */
	ok = map_fixed(w, HALF) == w && map_fixed(second, HALF + 1) == second;
	for (i = 0; ok && i < HALF; i++)
		fill_page(w + i * page_size, 0x2f00 + i);
	for (i = 0; ok && i <= HALF; i++)
		fill_page(second + i * page_size, 0x2f00 + i);
	ok = ok && separate_vmas(w, second) &&
	     !madvise(w, KSM_WINDOW * page_size, MADV_MERGEABLE);
	/* Pages 0-10 of each merge: 22 pages, 11 KSM pages. */
	merged = 0;
	for (try = 0; ok && try < KSM_WAIT_SECS * 10; try++) {
		merged = proc_field("/proc/self/ksm_stat", "ksm_merging_pages");
		if (merged >= 2 * HALF)
			break;
		usleep(100000);
	}
	if (merged != 2 * HALF)
		ksft_print_msg("two vmas: %ld pages merged, want %d\n",
			       merged, 2 * HALF);
	ksft_test_result(ok && merged == 2 * HALF,
			 "two vmas: merged across vmas in one window\n");

	/* To the other node than the one the first page is on now. */
	pages[0] = w;
	if (sys_move_pages(0, 1, pages, NULL, status, 0) || status[0] < 0)
		status[0] = 1;
	target = !status[0];
	for (i = 0; i < KSM_WINDOW; i++) {
		pages[i] = w + i * page_size;
		nodes[i] = target;
	}
	/* Best effort: retried, as ksmd may hold a page briefly. */
	for (try = 0; try < 10; try++) {
		ret = sys_move_pages(0, KSM_WINDOW, pages, nodes, status,
				     MPOL_MF_MOVE_ALL);
		if (ret < 0)
			break;
		for (i = 0; i < KSM_WINDOW; i++)
			if (i != HALF && status[i] != target)
				break;
		ret = i < KSM_WINDOW;
		if (!ret)
			break;
		usleep(20000);
	}
	if (ret < 0)
		ksft_print_msg("two vmas: move_pages: %s\n", strerror(errno));
	else if (ret)
		ksft_print_msg("two vmas: page %ld not moved to node %d (%d)\n",
			       i, target, status[i]);
	ksft_test_result(!ret, "two vmas: move_pages moves every KSM page\n");

	ok = true;
	for (i = 0; i < HALF; i++)
		ok &= check_page(w + i * page_size, 0x2f00 + i);
	for (i = 0; i <= HALF; i++)
		ok &= check_page(second + i * page_size, 0x2f00 + i);
	ksft_test_result(ok, "two vmas: intact after move_pages\n");
	munmap(area, n * page_size);
	if (!ksm_wait_idle(KSM_WAIT_SECS))
		ksft_print_msg("two vmas: counters did not return to 0\n");
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(5 + 5 + 5 + 3);
	ksm_init();
	ksm_setup_fast();

	test_swap();
	test_migrate();
	test_offline();
	test_two_vmas();

	ksm_restore_knobs();
	ksft_finished();
}
