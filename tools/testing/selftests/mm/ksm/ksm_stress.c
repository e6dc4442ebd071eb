// SPDX-License-Identifier: GPL-2.0
/*
 * KSM stress: many processes with mostly identical memory do a random mix
 * of memory-management operations on it while ksmd merges under a changing
 * configuration, and every process checks its memory against its own model
 * of what every byte must hold.
 *
 * Processes:
 *  controller  picks the first configuration from --seed and prints it
 *              ("# config:"), starts the others, replaces testers that
 *              exit, SIGKILLs a random tester now and then, samples
 *              pages_sharing, runs the liveness watchdog, stops everything
 *              at the deadline and prints the report.
 *  testers     (--procs) each own up to MAX_REGIONS anonymous regions (some
 *              THP-backed: MADV_HUGEPAGE, 2 MiB aligned) and a per-page
 *              model (content tag, one poked word, protection, hole,
 *              MADV_FREE'd).  Page content is a pseudo-random function of
 *              the tag; tags come mostly from a pool shared by all testers.
 *              Ops: write and poke merged pages, verify, fork (the child
 *              checks the inherited model, works on it and exits or is
 *              killed), exit (right after making pages mergeable), munmap,
 *              mmap, mremap, mprotect (incl. PROT_NONE), MADV_DONTNEED,
 *              MADV_(UN)MERGEABLE, prctl PR_SET_MEMORY_MERGE, mlock,
 *              MADV_PAGEOUT, move_pages between NUMA nodes, MADV_COLLAPSE,
 *              MADV_FREE followed by reclaim, MADV_SOFT_OFFLINE and (at
 *              most --max-poison, in the second half of the run)
 *              MADV_HWPOISON of pages that are mostly KSM pages.
 *  knobs       switches run between 1, 0 and 2; while run=2 changes
 *              merge_across_nodes, max_page_sharing and merge_scope (a
 *              write that stays EBUSY after run=2 is an error); with
 *              merge_scope=process, checks now and then that no KSM page
 *              is mapped by two processes for longer than the 2 full scans
 *              ksmd takes to unmerge a fork child's inherited ones (an
 *              error otherwise); changes use_zero_pages,
 *              smart_scan, the scan-time advisor, pages_to_scan,
 *              sleep_millisecs and stable_node_chains_prune_millisecs at
 *              any time, printing every change ("# knob:"); pushes the
 *              testers' cgroup to swap with memory.reclaim.
 *  sys         compacts memory and takes the zram swap off and on again
 *              (swapoff must bring every page back intact).
 *  hotplug     offlines and onlines ZONE_MOVABLE memory blocks (EBUSY and
 *              interrupted offlines are counted, not failures).
 *
 * The model: a MADV_FREE'd page reads back as its old content or as zeroes
 * until it is written again; a hwpoisoned page is lost to every process
 * that mapped it (each gets SIGBUS when it touches it: only for the pfn, or
 * the swap entry, of a page a tester poisoned on purpose is that no error,
 * and the page is replaced by a zero page); every other page keeps its
 * data.  A page whose content
 * differs from the model is reported with its address, the expected and
 * the found bytes, its pfn and page flags, and counts as an error.  At the
 * end every tester and forked child makes its pages readable and checks
 * every one of them.
 *
 * The watchdog fails the run at once (sysrq w and l to the console) when
 * full_scans stops advancing for --watchdog seconds while ksmd should run,
 * or when a helper's write or a tester's op does not return in that time.
 *
 * The op sequence of each process is reproducible from --seed; knob
 * changes are printed as they happen.  The last line before the results
 * is the report:
 *   # stress: seed=S seconds=T ops=... pages_verified=... sharing_peak=...
 *     mismatches=... errors=...
 * Self-tests: --corrupt flips a bit behind the model's back and passes only
 * if the checker reports it; --self-test-watchdog stops ksmd behind the
 * watchdog's back and passes only if the watchdog trips in time.
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
#include <sys/swap.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "ksm_lib.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#endif
#ifndef MADV_FREE
#define MADV_FREE		8
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR		4
#define BUS_MCEERR_AO		5
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
#define MAX_POISON	32	/* pfns recorded as poisoned on purpose */
#define CORRUPT_BYTE	17	/* --corrupt flips CORRUPT_BIT of this byte */
#define CORRUPT_BIT	0x40

/* /proc/kpageflags bits */
#define KPF_COMPOUND_HEAD_BIT	15
#define KPF_COMPOUND_TAIL_BIT	16
#define KPF_HWPOISON_BIT	19
#define KPF_THP_BIT		22
/* pagemap of a swap entry: type in the low 5 bits, offset (pfn) above */
#define PM_SWAP_TYPE_BITS	5
#define PM_SWAP_TYPE_SPECIAL	16	/* lower types are real swap devices */

/* watchdog bound (s) on a fast kernel; a debug kernel (lockdep) gets 4x */
#define WATCHDOG_DEFAULT	120
#define WATCHDOG_DEBUG_FACTOR	4

enum { H_KNOBS, H_HOTPLUG, H_SYS, NR_HELPERS };

static const char * const helper_names[NR_HELPERS] = {
	"knobs", "hotplug", "sys",
};

/* A helper's blocking write in progress: since when (ms), and what. */
struct busy {
	long since_ms;
	char what[56];
};

/* Shared by all processes (MAP_SHARED). */
struct stats {
	long ops;
	long pages_verified;
	long errors;		/* model mismatches and every other failure */
	long mismatches;
	long planted;		/* --corrupt: planted corruptions reported */
	long final_verified;	/* pages checked by the final verification */
	long final_procs;
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
	long frees;		/* pages MADV_FREE'd */
	long free_fail;
	long lazy_zeroed;	/* MADV_FREE'd pages found discarded */
	long soft_ok;
	long soft_fail;
	long poison_ok;
	long poison_fail;
	long poison_sigbus;	/* SIGBUS on a page poisoned on purpose */
	long poison_unrecorded;	/* of them: key_explained() */
	long thp_regions;
	long knob_changes;
	long knob_fail;
	long tree_changes;
	long tree_ebusy;	/* EBUSY right after run=2 that went away */
	long domain_checks;	/* merge_scope=process: KSM pfns looked at */
	long cross_domain;	/* ... mapped by two processes for too long */
	long run2_fail;
	long compactions;
	long swapoffs;
	long swapoff_fail;
	long swapon_fail;
	long online_hwpoison;	/* blocks left offline: poisoned meanwhile */
	long watchdog_trips;
	long op_count[32];
	long start_ms;
	long end_ms;		/* the deadline */
	long hold_ms;		/* the knobs helper stopped ksmd (0: it did not) */
	long knob_change_ms;	/* last knob change: restarts the watchdog */
	long next_poison_ms;
	long next_soft_ms;
	long free_gen_ms;
	int free_gen;		/* MADV_FREE + reclaim: everyone verifies */
	int swap_gen;		/* swapoff done: everyone verifies */
	int nr_poisoned;
	int poison_inflight;
	int poison_ops;		/* MADV_HWPOISON and MADV_SOFT_OFFLINE calls */
	uint64_t poisoned_key[MAX_POISON];	/* see poison_record() */
	long beat_ms[MAX_PROCS];	/* a tester's last op started then */
	int beat_op[MAX_PROCS];
	struct busy busy[NR_HELPERS];
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
static long opt_scan;		/* first pages_to_scan; 0: from the seed */
static long opt_max_sharing;	/* first max_page_sharing; 0: from the seed */
static bool opt_hotplug = true;
static bool opt_knobs = true;
static bool opt_sys = true;
static int opt_nice = 15;	/* of the testers; ksmd runs at 5 */
static bool opt_corrupt;	/* self-test: write behind the model's back */
static bool opt_selftest_wd;	/* self-test: stop ksmd behind the watchdog */
static long opt_watchdog;	/* seconds; 0: default for this kernel */
static long opt_max_poison = 24;
static long opt_max_soft = 400;
static char *opt_skip_ops;	/* comma-separated op names */

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

/* ---- time ---- */

static long now_ms(void)
{
	return (long)(now_secs() * 1000);
}

/* Seconds since the stress started, for the log. */
static double t_rel(void)
{
	return (now_ms() - st->start_ms) / 1000.0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !st->stop)
		;
}

/* Mark helper @h as blocked in @what until busy_end(). */
static void busy_begin(int h, const char *what)
{
	snprintf(st->busy[h].what, sizeof(st->busy[h].what), "%s", what);
	__atomic_store_n(&st->busy[h].since_ms, now_ms(), __ATOMIC_RELEASE);
}

static void busy_end(int h)
{
	__atomic_store_n(&st->busy[h].since_ms, 0, __ATOMIC_RELEASE);
}

/* ---- the model ---- */

struct pg {
	uint64_t tag;		/* 0: zero page */
	uint64_t wval;		/* value of the poked word */
	uint16_t woff;		/* poked word index or NO_WORD */
	uint8_t prot;		/* PROT_* of the page */
	uint8_t hole;		/* not mapped */
	uint8_t lazy;		/* MADV_FREE'd: its content or zeroes */
	uint8_t lost;		/* replaced after its page was hwpoisoned */
};

struct reg {
	char *addr;
	long n;
	struct pg *pg;
};

static struct reg regs[MAX_REGIONS];
/*
 * Shared with the SIGBUS handler: set and read with __atomic ops, or the
 * compiler drops a store that no code it sees reads (it did for
 * poisoning).
 */
static struct reg *moving;	/* a range mremap has moved away for now */
static pid_t children[MAX_CHILDREN];
static int tester_id;
static bool is_child;
static int mismatch_prints;
static int stop_flag;	/* set by SIGUSR1 */
static int cur_op = -1;	/* the op in progress, for the fault report */
static char cg_dir[128];
static bool thp_ok;	/* THP is enabled (always or madvise) */
static unsigned long zero_pfn;
/* Bumped by the SIGBUS handler whenever it replaces a poisoned page. */
static int poison_gen;
static char *poisoning;	/* the page this process is poisoning now */
static char *forced_addr;	/* where the kernel's SIGBUS said it was */
/* The movable memory blocks the hotplug helper offlines and onlines. */
#define MAX_BLOCKS 16
static long blocks[MAX_BLOCKS];
static int nr_blocks;
static unsigned long block_pages;	/* pages per memory block */

static bool stopping(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED) || st->stop;
}

static void on_stop(int sig)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

static int gen_now(void)
{
	return __atomic_load_n(&poison_gen, __ATOMIC_SEQ_CST);
}

static inline uint64_t tag_word(uint64_t tag, size_t i)
{
	return tag ? mix64(mix64(tag) + i) | 1 : 0;
}

static inline uint64_t expect_word(const struct pg *p, size_t i)
{
	return i == p->woff ? p->wval : tag_word(p->tag, i);
}

static inline uint64_t *page_words(struct reg *r, long i)
{
	return (uint64_t *)(r->addr + i * page_size);
}

/* A freshly mapped page: zeroes, read-write. */
static void pg_reset(struct pg *p)
{
	memset(p, 0, sizeof(*p));
	p->woff = NO_WORD;
	p->prot = PROT_READ | PROT_WRITE;
}

/*
 * Fill page @i with the content of @tag.  Writes again if the SIGBUS
 * handler replaced a poisoned page meanwhile (it may have been this one).
 */
static void fill(struct reg *r, long i, uint64_t tag)
{
	uint64_t *w = page_words(r, i);
	size_t k, n = page_size / sizeof(*w);
	int gen;

	do {
		gen = gen_now();
		for (k = 0; k < n; k++)
			w[k] = tag_word(tag, k);
	} while (gen != gen_now());
	r->pg[i].tag = tag;
	r->pg[i].woff = NO_WORD;
	r->pg[i].lazy = 0;
}

/* Write word @k of page @i, then record it as the page's poked word. */
static void poke_word(struct reg *r, long i, size_t k, uint64_t val)
{
	uint64_t *w = page_words(r, i);
	int gen;

	do {
		gen = gen_now();
		w[k] = val;
	} while (gen != gen_now());
	r->pg[i].woff = k;
	r->pg[i].wval = val;
}

