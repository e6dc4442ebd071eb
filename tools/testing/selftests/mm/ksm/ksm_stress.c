// SPDX-License-Identifier: GPL-2.0
/*
 * KSM stress: many processes with mostly identical memory do a random mix
 * of memory-management operations on it while ksmd merges at an aggressive
 * setting, and every process checks its memory against its own model of
 * what every byte must hold.
 *
 * Processes:
 *  controller  sets the knobs (sleep_millisecs=0, large pages_to_scan,
 *              small max_page_sharing so that stable node chains form),
 *              starts the others, replaces testers that exit, SIGKILLs a
 *              random tester now and then, samples pages_sharing, stops
 *              everything at the deadline and prints the report.
 *  testers     (--procs) each own up to MAX_REGIONS anonymous regions and a
 *              per-page model (content tag, one poked word, protection,
 *              hole).  Page content is a pseudo-random function of the tag;
 *              tags come mostly from a pool shared by all testers.  Ops:
 *              write and poke merged pages, verify, fork (the child checks
 *              the inherited model, works on it and exits or is killed),
 *              exit (right after making pages mergeable: exit while ksmd
 *              merges them), munmap (tail, hole, whole), mmap (new region,
 *              fill a hole), mremap (move, grow, shrink), mprotect (incl.
 *              PROT_NONE), MADV_DONTNEED, MADV_(UN)MERGEABLE, prctl
 *              PR_SET_MEMORY_MERGE on/off, mlock/munlock, MADV_PAGEOUT,
 *              move_pages between NUMA nodes, MADV_HUGEPAGE + MADV_COLLAPSE.
 *  knobs       switches run between 1, 0 and 2 and pushes the testers'
 *              cgroup to swap with memory.reclaim.
 *  hotplug     offlines and onlines ZONE_MOVABLE memory blocks (EBUSY and
 *              interrupted offlines are counted, not failures).
 *
 * A page whose content differs from the model is reported with its
 * address, the expected and the found bytes, and counts as an error.  The
 * op sequence of each process is reproducible from --seed.  The last line
 * before the results is the report:
 *   # stress: seed=S seconds=T ops=... pages_verified=... sharing_peak=...
 *     errors=...
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "ksm_lib.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED		2
#endif
#define MPOL_MF_MOVE_ALL	4	/* 1 << 2 */

#define MAX_PROCS	32
#define MAX_REGIONS	3
#define MAX_CHILDREN	2
#define MAX_MISMATCH_PRINTS	20
#define PMD_PAGES	512
#define NO_WORD		0xffff
#define POOL_BASE	0x5157000000ULL

struct stats {
	long ops;
	long pages_verified;
	long errors;		/* model mismatches and unexpected deaths */
	long mismatches;
	long forks;
	long child_kills;
	long exits;
	long kills;
	long spawned;
	long sharing_peak;
	long shared_peak;
	long run_switches;
	long reclaims;
	long offline_ok;
	long offline_busy;
	long offline_other;
	long online_ok;
	long online_fail;
	long collapse_ok;
	long collapse_fail;
	long migrated;
	long pageouts;
	long mremap_ok;
	long mremap_fail;
	long holes_taken;	/* a hole's addresses went to another mapping */
	long unmerge_fail;
	long op_count[32];
	int stop;
};

static struct stats *st;

static void stat_add(long *p, long v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static void stat_max(long *p, long v)
{
	long cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > cur &&
	       !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* ---- options ---- */

static unsigned long opt_seed = 1;
static long opt_seconds = 60;
static int opt_procs = 6;
static long opt_pages = 512;
static long opt_pool = 48;
static long opt_scan = 4000;
static long opt_max_sharing = 4;
static bool opt_hotplug = true;
static bool opt_knobs = true;
static int opt_nice = 15;	/* of the testers; ksmd runs at 5 */
static bool opt_corrupt;	/* self-test: write behind the model's back */

/* ---- random numbers (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rng_state);
}

/* Uniform in [0, n). */
static long rnd_below(long n)
{
	return n > 0 ? (long)(rnd() % (uint64_t)n) : 0;
}

static void rng_seed(uint64_t a, uint64_t b)
{
	rng_state = mix64(a * 0x100000001b3ULL + mix64(b));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !st->stop)
		;
}

/* ---- the model ---- */

struct pg {
	uint64_t tag;		/* 0: zero page */
	uint64_t wval;		/* value of the poked word */
	uint16_t woff;		/* poked word index or NO_WORD */
	uint8_t prot;		/* PROT_* of the page */
	uint8_t hole;		/* not mapped */
};

struct reg {
	char *addr;
	long n;
	struct pg *pg;
};

static struct reg regs[MAX_REGIONS];
static pid_t children[MAX_CHILDREN];
static int tester_id;
static bool is_child;
static int mismatch_prints;
static int stop_flag;	/* set by SIGUSR1 */
static int cur_op = -1;	/* the op in progress, for the fault report */

static bool stopping(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED) || st->stop;
}

static void on_stop(int sig)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

static inline uint64_t tag_word(uint64_t tag, size_t i)
{
	return tag ? mix64(mix64(tag) + i) | 1 : 0;
}

static inline uint64_t expect_word(const struct pg *p, size_t i)
{
	return i == p->woff ? p->wval : tag_word(p->tag, i);
}

static void fill(struct reg *r, long i, uint64_t tag)
{
	uint64_t *w = (uint64_t *)(r->addr + i * page_size);
	size_t k, n = page_size / sizeof(*w);

	for (k = 0; k < n; k++)
		w[k] = tag_word(tag, k);
	r->pg[i].tag = tag;
	r->pg[i].woff = NO_WORD;
}

