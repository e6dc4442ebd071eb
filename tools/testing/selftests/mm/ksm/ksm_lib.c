// SPDX-License-Identifier: GPL-2.0
/*
 * Shared helpers for our KSM selftests: sysfs knob handling with
 * save/restore, waiting for ksmd, pagemap/kpageflags/vmstat lookups,
 * tagged page content and worker processes.  See ksm_lib.h.
 *
 * Workers are started by fork() + exec("/proc/self/exe") with the socket
 * number in the environment, so a worker never inherits the test's own
 * (possibly mergeable) mappings; a constructor diverts the exec'ed program
 * into the worker loop before main() runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "ksm_lib.h"

#define WORKER_ENV "KSM_SELFTEST_WORKER_FD"

size_t page_size = 4096;

/* ---- small files ---- */

int file_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int file_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	int fd, ret = 0;
	ssize_t n;

	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* ---- sysfs knobs ---- */

int ksm_read_knob_str(const char *name, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), KSM_SYSFS "%s", name);
	return file_read(path, buf, len);
}

int ksm_read_knob(const char *name, long *val)
{
	char buf[64], *end;
	int ret;

	ret = ksm_read_knob_str(name, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*val = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

long ksm_get(const char *name)
{
	long val;

	if (ksm_read_knob(name, &val))
		return -1;
	return val;
}

int ksm_write_knob(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), KSM_SYSFS "%s", name);
	return file_write(path, val);
}

int ksm_write_knob_long(const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return ksm_write_knob(name, buf);
}

/* Saved knob values; advisor_mode first, run last when restoring. */
static const char * const saved_names[] = {
	"advisor_mode", "smart_scan", "pages_to_scan", "sleep_millisecs",
	"use_zero_pages", "merge_across_nodes", "max_page_sharing",
	"merge_scope", "stable_node_chains_prune_millisecs",
	"advisor_target_scan_time", "run",
};

#define NR_SAVED ARRAY_SIZE(saved_names)
static char saved_vals[NR_SAVED][64];
static bool saved_ok[NR_SAVED];
static pid_t owner_pid;

/* "[none] scan-time" -> "none" */
static void selected_word(const char *in, char *out, size_t len)
{
	const char *s = strchr(in, '['), *e;

	if (!s) {
		snprintf(out, len, "%s", in);
		return;
	}
	e = strchr(++s, ']');
	if (!e)
		e = s + strlen(s);
	snprintf(out, len, "%.*s", (int)(e - s), s);
}

int ksm_read_knob_word(const char *name, char *buf, size_t len)
{
	char raw[64];
	int ret;

	ret = ksm_read_knob_str(name, raw, sizeof(raw));
	if (!ret)
		selected_word(raw, buf, len);
	return ret;
}

void ksm_restore_knobs(void)
{
	char cur[64], want[64];
	bool unmerged = false;
	unsigned int i;

	if (getpid() != owner_pid)
		return;
	for (i = 0; i < NR_SAVED; i++) {
		if (!saved_ok[i])
			continue;
		if (ksm_read_knob_str(saved_names[i], cur, sizeof(cur)))
			continue;
		selected_word(cur, cur, sizeof(cur));
		selected_word(saved_vals[i], want, sizeof(want));
		if (!strcmp(cur, want))
			continue;
		/* These can only change while nothing is merged. */
		if (!unmerged && (!strcmp(saved_names[i], "merge_across_nodes") ||
				  !strcmp(saved_names[i], "max_page_sharing") ||
				  !strcmp(saved_names[i], "merge_scope"))) {
			ksm_write_knob("run", "2");
			unmerged = true;
		}
		if (!strcmp(saved_names[i], "run")) {
			/* Leave no stale rmap_items of our dead workers behind. */
			ksm_write_knob("run", "2");
		}
		ksm_write_knob(saved_names[i], want);
	}
}

static void restore_on_signal(int sig)
{
	ksm_restore_knobs();
	signal(sig, SIG_DFL);
	raise(sig);
}

