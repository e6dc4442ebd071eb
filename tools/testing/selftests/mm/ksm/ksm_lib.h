/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for our KSM selftests.
 *
 * - KSM sysfs knobs: read/write, save on start and restore on exit (also on
 *   SIGTERM/SIGINT), switch ksmd to a fast scanning mode, wait for the
 *   pages_shared/pages_sharing counters to settle at an expected value.
 * - Regions: anonymous mappings whose pages carry a 64-bit "tag"; the page
 *   content is a pseudo-random function of the tag, so content can be
 *   regenerated and verified word by word.  Tag 0 means "expect zeroes".
 * - Workers: forked helper processes owning one region each, driven by
 *   requests over a socketpair, so a test can build several address spaces
 *   that share content.
 * - /proc/<pid>/pagemap and /proc/kpageflags lookups, /proc/vmstat counters.
 */
#ifndef KSM_LIB_H
#define KSM_LIB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define KSM_SYSFS "/sys/kernel/mm/ksm/"

#ifndef BIT_ULL
#define BIT_ULL(nr)		(1ULL << (nr))
#endif
#define PM_PFN_MASK		(BIT_ULL(55) - 1)
#define PM_MMAP_EXCLUSIVE	BIT_ULL(56)
#define PM_SWAP			BIT_ULL(62)
#define PM_PRESENT		BIT_ULL(63)
#define KPF_KSM_BIT		21

/*
 * Default time to wait for ksmd to reach an expected state (passing runs
 * need a second or two even under TCG).  After three timeouts in one
 * program, waits are cut to 5 s so a broken KSM fails fast instead of
 * running into the harness's time limit.
 */
#define KSM_WAIT_SECS		30

extern size_t page_size;

/* ---- time ---- */
double now_secs(void);		/* CLOCK_MONOTONIC, in seconds */
void sleep_msecs(long ms);

/* ---- small files ---- */
/*
 * Read a whole small file (sysfs, procfs, cgroup) into @buf, without its
 * trailing newlines and blanks; write @val to one (truncating it).  Both
 * return 0 or -errno (-EIO for a short write).
 */
int file_read(const char *path, char *buf, size_t len);
int file_write(const char *path, const char *val);

/* ---- sysfs knobs ---- */
int ksm_read_knob(const char *name, long *val);
int ksm_read_knob_str(const char *name, char *buf, size_t len);
/* A knob's value; of "[none] scan-time" the word in brackets ("none"). */
int ksm_read_knob_word(const char *name, char *buf, size_t len);
/* Returns 0 on success or -errno of the failing write(). */
int ksm_write_knob(const char *name, const char *val);
int ksm_write_knob_long(const char *name, long val);
long ksm_get(const char *name);	/* -1 on error */

/*
 * Check that KSM sysfs exists (else ksft_exit_skip), save knobs, install
 * restore handlers.  ksm_setup_fast() then sets a fast scan rate and run=1.
 */
void ksm_init(void);
void ksm_setup_fast(void);
void ksm_restore_knobs(void);

/* run=2: unmerge everything; returns 0 if counters read zero afterwards. */
int ksm_unmerge_all(void);
int ksm_start(void);		/* run=1 */

/* Wait until full_scans advanced by @n (false on timeout). */
bool ksm_wait_scans(int n, int timeout_s);
/*
 * Wait until pages_shared == @shared and pages_sharing == @sharing and
 * the values stay there over two more full scans (if ksmd is scanning).
 * Prints the last values on timeout.
 */
bool ksm_wait_counters(long shared, long sharing, int timeout_s);
void ksm_print_counters(const char *when);
/*
 * Wait until pages_shared, pages_sharing, pages_unshared and pages_volatile
 * all read 0: no KSM page and no rmap_item left (nothing mergeable alive).
 */
bool ksm_wait_idle(int timeout_s);

/* ---- procfs ---- */
/* The number after "@name " in a /proc file of such lines; -1 if absent. */
long proc_field(const char *path, const char *name);
long vmstat_get(const char *name);	/* -1 if absent */
/* ksmd's pid, 0 if there is none. */
pid_t ksmd_pid(void);
/* ksmd's utime + stime in clock ticks; -1 if there is no ksmd. */
long ksmd_cpu_ticks(void);
uint64_t pagemap_entry(pid_t pid, const void *addr);	/* pid 0: self */
uint64_t kpageflags(unsigned long pfn);	/* 0 on error */
uint64_t kpagecount(unsigned long pfn);	/* 0 on error */
/*
 * KPF_KSM of the page mapped at @addr: 1 set, 0 clear, -1 unknown (page not
 * present, /proc/kpageflags unreadable, or the kernel sets KPF_KSM on every
 * anonymous page -- 6.12's stable_page_flags() tests mapping &
 * PAGE_MAPPING_KSM, which includes PAGE_MAPPING_ANON -- so it cannot be
 * trusted).  Tests then rely on pfn sharing and PM_MMAP_EXCLUSIVE alone.
 */
