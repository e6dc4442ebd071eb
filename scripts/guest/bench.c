// SPDX-License-Identifier: GPL-2.0
/*
 * KSM benchmark workloads for the guest.  Every result is one line
 *	BENCH <label> key=value ...
 * that scripts/bench-report.py collects; everything else is commentary.
 *
 *   ksm_bench run -l LABEL [-m MIB] [-n NICE] -- PROGRAM ARGS...
 *	Run PROGRAM (upstream's ksm_tests), pass its output through, and
 *	report its "Average speed" lines (speed, speed2), its wall time,
 *	ksmd's CPU time (ns clock) while it ran, and MIB per ksmd
 *	CPU-second.
 *
 *   ksm_bench images -l LABEL [-n NPROC] [-s MIB] [-u UNIQUE%] [-z ZERO%]
 *		[-p PAGES_TO_SCAN] [-w SLEEP_MS] [-t TIMEOUT_S]
 *		[-c CHURN_PERMILLE] [-d CHURN_S] [-T TENANTS] [-S SCOPE]
 *	"Guest images": NPROC processes each hold the same MIB image, of which
 *	UNIQUE% pages differ per process and ZERO% are zero.  Reports
 *	convergence (seconds, full scans and ksmd CPU until pages_sharing
 *	reaches 95% of the achievable maximum), KSM slab metadata once merged,
 *	then the steady state while each process rewrites CHURN_PERMILLE of its
 *	shared pages every second (same content: every write to a merged page
 *	is a COW fault, and ksmd has to merge the page again).  With -T, the
 *	processes are dealt round-robin into TENANTS memory cgroups; with -S,
 *	merge_scope is set to SCOPE (global, cgroup or process) for the run,
 *	and the achievable maximum is that of the scope's domains.
 *
 *   ksm_bench -P run|images ...
 *	Also sample the kernel over what is measured (the kernel must be booted
 *	with profile=2): /proc/profile is reset when it starts and dumped as
 *	"PROFILE <label> step=S" and "PROFILE <label> <bucket> <hits>" lines
 *	when it ends (images: "<label>-converge", then "<label>-steady");
 *	scripts/profile-report.py maps buckets to functions.
 *
 * Both pin themselves, their children and ksmd to CPU 0 unless the kernel
 * command line has ksmbench.pin=0: under QEMU TCG on a busy host, a TLB
 * flush IPI to the other vCPU waits for the host to schedule that vCPU's
 * thread, and merging (one flush per page) then measures the host's
 * scheduler, 10-100x slower and as noisy.  With everything on one vCPU the
 * flushes are local.  "run -n NICE" runs the program at that nice value
 * (ksmd runs at 5), e.g. 19 for ksm_tests -P, which busy-polls full_scans.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PG		4096UL
#define KSM_DIR		"/sys/kernel/mm/ksm/"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long ksm_read(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int ksm_write(const char *name, long v)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%ld", v) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int ksmd_pid(void)
{
	static int pid;
	char path[300], buf[64];
	FILE *f;

	if (!pid) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		while (d && (de = readdir(d))) {
			if (!isdigit(de->d_name[0]))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(buf, sizeof(buf), f) && !strcmp(buf, "ksmd\n"))
				pid = atoi(de->d_name);
			fclose(f);
			if (pid)
				break;
		}
		if (d)
			closedir(d);
	}
	return pid;
}

/*
 * ksmd's CPU time in seconds, to the nanosecond: its process CPU clock
 * (clock_getcpuclockid(), the scheduler's sum_exec_runtime), where
 * /proc/<pid>/stat's utime+stime come in 10 ms ticks.  -1 if not found.
 */
static double ksmd_cpu(void)
{
	int pid = ksmd_pid();
	struct timespec ts;
	clockid_t cid;

	if (!pid || clock_getcpuclockid(pid, &cid) || clock_gettime(cid, &ts))
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A /proc/vmstat counter; -1 if the kernel has none of that name. */
static long vmstat(const char *name)
{
	char key[64];
	long v, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name)) {
			ret = v;
			break;
		}
	if (f)
		fclose(f);
	return ret;
}