void ksm_init(void)
{
	struct sigaction sa;
	unsigned int i;

	page_size = sysconf(_SC_PAGESIZE);
	if (access(KSM_SYSFS "run", F_OK))
		ksft_exit_skip("KSM sysfs (" KSM_SYSFS ") not present\n");
	if (geteuid())
		ksft_exit_skip("must run as root\n");
	owner_pid = getpid();
	for (i = 0; i < NR_SAVED; i++)
		saved_ok[i] = !ksm_read_knob_str(saved_names[i], saved_vals[i],
						 sizeof(saved_vals[i]));
	atexit(ksm_restore_knobs);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Never let a dying worker's socket kill us. */
	signal(SIGPIPE, SIG_IGN);
}

void ksm_setup_fast(void)
{
	/* Optional knobs: ignore failures if a kernel lacks them. */
	ksm_write_knob("advisor_mode", "none");
	ksm_write_knob("smart_scan", "0");
	if (ksm_write_knob("pages_to_scan", "2000"))
		ksft_exit_fail_msg("cannot set pages_to_scan\n");
	if (ksm_write_knob("sleep_millisecs", "10"))
		ksft_exit_fail_msg("cannot set sleep_millisecs\n");
	if (ksm_get("merge_across_nodes") != 1 ||
	    ksm_get("max_page_sharing") < 256 ||
	    ksm_get("use_zero_pages") > 0) {
		ksm_write_knob("run", "2");
		ksm_write_knob("merge_across_nodes", "1");
		ksm_write_knob("max_page_sharing", "256");
		ksm_write_knob("use_zero_pages", "0");
	}
	if (ksm_unmerge_all())
		ksft_exit_fail_msg("run=2 did not clear the counters\n");
	if (ksm_start())
		ksft_exit_fail_msg("cannot start ksmd (run=1)\n");
}

int ksm_unmerge_all(void)
{
	if (ksm_write_knob("run", "2"))
		return -1;
	if (ksm_get("pages_shared") || ksm_get("pages_sharing")) {
		ksm_print_counters("after run=2");
		return -1;
	}
	return 0;
}

int ksm_start(void)
{
	return ksm_write_knob("run", "1");
}

double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_msecs(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int nr_timeouts;

static int wait_limit(int timeout_s)
{
	return nr_timeouts >= 3 && timeout_s > 5 ? 5 : timeout_s;
}

bool ksm_wait_scans(int n, int timeout_s)
{
	long start = ksm_get("full_scans");
	double end = now_secs() + wait_limit(timeout_s);

	while (ksm_get("full_scans") < start + n) {
		if (now_secs() > end) {
			nr_timeouts++;
			ksft_print_msg("timeout waiting for %d full scans\n", n);
			return false;
		}
		sleep_msecs(10);
	}
	return true;
}

#define KSM_COUNTERS_FMT "%s: shared=%ld sharing=%ld unshared=%ld volatile=%ld full_scans=%ld run=%ld\n"

void ksm_print_counters(const char *when)
{
	ksft_print_msg(KSM_COUNTERS_FMT,
		       when, ksm_get("pages_shared"), ksm_get("pages_sharing"),
		       ksm_get("pages_unshared"), ksm_get("pages_volatile"),
		       ksm_get("full_scans"), ksm_get("run"));
}

bool ksm_wait_counters(long shared, long sharing, int timeout_s)
{
	double end = now_secs() + wait_limit(timeout_s), idle_end;
	long s, g, scans, last = -1;

	for (;;) {
		s = ksm_get("pages_shared");
		g = ksm_get("pages_sharing");
		if (s == shared && g == sharing) {
			/*
			 * Confirm the state is stable: let ksmd complete two
			 * more full scans (when it is scanning at all: with
			 * no mergeable mm left, full_scans does not move).
			 */
			scans = ksm_get("full_scans");
			idle_end = now_secs() + 2;
			while (ksm_get("full_scans") < scans + 2 &&
			       now_secs() < end) {
				long cur = ksm_get("full_scans");

				if (cur != last) {
					last = cur;
					idle_end = now_secs() + 2;
				} else if (now_secs() > idle_end) {
					break;	/* ksmd has nothing to scan */
				}
				sleep_msecs(10);
			}
			if (ksm_get("pages_shared") == shared &&
			    ksm_get("pages_sharing") == sharing)
				return true;
		}
		if (now_secs() > end)
			break;
		sleep_msecs(10);
	}
	nr_timeouts++;
	ksft_print_msg("timeout waiting for shared=%ld sharing=%ld\n",
		       shared, sharing);
	ksm_print_counters("  now");
	return false;
}

bool ksm_wait_idle(int timeout_s)
{
	double end = now_secs() + wait_limit(timeout_s);

	for (;;) {
		if (!ksm_get("pages_shared") && !ksm_get("pages_sharing") &&
		    !ksm_get("pages_unshared") && !ksm_get("pages_volatile"))
			return true;
		if (now_secs() > end)
			break;
		sleep_msecs(10);
	}
	nr_timeouts++;
	ksm_print_counters("timeout waiting for idle KSM");
	return false;
}

/* ---- procfs ---- */

long proc_field(const char *path, const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ' ') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

long vmstat_get(const char *name)
{
	return proc_field("/proc/vmstat", name);
}

pid_t ksmd_pid(void)
{
	char path[64], buf[64];
	struct dirent *de;
	pid_t pid = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!pid && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (!file_read(path, buf, sizeof(buf)) && !strcmp(buf, "ksmd"))
			pid = atoi(de->d_name);
	}
	closedir(d);
	return pid;
}

