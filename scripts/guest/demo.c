// SPDX-License-Identifier: GPL-2.0
/*
 * KSM demonstration: several processes hold mostly identical memory; KSM is
 * switched on and the program reports the /sys/kernel/mm/ksm counters before
 * and after, and the memory saved.  Each process checks its own content at
 * the end, so a merge that corrupted data would show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define NPROC		4
#define MIB		32
#define UNIQUE_PCT	10

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr)	(sizeof(arr) / sizeof((arr)[0]))
#endif

static const char *const counters[] = {
	"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
	"full_scans", "general_profit",
};

static long ksm_read(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
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

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%ld", v) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void show(const char *when)
{
	size_t i;

	printf("%-8s", when);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		printf(" %s=%ld", counters[i], ksm_read(counters[i]));
	printf("\n");
}

/* Page @i of process @p: shared pattern, or unique for one page in ten. */
static void fill_page(char *page, size_t psz, int p, size_t i)
{
	int unique = (i % 100) < UNIQUE_PCT;

	memset(page, 0, psz);
	snprintf(page, psz, "page %zu owner %d", i, unique ? p : -1);
}

static int child(int p, int ready_fd, int go_fd)
{
	size_t psz = getpagesize(), n = (size_t)MIB << 20, i;
	char *mem = mmap(NULL, n, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char want[4096], c;

	if (mem == MAP_FAILED || madvise(mem, n, MADV_MERGEABLE))
		return 1;
	for (i = 0; i < n / psz; i++)
		fill_page(mem + i * psz, psz, p, i);
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 1)
		return 1;
	for (i = 0; i < n / psz; i++) {
		fill_page(want, psz, p, i);
		if (memcmp(want, mem + i * psz, psz)) {
			printf("process %d: page %zu lost its content\n", p, i);
			return 1;
		}
	}
	return 0;
}

int main(void)
{
	int ready[2], go[2], p, status, bad = 0;
	long prev = -1, cur, scans;
	pid_t pids[NPROC];
	char c;

	if (pipe(ready) || pipe(go))
		return 1;
	printf("%d processes, %d MiB each, %d%% of pages unique to a process\n",
	       NPROC, MIB, UNIQUE_PCT);
	for (p = 0; p < NPROC; p++) {
		pids[p] = fork();
		if (!pids[p])
			exit(child(p, ready[1], go[0]));
	}
	for (p = 0; p < NPROC; p++)
		if (read(ready[0], &c, 1) != 1)
			return 1;
	ksm_write("run", 0);
	show("before");
	ksm_write("pages_to_scan", 5000);
	ksm_write("sleep_millisecs", 10);
	ksm_write("run", 1);
	/* Wait until pages_sharing stops growing over two full scans. */
	for (;;) {
		scans = ksm_read("full_scans");
		while (ksm_read("full_scans") < scans + 2)
			usleep(100000);
		cur = ksm_read("pages_sharing");
		if (cur == prev)
			break;
		prev = cur;
	}
	show("after");
	printf("memory saved: %.1f MiB of %d MiB (general_profit %.1f MiB)\n",
	       cur * (double)getpagesize() / (1 << 20), NPROC * MIB,
	       ksm_read("general_profit") / (double)(1 << 20));
	for (p = 0; p < NPROC; p++)
		if (write(go[1], "g", 1) != 1)
			return 1;
	for (p = 0; p < NPROC; p++) {
		waitpid(pids[p], &status, 0);
		bad |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	ksm_write("run", 2);
	show("unmerged");
	printf("content check: %s\n", bad ? "FAILED" : "every page intact");
	return bad;
}