/*
 * Bytes of KSM metadata: the objects in use in slab caches named ksm_*
 * (ours: ksm_client, ksm_block, ksm_block_avs, ksm_shared; stock:
 * ksm_mm_slot, ksm_rmap_item, ksm_stable_node), as active_objs * objsize,
 * and the slab pages holding them.  Needs slab_nomerge, or a cache merged
 * into another is not listed.  Returns -1 without /proc/slabinfo.
 */
static long slab_bytes(const char *label, long *slab_pages_bytes, int print)
{
	char line[512], name[64];
	unsigned long act, num, size, per, pps, aslabs, nslabs;
	long total = 0, pages = 0;
	int found = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "ksm_", 4))
			continue;
		if (sscanf(line, "%63s %lu %lu %lu %lu %lu : tunables %*u %*u %*u : slabdata %lu %lu",
			   name, &act, &num, &size, &per, &pps, &aslabs, &nslabs) != 8)
			continue;
		found = 1;
		total += act * size;
		pages += nslabs * pps * PG;
		if (print)
			printf("BENCH %s slab_%s_objs=%lu slab_%s_objsize=%lu\n",
			       label, name, act, name, size);
	}
	fclose(f);
	if (slab_pages_bytes)
		*slab_pages_bytes = pages;
	return found ? total : -1;
}

/* ------------------------------------------------------------------ */

static int profiling;	/* -P */

/* Zero the kernel's profile (/proc/profile, profile=2 boot parameter). */
static void profile_start(void)
{
	FILE *f;

	if (!profiling)
		return;
	f = fopen("/proc/profile", "w");
	if (!f || fputs("0\n", f) < 0 || fclose(f))
		printf("PROFILE error=reset (boot with profile=2)\n");
}

/* Print the profile's non-empty buckets as PROFILE lines. */
static void profile_dump(const char *label, const char *phase)
{
	unsigned int buf[4096];
	unsigned long idx = 0;
	size_t n, i;
	FILE *f;

	if (!profiling)
		return;
	f = fopen("/proc/profile", "r");
	if (!f) {
		printf("PROFILE error=open\n");
		return;
	}
	while ((n = fread(buf, sizeof(buf[0]), 4096, f)) > 0) {
		for (i = 0; i < n; i++, idx++) {
			if (idx == 0)
				printf("PROFILE %s%s step=%u\n", label, phase, buf[0]);
			else if (buf[i])
				printf("PROFILE %s%s %lu %u\n", label, phase, idx - 1, buf[i]);
		}
	}
	fclose(f);
	fflush(stdout);
}

static int cmd_run(int argc, char **argv)
{
	const char *label = "run";
	double mib = 0, speed[2] = { -1, -1 }, t0, t1, c0, c1;
	int opt, nspeed = 0, pfd[2], status, nice = 0;
	char line[512];
	FILE *in;
	pid_t pid;

	while ((opt = getopt(argc, argv, "l:m:n:")) != -1) {
		switch (opt) {
		case 'l': label = optarg; break;
		case 'n': nice = atoi(optarg); break;
		case 'm': mib = atof(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc)
		return 2;
	if (pipe(pfd))
		return 1;
	fflush(stdout);
	profile_start();
	c0 = ksmd_cpu();
	t0 = now();
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		if (nice)
			setpriority(PRIO_PROCESS, 0, nice);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), in)) {
		char *s = strstr(line, "Average speed:");

		fputs(line, stdout);
		if (s && nspeed < 2)
			speed[nspeed++] = atof(s + strlen("Average speed:"));
	}
	fclose(in);
	waitpid(pid, &status, 0);
	t1 = now();
	c1 = ksmd_cpu();
	profile_dump(label, "");
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("BENCH %s rc=%d wall_s=%.3f ksmd_cpu_s=%.4f", label, status, t1 - t0, c1 - c0);
	if (status == 0 && nspeed >= 1) {
		printf(" speed=%.3f", speed[0]);
		if (nspeed >= 2)
			printf(" speed2=%.3f", speed[1]);
		if (mib > 0 && c1 - c0 > 0)
			printf(" mib_per_ksmd_cpu_s=%.3f", mib / (c1 - c0));
	}
	printf("\n");
	fflush(stdout);
	return status;
}

/* ------------------------------------------------------------------ */

enum { PH_SETUP, PH_READY, PH_CHURN, PH_EXIT };