/* Give the poked word of page @i its tag's value back. */
static void unpoke_word(struct reg *r, long i)
{
	struct pg *p = &r->pg[i];
	uint64_t *w = page_words(r, i);
	size_t k = p->woff;
	int gen;

	do {	/* a replaced page has tag 0: write 0 */
		gen = gen_now();
		w[k] = tag_word(p->tag, k);
	} while (gen != gen_now());
	p->woff = NO_WORD;
}

/* Words of page @i that differ from the model; *first: the first one. */
static size_t page_diff(struct reg *r, long i, size_t *first)
{
	const uint64_t *w = page_words(r, i);
	const struct pg *p = &r->pg[i];
	size_t k, n = page_size / sizeof(*w), bad = 0;

	*first = n;
	for (k = 0; k < n; k++) {
		if (w[k] != expect_word(p, k)) {
			if (!bad)
				*first = k;
			bad++;
		}
	}
	return bad;
}

static bool page_zero(struct reg *r, long i)
{
	const uint64_t *w = page_words(r, i);
	size_t k, n = page_size / sizeof(*w);

	for (k = 0; k < n; k++)
		if (w[k])
			return false;
	return true;
}

/* The one bit --corrupt flips, and nothing else, differs in page @i. */
static bool planted_signature(struct reg *r, long i, size_t first, size_t bad)
{
	uint64_t want = expect_word(&r->pg[i], first);
	uint64_t got = page_words(r, i)[first];

	return opt_corrupt && bad == 1 && first == CORRUPT_BYTE / 8 &&
	       (want ^ got) == (uint64_t)CORRUPT_BIT << (CORRUPT_BYTE % 8 * 8);
}

static void report_mismatch(struct reg *r, long i, size_t first, size_t bad,
			    const char *when)
{
	const uint64_t *w = page_words(r, i);
	const struct pg *p = &r->pg[i];
	bool planted = planted_signature(r, i, first, bad);
	uint64_t ent = pagemap_entry(0, w);
	unsigned long pfn = ent & PM_PRESENT ? ent & PM_PFN_MASK : 0;

	if (planted) {
		stat_add(&st->planted, 1);
	} else {
		stat_add(&st->mismatches, 1);
		stat_add(&st->errors, 1);
	}
	if (mismatch_prints++ >= MAX_MISMATCH_PRINTS)
		return;
	printf("# MISMATCH at %p: expected %016llx found %016llx (%s)%s\n",
	       (void *)&w[first], (unsigned long long)expect_word(p, first),
	       (unsigned long long)w[first], when,
	       planted ? " [planted by --corrupt]" : "");
	printf("#   pid %d tester %d%s region %ld page %ld word %zu",
	       getpid(), tester_id, is_child ? " (child)" : "",
	       (long)(r - regs), i, first);
	printf(" tag %llx poked word %d, %zu bad words in the page%s%s%s\n",
	       (unsigned long long)p->tag, p->woff == NO_WORD ? -1 : p->woff,
	       bad, page_zero(r, i) ? ", the page reads all zeroes" : "",
	       p->lazy ? ", MADV_FREE'd" : "", p->lost ? ", replaced" : "");
	printf("#   pfn %#lx pagemap %#llx kpageflags %#llx\n", pfn,
	       (unsigned long long)ent,
	       (unsigned long long)(pfn ? kpageflags(pfn) : 0));
	fflush(stdout);
}

/*
 * After a reported mismatch, make page @i match the model again (write
 * its content back), so that each corruption is counted once and later
 * ones are still seen.
 */
static void resync_page(struct reg *r, long i)
{
	char *page = r->addr + i * page_size;
	struct pg *p = &r->pg[i];
	uint64_t wval = p->wval;
	size_t woff = p->woff;

	if (!(p->prot & PROT_WRITE) &&
	    mprotect(page, page_size, PROT_READ | PROT_WRITE))
		return;
	fill(r, i, p->tag);
	if (woff != NO_WORD)
		poke_word(r, i, woff, wval);
	if (!(p->prot & PROT_WRITE))
		mprotect(page, page_size, p->prot);
}