long ksmd_cpu_ticks(void)
{
	unsigned long utime, stime;
	char path[64], buf[512], *p;
	pid_t pid = ksmd_pid();

	if (!pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (file_read(path, buf, sizeof(buf)))
		return -1;
	/* After "(comm) ": state and 10 more fields, then utime stime. */
	p = strrchr(buf, ')');
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			&utime, &stime) == 2)
		return utime + stime;
	return -1;
}

uint64_t pagemap_entry(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t ent = 0;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  (uintptr_t)addr / page_size * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}

unsigned long page_pfn(pid_t pid, const void *addr)
{
	uint64_t ent = pagemap_entry(pid, addr);

	if (!(ent & PM_PRESENT))
		return 0;
	return ent & PM_PFN_MASK;
}

int pagemap_range(pid_t pid, const void *addr, long count, uint64_t *out)
{
	size_t len = count * sizeof(*out);
	char path[64];
	int fd, ret = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	if (pread(fd, out, len, (uintptr_t)addr / page_size * sizeof(*out)) !=
	    (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

#define KPAGEFLAGS_FILE	"/proc/kpageflags"
#define KPAGECOUNT_FILE	"/proc/kpagecount"

/* The 64-bit word for @pfn in a /proc/kpage* file; 0 if unreadable. */
static uint64_t kpage_word(const char *file, unsigned long pfn)
{
	uint64_t word = 0;
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &word, sizeof(word), pfn * sizeof(word)) != sizeof(word))
		word = 0;
	close(fd);
	return word;
}

uint64_t kpageflags(unsigned long pfn)
{
	return kpage_word(KPAGEFLAGS_FILE, pfn);
}

uint64_t kpagecount(unsigned long pfn)
{
	return kpage_word(KPAGECOUNT_FILE, pfn);
}

bool kpf_ksm_reliable(void)
{
	static int reliable = -1;
	uint64_t flags;
	char *p;

	if (reliable >= 0)
		return reliable;
	reliable = 0;
	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	p[0] = 1;
	flags = kpageflags(page_pfn(0, p));
	munmap(p, page_size);
	if (!(flags & BIT_ULL(12)))	/* KPF_ANON: flags unusable */
		ksft_print_msg("/proc/kpageflags unusable: KPF_KSM not checked\n");
	else if (flags & BIT_ULL(KPF_KSM_BIT))
		ksft_print_msg("kpageflags sets KPF_KSM on plain anon pages: %s\n",
			       "KPF_KSM not checked");
	else
		reliable = 1;
	return reliable;
}

int page_ksm_flag(pid_t pid, const void *addr)
{
	unsigned long pfn;

	if (!kpf_ksm_reliable())
		return -1;
	pfn = page_pfn(pid, addr);
	if (!pfn)
		return -1;
	return !!(kpageflags(pfn) & BIT_ULL(KPF_KSM_BIT));
}

/* ---- page content ---- */

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void fill_page(void *page, uint64_t tag)
{
	uint64_t *p = page;
	size_t i, n = page_size / sizeof(*p);
	uint64_t seed = mix64(tag);

	if (!tag) {
		memset(page, 0, page_size);
		return;
	}
	for (i = 0; i < n; i++)
		p[i] = mix64(seed + i) | 1;
}

bool check_page(const void *page, uint64_t tag)
{
	const uint64_t *p = page;
	size_t i, n = page_size / sizeof(*p);
	uint64_t seed = mix64(tag);

	for (i = 0; i < n; i++) {
		if (p[i] != (tag ? mix64(seed + i) | 1 : 0))
			return false;
	}
	return true;
}

int region_map(struct region *r, long npages)
{
	r->npages = npages;
	r->tags = calloc(npages, sizeof(*r->tags));
	if (!r->tags)
		return -ENOMEM;
	r->buf = mmap(NULL, npages * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->buf == MAP_FAILED) {
		free(r->tags);
		r->buf = NULL;
		return -errno;
	}
	/* Keep THP out of the picture; EINVAL if THP is not built in. */
	madvise(r->buf, npages * page_size, MADV_NOHUGEPAGE);
	return 0;
}

void region_unmap(struct region *r)
{
	if (r->buf)
		munmap(r->buf, r->npages * page_size);
	free(r->tags);
	r->buf = NULL;
	r->tags = NULL;
}

void region_set(struct region *r, long i, uint64_t tag)
{
	r->tags[i] = tag;
	fill_page(r->buf + i * page_size, tag);
}

void region_fill(struct region *r, uint64_t base, long period)
{
	long i;

	for (i = 0; i < r->npages; i++)
		region_set(r, i, base + (i % period));
}

long region_check(struct region *r)
{
	long i, bad = 0;

	for (i = 0; i < r->npages; i++) {
		if (!check_page(r->buf + i * page_size, r->tags[i])) {
			if (!bad)
				ksft_print_msg("pid %d: page %ld (tag %llu) has wrong content\n",
					       getpid(), i,
					       (unsigned long long)r->tags[i]);
			bad++;
		}
	}
	return bad;
}

/* ---- workers ---- */

struct wreq {
	long op, a, b, c;
};

struct wrep {
	long ret;
};

static long worker_do(struct region *r, struct wreq *q)
{
	size_t len = r->npages * page_size;
	unsigned long mask[2] = { 0, 0 };
	long ret;
	void *p;

	switch (q->op) {
	case W_MAP:
		return region_map(r, q->a);
	case W_FILL:
		region_fill(r, q->a, q->b);
		return 0;
	case W_SET:
		if (q->a < 0 || q->a >= r->npages)
			return -EINVAL;
		region_set(r, q->a, q->b);
		return 0;
	case W_SET_TAG:
		if (q->a < 0 || q->a >= r->npages)
			return -EINVAL;
		r->tags[q->a] = q->b;
		return 0;
	case W_CHECK:
		if (!r->buf)
			return -EFAULT;
		return region_check(r);
	case W_MADV:
		if (madvise(r->buf + q->b * page_size, q->c * page_size, q->a))
			return -errno;
		return 0;
	case W_MLOCK:
		if (q->a ? mlock(r->buf, len) : munlock(r->buf, len))
			return -errno;
		return 0;
	case W_MREMAP:
		/* Reserve a fresh range, then move the region onto it. */
		p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		p = mremap(r->buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, p);
		if (p == MAP_FAILED)
			return -errno;
		r->buf = p;
		return (long)p;
	case W_MUNMAP:
		if (munmap(r->buf, len))
			return -errno;
		r->buf = NULL;
		return 0;
	case W_ADDR:
		return (long)r->buf;
	case W_MBIND:
		mask[0] = 1UL << q->a;
		if (sys_mbind(r->buf, len, 2 /* MPOL_BIND */, mask,
			      sizeof(mask) * 8, q->b))
			return -errno;
		return 0;
	case W_PRCTL:
		ret = prctl(q->a, q->b, 0, 0, 0);
		return ret < 0 ? -errno : ret;
	case W_EXIT:
		_exit(0);
	}
	return -EINVAL;
}

static void worker_loop(int fd)
{
	struct region r = { 0 };
	struct wreq q;
	struct wrep p;

	for (;;) {
		if (read(fd, &q, sizeof(q)) != sizeof(q))
			_exit(1);
		p.ret = worker_do(&r, &q);
		if (write(fd, &p, sizeof(p)) != sizeof(p))
			_exit(1);
	}
}

__attribute__((constructor)) static void worker_entry(void)
{
	const char *env = getenv(WORKER_ENV);

	if (!env)
		return;
	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IONBF, 0);
	worker_loop(atoi(env));
}