struct shared {
	volatile int phase;
	volatile int ready;
	volatile long writes;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

enum { K_SHARED, K_UNIQUE, K_ZERO };

static int kind(unsigned long i, int upct, int zpct)
{
	int r = mix(i * 2654435761UL + 17) % 100;

	return r < zpct ? K_ZERO : r < zpct + upct ? K_UNIQUE : K_SHARED;
}

#define TENANT_CG	"/sys/fs/cgroup/ksmbench_t%d"

/* Move the calling process into tenant @t's memory cgroup. */
static int tenant_enter(int t)
{
	char path[64], pid[16];
	FILE *f;

	snprintf(path, sizeof(path), TENANT_CG "/cgroup.procs", t);
	f = fopen(path, "w");
	if (!f)
		return -1;
	snprintf(pid, sizeof(pid), "%d", getpid());
	fputs(pid, f);
	return fclose(f);
}

static void child(struct shared *sh, int idx, const char *image, unsigned long npages,
		  int upct, int zpct, int permille, int tenants)
{
	char *mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long *shared_idx, nshared = 0, i;
	uint64_t rnd = mix(idx + 1);

	if (mem == MAP_FAILED || (tenants && tenant_enter(idx % tenants)))
		_exit(1);
	madvise(mem, npages * PG, MADV_NOHUGEPAGE);
	shared_idx = malloc(npages * sizeof(*shared_idx));
	for (i = 0; i < npages; i++) {
		char *p = mem + i * PG;

		switch (kind(i, upct, zpct)) {
		case K_ZERO:
			memset(p, 0, PG);
			break;
		case K_UNIQUE:
			memcpy(p, image + i * PG, PG);
			*(uint64_t *)p ^= mix(((uint64_t)idx << 40) + i + 1);
			break;
		default:
			memcpy(p, image + i * PG, PG);
			shared_idx[nshared++] = i;
		}
	}
	if (madvise(mem, npages * PG, MADV_MERGEABLE))
		_exit(2);
	__sync_fetch_and_add(&sh->ready, 1);
	while (sh->phase < PH_CHURN)
		usleep(10000);
	while (sh->phase == PH_CHURN) {
		unsigned long n = nshared * permille / 1000;
		double next = now() + 1;

		/* Write the same bytes back: content unchanged, KSM page broken. */
		for (i = 0; i < n; i++) {
			volatile char *p;

			rnd = mix(rnd);
			p = mem + shared_idx[rnd % nshared] * PG + (rnd >> 32) % PG;
			*p = *p;
		}
		__sync_fetch_and_add(&sh->writes, n);
		while (sh->phase == PH_CHURN && now() < next)
			usleep(10000);
	}
	_exit(0);
}

/*
 * The most pages_sharing can reach: in each merge domain of k processes,
 * every shared image page is one KSM page and k - 1 sharers, and the
 * zero pages make groups of at most max_page_sharing per KSM page.
 */
static long max_sharing(int nproc, int domains, unsigned long nsh,
			unsigned long nzero, long maxshare)
{
	long total = 0, k, z;
	int d;

	for (d = 0; d < domains; d++) {
		k = nproc / domains + (d < nproc % domains);
		z = nzero * k;
		total += nsh * (k ? k - 1 : 0);
		if (z > 1)
			total += z - (z + maxshare - 1) / maxshare;
	}
	return total;
}

static int set_scope(const char *scope, int tenants)
{
	char path[64];
	FILE *f;
	int t;

	for (t = 0; t < tenants; t++) {
		snprintf(path, sizeof(path), TENANT_CG, t);
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
	}
	f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "w");
	if (f) {
		fputs("+memory", f);
		fclose(f);
	}
	if (!scope)
		return 0;
	ksm_write("run", 2);
	f = fopen(KSM_DIR "merge_scope", "w");
	if (!f)	/* a kernel without merge scopes merges globally */
		return strcmp(scope, "global") ? -1 : 0;
	fputs(scope, f);
	return fclose(f);
}