static bool verify_page(struct reg *r, long i, const char *when)
{
	struct pg *p = &r->pg[i];
	size_t bad, first;
	int gen;

	if (p->hole || !(p->prot & PROT_READ))
		return true;
	do {	/* again if a poisoned page was replaced while we read it */
		gen = gen_now();
		bad = page_diff(r, i, &first);
	} while (gen != gen_now());
	/*
	 * A MADV_FREE'd page that reclaim discarded reads as zeroes from then
	 * on (also if the discard came in the middle of the read above).
	 */
	if (bad && p->lazy && page_zero(r, i)) {
		p->tag = 0;
		p->woff = NO_WORD;
		p->lazy = 0;
		stat_add(&st->lazy_zeroed, 1);
		bad = 0;
	}
	stat_add(&st->pages_verified, 1);
	if (!bad)
		return true;
	report_mismatch(r, i, first, bad, when);
	resync_page(r, i);
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

/* At the end: make every mapped page readable and check every one. */
static void verify_final(const char *when)
{
	struct reg *r;
	long i, n = 0;
	int k;

	for (k = 0; k < MAX_REGIONS; k++) {
		r = &regs[k];
		for (i = 0; r->addr && i < r->n; i++) {
			if (r->pg[i].hole)
				continue;
			if (!(r->pg[i].prot & PROT_READ) &&
			    !mprotect(r->addr + i * page_size, page_size, PROT_READ))
				r->pg[i].prot = PROT_READ;
			if (!(r->pg[i].prot & PROT_READ)) {
				printf("# tester %d: cannot make page %ld readable: %s\n",
				       tester_id, i, strerror(errno));
				stat_add(&st->errors, 1);
				continue;
			}
			verify_page(r, i, when);
			n++;
		}
	}
	stat_add(&st->final_verified, n);
	stat_add(&st->final_procs, 1);
}

/* ---- pages poisoned on purpose ---- */

/*
 * What a tester poisoned is recorded as a key: a hwpoison entry's pfn
 * (POISON_PFN_KEY), or the swap entry the ptes keep when the poisoned
 * page was in the swap cache (the kernel then leaves it there, and a
 * swap-in of that entry gets SIGBUS): pagemap's frame of that entry.
 */
#define POISON_TYPE_MASK	((1 << PM_SWAP_TYPE_BITS) - 1)
#define POISON_PFN_KEY(pfn)	((uint64_t)(pfn) << PM_SWAP_TYPE_BITS | POISON_TYPE_MASK)

static bool key_poisoned(uint64_t key)
{
	int k, n = __atomic_load_n(&st->nr_poisoned, __ATOMIC_ACQUIRE);

	for (k = 0; k < n && k < MAX_POISON; k++)
		if (__atomic_load_n(&st->poisoned_key[k], __ATOMIC_ACQUIRE) == key)
			return true;
	return false;
}

/* Record @key as poisoned on purpose; false if there is no room. */
static bool poison_record(uint64_t key)
{
	int k;

	if (!key || key_poisoned(key))
		return true;
	k = __atomic_fetch_add(&st->nr_poisoned, 1, __ATOMIC_ACQ_REL);
	if (k >= MAX_POISON)
		return false;
	__atomic_store_n(&st->poisoned_key[k], key, __ATOMIC_RELEASE);
	return true;
}

/*
 * A key no poisoner recorded (it died first, or the kernel poisoned
 * another page than the one it looked at): a hwpoison entry is explained
 * if its pfn is hwpoisoned (nothing but us poisons in the guest), a swap
 * entry if anything was poisoned at all (the pages the kernel keeps in
 * the swap cache are not visible): counted apart.
 */
static bool key_explained(uint64_t key)
{
	if ((key & POISON_TYPE_MASK) == POISON_TYPE_MASK) {
		if (!(kpageflags(key >> PM_SWAP_TYPE_BITS) &
		      BIT_ULL(KPF_HWPOISON_BIT)))
			return false;
	} else if (!__atomic_load_n(&st->poison_ops, __ATOMIC_ACQUIRE)) {
		return false;
	}
	stat_add(&st->poison_unrecorded, 1);
	return true;
}

/* The key of the non-present entry mapped at @page; 0 if it has none. */
static uint64_t poison_key(const char *page)
{
	uint64_t ent = pagemap_entry(0, page);
	uint64_t frame = ent & PM_PFN_MASK;

	if ((ent & PM_PRESENT) || !(ent & PM_SWAP))
		return 0;
	if ((frame & POISON_TYPE_MASK) < PM_SWAP_TYPE_SPECIAL)
		return frame;	/* a swap entry */
	return POISON_PFN_KEY(frame >> PM_SWAP_TYPE_BITS);
}

/* The model's region and page index of @page (also while mremap moved it). */
static bool model_lookup(char *page, struct reg **rp, long *ip)
{
	struct reg *r;
	int k;

	for (k = 0; k <= MAX_REGIONS; k++) {
		r = k < MAX_REGIONS ? &regs[k] :
				      __atomic_load_n(&moving, __ATOMIC_SEQ_CST);
		if (!r || !r->addr || page < r->addr ||
		    page >= r->addr + r->n * page_size)
			continue;
		*rp = r;
		*ip = (page - r->addr) / page_size;
		return true;
	}
	return false;
}

/*
 * SIGBUS at @addr: if it is a page that some tester poisoned on purpose,
 * map a zero page in its place, note it in the model and return true (the
 * access is retried).  Called in the signal handler.
 */
static bool recover_poisoned(char *addr)
{
	char *page = (char *)((uintptr_t)addr & ~(uintptr_t)(page_size - 1));
	uint64_t key = poison_key(page);
	struct reg *r;
	struct pg *p;
	int tries;
	long i;

	if (!key || !model_lookup(page, &r, &i))
		return false;
	/* The poisoner records the key right after its madvise returns. */
	for (tries = 0; tries < 300 && !key_poisoned(key) &&
	     __atomic_load_n(&st->poison_inflight, __ATOMIC_ACQUIRE); tries++)
		sleep_msecs(10);
	if (!key_poisoned(key) && !key_explained(key))
		return false;
	p = &r->pg[i];
	if (mmap(page, page_size, p->prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return false;
	madvise(page, page_size, MADV_MERGEABLE);
	p->tag = 0;
	p->woff = NO_WORD;
	p->lazy = 0;
	p->lost = 1;
	__atomic_add_fetch(&poison_gen, 1, __ATOMIC_SEQ_CST);
	stat_add(&st->poison_sigbus, 1);
	return true;
}

/* ---- regions ---- */

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

/*
 * A new region of about @n pages; a third of them (when THP is on) are
 * 1 or 2 huge pages, MADV_HUGEPAGE before the first touch, so that they
 * fault in as THPs and ksmd has to split them to merge.
 */
static int reg_new(struct reg *r, long n)
{
	bool thp = thp_ok && rnd_below(3) == 0;
	long i;

	if (thp)
		n = PMD_PAGES * (1 + rnd_below(2));
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
	if (thp && !madvise(r->addr, n * page_size, MADV_HUGEPAGE))
		stat_add(&st->thp_regions, 1);
	for (i = 0; i < n; i++) {
		pg_reset(&r->pg[i]);
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

/* Reclaim from the testers' cgroup (swap out, discard MADV_FREE'd pages). */
static void cgroup_reclaim(const char *amount)
{
	char path[192];

	if (!cg_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/memory.reclaim", cg_dir);
	if (!file_write(path, amount))
		stat_add(&st->reclaims, 1);
}

/* ---- operations ---- */

enum {
	OP_WRITE, OP_POKE, OP_VERIFY, OP_FORK, OP_MUNMAP, OP_MMAP, OP_MREMAP,
	OP_MPROTECT, OP_DONTNEED, OP_MERGE, OP_PRCTL, OP_MLOCK, OP_PAGEOUT,
	OP_MIGRATE, OP_THP, OP_FREE, OP_SOFT_OFFLINE, OP_HWPOISON, NR_OPS,
};

static const char * const op_names[NR_OPS] = {
	"write", "poke", "verify", "fork", "munmap", "mmap", "mremap",
	"mprotect", "dontneed", "merge", "prctl", "mlock", "pageout",
	"migrate", "thp", "free", "soft_offline", "hwpoison",
};

static int op_weight[NR_OPS] = {	/* --skip-op sets some to 0 */
	[OP_WRITE] = 20, [OP_POKE] = 10, [OP_VERIFY] = 14, [OP_FORK] = 2,
	[OP_MUNMAP] = 3, [OP_MMAP] = 4, [OP_MREMAP] = 4, [OP_MPROTECT] = 8,
	[OP_DONTNEED] = 4, [OP_MERGE] = 6, [OP_PRCTL] = 2, [OP_MLOCK] = 4,
	[OP_PAGEOUT] = 4, [OP_MIGRATE] = 4, [OP_THP] = 2, [OP_FREE] = 4,
	[OP_SOFT_OFFLINE] = 1, [OP_HWPOISON] = 1,
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
		if (p->lazy) {
			/* old content or zeroes: one word cannot tell */
			fill(r, i, pick_tag());
			continue;
		}
		if (p->woff != NO_WORD) {
			unpoke_word(r, i);	/* the page may merge again */
			continue;
		}
		poke_word(r, i, rnd_below(page_size / sizeof(uint64_t)), rnd());
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
	if (stopping())
		verify_final("fork child, at the end");
	else
		verify_all("fork child, before exit");
	if (rnd_below(2) && regs[0].addr)
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
	/*
	 * Never munmap a hole: its addresses may belong to another region
	 * by now (one that mremap grew or moved there), whose pages would go.
	 */
	if (x == 0 || r->n <= 16) {
		/* whole region */
		verify_range(r, 0, r->n, "before munmap");
		for_mapped_runs(r, 0, r->n, munmap_run, 0);
		reg_drop(r);
	} else if (x < 5) {
		/* the tail */
		l = 1 + rnd_below(r->n / 4);
		verify_range(r, r->n - l, l, "before munmap");
		for_mapped_runs(r, r->n - l, l, munmap_run, 0);
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

/* Map fresh pages over the hole [s, s + l) of @r; false if not done. */
static bool fill_hole_run(struct reg *r, long s, long l)
{
	long i;

	if (!map_hole(r->addr + s * page_size, l * page_size))
		return false;
	for (i = s; i < s + l; i++)
		pg_reset(&r->pg[i]);
	return true;
}

static void op_mmap(void)
{
	struct reg *r = NULL;
	long i, j, k;

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
	if (!fill_hole_run(r, i, j - i))
		return;
	for (k = i; k < j; k++)
		if (rnd_below(2))
			fill(r, k, pick_tag());
	if (rnd_below(2))
		madvise(r->addr + i * page_size, (j - i) * page_size,
			MADV_MERGEABLE);
}

/*
 * Move [tmp, tmp + len) back to @from.  After a poisoned page was
 * replaced in it, the range is several VMAs: then page by page.
 */
static bool move_back(char *tmp, char *from, size_t len)
{
	size_t off;

	if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, from) !=
	    MAP_FAILED)
		return true;
	for (off = 0; off < len; off += page_size)
		if (mremap(tmp + off, page_size, page_size,
			   MREMAP_MAYMOVE | MREMAP_FIXED, from + off) == MAP_FAILED)
			return false;
	return true;
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
	__atomic_store_n(&moving, &moved, __ATOMIC_SEQ_CST);
	verify_range(&moved, 0, l, "moved by mremap");
	__atomic_store_n(&moving, NULL, __ATOMIC_SEQ_CST);
	if (!move_back(tmp, from, len)) {
		printf("# tester %d: mremap back to %p: %s\n", tester_id,
		       (void *)from, strerror(errno));
		fflush(stdout);
		stat_add(&st->errors, 1);
		_exit(5);
	}
	verify_range(r, s, l, "moved back by mremap");
	return true;
}

/* Make @r one VMA again (fill holes, one protection, no mlock, no THP). */
static bool reg_unify(struct reg *r)
{
	long i, s;

	for (i = 0; i < r->n; i++) {
		if (r->pg[i].hole) {
			for (s = i; i < r->n && r->pg[i].hole; i++)
				;
			if (!fill_hole_run(r, s, i - s))
				return false;
		}
	}
	mprotect(r->addr, r->n * page_size, PROT_READ | PROT_WRITE);
	for (i = 0; i < r->n; i++)
		r->pg[i].prot = PROT_READ | PROT_WRITE;
	munlock(r->addr, r->n * page_size);
	madvise(r->addr, r->n * page_size, MADV_NOHUGEPAGE);
	madvise(r->addr, r->n * page_size,
		rnd_below(4) ? MADV_MERGEABLE : MADV_UNMERGEABLE);
	return true;
}

static void mremap_part(struct reg *r)
{
	long l = 1 + rnd_below(r->n < 32 ? r->n : 32);
	long s = rnd_below(r->n - l + 1);

	if (mremap_away_and_back(r, s, l))
		stat_add(&st->mremap_ok, 1);
	else
		stat_add(&st->mremap_fail, 1);
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
	if (!reg_unify(r))
		return;
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
		mremap_part(r);
		return;
	}
	stat_add(&st->mremap_ok, 1);
	for (i = 0; i < n2; i++) {
		if (i < r->n)
			pg2[i] = r->pg[i];
		else
			pg_reset(&pg2[i]);
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
		r->pg[i].lazy = 0;
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

static void free_run(struct reg *r, long s, long l, long arg)
{
	long i;

	/* On failure part of the range may be freed: lazy all the same. */
	if (madvise(r->addr + s * page_size, l * page_size, MADV_FREE))
		stat_add(&st->free_fail, 1);
	for (i = s; i < s + l; i++)
		r->pg[i].lazy = 1;
	stat_add(&st->frees, l);
}

/* Ask every tester to verify all its pages, at most every 2 s. */
static void bump_gen(int *gen, long *last_ms)
{
	long now = now_ms(), last = __atomic_load_n(last_ms, __ATOMIC_RELAXED);

	if (now - last < 2000 ||
	    !__atomic_compare_exchange_n(last_ms, &last, now, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	__atomic_add_fetch(gen, 1, __ATOMIC_RELEASE);
}

/*
 * MADV_FREE a range, then reclaim (its own pages, or the cgroup's): the
 * pages may be discarded; a KSM page must not be, for its other sharers.
 */
static void op_free(void)
{
	struct reg *r;
	long s, l;

	if (!pick_range(&r, &s, &l, 64))
		return;
	for_mapped_runs(r, s, l, unlock_run, 0);	/* else EINVAL */
	for_mapped_runs(r, s, l, free_run, 0);
	switch (rnd_below(3)) {
	case 0:
		for_mapped_runs(r, s, l, advise_run, MADV_PAGEOUT);
		break;
	case 1:
		cgroup_reclaim(rnd_below(2) ? "2M" : "8M");
		break;
	}
	bump_gen(&st->free_gen, &st->free_gen_ms);
	if (rnd_below(2))
		verify_range(r, s, l, "after MADV_FREE");
}

/*
 * A block with a hwpoisoned (or soft-offlined) page cannot be onlined
 * again (EHWPOISON): keep poison out of the blocks the hotplug helper uses.
 */
static bool pfn_in_hotplug_block(unsigned long pfn)
{
	int k;

	for (k = 0; k < nr_blocks && block_pages; k++)
		if (pfn / block_pages == (unsigned long)blocks[k])
			return true;
	return false;
}

/*
 * Pick a page for MADV_SOFT_OFFLINE or MADV_HWPOISON: a KSM page (or,
 * when KPF_KSM cannot be trusted, a page not mapped exclusively) if the
 * range has one, else now and then a plain one; never a zero-tagged page
 * (it may be the shared zero page), a MADV_FREE'd one or a THP.
 */
static bool pick_shared_page(struct reg **rp, long *ip, unsigned long *pfnp)
{
	bool ksm_ok = kpf_ksm_reliable();
	long s, l, i, plain = -1;
	unsigned long pfn, plain_pfn = 0;
	uint64_t ent, fl;
	struct reg *r;

	if (!pick_range(&r, &s, &l, 64))
		return false;
	for (i = s; i < s + l; i++) {
		struct pg *p = &r->pg[i];

		if (p->hole || !(p->prot & PROT_READ) || !p->tag || p->lazy)
			continue;
		ent = pagemap_entry(0, r->addr + i * page_size);
		pfn = ent & PM_PFN_MASK;
		if (!(ent & PM_PRESENT) || !pfn || pfn == zero_pfn ||
		    pfn_in_hotplug_block(pfn))
			continue;
		fl = kpageflags(pfn);
		if (fl & (BIT_ULL(KPF_THP_BIT) | BIT_ULL(KPF_COMPOUND_HEAD_BIT) |
			  BIT_ULL(KPF_COMPOUND_TAIL_BIT) | BIT_ULL(KPF_HWPOISON_BIT)))
			continue;
		if (ksm_ok ? fl & BIT_ULL(KPF_KSM_BIT) :
			     !(ent & PM_MMAP_EXCLUSIVE)) {
			*rp = r;
			*ip = i;
			*pfnp = pfn;
			return true;
		}
		if (plain < 0) {
			plain = i;
			plain_pfn = pfn;
		}
	}
	if (plain < 0 || rnd_below(4))
		return false;
	*rp = r;
	*ip = plain;
	*pfnp = plain_pfn;
	return true;
}

/* Claim the next slot of a budget spread over the run (@next_ms). */
static bool claim_slot(long *next_ms, long spacing_ms)
{
	long now = now_ms(), next = __atomic_load_n(next_ms, __ATOMIC_RELAXED);

	return now >= next &&
	       __atomic_compare_exchange_n(next_ms, &next, now + spacing_ms,
					   false, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

/*
 * Where the SIGBUS of our MADV_HWPOISON of @page pointed: that page, or
 * another address (a KSM page mapped twice, or an address the kernel
 * still had for the page): what is mapped there now.
 */
static void print_forced_sigbus(char *page)
{
	char *a = __atomic_load_n(&forced_addr, __ATOMIC_SEQ_CST);

	if (!a) {
		printf(", no SIGBUS yet");
		return;
	}
	a = (char *)((uintptr_t)a & ~(uintptr_t)(page_size - 1));
	if (a == page) {
		printf(", SIGBUS");
		return;
	}
	printf(", SIGBUS for %p (pagemap there %#llx)", (void *)a,
	       (unsigned long long)pagemap_entry(0, a));
}

/* Soft offline migrates the page away: every sharer keeps its data. */
static void op_soft_offline(void)
{
	unsigned long pfn;
	struct reg *r;
	char *page;
	long i;

	if (st->soft_ok + st->soft_fail >= opt_max_soft ||
	    !pick_shared_page(&r, &i, &pfn) ||
	    !claim_slot(&st->next_soft_ms,
			opt_seconds * 1000 / (opt_max_soft + 1)))
		return;
	page = r->addr + i * page_size;
	__atomic_add_fetch(&st->poison_ops, 1, __ATOMIC_ACQ_REL);
	if (madvise(page, page_size, MADV_SOFT_OFFLINE)) {
		if (!st->soft_fail)
			printf("# tester %d: MADV_SOFT_OFFLINE pfn %#lx: %s\n",
			       tester_id, pfn, strerror(errno));
		stat_add(&st->soft_fail, 1);
	} else {
		stat_add(&st->soft_ok, 1);
	}
	verify_page(r, i, "after MADV_SOFT_OFFLINE");
}

/*
 * Poison a page (mostly a KSM page): it is lost to every process mapping
 * it, each gets SIGBUS on its next touch (see recover_poisoned()); no
 * other page may change.  Each poisoned page is lost to the guest for
 * good: at most --max-poison per run, spread over its second half.
 */
static void op_hwpoison(void)
{
	unsigned long pfn;
	uint64_t real;
	struct reg *r;
	char *page;
	int ret;
	long i;

	if (st->poison_ok + st->poison_fail >= opt_max_poison ||
	    __atomic_load_n(&st->nr_poisoned, __ATOMIC_RELAXED) + 2 > MAX_POISON ||
	    !pick_shared_page(&r, &i, &pfn) ||
	    !claim_slot(&st->next_poison_ms,
			opt_seconds * 500 / (opt_max_poison + 1)))
		return;
	page = r->addr + i * page_size;
	__atomic_store_n(&forced_addr, NULL, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&st->poison_ops, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&st->poison_inflight, 1, __ATOMIC_ACQ_REL);
	poison_record(POISON_PFN_KEY(pfn));
	__atomic_store_n(&poisoning, page, __ATOMIC_SEQ_CST);
	ret = madvise(page, page_size, MADV_HWPOISON) ? errno : 0;
	__atomic_store_n(&poisoning, NULL, __ATOMIC_SEQ_CST);
	/* What the kernel left here (the page may have changed meanwhile). */
	real = poison_key(page);
	poison_record(real);
	__atomic_sub_fetch(&st->poison_inflight, 1, __ATOMIC_ACQ_REL);
	printf("# poison: t=%.1fs tester %d%s pfn %#lx: %s", t_rel(), tester_id,
	       is_child ? " (child)" : "", pfn, ret ? strerror(ret) : "ok");
	if (real && (real & POISON_TYPE_MASK) != POISON_TYPE_MASK)
		printf(", left in the swap cache (swap entry %#llx)",
		       (unsigned long long)real);
	print_forced_sigbus(page);
	printf("\n");
	fflush(stdout);
	stat_add(ret ? &st->poison_fail : &st->poison_ok, 1);
	verify_page(r, i, "after MADV_HWPOISON");
}

/* --skip-op a,b: those ops never run (to bisect a failure). */
static void skip_ops(void)
{
	char *names = strdup(opt_skip_ops), *name, *save = NULL;
	int k;

	for (name = strtok_r(names, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NR_OPS && strcmp(name, op_names[k]); k++)
			;
		if (k == NR_OPS)
			ksft_exit_fail_msg("--skip-op: no op '%s'\n", name);
		op_weight[k] = 0;
	}
	free(names);
}

static void (* const op_fns[NR_OPS])(void) = {
	[OP_WRITE] = op_write, [OP_POKE] = op_poke, [OP_VERIFY] = op_verify,
	[OP_FORK] = op_fork, [OP_MUNMAP] = op_munmap, [OP_MMAP] = op_mmap,
	[OP_MREMAP] = op_mremap, [OP_MPROTECT] = op_mprotect,
	[OP_DONTNEED] = op_dontneed, [OP_MERGE] = op_merge,
	[OP_PRCTL] = op_prctl, [OP_MLOCK] = op_mlock,
	[OP_PAGEOUT] = op_pageout, [OP_MIGRATE] = op_migrate,
	[OP_THP] = op_thp, [OP_FREE] = op_free,
	[OP_SOFT_OFFLINE] = op_soft_offline, [OP_HWPOISON] = op_hwpoison,
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
	if (!is_child) {
		st->beat_op[tester_id] = k;
		__atomic_store_n(&st->beat_ms[tester_id], now_ms(),
				 __ATOMIC_RELAXED);
	}
	cur_op = k;
	op_fns[k]();
	cur_op = -1;
	stat_add(&st->ops, 1);
	stat_add(&st->op_count[k], 1);
}

/*
 * SIGBUS of a page poisoned on purpose: replace it and go on.  Any other
 * SIGSEGV or SIGBUS in a tester: say where, and what the model thinks is
 * mapped there, then die of the signal (counted as an error).
 */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr, line[256];
	FILE *f;
	int k;

	/*
	 * The SIGBUS that our own MADV_HWPOISON sends us comes on the return
	 * from madvise, not from a touch: nothing to retry.  (It names one of
	 * the addresses the kernel found for the page.)
	 */
	if (sig == SIGBUS && si->si_code == BUS_MCEERR_AR &&
	    __atomic_load_n(&poisoning, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&forced_addr, a, __ATOMIC_SEQ_CST);
		return;
	}
	if (sig == SIGBUS && si->si_code == BUS_MCEERR_AR && recover_poisoned(a))
		return;
	if (sig == SIGBUS && si->si_code == BUS_MCEERR_AO &&
	    key_poisoned(poison_key(a)))
		return;	/* told early; the touch will be handled */
	printf("# FAULT signal %d code %d at %p in pid %d tester %d%s during %s\n",
	       sig, si->si_code, a, getpid(), tester_id,
	       is_child ? " (child)" : "", cur_op >= 0 ? op_names[cur_op] : "-");
	if (sig == SIGBUS)
		printf("#   poison key there %#llx, %d keys recorded, %d poison ops\n",
		       (unsigned long long)poison_key(a), st->nr_poisoned,
		       st->poison_ops);
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
		printf("#   region %d page %ld: prot %d hole %d tag %llx pagemap %#llx\n",
		       k, i, r->pg[i].prot, r->pg[i].hole,
		       (unsigned long long)r->pg[i].tag,
		       (unsigned long long)pagemap_entry(0, a));
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

/* After a swapoff or someone's MADV_FREE + reclaim: check everything. */
static void verify_on_news(int *seen_swap, int *seen_free)
{
	int swap = __atomic_load_n(&st->swap_gen, __ATOMIC_ACQUIRE);
	int freed = __atomic_load_n(&st->free_gen, __ATOMIC_ACQUIRE);

	if (swap != *seen_swap)
		verify_all("after swapoff");
	else if (freed != *seen_free)
		verify_all("after a MADV_FREE and reclaim");
	*seen_swap = swap;
	*seen_free = freed;
}

/* --corrupt: flip one bit of page 0 behind the model's back, once. */
static void plant_corruption(bool *done)
{
	struct pg *p = regs[0].addr && regs[0].n ? &regs[0].pg[0] : NULL;

	if (*done || !p || p->hole || p->lazy || !(p->prot & PROT_WRITE))
		return;
	regs[0].addr[CORRUPT_BYTE] ^= CORRUPT_BIT;
	*done = true;
}

/* Exit while ksmd merges: fresh mergeable duplicates everywhere. */
static void exit_merging(void)
{
	long i;
	int k;

	for (k = 0; k < MAX_REGIONS; k++) {
		if (!regs[k].addr)
			continue;
		ensure_rw(&regs[k], 0, regs[k].n);
		for (i = 0; i < regs[k].n; i++)
			if (!regs[k].pg[i].hole && regs[k].pg[i].prot & PROT_WRITE)
				fill(&regs[k], i, POOL_BASE + 1 + rnd_below(opt_pool));
	}
	prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
	sleep_ms(rnd_below(50));
	stat_add(&st->exits, 1);
	reap_children(true);
	_exit(0);
}

/* A tester: live for a random time, then exit in one of several ways. */
static void tester_run(int id, unsigned long gen)
{
	int k, seen_swap = st->swap_gen, seen_free = st->free_gen;
	bool corrupted = false;
	double end;

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
		verify_on_news(&seen_swap, &seen_free);
		if (opt_corrupt)
			plant_corruption(&corrupted);
	}
	if (!stopping() && rnd_below(2))
		exit_merging();
	if (stopping())
		verify_final("at the end");
	else
		verify_all("before exit");
	reap_children(true);
	stat_add(&st->exits, 1);
	_exit(0);
}

/* ---- helper processes ---- */

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

/* ---- knobs ---- */

static const long scan_choices[] = { 100, 300, 1000, 4000, 16000 };
static const long sleep_choices[] = { 0, 0, 1, 5, 10, 20 };
static const long prune_choices[] = { 0, 50, 500, 2000 };

static long pick_scan(void)
{
	return scan_choices[rnd_below(ARRAY_SIZE(scan_choices))];
}

static long pick_sleep(void)
{
	return sleep_choices[rnd_below(ARRAY_SIZE(sleep_choices))];
}

static long pick_prune(void)
{
	return prune_choices[rnd_below(ARRAY_SIZE(prune_choices))];
}

static long pick_max_sharing(void)
{
	long x = rnd_below(10);

	if (x < 4)
		return 2 + rnd_below(4);	/* chains everywhere */
	if (x < 7)
		return 6 + rnd_below(27);
	if (x < 9)
		return 33 + rnd_below(223);
	return 256;
}

/* A knob's value as a word, "?" if unreadable. */
static void knob_word(const char *name, char *buf, size_t len)
{
	if (ksm_read_knob_word(name, buf, len))
		snprintf(buf, len, "?");
}

static bool advisor_on(void)
{
	char mode[32];

	knob_word("advisor_mode", mode, sizeof(mode));
	return strcmp(mode, "none") != 0;
}

/*
 * Write a KSM knob, restart the watchdog's clock and print the change (a
 * failing seed's log is its reproduction recipe); 0 or -errno.
 */
static int knob_change(const char *name, const char *val)
{
	char old[64];
	int ret;

	knob_word(name, old, sizeof(old));
	if (!strcmp(old, val))
		return 0;
	busy_begin(H_KNOBS, name);
	ret = ksm_write_knob(name, val);
	busy_end(H_KNOBS);
	__atomic_store_n(&st->knob_change_ms, now_ms(), __ATOMIC_RELEASE);
	if (ret)
		printf("# knob: t=%.1fs %s=%s (was %s) failed: %s\n", t_rel(),
		       name, val, old, strerror(-ret));
	else
		printf("# knob: t=%.1fs %s=%s (was %s)\n", t_rel(), name, val,
		       old);
	fflush(stdout);
	if (!ret)
		stat_add(&st->knob_changes, 1);
	return ret;
}

static int knob_change_long(const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return knob_change(name, buf);
}

/* A knob that takes any valid value at any time: failing is an error. */
static void knob_must_change(const char *name, long val)
{
	if (knob_change_long(name, val)) {
		stat_add(&st->knob_fail, 1);
		stat_add(&st->errors, 1);
	}
}

/* Change one of the knobs that can be changed while ksmd runs. */
static void change_runtime_knob(void)
{
	switch (rnd_below(6)) {
	case 0:
		knob_must_change("use_zero_pages", rnd_below(2));
		break;
	case 1:
		knob_must_change("smart_scan", rnd_below(2));
		break;
	case 2:
		if (advisor_on()) {
			if (knob_change("advisor_mode", "none"))
				stat_add(&st->errors, 1);
			break;
		}
		knob_must_change("advisor_target_scan_time", 1 + rnd_below(8));
		if (knob_change("advisor_mode", "scan-time"))
			stat_add(&st->errors, 1);
		break;
	case 3:
		/* the advisor owns pages_to_scan while it is on */
		if (!advisor_on())
			knob_must_change("pages_to_scan", pick_scan());
		break;
	case 4:
		knob_must_change("sleep_millisecs", pick_sleep());
		break;
	default:
		knob_must_change("stable_node_chains_prune_millisecs",
				 pick_prune());
		break;
	}
}

/* Present pages of @pid's anonymous private mappings that are KSM pages. */
/* The VmFlags of the vma of @pid holding @addr, into @buf ("?" if none). */
static void vma_flags_of(pid_t pid, unsigned long addr, char *buf, size_t len)
{
	unsigned long lo, hi;
	char path[64], line[256];
	bool in = false;
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
		    line[0] != 'V')
			in = lo <= addr && addr < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 9);
			break;
		}
	}
	if (f)
		fclose(f);
}

struct ksm_map {
	unsigned long pfn;
	unsigned long addr;
	pid_t pid;
};

#define MAX_KSM_MAPS	65536
#define MAX_CROSS	32

/* Append to @m the KSM pages @pid maps; returns the new count. */
static long ksm_maps_of(pid_t pid, struct ksm_map *m, long n)
{
	unsigned long lo, hi, a, pfn, inode;
	char path[64], line[256], perms[8];
	uint64_t ents[64];
	long k, cnt;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perms,
			   &inode) != 4 || perms[3] != 'p' || inode)
			continue;
		for (a = lo; a < hi && n < MAX_KSM_MAPS; a += cnt * page_size) {
			cnt = (hi - a) / page_size < 64 ? (hi - a) / page_size : 64;
			if (pagemap_range(pid, (void *)a, cnt, ents))
				break;
			for (k = 0; k < cnt && n < MAX_KSM_MAPS; k++) {
				pfn = ents[k] & PM_PFN_MASK;
				if (!(ents[k] & PM_PRESENT) || !pfn ||
				    !(kpageflags(pfn) & BIT_ULL(KPF_KSM_BIT)))
					continue;
				m[n].pfn = pfn;
				m[n].addr = a + k * page_size;
				m[n].pid = pid;
				n++;
			}
		}
	}
	if (f)
		fclose(f);
	return n;
}

static long ksm_pages_of(pid_t pid, char *example, size_t len)
{
	struct ksm_map *m = malloc(MAX_KSM_MAPS * sizeof(*m));
	char vmf[96];
	long n;

	if (!m)
		return 0;
	n = ksm_maps_of(pid, m, 0);
	if (n) {
		vma_flags_of(pid, m[0].addr, vmf, sizeof(vmf));
		snprintf(example, len,
			 "pid %d at %#lx pfn %#lx kpageflags %#llx count %llu vma [%s]",
			 pid, m[0].addr, m[0].pfn,
			 (unsigned long long)kpageflags(m[0].pfn),
			 (unsigned long long)kpagecount(m[0].pfn), vmf);
	}
	free(m);
	return n;
}

/*
 * KSM pages that our processes (the cgroup's) map, by KPF_KSM (-1: it
 * cannot be trusted), and the sum of their ksm_merging_pages (what KSM
 * itself counts) in *@merging (-1 if unreadable).
 */
static long ksm_pages_mapped(char *example, size_t len, long *merging)
{
	char path[192], line[32];
	long n = 0, m;
	FILE *f;

	example[0] = '\0';
	*merging = -1;
	if (!cg_dir[0])
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		snprintf(path, sizeof(path), "/proc/%d/ksm_stat", atoi(line));
		m = proc_field(path, "ksm_merging_pages");
		if (m >= 0)
			*merging = (*merging < 0 ? 0 : *merging) + m;
		if (kpf_ksm_reliable())
			n += ksm_pages_of(atoi(line), example, len);
	}
	if (f)
		fclose(f);
	return kpf_ksm_reliable() ? n : -1;
}

/* The pfns poisoned on purpose: how many, and what kpageflags says now. */
static void print_poisoned(void)
{
	int k, n = __atomic_load_n(&st->nr_poisoned, __ATOMIC_ACQUIRE);
	int pfns = 0, hwpoison = 0, anon = 0, shown = 0;
	unsigned long pfn;
	uint64_t fl;

	for (k = 0; k < n && k < MAX_POISON; k++) {
		if ((st->poisoned_key[k] & POISON_TYPE_MASK) != POISON_TYPE_MASK)
			continue;	/* a swap entry */
		fl = kpageflags(st->poisoned_key[k] >> PM_SWAP_TYPE_BITS);
		pfns++;
		hwpoison += !!(fl & BIT_ULL(KPF_HWPOISON_BIT));
		anon += !!(fl & BIT_ULL(12));	/* KPF_ANON */
	}
	printf("#   pfns poisoned on purpose: %d (kpageflags: %d hwpoison, %d anon)",
	       pfns, hwpoison, anon);
	for (k = 0; k < n && k < MAX_POISON && shown < 4; k++) {
		if ((st->poisoned_key[k] & POISON_TYPE_MASK) != POISON_TYPE_MASK)
			continue;
		pfn = st->poisoned_key[k] >> PM_SWAP_TYPE_BITS;
		printf(" %#lx:%#llx", pfn, (unsigned long long)kpageflags(pfn));
		shown++;
	}
	printf("\n");
}

/* run=2 again: 0 first, writing the current value does nothing. */
static int unmerge_again(void)
{
	int ret;

	busy_begin(H_KNOBS, "run=0, run=2");
	ret = ksm_write_knob("run", "0");
	if (!ret)
		ret = ksm_write_knob("run", "2");
	busy_end(H_KNOBS);
	return ret;
}

/* ---- merge domains ---- */

static bool have_merge_scope;
static char saved_scope[16];
static const char * const scope_words[] = { "global", "cgroup", "process" };

static int ksm_map_cmp(const void *x, const void *y)
{
	const struct ksm_map *a = x, *b = y;

	if (a->pfn != b->pfn)
		return a->pfn < b->pfn ? -1 : 1;
	return a->pid - b->pid;
}

/* Still the KSM page @pfn at @addr of @pid? */
static bool still_maps(pid_t pid, unsigned long addr, unsigned long pfn)
{
	uint64_t ent = pagemap_entry(pid, (void *)addr);

	return (ent & PM_PRESENT) && (ent & PM_PFN_MASK) == pfn &&
	       (kpageflags(pfn) & BIT_ULL(KPF_KSM_BIT));
}

/*
 * merge_scope=process: a KSM page mapped by two of our processes is a
 * fork child's inheritance, which ksmd unmerges in the child when it comes
 * to it, or a bug.  Note such pairs, let ksmd complete 2 full scans (it
 * goes through every mm in one), and report those still there.
 */
static void domain_check(void)
{
	struct ksm_map cross[MAX_CROSS][2];
	char word[32], path[192], line[32];
	struct ksm_map *m;
	long n = 0, i, nc = 0, scans;
	double deadline;
	FILE *f;

	if (!have_merge_scope || !kpf_ksm_reliable() || !cg_dir[0] ||
	    ksm_read_knob_word("merge_scope", word, sizeof(word)) ||
	    strcmp(word, "process") || ksm_get("run") != 1)
		return;
	m = malloc(MAX_KSM_MAPS * sizeof(*m));
	if (!m)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		n = ksm_maps_of(atoi(line), m, n);
	if (f)
		fclose(f);
	qsort(m, n, sizeof(*m), ksm_map_cmp);
	for (i = 1; i < n && nc < MAX_CROSS; i++) {
		if (m[i].pfn != m[i - 1].pfn || m[i].pid == m[i - 1].pid)
			continue;
		cross[nc][0] = m[i - 1];
		cross[nc][1] = m[i];
		nc++;
	}
	free(m);
	stat_add(&st->domain_checks, n);
	if (!nc)
		return;
	scans = ksm_get("full_scans");
	deadline = now_secs() + 60;
	while (ksm_get("full_scans") < scans + 2) {
		if (stopping() || now_secs() > deadline || ksm_get("run") != 1)
			return;
		sleep_ms(100);
	}
	for (i = 0; i < nc; i++) {
		if (!still_maps(cross[i][0].pid, cross[i][0].addr,
				cross[i][0].pfn) ||
		    !still_maps(cross[i][1].pid, cross[i][1].addr,
				cross[i][1].pfn))
			continue;
		stat_add(&st->cross_domain, 1);
		stat_add(&st->errors, 1);
		printf("# stress: ERROR: t=%.1fs merge_scope=process: KSM pfn %#lx",
		       t_rel(), cross[i][0].pfn);
		printf(" mapped by pid %d at %#lx and pid %d at %#lx through 2 full scans\n",
		       cross[i][0].pid, cross[i][0].addr, cross[i][1].pid,
		       cross[i][1].addr);
		fflush(stdout);
	}
}

/*
 * Set merge_across_nodes or max_page_sharing right after a run=2 that
 * succeeded: nothing may be merged now, and ksmd is stopped, so an EBUSY
 * that stays through more run=2 rounds is a kernel bug.
 */
static bool tree_knobs_stuck;	/* one persistent EBUSY reported */
/* run=2 rounds (200 ms apart) to wait for KSM pages of dying mms to go */
#define EBUSY_ROUNDS_DYING	100

static void tree_knob_change(const char *name, const char *val)
{
	long mapped, merging;
	char example[320];
	int ret, tries;

	if (tree_knobs_stuck)
		return;
	ret = knob_change(name, val);
	for (tries = 0; ret == -EBUSY && tries < EBUSY_ROUNDS_DYING; tries++) {
		/*
		 * A tester killed a moment ago may still be tearing its mm
		 * down (its task has no mm left, exit_mmap() has not yet
		 * unmapped its KSM pages), slowly on a debug kernel: wait
		 * for that as long as no live process of ours maps a KSM
		 * page, which would be a kernel bug.
		 */
		if (tries >= 3 && (!kpf_ksm_reliable() ||
				   ksm_pages_mapped(example, sizeof(example),
						    &merging)))
			break;
		sleep_ms(200);
		if (unmerge_again())
			break;
		ret = ksm_write_knob(name, val);
	}
	if (!ret) {
		stat_add(&st->tree_changes, 1);
		if (tries) {
			stat_add(&st->tree_ebusy, 1);
			printf("# knob: t=%.1fs %s=%s took %d more run=2 rounds\n",
			       t_rel(), name, val, tries);
		}
		return;
	}
	stat_add(&st->errors, 1);
	if (ret != -EBUSY)
		return;	/* printed by knob_change() */
	mapped = ksm_pages_mapped(example, sizeof(example), &merging);
	printf("# stress: ERROR: %s=%s still EBUSY after run=2 (%d rounds):",
	       name, val, tries + 1);
	printf(" pages_shared=%ld pages_sharing=%ld stable_node_chains=%ld",
	       ksm_get("pages_shared"), ksm_get("pages_sharing"),
	       ksm_get("stable_node_chains"));
	printf(" stable_node_dups=%ld ksm_zero_pages=%ld;",
	       ksm_get("stable_node_dups"), ksm_get("ksm_zero_pages"));
	printf(" KSM pages mapped by our processes: %ld %s, their ksm_merging_pages: %ld\n",
	       mapped, example, merging);
	print_poisoned();
	printf("#   merge_across_nodes, max_page_sharing and merge_scope left alone from now on\n");
	fflush(stdout);
	tree_knobs_stuck = true;
}

static void tree_knob_change_long(const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	tree_knob_change(name, buf);
}

/* run=2 returned: every KSM page must be unmerged by now. */
static void check_unmerged(void)
{
	long shared = ksm_get("pages_shared"), sharing = ksm_get("pages_sharing");
	long mapped, merging;
	char example[320];

	if (!shared && !sharing)
		return;
	mapped = ksm_pages_mapped(example, sizeof(example), &merging);
	stat_add(&st->errors, 1);
	printf("# stress: ERROR: t=%.1fs run=2 returned but pages_shared=%ld",
	       t_rel(), shared);
	printf(" pages_sharing=%ld; KSM pages mapped by our processes: %ld %s,",
	       sharing, mapped, example);
	printf(" their ksm_merging_pages: %ld\n", merging);
	fflush(stdout);
}

static void hold_ksmd(void)
{
	__atomic_store_n(&st->hold_ms, now_ms(), __ATOMIC_RELEASE);
}

static void release_ksmd(void)
{
	__atomic_store_n(&st->knob_change_ms, now_ms(), __ATOMIC_RELEASE);
	__atomic_store_n(&st->hold_ms, 0, __ATOMIC_RELEASE);
}

static void run_write(const char *val)
{
	int ret;

	busy_begin(H_KNOBS, val[0] == '2' ? "run=2" : "run");
	ret = ksm_write_knob("run", val);
	busy_end(H_KNOBS);
	if (!ret) {
		stat_add(&st->run_switches, 1);
		return;
	}
	stat_add(&st->errors, 1);
	if (val[0] == '2')
		stat_add(&st->run2_fail, 1);
	printf("# knob: t=%.1fs run=%s failed: %s\n", t_rel(), val,
	       strerror(-ret));
	fflush(stdout);
}

/* Unmerge everything; while nothing is merged, maybe reorganise. */
static void unmerge_phase(void)
{
	bool mas, mps, scope;

	hold_ksmd();
	run_write("2");
	if (ksm_get("run") == 2) {
		check_unmerged();
		mas = rnd_below(3) == 0;
		mps = rnd_below(3) == 0;
		scope = rnd_below(3) == 0;
		if (mas)
			tree_knob_change_long("merge_across_nodes",
					      !ksm_get("merge_across_nodes"));
		if (mps)
			tree_knob_change_long("max_page_sharing",
					      pick_max_sharing());
		if (scope && have_merge_scope)
			tree_knob_change("merge_scope",
					 scope_words[rnd_below(3)]);
	}
	sleep_ms(20 + rnd_below(300));
	run_write("1");
	release_ksmd();
}

static void pause_phase(void)
{
	hold_ksmd();
	run_write("0");
	sleep_ms(20 + rnd_below(300));
	run_write("1");
	release_ksmd();
}

static void knobs_run(void)
{
	double next_unmerge;
	long v, scans;

	signal(SIGUSR1, on_stop);
	rng_seed(opt_seed, 0x6b6e6f62);
	/*
	 * run=2 every 10-30 s, but only after ksmd completed 3 full scans
	 * since the last one: often enough to unmerge under the testers'
	 * feet, rarely enough that a slow (debug) ksmd merges in between.
	 * run=0 pauses and other knob changes are more frequent.
	 */
	next_unmerge = now_secs() + 10 + rnd_below(20);
	scans = ksm_get("full_scans");
	while (!stopping()) {
		sleep_ms(50 + rnd_below(400));
		if (stopping())
			break;
		v = rnd_below(100);
		if (now_secs() > next_unmerge &&
		    ksm_get("full_scans") >= scans + 3) {
			unmerge_phase();
			next_unmerge = now_secs() + 10 + rnd_below(20);
			scans = ksm_get("full_scans");
		} else if (v < 8) {
			pause_phase();
		} else if (v < 23) {
			cgroup_reclaim(rnd_below(2) ? "4M" : "16M");
		} else if (v < 27) {
			change_runtime_knob();
		} else if (v < 30) {
			domain_check();
		}
	}
	ksm_write_knob("run", "1");
	_exit(0);
}

/* ---- sys: compaction, swapoff/swapon ---- */

static char swap_dev[64];

static void find_swap(void)
{
	char line[256];
	FILE *f = fopen("/proc/swaps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (line[0] == '/' && sscanf(line, "%63s", swap_dev) == 1)
			break;
	if (f)
		fclose(f);
}

static void sys_compact(void)
{
	busy_begin(H_SYS, "compact_memory");
	if (!file_write("/proc/sys/vm/compact_memory", "1"))
		stat_add(&st->compactions, 1);
	busy_end(H_SYS);
}

static bool swap_on(void)
{
	int tries;

	busy_begin(H_SYS, "swapon");
	for (tries = 0; tries < 10; tries++) {
		if (!swapon(swap_dev, 0))
			break;
		sleep_msecs(200);
	}
	busy_end(H_SYS);
	if (tries < 10)
		return true;
	printf("# sys: t=%.1fs swapon %s: %s\n", t_rel(), swap_dev,
	       strerror(errno));
	fflush(stdout);
	stat_add(&st->swapon_fail, 1);
	stat_add(&st->errors, 1);
	return false;
}

/* Take the swap off (every page comes back in) and put it on again. */
static void sys_swap_cycle(void)
{
	long swapped = proc_field("/proc/meminfo", "SwapTotal:") -
		       proc_field("/proc/meminfo", "SwapFree:");
	double t0 = now_secs();
	int ret;

	busy_begin(H_SYS, "swapoff");
	ret = swapoff(swap_dev);
	busy_end(H_SYS);
	if (ret) {
		stat_add(&st->swapoff_fail, 1);
		printf("# sys: t=%.1fs swapoff %s: %s\n", t_rel(), swap_dev,
		       strerror(errno));
		fflush(stdout);
		return;
	}
	stat_add(&st->swapoffs, 1);
	__atomic_add_fetch(&st->swap_gen, 1, __ATOMIC_RELEASE);
	printf("# sys: t=%.1fs swapoff %s: %ld kB came back in %.1f s\n",
	       t_rel(), swap_dev, swapped, now_secs() - t0);
	fflush(stdout);
	sleep_ms(200 + rnd_below(2000));
	swap_on();
}

static void sys_run(void)
{
	double next_compact, next_swap;

	signal(SIGUSR1, on_stop);
	rng_seed(opt_seed, 0x737973);
	next_compact = now_secs() + 2 + rnd_below(6);
	next_swap = now_secs() + 10 + rnd_below(30);
	while (!stopping()) {
		sleep_ms(200 + rnd_below(500));
		if (stopping())
			break;
		if (now_secs() > next_compact) {
			sys_compact();
			next_compact = now_secs() + 2 + rnd_below(8);
		}
		/* swapoff can take long: none in the last 20 s */
		if (swap_dev[0] && now_secs() > next_swap &&
		    now_ms() + 20000 < st->end_ms) {
			sys_swap_cycle();
			next_swap = now_secs() + 15 + rnd_below(40);
		}
	}
	_exit(0);
}

/* ---- hotplug ---- */

static void find_movable_blocks(void)
{
	char path[320], buf[128];
	struct dirent *de;
	DIR *d = opendir("/sys/devices/system/memory");

	if (!d)
		return;
	if (!file_read("/sys/devices/system/memory/block_size_bytes", buf,
		       sizeof(buf)))
		block_pages = strtoul(buf, NULL, 16) / page_size;
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
	int ret;

	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%ld/state",
		 id);
	busy_begin(H_HOTPLUG, state);
	ret = file_write(path, state);
	busy_end(H_HOTPLUG);
	return ret;
}

static void on_alarm(int sig)
{
}

/* Does block @id hold a hwpoisoned page (it could not be onlined again)? */
static bool block_poisoned(long id)
{
	uint64_t *flags = calloc(block_pages, sizeof(*flags));
	bool poisoned = false;
	unsigned long k;
	int fd;

	fd = open("/proc/kpageflags", O_RDONLY);
	if (flags && fd >= 0 &&
	    pread(fd, flags, block_pages * sizeof(*flags),
		  id * block_pages * sizeof(*flags)) ==
	    (ssize_t)(block_pages * sizeof(*flags)))
		for (k = 0; k < block_pages && !poisoned; k++)
			poisoned = flags[k] & BIT_ULL(KPF_HWPOISON_BIT);
	if (fd >= 0)
		close(fd);
	free(flags);
	return poisoned;
}

/* Take block @k out of the rotation (it stays offline or online). */
static void block_drop(int k)
{
	blocks[k] = blocks[--nr_blocks];
}

/*
 * Online block @id again (a few tries); false on failure, an error --
 * unless the kernel refuses because a page in it was hwpoisoned since
 * the block was checked (@poison_ops then).
 */
static bool block_online(int k, int poison_ops)
{
	long id = blocks[k];
	int ret, tries;

	for (tries = 0; tries < 20; tries++) {
		ret = block_write(id, "online_movable");
		if (!ret || ret == -EHWPOISON)
			break;
		sleep_ms(100);
	}
	if (!ret) {
		stat_add(&st->online_ok, 1);
		return true;
	}
	if (ret == -EHWPOISON && poison_ops != st->poison_ops) {
		stat_add(&st->online_hwpoison, 1);
		printf("# hotplug: memory%ld poisoned while offlined: left offline\n",
		       id);
		fflush(stdout);
		block_drop(k);
		return false;
	}
	stat_add(&st->online_fail, 1);
	stat_add(&st->errors, 1);
	printf("# hotplug: online memory%ld: %s\n", id, strerror(-ret));
	fflush(stdout);
	return false;
}

static void hotplug_run(void)
{
	struct sigaction sa;
	int ret, k, ops;
	long id;

	signal(SIGUSR1, on_stop);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: interrupts offline */
	sigaction(SIGALRM, &sa, NULL);
	rng_seed(opt_seed, 0x686f74);
	while (!stopping()) {
		sleep_ms(200 + rnd_below(1500));
		if (stopping())
			break;
		if (!nr_blocks)
			continue;
		k = rnd_below(nr_blocks);
		id = blocks[k];
		ops = st->poison_ops;
		if (block_poisoned(id)) {
			printf("# hotplug: memory%ld has a hwpoisoned page: left online\n",
			       id);
			fflush(stdout);
			block_drop(k);
			continue;
		}
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
		block_online(k, ops);
	}
	_exit(0);
}

/* ---- THP and khugepaged ---- */

#define THP_DIR "/sys/kernel/mm/transparent_hugepage/"

/* khugepaged at a pace that collapses the testers' regions during a run */
static const char * const khugepaged_knobs[][2] = {
	{ "khugepaged/scan_sleep_millisecs", "100" },
	{ "khugepaged/alloc_sleep_millisecs", "100" },
	{ "khugepaged/pages_to_scan", "4096" },
};

static char khugepaged_saved[ARRAY_SIZE(khugepaged_knobs)][32];
static pid_t controller_pid;

static void thp_setup(void)
{
	char buf[128], path[128];
	unsigned int k;

	if (file_read(THP_DIR "enabled", buf, sizeof(buf)))
		return;
	thp_ok = strstr(buf, "[always]") || strstr(buf, "[madvise]");
	for (k = 0; k < ARRAY_SIZE(khugepaged_knobs); k++) {
		snprintf(path, sizeof(path), THP_DIR "%s", khugepaged_knobs[k][0]);
		if (file_read(path, khugepaged_saved[k], sizeof(khugepaged_saved[k])))
			khugepaged_saved[k][0] = '\0';
		else
			file_write(path, khugepaged_knobs[k][1]);
	}
}

static void thp_restore(void)
{
	char path[128];
	unsigned int k;

	if (getpid() != controller_pid)
		return;
	for (k = 0; k < ARRAY_SIZE(khugepaged_knobs); k++) {
		if (!khugepaged_saved[k][0])
			continue;
		snprintf(path, sizeof(path), THP_DIR "%s", khugepaged_knobs[k][0]);
		file_write(path, khugepaged_saved[k]);
	}
}

static const char * const vm_events[] = {
	"thp_fault_alloc", "thp_collapse_alloc", "thp_split_page",
	"thp_split_pmd", "cow_ksm", "ksm_swpin_copy", "pswpin", "pswpout",
};

static long vm_start[ARRAY_SIZE(vm_events)];

static void vm_events_snapshot(void)
{
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(vm_events); k++)
		vm_start[k] = vmstat_get(vm_events[k]);
}

/* The pfn of the shared zero page: never poison or soft-offline it. */
static unsigned long find_zero_pfn(void)
{
	char *p = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	unsigned long pfn;

	if (p == MAP_FAILED)
		return 0;
	(void)__atomic_load_n(p, __ATOMIC_RELAXED);	/* maps the zero page */
	pfn = page_pfn(0, p);
	munmap(p, page_size);
	return pfn;
}

/* ---- controller ---- */

struct proc {
	pid_t pid;
	unsigned long gen;
	bool killed;
};

static struct proc testers[MAX_PROCS];
static pid_t helper_pids[NR_HELPERS];
static long saved_mas = -1, saved_mps = -1;

/* watchdog state */
static long wd_bound_ms;
static long wd_scans = -1;
static long wd_since_ms;
static long wd_longest_ms;
static long wd_frozen_ms;	/* --self-test-watchdog: ksmd stopped then */
static long wd_tripped_ms;
static char wd_why[160];

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
	st->beat_ms[id] = 0;
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

static bool zero_pages_bad;	/* ksm_zero_pages went wrong: said once */

/*
 * ksm_zero_pages counts the zero page mappings KSM made: it is never
 * negative, and with no process left it is 0.  An error, counted once.
 */
static bool zero_pages_ok(const char *when, bool want_zero)
{
	long z;

	if (ksm_read_knob("ksm_zero_pages", &z))
		return true;	/* no such counter */
	if (z >= 0 && (!want_zero || z == 0))
		return true;
	if (!zero_pages_bad) {
		printf("# stress: ERROR: ksm_zero_pages=%ld %s\n", z, when);
		fflush(stdout);
		stat_add(&st->errors, 1);
	}
	zero_pages_bad = true;
	return false;
}

static void sample_counters(void)
{
	stat_max(&st->sharing_peak, ksm_get("pages_sharing"));
	stat_max(&st->shared_peak, ksm_get("pages_shared"));
	if (!zero_pages_bad)
		zero_pages_ok("while the stress ran", false);
}

/* Account for the end of tester @id (@status from waitpid). */
static void tester_ended(int id, int status)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    testers[id].killed) {
		stat_add(&st->kills, 1);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		stat_add(&st->errors, 1);
		ksft_print_msg("tester %d (pid %d) %s %d\n", id, testers[id].pid,
			       WIFSIGNALED(status) ? "died of signal" :
			       "exited with", WIFSIGNALED(status) ?
			       WTERMSIG(status) : WEXITSTATUS(status));
	}
	testers[id].pid = 0;
}

