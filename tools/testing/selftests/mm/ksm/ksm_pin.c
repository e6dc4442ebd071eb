// SPDX-License-Identifier: GPL-2.0
/*
 * KSM versus pinned pages and O_DIRECT.
 *
 * This process maps NP pages (region P); two workers map the same content.
 * Without pins, all three merge: pages_shared NP, pages_sharing 2 * NP.
 *
 *  gup:      (needs CONFIG_GUP_TEST, /sys/kernel/debug/gup_test)
 *            P pinned FOLL_LONGTERM|FOLL_WRITE, the workers merge (NP, NP),
 *            then P is made MADV_MERGEABLE: P never merges, keeps its pfns and
 *            content (also as read through the pin); after unpin P merges.
 *            A read-only longterm pin of already merged pages must unshare
 *            them (the pin gets a private copy), leaving the workers merged.
 *  io_uring: (if io_uring_setup works) pages registered as io_uring fixed
 *            buffers are not merged; after unregistering they are.
 *  O_DIRECT: (needs /dev/zram1) O_DIRECT write from merged pages puts the
 *            right data on the device and leaves everyone's content intact;
 *            O_DIRECT read into merged pages breaks COW: P gets the device
 *            data, the workers keep theirs and stay merged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest.h"
#include "ksm_lib.h"

#define NP	32
#define BASE	0x40000

/* From mm/gup_test.h (CONFIG_GUP_TEST debugfs interface). */
struct pin_longterm_test {
	__u64 addr;
	__u64 size;
	__u32 flags;
};

#define PIN_LONGTERM_TEST_START		_IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP		_IO('g', 8)
#define PIN_LONGTERM_TEST_READ		_IOW('g', 9, __u64)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE	1

#define GUP_TEST_FILE "/sys/kernel/debug/gup_test"
#define ZRAM_DEV "/dev/zram1"

static struct worker w[2];
static struct region p;

/*
 * Every page of P is (@merged) the KSM page worker 0 maps at that index,
 * or (!@merged) a private, non-KSM page.
 */
static bool p_state(bool merged)
{
	long a = worker_op(&w[0], W_ADDR, 0, 0, 0), i;

	for (i = 0; i < p.npages; i++) {
		unsigned long mine = page_pfn(0, p.buf + i * page_size);
		unsigned long theirs = page_pfn(w[0].pid, (char *)a + i * page_size);
		int ksm = page_ksm_flag(0, p.buf + i * page_size);
		bool bad = !mine || (merged && (mine != theirs || ksm == 0)) ||
			   (!merged && (mine == theirs || ksm == 1));

		if (!bad)
			continue;
		ksft_print_msg("P page %ld: pfn %#lx ksm %d, worker pfn %#lx, expected %s\n",
			       i, mine, ksm, theirs,
			       merged ? "merged" : "private");
		return false;
	}
	return true;
}

static void setup(uint64_t base, bool mergeable)
{
	if (region_map(&p, NP))
		ksft_exit_fail_msg("mmap failed\n");
	region_fill(&p, base, NP);
	if (mergeable && madvise(p.buf, NP * page_size, MADV_MERGEABLE))
		ksft_exit_fail_msg("MADV_MERGEABLE: %s\n", strerror(errno));
}

static void start_workers(uint64_t base)
{
	if (workers_start_same(w, 2, NP, base))
		ksft_exit_fail_msg("cannot start workers\n");
}

/*
 * Let the workers merge first, then make the pinned P mergeable.  (The
 * other order need not merge the workers at all: a pinned page that
 * reaches the unstable tree first is what their pages find there, and
 * merging with it fails every time.)
 */
static void start_workers_then_p(uint64_t base)
{
	start_workers(base);
	if (!ksm_wait_counters(NP, NP, KSM_WAIT_SECS))
		ksft_print_msg("workers did not merge\n");
	if (madvise(p.buf, NP * page_size, MADV_MERGEABLE))
		ksft_exit_fail_msg("MADV_MERGEABLE: %s\n", strerror(errno));
}

static void teardown(void)
{
	workers_stop(w, 2);
	region_unmap(&p);
	if (!ksm_wait_idle(KSM_WAIT_SECS))
		ksft_print_msg("counters did not return to 0\n");
}

static bool all_checks(void)
{
	return !region_check(&p) && workers_check(w, 2);
}