int worker_start(struct worker *w)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (!pid) {
		char num[16];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		snprintf(num, sizeof(num), "%d", 3);
		setenv(WORKER_ENV, num, 1);
		execl("/proc/self/exe", "ksm_worker", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	w->pid = pid;
	w->fd = sv[0];
	return 0;
}

long worker_op(struct worker *w, int op, long a, long b, long c)
{
	struct wreq q = { op, a, b, c };
	struct wrep p;

	if (write(w->fd, &q, sizeof(q)) != sizeof(q))
		ksft_exit_fail_msg("worker %d: request failed\n", w->pid);
	if (op == W_EXIT)
		return 0;
	if (read(w->fd, &p, sizeof(p)) != sizeof(p))
		ksft_exit_fail_msg("worker %d died (op %d)\n", w->pid, op);
	return p.ret;
}

int worker_start_filled(struct worker *w, long npages, uint64_t base,
			long period)
{
	long ret;

	ret = worker_start(w);
	if (ret)
		return ret;
	ret = worker_op(w, W_MAP, npages, 0, 0);
	if (!ret)
		ret = worker_op(w, W_FILL, base, period, 0);
	if (!ret)
		ret = worker_op(w, W_MADV, MADV_MERGEABLE, 0, npages);
	if (ret) {
		worker_kill(w);
		return ret;
	}
	return 0;
}

void worker_stop(struct worker *w)
{
	if (w->pid <= 0)
		return;
	worker_op(w, W_EXIT, 0, 0, 0);
	close(w->fd);
	waitpid(w->pid, NULL, 0);
	w->pid = 0;
}

void worker_kill(struct worker *w)
{
	if (w->pid <= 0)
		return;
	kill(w->pid, SIGKILL);
	close(w->fd);
	waitpid(w->pid, NULL, 0);
	w->pid = 0;
}

#define MAX_WORKERS 8

static int workers_pagemaps(struct worker *w, int nw, long first, long count,
			    uint64_t **ents)
{
	int i;

	for (i = 0; i < nw; i++) {
		long addr = worker_op(&w[i], W_ADDR, 0, 0, 0);

		ents[i] = calloc(count, sizeof(uint64_t));
		if (!ents[i] || !addr ||
		    pagemap_range(w[i].pid, (char *)addr + first * page_size,
				  count, ents[i])) {
			ksft_print_msg("cannot read pagemap of worker %d\n", i);
			return -1;
		}
	}
	return 0;
}

static void free_ents(uint64_t **ents, int nw)
{
	int i;

	for (i = 0; i < nw; i++)
		free(ents[i]);
}

bool workers_merged(struct worker *w, int nw, long first, long count)
{
	uint64_t *ents[MAX_WORKERS] = { 0 };
	bool ok = false;
	long p;
	int i;

	if (nw > MAX_WORKERS || workers_pagemaps(w, nw, first, count, ents))
		goto out;
	for (p = 0; p < count; p++) {
		unsigned long pfn = ents[0][p] & PM_PFN_MASK;

		if (!(ents[0][p] & PM_PRESENT) || !pfn) {
			ksft_print_msg("page %ld of worker 0 not present\n",
				       first + p);
			goto out;
		}
		if (kpf_ksm_reliable() &&
		    !(kpageflags(pfn) & BIT_ULL(KPF_KSM_BIT))) {
			ksft_print_msg("page %ld (pfn %#lx) is not a KSM page\n",
				       first + p, pfn);
			goto out;
		}
		for (i = 1; i < nw; i++) {
			if ((ents[i][p] & PM_PRESENT) &&
			    (ents[i][p] & PM_PFN_MASK) == pfn)
				continue;
			ksft_print_msg("page %ld: worker %d pfn %#llx != worker 0 pfn %#lx\n",
				       first + p, i,
				       (unsigned long long)(ents[i][p] & PM_PFN_MASK),
				       pfn);
			goto out;
		}
	}
	ok = true;
out:
	free_ents(ents, nw);
	return ok;
}

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

bool workers_private(struct worker *w, int nw, long first, long count)
{
	uint64_t *ents[MAX_WORKERS] = { 0 };
	unsigned long *pfns = NULL;
	bool ok = false;
	long p, n = 0;
	int i;

	if (nw > MAX_WORKERS || workers_pagemaps(w, nw, first, count, ents))
		goto out;
	pfns = calloc(nw * count, sizeof(*pfns));
	if (!pfns)
		goto out;
	for (i = 0; i < nw; i++) {
		for (p = 0; p < count; p++) {
			uint64_t e = ents[i][p];
			unsigned long pfn = e & PM_PFN_MASK;

			if (!(e & PM_PRESENT) || !pfn) {
				ksft_print_msg("worker %d page %ld not present\n",
					       i, first + p);
				goto out;
			}
			if (kpf_ksm_reliable() &&
			    (kpageflags(pfn) & BIT_ULL(KPF_KSM_BIT))) {
				ksft_print_msg("worker %d page %ld still a KSM page\n",
					       i, first + p);
				goto out;
			}
			if (!(e & PM_MMAP_EXCLUSIVE)) {
				ksft_print_msg("worker %d page %ld not exclusively mapped\n",
					       i, first + p);
				goto out;
			}
			pfns[n++] = pfn;
		}
	}
	qsort(pfns, n, sizeof(*pfns), cmp_ul);
	for (p = 1; p < n; p++) {
		if (pfns[p] == pfns[p - 1]) {
			ksft_print_msg("pfn %#lx mapped twice\n", pfns[p]);
			goto out;
		}
	}
	ok = true;
out:
	free(pfns);
	free_ents(ents, nw);
	return ok;
}

bool workers_check(struct worker *w, int nw)
{
	bool ok = true;
	long bad;
	int i;

	for (i = 0; i < nw; i++) {
		bad = worker_op(&w[i], W_CHECK, 0, 0, 0);
		if (bad) {
			ksft_print_msg("worker %d: %ld bad pages\n", i, bad);
			ok = false;
		}
	}
	return ok;
}

void workers_stop(struct worker *w, int nw)
{
	int i;

	for (i = 0; i < nw; i++)
		worker_stop(&w[i]);
}

int workers_start_same(struct worker *w, int nw, long npages, uint64_t base)
{
	int i, ret;

	for (i = 0; i < nw; i++) {
		ret = worker_start_filled(&w[i], npages, base, npages);
		if (ret) {
			workers_stop(w, i);
			return ret;
		}
	}
	return 0;
}

/* ---- NUMA ---- */

long sys_move_pages(pid_t pid, unsigned long count, void **pages,
		    const int *nodes, int *status, int flags)
{
	return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

long sys_mbind(void *addr, unsigned long len, int mode,
	       const unsigned long *nodemask, unsigned long maxnode,
	       unsigned int flags)
{
	return syscall(SYS_mbind, addr, len, mode, nodemask, maxnode, flags);
}

int numa_node_count(void)
{
	char path[64];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

/* ---- memory cgroups ---- */

#define MEMCG_ROOT "/sys/fs/cgroup"

int memcg_enter(const char *name)
{
	return memcg_add(name, getpid());
}

int memcg_add(const char *name, pid_t who)
{
	char path[256], pid[32];
	int err;

	if (access(MEMCG_ROOT "/cgroup.controllers", F_OK))
		return -ENOENT;
	file_write(MEMCG_ROOT "/cgroup.subtree_control", "+memory");
	snprintf(path, sizeof(path), MEMCG_ROOT "/%s", name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), MEMCG_ROOT "/%s/memory.reclaim", name);
	if (access(path, F_OK))
		return -ENOENT;
	snprintf(path, sizeof(path), MEMCG_ROOT "/%s/cgroup.procs", name);
	snprintf(pid, sizeof(pid), "%d", who);
	err = file_write(path, pid);
	return err;
}

void memcg_reclaim(const char *name, const char *amount)
{
	char path[256];

	snprintf(path, sizeof(path), MEMCG_ROOT "/%s/memory.reclaim", name);
	file_write(path, amount);
}

void memcg_leave(const char *name)
{
	char path[256], pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	file_write(MEMCG_ROOT "/cgroup.procs", pid);
	snprintf(path, sizeof(path), MEMCG_ROOT "/%s", name);
	rmdir(path);
}