/* A helper must only ever exit 0, when told to stop. */
static void helper_ended(int h, int status)
{
	helper_pids[h] = 0;
	if (WIFEXITED(status) && !WEXITSTATUS(status) && st->stop)
		return;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && wd_tripped_ms)
		return;	/* killed after the watchdog tripped */
	stat_add(&st->errors, 1);
	ksft_print_msg("%s helper ended with status %#x\n", helper_names[h],
		       status);
}

/*
 * Account for whatever process @pid was.  A forked child whose tester
 * died is reaped here: it must exit 0 (or be SIGKILLed by its parent).
 */
static void proc_ended(pid_t pid, int status, bool restart)
{
	int id, h;

	for (h = 0; h < NR_HELPERS; h++) {
		if (helper_pids[h] == pid) {
			helper_ended(h, status);
			return;
		}
	}
	for (id = 0; id < opt_procs; id++) {
		if (testers[id].pid == pid) {
			tester_ended(id, status);
			if (restart)
				start_tester(id);
			return;
		}
	}
	if ((WIFEXITED(status) && WEXITSTATUS(status)) ||
	    (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)) {
		stat_add(&st->errors, 1);
		ksft_print_msg("orphaned forked child %d ended with status %#x\n",
			       pid, status);
	}
}

static void reap_testers(bool restart)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		proc_ended(pid, status, restart);
}