/* Only the workers merged: exactly (NP, NP), stable for a few scans. */
static bool only_workers_merged(void)
{
	return ksm_wait_counters(NP, NP, KSM_WAIT_SECS) &&
	       ksm_wait_scans(3, KSM_WAIT_SECS) &&
	       ksm_get("pages_shared") == NP && ksm_get("pages_sharing") == NP &&
	       workers_merged(w, 2, 0, NP) && p_state(false);
}

static bool pin_read_ok(int fd)
{
	char *buf = malloc(NP * page_size);
	__u64 ptr = (uintptr_t)buf;
	bool ok;
	long i;

	if (!buf)
		return false;
	ok = !ioctl(fd, PIN_LONGTERM_TEST_READ, &ptr);
	if (!ok)
		ksft_print_msg("PIN_LONGTERM_TEST_READ: %s\n", strerror(errno));
	for (i = 0; ok && i < NP; i++) {
		if (!check_page(buf + i * page_size, p.tags[i])) {
			ksft_print_msg("pinned page %ld content differs\n", i);
			ok = false;
		}
	}
	free(buf);
	return ok;
}

static void test_gup(void)
{
	struct pin_longterm_test args;
	unsigned long pfns[NP];
	bool ok;
	long i;
	int fd = open(GUP_TEST_FILE, O_RDWR);

	if (fd < 0) {
		ksft_test_result_skip("gup: longterm-pinned pages are not merged (%s)\n",
				      "no " GUP_TEST_FILE);
		ksft_test_result_skip("gup: pinned pages keep content and pfn\n");
		ksft_test_result_skip("gup: pages merge after unpin\n");
		ksft_test_result_skip("gup: read-only pin of merged pages unshares them\n");
		ksft_test_result_skip("gup: pages merge again after read-only unpin\n");
		return;
	}

	setup(BASE, false);
	args.addr = (uintptr_t)p.buf;
	args.size = NP * page_size;
	args.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE;
	if (ioctl(fd, PIN_LONGTERM_TEST_START, &args))
		ksft_exit_fail_msg("PIN_LONGTERM_TEST_START: %s\n", strerror(errno));
	/* Longterm pinning may migrate pages first: read pfns afterwards. */
	for (i = 0; i < NP; i++)
		pfns[i] = page_pfn(0, p.buf + i * page_size);
	start_workers_then_p(BASE);

	ksft_test_result(only_workers_merged(),
			 "gup: longterm-pinned pages are not merged\n");
	ok = all_checks() && pin_read_ok(fd);
	for (i = 0; i < NP; i++) {
		if (page_pfn(0, p.buf + i * page_size) != pfns[i]) {
			ksft_print_msg("pinned page %ld changed pfn\n", i);
			ok = false;
		}
	}
	ksft_test_result(ok, "gup: pinned pages keep content and pfn\n");

	if (ioctl(fd, PIN_LONGTERM_TEST_STOP))
		ksft_exit_fail_msg("PIN_LONGTERM_TEST_STOP: %s\n", strerror(errno));
	ok = ksm_wait_counters(NP, 2 * NP, KSM_WAIT_SECS) && p_state(true) &&
	     workers_merged(w, 2, 0, NP) && all_checks();
	ksft_test_result(ok, "gup: pages merge after unpin\n");

	/* Read-only longterm pin of merged pages. */
	args.flags = 0;
	ok = !ioctl(fd, PIN_LONGTERM_TEST_START, &args);
	if (!ok)
		ksft_print_msg("PIN_LONGTERM_TEST_START (R/O): %s\n",
			       strerror(errno));
	ok = ok && p_state(false) && all_checks() && pin_read_ok(fd) &&
	     only_workers_merged() && all_checks();
	ksft_test_result(ok, "gup: read-only pin of merged pages unshares them\n");

	ioctl(fd, PIN_LONGTERM_TEST_STOP);
	ok = ksm_wait_counters(NP, 2 * NP, KSM_WAIT_SECS) && p_state(true) &&
	     all_checks();
	ksft_test_result(ok, "gup: pages merge again after read-only unpin\n");
	close(fd);
	teardown();
}