static int cmd_images(int argc, char **argv)
{
	const char *label = "images", *scope = NULL;
	int nproc = 4, upct = 10, zpct = 10, opt, permille = 10, i, tenants = 0;
	int domains;
	long mib = 32, pts = 1000, sleep_ms = 20, timeout = 60, churn_s = 10;
	unsigned long npages, nzero = 0, nuniq = 0, nsh = 0, j;
	long maxshare, maxsharing, zpages, target, sharing = 0, fs0, fs, cow0, cow1;
	long meta, meta_pages, shared_pages;
	double t0, t, c0, c, reach_t = -1, reach_c = -1;
	long reach_fs = -1, reach_sharing = 0, index = -1;
	struct shared *sh;
	char *image;
	pid_t *pids;

	while ((opt = getopt(argc, argv, "l:n:s:u:z:p:w:t:c:d:T:S:")) != -1) {
		switch (opt) {
		case 'l': label = optarg; break;
		case 'n': nproc = atoi(optarg); break;
		case 's': mib = atol(optarg); break;
		case 'u': upct = atoi(optarg); break;
		case 'z': zpct = atoi(optarg); break;
		case 'p': pts = atol(optarg); break;
		case 'w': sleep_ms = atol(optarg); break;
		case 't': timeout = atol(optarg); break;
		case 'c': permille = atoi(optarg); break;
		case 'd': churn_s = atol(optarg); break;
		case 'T': tenants = atoi(optarg); break;
		case 'S': scope = optarg; break;
		default: return 2;
		}
	}
	npages = mib * (1UL << 20) / PG;
	for (j = 0; j < npages; j++) {
		int k = kind(j, upct, zpct);

		nzero += k == K_ZERO;
		nuniq += k == K_UNIQUE;
		nsh += k == K_SHARED;
	}
	if ((tenants || scope) && set_scope(scope, tenants)) {
		printf("BENCH %s error=scope\n", label);
		return 1;
	}
	domains = 1;
	if (scope && !strcmp(scope, "process"))
		domains = nproc;
	else if (scope && !strcmp(scope, "cgroup") && tenants)
		domains = tenants;
	maxshare = ksm_read("max_page_sharing");
	zpages = nzero * nproc;
	maxsharing = max_sharing(nproc, domains, nsh, nzero, maxshare);
	target = (maxsharing * 95 + 99) / 100;

	image = malloc(npages * PG);
	for (j = 0; j < npages * PG / 8; j++)
		((uint64_t *)image)[j] = mix(j + 0x9e3779b97f4a7c15ULL);

	if (ksm_write("run", 0) || ksm_write("pages_to_scan", pts) ||
	    ksm_write("sleep_millisecs", sleep_ms) || ksm_write("use_zero_pages", 0)) {
		printf("cannot set the KSM knobs\n");
		return 1;
	}
	sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc(nproc, sizeof(*pids));
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			child(sh, i, image, npages, upct, zpct, permille,
			      tenants);
	}
	t0 = now();
	while (sh->ready < nproc && now() - t0 < 120)
		usleep(20000);
	free(image);
	if (sh->ready < nproc) {
		printf("BENCH %s error=setup\n", label);
		goto out;
	}
	printf("BENCH %s nproc=%d mib=%ld pages=%lu unique_pages=%lu zero_pages=%lu "
	       "max_sharing=%ld target_sharing=%ld pages_to_scan=%ld sleep_ms=%ld "
	       "smart_scan=%ld tenants=%d scope=%s\n", label, nproc, mib, npages * nproc,
	       nuniq * nproc, zpages, maxsharing, target, pts, sleep_ms,
	       ksm_read("smart_scan"), tenants, scope ? scope : "default");
	fflush(stdout);

	/* Convergence */
	fs0 = ksm_read("full_scans");
	profile_start();
	c0 = ksmd_cpu();
	t0 = now();
	ksm_write("run", 1);
	for (;;) {
		usleep(50000);
		t = now();
		sharing = ksm_read("pages_sharing");
		fs = ksm_read("full_scans");
		if (sharing >= target) {
			reach_sharing = sharing;
			reach_t = t - t0;
			reach_fs = fs - fs0;
			reach_c = ksmd_cpu() - c0;
			break;
		}
		if (t - t0 > timeout)
			break;
	}
	if (reach_t < 0) {
		printf("BENCH %s converge=timeout timeout_s=%ld sharing_at_timeout=%ld "
		       "full_scans_at_timeout=%ld\n", label, timeout, sharing, fs - fs0);
	} else {
		printf("BENCH %s converge_s=%.3f converge_full_scans=%ld converge_ksmd_cpu_s=%.4f "
		       "converge_ksmd_cpu_ms_per_mib=%.3f\n", label, reach_t, reach_fs, reach_c,
		       1000.0 * reach_c / ((double)reach_sharing * PG / (1 << 20)));
	}
	fflush(stdout);

	/* Let one more full scan finish, then count what was merged. */
	fs0 = ksm_read("full_scans");
	t0 = now();
	while (ksm_read("full_scans") == fs0 && now() - t0 < timeout / 4)
		usleep(50000);
	sharing = ksm_read("pages_sharing");
	shared_pages = ksm_read("pages_shared");
	profile_dump(label, "-converge");
	meta = slab_bytes(label, &meta_pages, 1);
	/* Ours also has index buckets (kvmalloc, not in a ksm_* cache). */
	index = ksm_read("index_bytes");
	if (meta >= 0 && index > 0) {
		meta += index;
		meta_pages += index;
		printf("BENCH %s meta_index_bytes=%ld\n", label, index);
	}
	printf("BENCH %s merged_pct=%.1f pages_shared=%ld pages_sharing=%ld general_profit=%ld",
	       label, maxsharing ? 100.0 * sharing / maxsharing : 0, shared_pages, sharing,
	       ksm_read("general_profit"));
	if (meta >= 0)
		printf(" meta_bytes=%ld meta_slab_bytes=%ld meta_per_scanned_page=%.1f "
		       "meta_per_merged_page=%.1f", meta, meta_pages,
		       (double)meta / (npages * nproc), sharing ? (double)meta / sharing : 0);
	printf("\n");
	fflush(stdout);

	/* Steady state under churn */
	if (churn_s > 0) {
		double sum = 0, min = -1;
		int n = 0;

		cow0 = vmstat("cow_ksm");
		profile_start();
		c0 = ksmd_cpu();
		t0 = now();
		sh->writes = 0;
		sh->phase = PH_CHURN;
		while ((t = now()) - t0 < churn_s) {
			usleep(200000);
			sharing = ksm_read("pages_sharing");
			sum += sharing;
			if (min < 0 || sharing < min)
				min = sharing;
			n++;
		}
		c = ksmd_cpu() - c0;
		profile_dump(label, "-steady");
		cow1 = vmstat("cow_ksm");
		sh->phase = PH_EXIT;
		printf("BENCH %s churn_writes_per_s=%.0f steady_ksmd_cpu_pct=%.2f "
		       "steady_saved_mib=%.1f steady_saved_min_mib=%.1f", label,
		       sh->writes / (t - t0), 100.0 * c / (t - t0),
		       n ? sum / n * PG / (1 << 20) : 0, min * PG / (1 << 20));
		if (cow0 >= 0)
			printf(" steady_cow_per_s=%.0f", (cow1 - cow0) / (t - t0));
		printf("\n");
	}