static bool verify_page(struct reg *r, long i, const char *when)
{
	const uint64_t *w = (const uint64_t *)(r->addr + i * page_size);
	const struct pg *p = &r->pg[i];
	size_t k, n = page_size / sizeof(*w), first = n, bad = 0;

	if (p->hole || !(p->prot & PROT_READ))
		return true;
	for (k = 0; k < n; k++) {
		if (w[k] != expect_word(p, k)) {
			if (first == n)
				first = k;
			bad++;
		}
	}
	stat_add(&st->pages_verified, 1);
	if (!bad)
		return true;
	stat_add(&st->mismatches, 1);
	stat_add(&st->errors, 1);
	if (mismatch_prints++ < MAX_MISMATCH_PRINTS) {
		printf("# MISMATCH at %p: expected %016llx found %016llx (%s)\n",
		       (void *)&w[first],
		       (unsigned long long)expect_word(p, first),
		       (unsigned long long)w[first], when);
		printf("#   pid %d tester %d%s region %ld page %ld word %zu",
		       getpid(), tester_id, is_child ? " (child)" : "",
		       (long)(r - regs), i, first);
		printf(" tag %llx poked word %d, %zu bad words in the page\n",
		       (unsigned long long)p->tag,
		       p->woff == NO_WORD ? -1 : p->woff, bad);
		fflush(stdout);
	}
	return false;
}

static void verify_range(struct reg *r, long s, long l, const char *when)
{
	long i;

	for (i = s; i < s + l; i++)
		verify_page(r, i, when);
}

static void verify_all(const char *when)
{
	int k;

	for (k = 0; k < MAX_REGIONS; k++)
		if (regs[k].addr)
			verify_range(&regs[k], 0, regs[k].n, when);
}

static uint64_t pick_tag(void)
{
	long x = rnd_below(100);

	if (x < 65)
		return POOL_BASE + 1 + rnd_below(opt_pool);
	if (x < 80)
		return 0;
	return rnd() | 1;	/* a page no other page equals */
}

/* Map @n pages at a PMD-aligned address (so THP can be collapsed). */
static char *map_aligned(long n, bool reserve_only)
{
	size_t len = n * page_size, pmd = PMD_PAGES * page_size;
	char *p, *a;

	p = mmap(NULL, len + pmd, reserve_only ? PROT_NONE : PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + pmd - 1) & ~(uintptr_t)(pmd - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + len + pmd - (a + len));
	return a;
}

static int reg_new(struct reg *r, long n)
{
	long i;

	r->addr = map_aligned(n, false);
	if (!r->addr)
		return -1;
	r->n = n;
	r->pg = calloc(n, sizeof(*r->pg));
	if (!r->pg) {
		munmap(r->addr, n * page_size);
		r->addr = NULL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		r->pg[i].prot = PROT_READ | PROT_WRITE;
		fill(r, i, pick_tag());
	}
	if (rnd_below(10) < 8)
		madvise(r->addr, n * page_size, MADV_MERGEABLE);
	return 0;
}

static void reg_drop(struct reg *r)
{
	free(r->pg);
	r->pg = NULL;
	r->addr = NULL;
	r->n = 0;
}

/* Make [s, s + l) of @r writable (where mapped). */
static void ensure_rw(struct reg *r, long s, long l)
{
	long i;

	for (i = s; i < s + l; i++) {
		struct pg *p = &r->pg[i];

		if (p->hole || p->prot == (PROT_READ | PROT_WRITE))
			continue;
		if (!mprotect(r->addr + i * page_size, page_size,
			      PROT_READ | PROT_WRITE))
			p->prot = PROT_READ | PROT_WRITE;
	}
}

/* Pick a used region and a range in it; false if there is none. */
static bool pick_range(struct reg **rp, long *sp, long *lp, long maxlen)
{
	int k, start = rnd_below(MAX_REGIONS);
	struct reg *r = NULL;

	for (k = 0; k < MAX_REGIONS; k++) {
		r = &regs[(start + k) % MAX_REGIONS];
		if (r->addr)
			break;
		r = NULL;
	}
	if (!r)
		return false;
	*rp = r;
	*sp = rnd_below(r->n);
	*lp = 1 + rnd_below(maxlen);
	if (*sp + *lp > r->n)
		*lp = r->n - *sp;
	return true;
}

/* Call @fn on each mapped run of pages in [s, s + l). */
static void for_mapped_runs(struct reg *r, long s, long l,
			    void (*fn)(struct reg *r, long s, long l, long arg),
			    long arg)
{
	long i = s, j;

	while (i < s + l) {
		if (r->pg[i].hole) {
			i++;
			continue;
		}
		for (j = i; j < s + l && !r->pg[j].hole; j++)
			;
		fn(r, i, j - i, arg);
		i = j;
	}
}

/* ---- operations ---- */

enum {
	OP_WRITE, OP_POKE, OP_VERIFY, OP_FORK, OP_MUNMAP, OP_MMAP, OP_MREMAP,
	OP_MPROTECT, OP_DONTNEED, OP_MERGE, OP_PRCTL, OP_MLOCK, OP_PAGEOUT,
	OP_MIGRATE, OP_THP, NR_OPS,
};

static const char * const op_names[NR_OPS] = {
	"write", "poke", "verify", "fork", "munmap", "mmap", "mremap",
	"mprotect", "dontneed", "merge", "prctl", "mlock", "pageout",
	"migrate", "thp",
};

static const int op_weight[NR_OPS] = {
	[OP_WRITE] = 20, [OP_POKE] = 10, [OP_VERIFY] = 14, [OP_FORK] = 2,
	[OP_MUNMAP] = 3, [OP_MMAP] = 4, [OP_MREMAP] = 4, [OP_MPROTECT] = 8,
	[OP_DONTNEED] = 4, [OP_MERGE] = 6, [OP_PRCTL] = 2, [OP_MLOCK] = 4,
	[OP_PAGEOUT] = 4, [OP_MIGRATE] = 4, [OP_THP] = 2,
};