/* Who the end is waiting for: testers, helpers and what they do. */
static void print_waiting(double waited)
{
	char state[512], path[64];
	int id, h;

	printf("# end: after %.0f s still waiting for forked children or", waited);
	for (id = 0; id < opt_procs; id++)
		if (testers[id].pid)
			printf(" tester %d (pid %d, op %s)", id, testers[id].pid,
			       op_names[st->beat_op[id]]);
	for (h = 0; h < NR_HELPERS; h++) {
		if (!helper_pids[h])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/wchan", helper_pids[h]);
		if (file_read(path, state, sizeof(state)))
			state[0] = '\0';
		printf(" %s helper (%s, in %s)", helper_names[h],
		       st->busy[h].since_ms ? st->busy[h].what : "-", state);
	}
	printf("\n");
	fflush(stdout);
}

/* Reap everything that ends within @secs (all of it unless stuck). */
static void reap_all(double secs)
{
	double start = now_secs(), next = start + 10;
	int status;
	pid_t pid;

	while (now_secs() < start + secs) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0)
			return;
		if (pid > 0) {
			proc_ended(pid, status, false);
			continue;
		}
		if (now_secs() > next) {
			print_waiting(now_secs() - start);
			next += 10;
		}
		sleep_msecs(20);
	}
}