out:
	sh->phase = PH_EXIT;
	for (i = 0; i < nproc; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	ksm_write("run", 0);
	if (scope)
		set_scope("global", 0);	/* the next workload starts global */
	for (i = 0; i < tenants; i++) {
		char path[64];

		snprintf(path, sizeof(path), TENANT_CG, i);
		rmdir(path);
	}
	fflush(stdout);
	return 0;
}

static void pin(void)
{
	char line[1024] = "";
	cpu_set_t set;
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	if (strstr(line, "ksmbench.pin=0"))
		return;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) ||
	    (ksmd_pid() && sched_setaffinity(ksmd_pid(), sizeof(set), &set)))
		perror("sched_setaffinity");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin();
	if (argc > 1 && !strcmp(argv[1], "-P")) {
		profiling = 1;
		argc--;
		argv++;
	}
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "images"))
		return cmd_images(argc - 1, argv + 1);
	fprintf(stderr, "usage: ksm_bench [-P] run -l LABEL [-m MIB] [-n NICE] -- PROGRAM ARGS...\n"
		"       ksm_bench [-P] images -l LABEL [-n NPROC] [-s MIB] [-u UNIQUE%%] [-z ZERO%%]\n"
		"                 [-p PAGES_TO_SCAN] [-w SLEEP_MS] [-t TIMEOUT_S]\n"
		"                 [-c CHURN_PERMILLE] [-d CHURN_S] [-T TENANTS] [-S SCOPE]\n");
	return 2;
}