static void op_write(void)
{
	struct reg *r;
	long s, l, i;

	if (!pick_range(&r, &s, &l, 32))
		return;
	ensure_rw(r, s, l);
	for (i = s; i < s + l; i++) {
		if (r->pg[i].hole || r->pg[i].prot != (PROT_READ | PROT_WRITE))
			continue;
		if (rnd_below(4) == 0)
			verify_page(r, i, "before write");
		fill(r, i, pick_tag());
	}
}

static void op_poke(void)
{
	struct reg *r;
	long s, l, i;
	struct pg *p;

	if (!pick_range(&r, &s, &l, 8))
		return;
	ensure_rw(r, s, l);
	for (i = s; i < s + l; i++) {
		p = &r->pg[i];
		if (p->hole || p->prot != (PROT_READ | PROT_WRITE))
			continue;
		if (p->woff != NO_WORD) {
			/* undo the poke: the page may merge again */
			((uint64_t *)(r->addr + i * page_size))[p->woff] =
				tag_word(p->tag, p->woff);
			p->woff = NO_WORD;
			continue;
		}
		p->woff = rnd_below(page_size / sizeof(uint64_t));
		p->wval = rnd();
		((uint64_t *)(r->addr + i * page_size))[p->woff] = p->wval;
	}
}

static void op_verify(void)
{
	struct reg *r;
	long s, l;

	if (rnd_below(4) == 0) {
		verify_all("verify all");
		return;
	}
	if (pick_range(&r, &s, &l, 128))
		verify_range(r, s, l, "verify");
}

static void reap_children(bool block)
{
	int k, status;
	pid_t pid;

	for (k = 0; k < MAX_CHILDREN; k++) {
		if (!children[k])
			continue;
		pid = waitpid(children[k], &status, block ? 0 : WNOHANG);
		if (pid == 0)
			continue;
		children[k] = 0;
		if (pid < 0)
			continue;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			continue;	/* killed by us */
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			continue;
		stat_add(&st->errors, 1);
		printf("# tester %d: forked child %d %s %d\n", tester_id, pid,
		       WIFSIGNALED(status) ? "died of signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		fflush(stdout);
	}
}

static void do_random_op(void);

static void child_run(void)
{
	long nops = 20 + rnd_below(200), i;

	is_child = true;
	memset(children, 0, sizeof(children));
	verify_all("fork child, inherited");
	for (i = 0; i < nops && !stopping(); i++)
		do_random_op();
	verify_all("fork child, before exit");
	if (rnd_below(2))
		madvise(regs[0].addr, regs[0].n * page_size, MADV_MERGEABLE);
	_exit(0);
}

static void op_fork(void)
{
	int k;
	pid_t pid;
	uint64_t child_seed = rnd();

	if (is_child)
		return;
	for (k = 0; k < MAX_CHILDREN && children[k]; k++)
		;
	if (k == MAX_CHILDREN) {
		reap_children(false);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		rng_seed(child_seed, 0xc41d);
		child_run();
	}
	children[k] = pid;
	stat_add(&st->forks, 1);
	if (rnd_below(3) == 0) {
		sleep_ms(rnd_below(30));
		kill(pid, SIGKILL);
		stat_add(&st->child_kills, 1);
	}
	/* Our pages are now shared copy-on-write with the child's. */
	verify_all("after fork");
}

static void munmap_run(struct reg *r, long s, long l, long arg)
{
	long i;

	munmap(r->addr + s * page_size, l * page_size);
	for (i = s; i < s + l; i++)
		r->pg[i].hole = 1;
}

static void op_munmap(void)
{
	struct reg *r;
	long s, l, x = rnd_below(10), i;

	if (!pick_range(&r, &s, &l, 64))
		return;
	if (x == 0 || r->n <= 16) {
		/* whole region, with its holes */
		verify_range(r, 0, r->n, "before munmap");
		munmap(r->addr, r->n * page_size);
		reg_drop(r);
	} else if (x < 5) {
		/* the tail */
		l = 1 + rnd_below(r->n / 4);
		verify_range(r, r->n - l, l, "before munmap");
		munmap(r->addr + (r->n - l) * page_size, l * page_size);
		r->n -= l;
	} else {
		for (i = s; i < s + l; i++)
			verify_page(r, i, "before munmap");
		for_mapped_runs(r, s, l, munmap_run, 0);
	}
}

/*
 * Map fresh pages at @addr, a hole the model keeps for a region.  Only if
 * nothing else is there: the kernel may have given the hole's addresses
 * to another mapping since (a region placed or moved there), and MAP_FIXED
 * would silently replace that region's pages.  NULL if it is taken.
 */
static char *map_hole(char *addr, size_t len)
{
	char *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == addr)
		return p;
	if (p != MAP_FAILED)
		munmap(p, len);		/* a kernel taking it as a hint */
	if (p != MAP_FAILED || errno == EEXIST)
		stat_add(&st->holes_taken, 1);
	else
		printf("# tester %d: mmap into a hole: %s\n", tester_id,
		       strerror(errno));
	return NULL;
}

static void op_mmap(void)
{
	struct reg *r = NULL;
	long i, j, k;
	char *p;

	for (k = 0; k < MAX_REGIONS; k++) {
		if (!regs[k].addr) {
			reg_new(&regs[k], opt_pages / 2 + rnd_below(opt_pages));
			return;
		}
	}
	/* no free slot: fill the first hole of a region */
	r = &regs[rnd_below(MAX_REGIONS)];
	for (i = 0; i < r->n && !r->pg[i].hole; i++)
		;
	if (i == r->n)
		return;
	for (j = i; j < r->n && r->pg[j].hole; j++)
		;
	p = map_hole(r->addr + i * page_size, (j - i) * page_size);
	if (!p)
		return;
	for (k = i; k < j; k++) {
		r->pg[k].hole = 0;
		r->pg[k].prot = PROT_READ | PROT_WRITE;
		r->pg[k].tag = 0;
		r->pg[k].woff = NO_WORD;
		if (rnd_below(2))
			fill(r, k, pick_tag());
	}
	if (rnd_below(2))
		madvise(p, (j - i) * page_size, MADV_MERGEABLE);
}