static void test_io_uring(void)
{
	struct io_uring_params params;
	struct iovec iov;
	int fd;
	bool ok;

	memset(&params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 4, &params);
	if (fd < 0) {
		ksft_print_msg("io_uring_setup: %s\n", strerror(errno));
		ksft_test_result_skip("io_uring: fixed buffer pages are not merged (%s)\n",
				      "no io_uring");
		ksft_test_result_skip("io_uring: pages merge after unregister\n");
		return;
	}
	setup(BASE + 0x1000, false);
	iov.iov_base = p.buf;
	iov.iov_len = NP * page_size;
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1))
		ksft_exit_fail_msg("IORING_REGISTER_BUFFERS: %s\n", strerror(errno));
	start_workers_then_p(BASE + 0x1000);

	ok = only_workers_merged() && all_checks();
	ksft_test_result(ok, "io_uring: fixed buffer pages are not merged\n");

	if (syscall(__NR_io_uring_register, fd, IORING_UNREGISTER_BUFFERS, NULL, 0))
		ksft_exit_fail_msg("IORING_UNREGISTER_BUFFERS: %s\n", strerror(errno));
	ok = ksm_wait_counters(NP, 2 * NP, KSM_WAIT_SECS) && p_state(true) &&
	     all_checks();
	ksft_test_result(ok, "io_uring: pages merge after unregister\n");
	close(fd);
	teardown();
}

static void test_odirect(void)
{
	struct region tmp;
	uint64_t size = 0;
	size_t len = NP * page_size;
	bool ok;
	long i;
	int fd = open(ZRAM_DEV, O_RDWR | O_DIRECT);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < len) {
		ksft_print_msg(ZRAM_DEV ": %s, size %llu\n",
			       fd < 0 ? strerror(errno) : "ok",
			       (unsigned long long)size);
		ksft_test_result_skip("odirect: write from merged pages stores right data (%s)\n",
				      "no usable " ZRAM_DEV);
		ksft_test_result_skip("odirect: merged again after write\n");
		ksft_test_result_skip("odirect: read into merged pages breaks COW only there\n");
		ksft_test_result_skip("odirect: sharers stay merged after read\n");
		if (fd >= 0)
			close(fd);
		return;
	}
	setup(BASE + 0x2000, true);
	start_workers(BASE + 0x2000);
	if (!ksm_wait_counters(NP, 2 * NP, KSM_WAIT_SECS) || !p_state(true))
		ksft_print_msg("odirect: initial merge incomplete\n");

	/* O_DIRECT write from the merged pages, read back into fresh pages. */
	if (region_map(&tmp, NP))
		ksft_exit_fail_msg("mmap failed\n");
	ok = pwrite(fd, p.buf, len, 0) == (ssize_t)len;
	ok = ok && pread(fd, tmp.buf, len, 0) == (ssize_t)len;
	if (!ok)
		ksft_print_msg("O_DIRECT I/O: %s\n", strerror(errno));
	memcpy(tmp.tags, p.tags, NP * sizeof(*p.tags));
	ok = ok && !region_check(&tmp) && all_checks();
	ksft_test_result(ok, "odirect: write from merged pages stores right data\n");
	ok = ksm_wait_counters(NP, 2 * NP, KSM_WAIT_SECS) && p_state(true) &&
	     all_checks();
	ksft_test_result(ok, "odirect: merged again after write\n");

	/* Put new data on the device, then O_DIRECT read it into P. */
	for (i = 0; i < NP; i++)
		region_set(&tmp, i, BASE + 0x3000 + i);
	ok = pwrite(fd, tmp.buf, len, 0) == (ssize_t)len;
	ok = ok && pread(fd, p.buf, len, 0) == (ssize_t)len;
	if (!ok)
		ksft_print_msg("O_DIRECT I/O: %s\n", strerror(errno));
	memcpy(p.tags, tmp.tags, NP * sizeof(*p.tags));
	ok = ok && all_checks() && p_state(false);
	ksft_test_result(ok, "odirect: read into merged pages breaks COW only there\n");
	ok = only_workers_merged() && all_checks();
	ksft_test_result(ok, "odirect: sharers stay merged after read\n");

	region_unmap(&tmp);
	close(fd);
	teardown();
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(5 + 2 + 4);
	ksm_init();
	ksm_setup_fast();

	test_gup();
	test_io_uring();
	test_odirect();

	ksm_restore_knobs();
	ksft_finished();
}