/* Tell everyone to stop: SIGUSR1 (check and exit) or, @hard, SIGKILL. */
static void stop_all(bool hard)
{
	int id, h;

	st->stop = 1;
	for (id = 0; id < opt_procs; id++) {
		if (!testers[id].pid)
			continue;
		if (hard)
			testers[id].killed = true;
		kill(testers[id].pid, hard ? SIGKILL : SIGUSR1);
	}
	for (h = 0; h < NR_HELPERS; h++)
		if (helper_pids[h])
			kill(helper_pids[h], hard ? SIGKILL : SIGUSR1);
}

static void kill_random_tester(void)
{
	int id = rnd_below(opt_procs);

	if (!testers[id].pid)
		return;
	testers[id].killed = true;
	kill(testers[id].pid, SIGKILL);
}

/* ---- watchdog ---- */

static bool debug_kernel(void)
{
	return !access("/proc/lockdep", F_OK);
}

static long ksm_items(void)
{
	return ksm_get("pages_shared") + ksm_get("pages_sharing") +
	       ksm_get("pages_unshared") + ksm_get("pages_volatile");
}

static bool testers_alive(void)
{
	int id;

	for (id = 0; id < opt_procs; id++)
		if (testers[id].pid)
			return true;
	return false;
}

/* Not stopped by the knobs helper, and there is memory to scan. */
static bool ksmd_should_run(void)
{
	return !__atomic_load_n(&st->hold_ms, __ATOMIC_ACQUIRE) &&
	       (testers_alive() || ksm_items() > 0);
}