static void fill_hole_run(struct reg *r, long s, long l)
{
	long i;

	if (!map_hole(r->addr + s * page_size, l * page_size))
		return;
	for (i = s; i < s + l; i++) {
		r->pg[i].hole = 0;
		r->pg[i].prot = PROT_READ | PROT_WRITE;
		r->pg[i].tag = 0;
		r->pg[i].woff = NO_WORD;
	}
}

/*
 * Move [s, s + l) of @r away and back again (both mremap(MREMAP_FIXED)),
 * verifying it at the temporary address.  Needs the range within one VMA.
 */
static bool mremap_away_and_back(struct reg *r, long s, long l)
{
	char *from = r->addr + s * page_size, *to, *tmp;
	size_t len = l * page_size;
	struct reg moved;
	long i;

	for (i = s; i < s + l; i++)
		if (r->pg[i].hole || r->pg[i].prot != r->pg[s].prot)
			return false;
	to = map_aligned(l, true);
	if (!to)
		return false;
	tmp = mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (tmp == MAP_FAILED) {
		munmap(to, len);
		return false;
	}
	moved.addr = tmp;
	moved.n = l;
	moved.pg = r->pg + s;
	verify_range(&moved, 0, l, "moved by mremap");
	if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, from) ==
	    MAP_FAILED) {
		printf("# tester %d: mremap back to %p: %s\n", tester_id,
		       (void *)from, strerror(errno));
		fflush(stdout);
		stat_add(&st->errors, 1);
		_exit(5);
	}
	verify_range(r, s, l, "moved back by mremap");
	return true;
}