int page_ksm_flag(pid_t pid, const void *addr);
bool kpf_ksm_reliable(void);
unsigned long page_pfn(pid_t pid, const void *addr);	/* 0: not present */
/* Read @count pagemap entries starting at @addr; 0 or -errno. */
int pagemap_range(pid_t pid, const void *addr, long count, uint64_t *out);

/* ---- page content ---- */
void fill_page(void *page, uint64_t tag);
bool check_page(const void *page, uint64_t tag);

struct region {
	char *buf;
	long npages;
	uint64_t *tags;
};

int region_map(struct region *r, long npages);
void region_unmap(struct region *r);
/* tag[i] = base + (i % period) for i in [first, first + count) */
void region_fill(struct region *r, uint64_t base, long period);
void region_set(struct region *r, long i, uint64_t tag);
/* Returns the number of pages whose content differs from their tag. */
long region_check(struct region *r);

/* ---- workers ---- */
enum worker_op {
	W_MAP = 1,	/* a = npages */
	W_FILL,		/* a = base, b = period */
	W_SET,		/* a = page, b = tag */
	W_SET_TAG,	/* a = page, b = tag: only record expectation */
	W_CHECK,	/* -> mismatching pages */
	W_MADV,		/* a = advice, b = first page, c = count */
	W_MLOCK,	/* a = 1 lock, 0 unlock */
	W_MREMAP,	/* move region to a new address -> new address */
	W_MUNMAP,
	W_ADDR,		/* -> region address */
	W_MBIND,	/* a = node, b = flags */
	W_PRCTL,	/* prctl(a, b, 0, 0, 0) -> its result */
	W_EXIT,
};

struct worker {
	pid_t pid;
	int fd;
};

int worker_start(struct worker *w);
/* Returns the op's result (>= 0) or -errno.  Dies on protocol errors. */
long worker_op(struct worker *w, int op, long a, long b, long c);
/* Convenience: start + map + fill + MADV_MERGEABLE. */
int worker_start_filled(struct worker *w, long npages, uint64_t base,
			long period);
void worker_stop(struct worker *w);	/* W_EXIT + waitpid */
void worker_kill(struct worker *w);	/* SIGKILL + waitpid */

/*
 * Pages [first, first + count) of all @nw workers map one KSM page per
 * index (same pfn in every worker, KPF_KSM set).  Prints the first problem.
 */
bool workers_merged(struct worker *w, int nw, long first, long count);
/*
 * Pages [first, first + count) of every worker are ordinary private pages:
 * present, not KSM, exclusively mapped, no pfn shared between workers.
 */
bool workers_private(struct worker *w, int nw, long first, long count);
/* Every worker's content matches its tags. */
bool workers_check(struct worker *w, int nw);
void workers_stop(struct worker *w, int nw);
/* Start @nw workers with @npages pages tagged base + i, all mergeable. */
int workers_start_same(struct worker *w, int nw, long npages, uint64_t base);

/* ---- memory cgroups (cgroup v2 at /sys/fs/cgroup) ---- */
/*
 * Create /sys/fs/cgroup/@name (memory controller on) and move the calling
 * process into it; 0 or -errno.  memcg_reclaim() writes @amount ("64M")
 * to its memory.reclaim (its result does not matter: reclaim may fall
 * short).  memcg_leave() moves the caller back to the root and removes it.
 */
int memcg_enter(const char *name);
/* The same for process @who (created if need be, moved there). */
int memcg_add(const char *name, pid_t who);
void memcg_reclaim(const char *name, const char *amount);
void memcg_leave(const char *name);

/* Raw NUMA syscalls (no libnuma needed). */
long sys_move_pages(pid_t pid, unsigned long count, void **pages,
		    const int *nodes, int *status, int flags);
long sys_mbind(void *addr, unsigned long len, int mode,
	       const unsigned long *nodemask, unsigned long maxnode,
	       unsigned int flags);
int numa_node_count(void);

#endif /* KSM_LIB_H */