/* Has full_scans not advanced for the bound while ksmd should run? */
static bool scans_stuck(long now)
{
	long scans = ksm_get("full_scans");
	long changed = __atomic_load_n(&st->knob_change_ms, __ATOMIC_ACQUIRE);

	if (scans != wd_scans || !ksmd_should_run()) {
		wd_scans = scans;
		wd_since_ms = now;
	}
	if (changed > wd_since_ms)
		wd_since_ms = changed;	/* a new rate: a new clock */
	if (now - wd_since_ms > wd_longest_ms)
		wd_longest_ms = now - wd_since_ms;
	if (now - wd_since_ms <= wd_bound_ms)
		return false;
	snprintf(wd_why, sizeof(wd_why), "full_scans stuck at %ld for %ld s",
		 scans, (now - wd_since_ms) / 1000);
	return true;
}

/* Has a helper's write or a tester's op not returned within the bound? */
static bool others_stuck(long now)
{
	long since;
	int h, id;

	for (h = 0; h < NR_HELPERS; h++) {
		since = __atomic_load_n(&st->busy[h].since_ms, __ATOMIC_ACQUIRE);
		if (since && now - since > wd_bound_ms) {
			snprintf(wd_why, sizeof(wd_why),
				 "%s helper: %s has not returned for %ld s",
				 helper_names[h], st->busy[h].what,
				 (now - since) / 1000);
			return true;
		}
	}
	since = __atomic_load_n(&st->hold_ms, __ATOMIC_ACQUIRE);
	if (since && now - since > wd_bound_ms) {
		snprintf(wd_why, sizeof(wd_why),
			 "ksmd held stopped by the knobs helper for %ld s",
			 (now - since) / 1000);
		return true;
	}
	for (id = 0; id < opt_procs; id++) {
		since = __atomic_load_n(&st->beat_ms[id], __ATOMIC_RELAXED);
		if (testers[id].pid && since && now - since > wd_bound_ms) {
			snprintf(wd_why, sizeof(wd_why),
				 "tester %d (pid %d): op %s has not returned for %ld s",
				 id, testers[id].pid, op_names[st->beat_op[id]],
				 (now - since) / 1000);
			return true;
		}
	}
	return false;
}

static void watchdog_trip(long now)
{
	wd_tripped_ms = now;
	stat_add(&st->watchdog_trips, 1);
	if (!opt_selftest_wd)
		stat_add(&st->errors, 1);
	printf("# stress: WATCHDOG: %s\n", wd_why);
	printf("# watchdog: t=%.1fs run=%ld pages_to_scan=%ld sleep_millisecs=%ld",
	       t_rel(), ksm_get("run"), ksm_get("pages_to_scan"),
	       ksm_get("sleep_millisecs"));
	printf(" full_scans=%ld shared=%ld sharing=%ld unshared=%ld volatile=%ld; sysrq w, l\n",
	       ksm_get("full_scans"), ksm_get("pages_shared"),
	       ksm_get("pages_sharing"), ksm_get("pages_unshared"),
	       ksm_get("pages_volatile"));
	fflush(stdout);
	file_write("/proc/sysrq-trigger", "w");	/* blocked tasks */
	file_write("/proc/sysrq-trigger", "l");	/* every CPU's backtrace */
}

/* Once per controller tick: true when the watchdog tripped. */
static bool watchdog_check(void)
{
	long now = now_ms();

	/*
	 * Self-test: after 5 s, right after full_scans advanced (so the
	 * trip is due one bound later), stop ksmd behind the watchdog's back:
	 * no hold_ksmd().
	 */
	if (opt_selftest_wd && !wd_frozen_ms && now - st->start_ms > 5000 &&
	    (ksm_get("full_scans") != wd_scans ||
	     now - st->start_ms > 5000 + wd_bound_ms / 2)) {
		ksm_write_knob("run", "0");
		wd_frozen_ms = now;
		printf("# self-test: t=%.1fs run=0 behind the watchdog's back (full_scans %ld)\n",
		       t_rel(), ksm_get("full_scans"));
		fflush(stdout);
	}
	if (!scans_stuck(now) && !others_stuck(now))
		return false;
	watchdog_trip(now);
	return true;
}

/* ---- configuration ---- */

static void print_config(const char *what)
{
	char mode[32];

	knob_word("advisor_mode", mode, sizeof(mode));
	printf("# config: %s merge_across_nodes=%ld max_page_sharing=%ld",
	       what, ksm_get("merge_across_nodes"), ksm_get("max_page_sharing"));
	printf(" use_zero_pages=%ld smart_scan=%ld pages_to_scan=%ld",
	       ksm_get("use_zero_pages"), ksm_get("smart_scan"),
	       ksm_get("pages_to_scan"));
	printf(" sleep_millisecs=%ld stable_node_chains_prune_millisecs=%ld",
	       ksm_get("sleep_millisecs"),
	       ksm_get("stable_node_chains_prune_millisecs"));
	printf(" advisor_mode=%s advisor_target_scan_time=%ld", mode,
	       ksm_get("advisor_target_scan_time"));
	knob_word("merge_scope", mode, sizeof(mode));
	printf(" merge_scope=%s\n", have_merge_scope ? mode : "none");
	fflush(stdout);
}

/* The first configuration, from the seed (and --scan, --max-sharing). */
static void config_pick(void)
{
	long mps = opt_max_sharing ? opt_max_sharing : pick_max_sharing();
	long pts = opt_scan ? opt_scan : pick_scan();
	bool advisor = rnd_below(5) == 0;
	long mas = rnd_below(2);
	int ret;

	const char *scope = scope_words[(rnd_below(4) + 1) / 2];

	saved_mas = ksm_get("merge_across_nodes");
	saved_mps = ksm_get("max_page_sharing");
	have_merge_scope = !ksm_read_knob_word("merge_scope", saved_scope,
					       sizeof(saved_scope));
	if (ksm_write_knob("run", "2"))
		ksft_exit_fail_msg("cannot unmerge (run=2)\n");
	ret = ksm_write_knob_long("merge_across_nodes", mas);
	if (!ret)
		ret = ksm_write_knob_long("max_page_sharing", mps);
	if (!ret && have_merge_scope)
		ret = ksm_write_knob("merge_scope", scope);
	if (ret) {
		/*
		 * Nothing of ours exists yet: a kernel bug (maybe triggered
		 * by an earlier test; self-tests only note it).
		 */
		printf("# config: merge_across_nodes=%ld, max_page_sharing=%ld after run=2: %s%s\n",
		       mas, mps, strerror(-ret),
		       opt_corrupt || opt_selftest_wd ? "" : " (an error)");
		if (!opt_corrupt && !opt_selftest_wd)
			stat_add(&st->errors, 1);
		tree_knobs_stuck = true;
	}
	ksm_write_knob_long("use_zero_pages", rnd_below(2));
	ksm_write_knob_long("smart_scan", rnd_below(2));
	ksm_write_knob_long("sleep_millisecs", pick_sleep());
	ksm_write_knob_long("stable_node_chains_prune_millisecs",
			    pick_prune());
	ksm_write_knob_long("pages_to_scan", pts);
	if (advisor) {
		ksm_write_knob_long("advisor_target_scan_time", 1 + rnd_below(8));
		ksm_write_knob("advisor_mode", "scan-time");
	}
	print_config("first");
	if (ksm_write_knob("run", "1"))
		ksft_exit_fail_msg("cannot start ksmd (run=1)\n");
}

/*
 * With every process gone and run=2, merge_across_nodes and
 * max_page_sharing must take new values: set them back (or, if they did
 * not change, max_page_sharing once to another value and back).
 */
static bool tree_knobs_settable(void)
{
	long errors = st->errors;

	if (saved_mas < 0 || saved_mps < 2)
		return false;
	if (ksm_get("merge_across_nodes") != saved_mas)
		tree_knob_change_long("merge_across_nodes", saved_mas);
	if (have_merge_scope)
		tree_knob_change("merge_scope", saved_scope);
	if (ksm_get("max_page_sharing") == saved_mps)
		tree_knob_change_long("max_page_sharing", saved_mps + 1);
	tree_knob_change_long("max_page_sharing", saved_mps);
	return st->errors == errors;
}

/* ---- report ---- */

static void print_vm_events(void)
{
	char buf[512];
	unsigned int k;
	int n = 0;

	for (k = 0; k < ARRAY_SIZE(vm_events); k++)
		n += snprintf(buf + n, sizeof(buf) - n, " %s=%ld", vm_events[k],
			      vmstat_get(vm_events[k]) - vm_start[k]);
	printf("# vmstat:%s\n", buf);
}