static void op_mremap(void)
{
	struct reg *r;
	long s, l, i, n2;
	struct pg *pg2;
	char *to, *got;

	if (!pick_range(&r, &s, &l, 32))
		return;
	if (rnd_below(3) == 0) {
		if (mremap_away_and_back(r, s, l))
			stat_add(&st->mremap_ok, 1);
		else
			stat_add(&st->mremap_fail, 1);
		return;
	}
	/* One VMA is needed: fill holes, same protection, flags. */
	for (i = 0; i < r->n; i++) {
		if (r->pg[i].hole) {
			for (s = i; i < r->n && r->pg[i].hole; i++)
				;
			fill_hole_run(r, s, i - s);
		}
	}
	for (i = 0; i < r->n; i++)
		if (r->pg[i].hole)
			return;
	mprotect(r->addr, r->n * page_size, PROT_READ | PROT_WRITE);
	for (i = 0; i < r->n; i++)
		r->pg[i].prot = PROT_READ | PROT_WRITE;
	munlock(r->addr, r->n * page_size);
	madvise(r->addr, r->n * page_size, MADV_NOHUGEPAGE);
	madvise(r->addr, r->n * page_size,
		rnd_below(4) ? MADV_MERGEABLE : MADV_UNMERGEABLE);
	n2 = r->n + rnd_below(96) - 32;
	if (n2 < 16)
		n2 = 16;
	if (n2 > 2 * opt_pages)
		n2 = 2 * opt_pages;
	/*
	 * Shrink by munmap: a shrinking mremap(MREMAP_FIXED) unmaps the
	 * tail before it checks the rest, so it can fail half done.
	 */
	if (n2 < r->n) {
		verify_range(r, n2, r->n - n2, "before munmap");
		munmap(r->addr + n2 * page_size, (r->n - n2) * page_size);
		r->n = n2;
		n2 = r->n + rnd_below(2) * rnd_below(64);
	}
	pg2 = realloc(NULL, n2 * sizeof(*pg2));
	if (!pg2)
		return;
	if (rnd_below(3) == 0) {
		got = mremap(r->addr, r->n * page_size, n2 * page_size,
			     MREMAP_MAYMOVE);
	} else {
		to = map_aligned(n2, true);
		if (!to) {
			free(pg2);
			return;
		}
		got = mremap(r->addr, r->n * page_size, n2 * page_size,
			     MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (got == MAP_FAILED)
			munmap(to, n2 * page_size);
	}
	if (got == MAP_FAILED) {
		/* VMAs that cannot merge again (e.g. after fork): a part */
		free(pg2);
		l = 1 + rnd_below(r->n < 32 ? r->n : 32);
		s = rnd_below(r->n - l + 1);
		if (mremap_away_and_back(r, s, l))
			stat_add(&st->mremap_ok, 1);
		else
			stat_add(&st->mremap_fail, 1);
		return;
	}
	stat_add(&st->mremap_ok, 1);
	for (i = 0; i < n2; i++) {
		if (i < r->n) {
			pg2[i] = r->pg[i];
		} else {
			memset(&pg2[i], 0, sizeof(pg2[i]));
			pg2[i].woff = NO_WORD;
			pg2[i].prot = PROT_READ | PROT_WRITE;
		}
	}
	free(r->pg);
	r->pg = pg2;
	r->addr = got;
	r->n = n2;
	verify_range(r, 0, r->n < 64 ? r->n : 64, "after mremap");
}

static void op_mprotect(void)
{
	static const int prots[] = { PROT_NONE, PROT_READ,
				     PROT_READ | PROT_WRITE };
	int prot = prots[rnd_below(3)];
	struct reg *r;
	long s, l, i;

	if (!pick_range(&r, &s, &l, 64))
		return;
	for (i = s; i < s + l; i++) {
		if (r->pg[i].hole)
			continue;
		if (mprotect(r->addr + i * page_size, page_size, prot))
			continue;
		r->pg[i].prot = prot;
	}
	if (prot & PROT_READ)
		verify_range(r, s, l, "after mprotect");
}

static void unlock_run(struct reg *r, long s, long l, long arg)
{
	munlock(r->addr + s * page_size, l * page_size);
}

static void dontneed_run(struct reg *r, long s, long l, long arg)
{
	long i;

	if (madvise(r->addr + s * page_size, l * page_size, MADV_DONTNEED)) {
		printf("# tester %d: MADV_DONTNEED: %s\n", tester_id,
		       strerror(errno));
		return;
	}
	for (i = s; i < s + l; i++) {
		r->pg[i].tag = 0;
		r->pg[i].woff = NO_WORD;
	}
}

static void op_dontneed(void)
{
	struct reg *r;
	long s, l;

	if (!pick_range(&r, &s, &l, 64))
		return;
	for_mapped_runs(r, s, l, unlock_run, 0);
	for_mapped_runs(r, s, l, dontneed_run, 0);
	verify_range(r, s, l, "after MADV_DONTNEED");
}

static void advise_run(struct reg *r, long s, long l, long advice)
{
	if (madvise(r->addr + s * page_size, l * page_size, advice) &&
	    advice == MADV_UNMERGEABLE)
		stat_add(&st->unmerge_fail, 1);
	if (advice == MADV_PAGEOUT)
		stat_add(&st->pageouts, l);
}

static void op_merge(void)
{
	struct reg *r;
	long s, l;

	if (!pick_range(&r, &s, &l, 256))
		return;
	for_mapped_runs(r, s, l, advise_run,
			rnd_below(3) ? MADV_MERGEABLE : MADV_UNMERGEABLE);
	verify_range(r, s, l < 16 ? l : 16, "after madvise (un)mergeable");
}

static void op_prctl(void)
{
	prctl(PR_SET_MEMORY_MERGE, rnd_below(2), 0, 0, 0);
	verify_all("after prctl PR_SET_MEMORY_MERGE");
}

static void lock_run(struct reg *r, long s, long l, long lock)
{
	if (lock)
		mlock(r->addr + s * page_size, l * page_size);
	else
		munlock(r->addr + s * page_size, l * page_size);
}

static void op_mlock(void)
{
	struct reg *r;
	long s, l;

	if (!pick_range(&r, &s, &l, 64))
		return;
	for_mapped_runs(r, s, l, lock_run, rnd_below(2));
	verify_range(r, s, l, "after mlock/munlock");
}

static void op_pageout(void)
{
	struct reg *r;
	long s, l;

	if (!pick_range(&r, &s, &l, 128))
		return;
	for_mapped_runs(r, s, l, advise_run, MADV_PAGEOUT);
	if (rnd_below(2))
		verify_range(r, s, l, "after MADV_PAGEOUT");
}

static void op_migrate(void)
{
	void *pages[64];
	int nodes[64], status[64], node = rnd_below(2), k, cnt = 0;
	struct reg *r;
	long s, l, i;

	if (!pick_range(&r, &s, &l, 64))
		return;
	for (i = s; i < s + l; i++) {
		if (r->pg[i].hole)
			continue;
		pages[cnt] = r->addr + i * page_size;
		nodes[cnt++] = node;
	}
	if (!cnt || sys_move_pages(0, cnt, pages, nodes, status,
				   MPOL_MF_MOVE_ALL) < 0)
		return;
	for (k = 0; k < cnt; k++)
		if (status[k] == node)
			stat_add(&st->migrated, 1);
	verify_range(r, s, l, "after move_pages");
}

static void op_thp(void)
{
	struct reg *r;
	long s, l, start;
	char *a;

	if (!pick_range(&r, &s, &l, 1))
		return;
	a = (char *)(((uintptr_t)r->addr + PMD_PAGES * page_size - 1) &
		     ~(uintptr_t)(PMD_PAGES * page_size - 1));
	start = (a - r->addr) / page_size;
	if (start + PMD_PAGES > r->n)
		return;
	madvise(a, PMD_PAGES * page_size, MADV_HUGEPAGE);
	if (!madvise(a, PMD_PAGES * page_size, MADV_COLLAPSE))
		stat_add(&st->collapse_ok, 1);
	else
		stat_add(&st->collapse_fail, 1);
	verify_range(r, start, 32, "after MADV_COLLAPSE");
}

static void (* const op_fns[NR_OPS])(void) = {
	[OP_WRITE] = op_write, [OP_POKE] = op_poke, [OP_VERIFY] = op_verify,
	[OP_FORK] = op_fork, [OP_MUNMAP] = op_munmap, [OP_MMAP] = op_mmap,
	[OP_MREMAP] = op_mremap, [OP_MPROTECT] = op_mprotect,
	[OP_DONTNEED] = op_dontneed, [OP_MERGE] = op_merge,
	[OP_PRCTL] = op_prctl, [OP_MLOCK] = op_mlock,
	[OP_PAGEOUT] = op_pageout, [OP_MIGRATE] = op_migrate,
	[OP_THP] = op_thp,
};

static void do_random_op(void)
{
	static int total;
	int k, x;

	if (!total)
		for (k = 0; k < NR_OPS; k++)
			total += op_weight[k];
	x = rnd_below(total);
	for (k = 0; k < NR_OPS - 1 && x >= op_weight[k]; k++)
		x -= op_weight[k];
	cur_op = k;
	op_fns[k]();
	cur_op = -1;
	stat_add(&st->ops, 1);
	stat_add(&st->op_count[k], 1);
}

/*
 * SIGSEGV or SIGBUS in a tester: say where, and what the model thinks is
 * mapped there, then die of the signal (counted as an error).
 */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr, line[256];
	FILE *f;
	int k;

	printf("# FAULT signal %d code %d at %p in pid %d tester %d%s during %s\n",
	       sig, si->si_code, a, getpid(), tester_id,
	       is_child ? " (child)" : "", cur_op >= 0 ? op_names[cur_op] : "-");
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    lo < (unsigned long)a + (1UL << 21) &&
		    hi + (1UL << 21) > (unsigned long)a)
			printf("#   maps: %s", line);
	}
	if (f)
		fclose(f);
	for (k = 0; k < MAX_REGIONS; k++) {
		struct reg *r = &regs[k];
		long i;

		if (!r->addr || a < r->addr || a >= r->addr + r->n * page_size)
			continue;
		i = (a - r->addr) / page_size;
		printf("#   region %d page %ld: prot %d hole %d tag %llx\n", k,
		       i, r->pg[i].prot, r->pg[i].hole,
		       (unsigned long long)r->pg[i].tag);
	}
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_faults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* A tester: live for a random time, then exit in one of several ways. */
static void tester_run(int id, unsigned long gen)
{
	double end;
	int k;

	tester_id = id;
	signal(SIGUSR1, on_stop);
	catch_faults();
	/*
	 * ksmd runs at nice 5: CPU-bound testers at nice 0 would starve it
	 * (on the debug kernel it never completed two scans).
	 */
	if (setpriority(PRIO_PROCESS, 0, opt_nice))
		_exit(4);
	rng_seed(opt_seed, ((uint64_t)id << 32) | gen);
	end = now_secs() + 2 + rnd_below(opt_seconds / 4 + 1);
	for (k = 0; k < 2; k++)
		if (reg_new(&regs[k], opt_pages))
			_exit(3);
	while (!stopping() && now_secs() < end) {
		do_random_op();
		reap_children(false);
		if (opt_corrupt && regs[0].addr && regs[0].n &&
		    !regs[0].pg[0].hole && regs[0].pg[0].prot & PROT_WRITE) {
			regs[0].addr[17] ^= 0x40;
			opt_corrupt = false;
		}
	}
	if (!stopping() && rnd_below(2)) {
		/* exit while ksmd merges: fresh mergeable duplicates */
		for (k = 0; k < MAX_REGIONS; k++) {
			long i;

			if (!regs[k].addr)
				continue;
			ensure_rw(&regs[k], 0, regs[k].n);
			for (i = 0; i < regs[k].n; i++)
				if (!regs[k].pg[i].hole &&
				    regs[k].pg[i].prot & PROT_WRITE)
					fill(&regs[k], i, POOL_BASE + 1 +
					     rnd_below(opt_pool));
		}
		prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
		sleep_ms(rnd_below(50));
		stat_add(&st->exits, 1);
		reap_children(true);
		_exit(0);
	}
	verify_all("before exit");
	reap_children(true);
	stat_add(&st->exits, 1);
	_exit(0);
}

/* ---- helper processes ---- */

static char cg_dir[128];

static void cgroup_setup(void)
{
	char path[192], buf[32];

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		return;
	file_write("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	snprintf(cg_dir, sizeof(cg_dir), "/sys/fs/cgroup/ksm_stress");
	if (mkdir(cg_dir, 0755) && errno != EEXIST) {
		cg_dir[0] = '\0';
		return;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (file_write(path, buf)) {
		rmdir(cg_dir);
		cg_dir[0] = '\0';
	}
}

static void cgroup_cleanup(void)
{
	char buf[32];

	if (!cg_dir[0])
		return;
	snprintf(buf, sizeof(buf), "%d", getpid());
	file_write("/sys/fs/cgroup/cgroup.procs", buf);
	rmdir(cg_dir);
}

static void knobs_run(void)
{
	double next_unmerge;
	char path[192];
	long v, scans;

	signal(SIGUSR1, on_stop);
	rng_seed(opt_seed, 0x6b6e6f62);
	snprintf(path, sizeof(path), "%s/memory.reclaim", cg_dir);
	/*
	 * run=2 every 10-30 s, but only after ksmd completed 3 full scans
	 * since the last one: often enough to unmerge under the testers'
	 * feet, rarely enough that a slow (debug) ksmd merges in between.
	 * run=0 pauses are more frequent.
	 */
	next_unmerge = now_secs() + 10 + rnd_below(20);
	scans = ksm_get("full_scans");
	while (!stopping()) {
		sleep_ms(50 + rnd_below(400));
		if (stopping())
			break;
		v = rnd_below(100);
		if (v < 8 || (now_secs() > next_unmerge &&
			      ksm_get("full_scans") >= scans + 3)) {
			if (!ksm_write_knob("run", v < 8 ? "0" : "2"))
				stat_add(&st->run_switches, 1);
			if (v >= 8) {
				next_unmerge = now_secs() + 10 + rnd_below(20);
				scans = ksm_get("full_scans");
			}
			sleep_ms(20 + rnd_below(300));
			if (!ksm_write_knob("run", "1"))
				stat_add(&st->run_switches, 1);
		} else if (v < 23 && cg_dir[0]) {
			if (!file_write(path, rnd_below(2) ? "4M" : "16M"))
				stat_add(&st->reclaims, 1);
		}
	}
	ksm_write_knob("run", "1");
	_exit(0);
}

#define MAX_BLOCKS 16
static long blocks[MAX_BLOCKS];
static int nr_blocks;

static void find_movable_blocks(void)
{
	char path[320], buf[128];
	struct dirent *de;
	DIR *d = opendir("/sys/devices/system/memory");

	if (!d)
		return;
	while ((de = readdir(d)) && nr_blocks < MAX_BLOCKS) {
		if (strncmp(de->d_name, "memory", 6) ||
		    !strchr("0123456789", de->d_name[6]))
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/memory/%s/state",
			 de->d_name);
		if (file_read(path, buf, sizeof(buf)) || strncmp(buf, "online", 6))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/memory/%s/valid_zones", de->d_name);
		if (file_read(path, buf, sizeof(buf)) || strncmp(buf, "Movable", 7))
			continue;
		blocks[nr_blocks++] = strtol(de->d_name + 6, NULL, 10);
	}
	closedir(d);
}

static int block_write(long id, const char *state)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%ld/state",
		 id);
	return file_write(path, state);
}