static void print_report(long seconds)
{
	char ops[768];
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
	printf("# mm: free=%ld pages (%ld found discarded, %ld madvise failed),",
	       st->frees, st->lazy_zeroed, st->free_fail);
	printf(" soft_offline=%ld/%ld failed, hwpoison=%ld/%ld failed, poison_sigbus=%ld",
	       st->soft_ok, st->soft_fail, st->poison_ok, st->poison_fail,
	       st->poison_sigbus);
	printf(" (%ld unrecorded),", st->poison_unrecorded);
	printf(" HardwareCorrupted=%ldkB, thp_regions=%ld\n",
	       proc_field("/proc/meminfo", "HardwareCorrupted:"),
	       st->thp_regions);
	print_vm_events();
	printf("# knobs: run_switches=%ld reclaims=%ld;", st->run_switches,
	       st->reclaims);
	printf(" hotplug: offline=%ld busy=%ld other=%ld online=%ld online_fail=%ld",
	       st->offline_ok, st->offline_busy, st->offline_other,
	       st->online_ok, st->online_fail);
	printf(" online_hwpoison=%ld\n", st->online_hwpoison);
	printf("# knobs: changes=%ld failed=%ld tree_changes=%ld",
	       st->knob_changes, st->knob_fail, st->tree_changes);
	printf(" domain_checks=%ld cross_domain=%ld", st->domain_checks,
	       st->cross_domain);
	printf(" ebusy_then_ok=%ld run2_failed=%ld\n", st->tree_ebusy,
	       st->run2_fail);
	printf("# sys: compactions=%ld swapoff=%ld/%ld failed swapon_failed=%ld (%s)\n",
	       st->compactions, st->swapoffs, st->swapoff_fail,
	       st->swapon_fail, swap_dev[0] ? swap_dev : "no swap");
	printf("# watchdog: bound=%lds longest_stall=%.1fs trips=%ld\n",
	       wd_bound_ms / 1000, wd_longest_ms / 1000.0, st->watchdog_trips);
	printf("# stress: seed=%lu seconds=%ld procs=%d ops=%ld pages_verified=%ld",
	       opt_seed, seconds, opt_procs, st->ops, st->pages_verified);
	printf(" sharing_peak=%ld shared_peak=%ld full_scans=%ld final_verified=%ld",
	       st->sharing_peak, st->shared_peak, ksm_get("full_scans"),
	       st->final_verified);
	if (opt_corrupt)
		printf(" planted=%ld", st->planted);
	printf(" mismatches=%ld errors=%ld\n", st->mismatches, st->errors);
	fflush(stdout);
}

static void print_results(bool idle, bool settable)
{
	double delay = (wd_tripped_ms - wd_frozen_ms) / 1000.0;

	if (opt_selftest_wd) {
		/* full_scans may have stopped a little before the freeze */
		ksft_test_result(wd_tripped_ms && wd_frozen_ms &&
				 wd_tripped_ms > wd_frozen_ms &&
				 delay * 1000 <= wd_bound_ms + 10000,
				 "self-test: watchdog tripped %.1f s after ksmd was stopped (bound %ld s)\n",
				 wd_tripped_ms ? delay : -1.0, wd_bound_ms / 1000);
		ksft_test_result(st->mismatches == 0,
				 "no page differs from its model\n");
		return;
	}
	ksft_test_result(st->ops > 0 && st->pages_verified > 0,
			 "stress ran: ops and page verifications done\n");
	if (opt_corrupt) {
		ksft_test_result(st->planted > 0,
				 "self-test: the planted corruption was reported (%ld times)\n",
				 st->planted);
		ksft_test_result(st->mismatches == 0,
				 "no other page differs from its model\n");
		return;
	}
	ksft_test_result(st->mismatches == 0,
			 "no page differs from its model\n");
	ksft_test_result(st->errors == st->mismatches,
			 "no other error: deaths, knob writes, hotplug, swap, watchdog\n");
	ksft_test_result(st->sharing_peak > 0, "pages were merged (pages_sharing peak %ld)\n",
			 st->sharing_peak);
	if (nr_blocks)
		ksft_test_result(st->offline_ok + st->offline_busy > 0 &&
				 !st->offline_other,
				 "memory blocks offlined and onlined\n");
	else
		ksft_test_result_skip("memory blocks offlined and onlined (no movable block)\n");
	ksft_test_result(wd_tripped_ms || (st->final_procs > 0 &&
					   st->final_verified > 0),
			 "every page of every process left at the end checked (%ld pages, %ld processes)\n",
			 st->final_verified, st->final_procs);
	ksft_test_result(!wd_tripped_ms,
			 "ksmd kept scanning (watchdog %ld s, longest stall %.1f s)\n",
			 wd_bound_ms / 1000, wd_longest_ms / 1000.0);
	if (wd_tripped_ms)
		ksft_test_result_skip("KSM idle at the end (watchdog tripped)\n");
	else
		ksft_test_result(idle && settable,
				 "KSM idle (and ksm_zero_pages 0) after all processes exited and run=2, tree knobs settable\n");
}

static void print_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--seconds N] [--procs N] [--pages N]\n"
		"          [--pool N] [--scan N (first pages_to_scan)]\n"
		"          [--max-sharing N (first max_page_sharing)]\n"
		"          [--no-hotplug] [--no-knobs] [--no-sys]\n"
		"          [--nice N (testers, default 15)]\n"
		"          [--watchdog S (default %d, x%d on a lockdep kernel)]\n"
		"          [--max-poison N (default 24)] [--max-soft-offline N (400)]\n"
		"          [--corrupt (self-test: must report mismatches)]\n"
		"          [--self-test-watchdog (must trip the watchdog)]\n"
		"          [--skip-op NAME,... (ops as in the report's ops by kind)]\n",
		prog, WATCHDOG_DEFAULT, WATCHDOG_DEBUG_FACTOR);
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
		{ "no-sys", no_argument, NULL, 'Y' },
		{ "corrupt", no_argument, NULL, 'C' },
		{ "nice", required_argument, NULL, 'N' },
		{ "watchdog", required_argument, NULL, 'W' },
		{ "max-poison", required_argument, NULL, 'X' },
		{ "max-soft-offline", required_argument, NULL, 'O' },
		{ "self-test-watchdog", no_argument, NULL, 'D' },
		{ "skip-op", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:t:p:n:P:S:m:HKYCN:W:X:O:Dx:",
				longopts, NULL)) != -1) {
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
		case 'Y':
			opt_sys = false;
			break;
		case 'C':
			opt_corrupt = true;
			break;
		case 'N':
			opt_nice = strtol(optarg, NULL, 0);
			break;
		case 'W':
			opt_watchdog = strtol(optarg, NULL, 0);
			break;
		case 'X':
			opt_max_poison = strtol(optarg, NULL, 0);
			break;
		case 'O':
			opt_max_soft = strtol(optarg, NULL, 0);
			break;
		case 'D':
			opt_selftest_wd = true;
			break;
		case 'x':
			opt_skip_ops = optarg;
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (opt_procs < 1 || opt_procs > MAX_PROCS || opt_seconds < 1 ||
	    opt_pages < 32 || opt_pool < 1 || opt_scan < 0 ||
	    (opt_max_sharing && opt_max_sharing < 2) || opt_watchdog < 0 ||
	    opt_max_poison < 0 || opt_max_poison > MAX_POISON - 8 ||
	    opt_max_soft < 0)
		print_usage(argv[0]);
}

/* Set up KSM, THP and the cgroup, print what the run will do. */
static void setup(void)
{
	ksm_init();
	controller_pid = getpid();
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		ksft_exit_fail_msg("mmap stats: %s\n", strerror(errno));
	st->start_ms = now_ms();
	rng_seed(opt_seed, 0);
	wd_bound_ms = 1000 * (opt_watchdog ? opt_watchdog : WATCHDOG_DEFAULT *
			      (debug_kernel() ? WATCHDOG_DEBUG_FACTOR : 1));
	zero_pfn = find_zero_pfn();
	kpf_ksm_reliable();	/* once, inherited by every tester */
	thp_setup();
	atexit(thp_restore);
	find_swap();
	ksm_setup_fast();
	cgroup_setup();
	/* Reap the forked children of testers that were killed. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (opt_hotplug)
		find_movable_blocks();
	printf("# seed=%lu seconds=%ld procs=%d pages=%ld pool=%ld movable_blocks=%d",
	       opt_seed, opt_seconds, opt_procs, opt_pages, opt_pool, nr_blocks);
	printf(" cgroup=%s swap=%s thp=%s watchdog=%lds max_poison=%ld",
	       cg_dir[0] ? cg_dir : "none", swap_dev[0] ? swap_dev : "none",
	       thp_ok ? "on" : "off", wd_bound_ms / 1000, opt_max_poison);
	printf(" max_soft_offline=%ld skip_ops=%s\n", opt_max_soft,
	       opt_skip_ops ? opt_skip_ops : "none");
	fflush(stdout);
	config_pick();
	zero_pages_ok("at the start, before any process of ours", false);
	vm_events_snapshot();
}

static void start_all(void)
{
	int id;

	/* Inherited by every tester, so none can die of an early SIGUSR1. */
	signal(SIGUSR1, on_stop);
	st->start_ms = now_ms();
	st->end_ms = st->start_ms + opt_seconds * 1000;
	/*
	 * Poison in the second half only: what it breaks cannot be undone
	 * in this boot (a KSM page that stays in the tree keeps the tree
	 * knobs from changing), so the first half runs without it.
	 */
	st->next_poison_ms = st->start_ms + opt_seconds * 500;
	st->next_soft_ms = st->start_ms + 1000;
	if (opt_knobs && !opt_selftest_wd)
		helper_pids[H_KNOBS] = start_proc(knobs_run);
	if (nr_blocks)
		helper_pids[H_HOTPLUG] = start_proc(hotplug_run);
	if (opt_sys && swap_dev[0])
		helper_pids[H_SYS] = start_proc(sys_run);
	for (id = 0; id < opt_procs; id++)
		start_tester(id);
}

static void print_progress(double start)
{
	printf("# t=%.0fs ops=%ld pages_verified=%ld sharing=%ld peak=%ld",
	       now_secs() - start, st->ops, st->pages_verified,
	       ksm_get("pages_sharing"), st->sharing_peak);
	printf(" forks=%ld exits=%ld offline=%ld/%ld full_scans=%ld errors=%ld\n",
	       st->forks, st->exits, st->offline_ok, st->offline_busy,
	       ksm_get("full_scans"), st->errors);
	fflush(stdout);
}

/* Until the deadline or the watchdog: replace, kill, sample, watch. */
static void control_loop(void)
{
	double start = now_secs(), end = start + opt_seconds;
	double next_print = start + 30, next_kill = start + 3 + rnd_below(8);

	while (now_secs() < end) {
		sleep_ms(100);
		sample_counters();
		reap_testers(true);
		if (watchdog_check())
			return;
		if (now_secs() > next_kill) {
			kill_random_tester();
			next_kill = now_secs() + 2 + rnd_below(10);
		}
		if (now_secs() > next_print) {
			print_progress(start);
			next_print = now_secs() + 30;
		}
	}
}

int main(int argc, char **argv)
{
	bool idle = false, settable = false;
	double start, t[3];
	long seconds;

	parse_args(argc, argv);
	if (opt_skip_ops)
		skip_ops();
	ksft_print_header();
	ksft_set_plan(opt_selftest_wd ? 2 : opt_corrupt ? 3 : 8);
	setup();
	start_all();
	start = now_secs();
	control_loop();
	seconds = (long)(now_secs() - start + 0.5);

	/*
	 * Stop: testers and their children check every page once more and
	 * exit.  After a watchdog trip (the kernel may be stuck) they are
	 * killed instead, and nothing that could block is done.
	 */
	t[0] = now_secs();
	stop_all(wd_tripped_ms != 0);
	reap_all(wd_tripped_ms ? 10 : 600);
	sample_counters();
	t[1] = now_secs();
	t[2] = t[1];
	if (!wd_tripped_ms || opt_selftest_wd) {
		/* Nothing mergeable is left: KSM must drop every page and item. */
		ksm_write_knob("run", "2");
		idle = ksm_wait_idle(120);
		idle = zero_pages_ok("with every process gone, after run=2", true) &&
		       idle;
		t[2] = now_secs();
		settable = tree_knobs_settable();
	}
	cgroup_cleanup();
	printf("# end: all stopped in %.1f s, KSM idle in %.1f s, tree knobs set in %.1f s\n",
	       t[1] - t[0], t[2] - t[1], now_secs() - t[2]);
	print_report(seconds);
	print_results(idle, settable);
	if (wd_tripped_ms && !opt_selftest_wd) {
		/* Restoring the knobs could block on a stuck KSM. */
		fflush(NULL);
		_exit(KSFT_FAIL);
	}
	ksm_restore_knobs();
	ksft_finished();
}