static void on_alarm(int sig)
{
}

static void hotplug_run(void)
{
	struct sigaction sa;
	long id;
	int ret, tries;

	signal(SIGUSR1, on_stop);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: interrupts offline */
	sigaction(SIGALRM, &sa, NULL);
	rng_seed(opt_seed, 0x686f74);
	while (!stopping()) {
		sleep_ms(200 + rnd_below(1500));
		if (stopping())
			break;
		id = blocks[rnd_below(nr_blocks)];
		alarm(10);
		ret = block_write(id, "offline");
		alarm(0);
		if (!ret) {
			stat_add(&st->offline_ok, 1);
		} else if (ret == -EBUSY || ret == -EAGAIN || ret == -EINTR ||
			   ret == -ENOMEM) {
			stat_add(&st->offline_busy, 1);
			continue;
		} else {
			stat_add(&st->offline_other, 1);
			printf("# hotplug: offline memory%ld: %s\n", id,
			       strerror(-ret));
			fflush(stdout);
			continue;
		}
		sleep_ms(100 + rnd_below(500));
		for (tries = 0; tries < 20; tries++) {
			ret = block_write(id, "online_movable");
			if (!ret)
				break;
			sleep_ms(100);
		}
		if (ret) {
			stat_add(&st->online_fail, 1);
			stat_add(&st->errors, 1);
			printf("# hotplug: online memory%ld: %s\n", id,
			       strerror(-ret));
			fflush(stdout);
		} else {
			stat_add(&st->online_ok, 1);
		}
	}
	_exit(0);
}

/* ---- controller ---- */

struct proc {
	pid_t pid;
	unsigned long gen;
	bool killed;
};

static struct proc testers[MAX_PROCS];

static pid_t start_proc(void (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (pid == 0)
		fn();
	return pid;
}

static void start_tester(int id)
{
	pid_t pid;

	testers[id].gen++;
	testers[id].killed = false;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		testers[id].pid = 0;
		return;
	}
	if (pid == 0)
		tester_run(id, testers[id].gen);
	testers[id].pid = pid;
	stat_add(&st->spawned, 1);
}

static void sample_counters(void)
{
	stat_max(&st->sharing_peak, ksm_get("pages_sharing"));
	stat_max(&st->shared_peak, ksm_get("pages_shared"));
}

/* Reap testers; false if one died in a way we did not cause. */
static void reap_testers(bool restart)
{
	int id, status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (id = 0; id < opt_procs; id++)
			if (testers[id].pid == pid)
				break;
		if (id == opt_procs)
			continue;	/* knobs or hotplug */
		testers[id].pid = 0;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		    testers[id].killed) {
			stat_add(&st->kills, 1);
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			stat_add(&st->errors, 1);
			ksft_print_msg("tester %d (pid %d) %s %d\n", id, pid,
				       WIFSIGNALED(status) ? "died of signal" :
				       "exited with", WIFSIGNALED(status) ?
				       WTERMSIG(status) : WEXITSTATUS(status));
		}
		if (restart)
			start_tester(id);
	}
}

static void print_report(long seconds)
{
	char ops[512];
	int k, n = 0;

	for (k = 0; k < NR_OPS; k++)
		n += snprintf(ops + n, sizeof(ops) - n, " %s=%ld", op_names[k],
			      st->op_count[k]);
	ksft_print_msg("ops by kind:%s\n", ops);
	ksft_print_msg("procs: spawned=%ld exits=%ld killed=%ld forks=%ld forked_killed=%ld\n",
		       st->spawned, st->exits, st->kills, st->forks,
		       st->child_kills);
	printf("# mm: mremap=%ld/%ld failed, collapse=%ld/%ld failed,",
	       st->mremap_ok, st->mremap_fail, st->collapse_ok,
	       st->collapse_fail);
	printf(" migrated=%ld pages, pageout=%ld pages, unmerge_fail=%ld,",
	       st->migrated, st->pageouts, st->unmerge_fail);
	printf(" holes_taken=%ld\n", st->holes_taken);
	printf("# knobs: run_switches=%ld reclaims=%ld;", st->run_switches,
	       st->reclaims);
	printf(" hotplug: offline=%ld busy=%ld other=%ld online=%ld online_fail=%ld\n",
	       st->offline_ok, st->offline_busy, st->offline_other,
	       st->online_ok, st->online_fail);
	printf("# stress: seed=%lu seconds=%ld procs=%d ops=%ld pages_verified=%ld",
	       opt_seed, seconds, opt_procs, st->ops, st->pages_verified);
	printf(" sharing_peak=%ld shared_peak=%ld full_scans=%ld",
	       st->sharing_peak, st->shared_peak, ksm_get("full_scans"));
	printf(" mismatches=%ld errors=%ld\n", st->mismatches, st->errors);
	fflush(stdout);
}

static void print_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--seconds N] [--procs N] [--pages N]\n"
		"          [--pool N] [--scan N] [--max-sharing N] [--no-hotplug] [--no-knobs]\n"
		"          [--nice N (testers, default 15)]\n"
		"          [--corrupt (self-test: must report mismatches)]\n",
		prog);
	exit(KSFT_FAIL);
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "pages", required_argument, NULL, 'n' },
		{ "pool", required_argument, NULL, 'P' },
		{ "scan", required_argument, NULL, 'S' },
		{ "max-sharing", required_argument, NULL, 'm' },
		{ "no-hotplug", no_argument, NULL, 'H' },
		{ "no-knobs", no_argument, NULL, 'K' },
		{ "corrupt", no_argument, NULL, 'C' },
		{ "nice", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:t:p:n:P:S:m:HKCN:", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			opt_seed = strtoul(optarg, NULL, 0);
			break;
		case 't':
			opt_seconds = strtol(optarg, NULL, 0);
			break;
		case 'p':
			opt_procs = strtol(optarg, NULL, 0);
			break;
		case 'n':
			opt_pages = strtol(optarg, NULL, 0);
			break;
		case 'P':
			opt_pool = strtol(optarg, NULL, 0);
			break;
		case 'S':
			opt_scan = strtol(optarg, NULL, 0);
			break;
		case 'm':
			opt_max_sharing = strtol(optarg, NULL, 0);
			break;
		case 'H':
			opt_hotplug = false;
			break;
		case 'K':
			opt_knobs = false;
			break;
		case 'C':
			opt_corrupt = true;
			break;
		case 'N':
			opt_nice = strtol(optarg, NULL, 0);
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (opt_procs < 1 || opt_procs > MAX_PROCS || opt_seconds < 1 ||
	    opt_pages < 32 || opt_pool < 1 || opt_max_sharing < 2)
		print_usage(argv[0]);
}

int main(int argc, char **argv)
{
	pid_t knobs_pid = 0, hotplug_pid = 0;
	double start, end, next_print, next_kill;
	long seconds;
	int id, status;
	bool idle;

	parse_args(argc, argv);
	ksft_print_header();
	ksft_set_plan(6);
	ksm_init();
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		ksft_exit_fail_msg("mmap stats: %s\n", strerror(errno));
	rng_seed(opt_seed, 0);

	ksm_setup_fast();
	ksm_write_knob("run", "2");
	if (ksm_write_knob_long("max_page_sharing", opt_max_sharing))
		ksft_print_msg("cannot set max_page_sharing=%ld\n",
			       opt_max_sharing);
	ksm_write_knob_long("pages_to_scan", opt_scan);
	ksm_write_knob("sleep_millisecs", "0");
	ksm_write_knob("run", "1");
	cgroup_setup();
	/* Reap the forked children of testers that were killed. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (opt_hotplug)
		find_movable_blocks();
	printf("# seed=%lu seconds=%ld procs=%d pages=%ld pool=%ld",
	       opt_seed, opt_seconds, opt_procs, opt_pages, opt_pool);
	printf(" pages_to_scan=%ld max_page_sharing=%ld movable_blocks=%d cgroup=%s\n",
	       opt_scan, ksm_get("max_page_sharing"), nr_blocks,
	       cg_dir[0] ? cg_dir : "none");

	/* Inherited by every tester, so none can die of an early SIGUSR1. */
	signal(SIGUSR1, on_stop);
	if (opt_knobs)
		knobs_pid = start_proc(knobs_run);
	if (nr_blocks)
		hotplug_pid = start_proc(hotplug_run);
	for (id = 0; id < opt_procs; id++)
		start_tester(id);

	start = now_secs();
	end = start + opt_seconds;
	next_print = start + 30;
	next_kill = start + 3 + rnd_below(8);
	while (now_secs() < end) {
		sleep_ms(100);
		sample_counters();
		reap_testers(true);
		if (now_secs() > next_kill) {
			id = rnd_below(opt_procs);
			if (testers[id].pid) {
				testers[id].killed = true;
				kill(testers[id].pid, SIGKILL);
			}
			next_kill = now_secs() + 2 + rnd_below(10);
		}
		if (now_secs() > next_print) {
			printf("# t=%.0fs ops=%ld pages_verified=%ld sharing=%ld peak=%ld",
			       now_secs() - start, st->ops, st->pages_verified,
			       ksm_get("pages_sharing"), st->sharing_peak);
			printf(" forks=%ld exits=%ld offline=%ld/%ld errors=%ld\n",
			       st->forks, st->exits, st->offline_ok,
			       st->offline_busy, st->errors);
			fflush(stdout);
			next_print = now_secs() + 30;
		}
	}
	seconds = (long)(now_secs() - start + 0.5);

	/* Stop: testers verify everything once more and exit. */
	st->stop = 1;
	for (id = 0; id < opt_procs; id++)
		if (testers[id].pid)
			kill(testers[id].pid, SIGUSR1);
	if (knobs_pid)
		kill(knobs_pid, SIGUSR1);
	if (hotplug_pid)
		kill(hotplug_pid, SIGUSR1);
	for (id = 0; id < opt_procs; id++) {
		if (!testers[id].pid)
			continue;
		if (waitpid(testers[id].pid, &status, 0) != testers[id].pid)
			continue;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		    testers[id].killed) {
			stat_add(&st->kills, 1);	/* just before the end */
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			stat_add(&st->errors, 1);
			ksft_print_msg("tester %d (pid %d) ended with status %#x\n",
				       id, testers[id].pid, status);
		}
		testers[id].pid = 0;
	}
	if (knobs_pid)
		waitpid(knobs_pid, &status, 0);
	if (hotplug_pid)
		waitpid(hotplug_pid, &status, 0);
	while (waitpid(-1, &status, 0) > 0)
		;
	sample_counters();
	print_report(seconds);

	/* Nothing mergeable is left: KSM must drop every page and item. */
	ksm_write_knob("run", "2");
	idle = ksm_wait_idle(120);
	cgroup_cleanup();

	ksft_test_result(st->ops > 0 && st->pages_verified > 0,
			 "stress ran: ops and page verifications done\n");
	ksft_test_result(st->mismatches == 0, "no page differs from its model\n");
	ksft_test_result(st->errors == st->mismatches,
			 "no process died unexpectedly, hotplug onlined\n");
	ksft_test_result(st->sharing_peak > 0, "pages were merged (pages_sharing peak %ld)\n",
			 st->sharing_peak);
	if (nr_blocks)
		ksft_test_result(st->offline_ok + st->offline_busy > 0 &&
				 !st->offline_other,
				 "memory blocks offlined and onlined\n");
	else
		ksft_test_result_skip("memory blocks offlined and onlined (no movable block)\n");
	ksft_test_result(idle, "KSM idle after all processes exited and run=2\n");
	ksm_restore_knobs();
	ksft_finished();
}
