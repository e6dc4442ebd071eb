// SPDX-License-Identifier: GPL-2.0
/*
 * KSM sysfs input validation.
 *
 * Writes values that Documentation/admin-guide/mm/ksm.rst does not allow
 * (run other than 0/1/2, non-numbers, negative and overflowing numbers,
 * merge_across_nodes other than 0/1, use_zero_pages not a boolean,
 * max_page_sharing below its documented minimum of 2, an unknown
 * advisor_mode, pages_to_scan while the scan-time advisor is selected) and
 * expects each write() to fail with EINVAL and no knob to change.  Also
 * checks that valid values (with or without a trailing newline, as echo
 * writes them) are accepted and read back, that merge_across_nodes cannot
 * change while pages are merged (and can after run=2), and that all
 * counters are read-only.  Every knob is restored on exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest.h"
#include "ksm_lib.h"

static const char * const knobs[] = {
	"run", "pages_to_scan", "sleep_millisecs", "merge_across_nodes",
	"use_zero_pages", "max_page_sharing",
	"stable_node_chains_prune_millisecs", "smart_scan", "advisor_mode",
};

#define NR_KNOBS ARRAY_SIZE(knobs)

struct snap {
	char val[NR_KNOBS][64];
};

static void take_snap(struct snap *s)
{
	unsigned int i;

	for (i = 0; i < NR_KNOBS; i++)
		if (ksm_read_knob_str(knobs[i], s->val[i], sizeof(s->val[i])))
			snprintf(s->val[i], sizeof(s->val[i]), "<absent>");
}

static bool same_snap(struct snap *a, struct snap *b)
{
	unsigned int i;
	bool same = true;

	for (i = 0; i < NR_KNOBS; i++) {
		if (strcmp(a->val[i], b->val[i])) {
			ksft_print_msg("%s changed: '%s' -> '%s'\n", knobs[i],
				       a->val[i], b->val[i]);
			same = false;
		}
	}
	return same;
}

static bool knob_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM_SYSFS "%s", name);
	return !access(path, F_OK);
}

static void expect_einval(const char *knob, const char *val, const char *desc)
{
	struct snap before, after;
	int ret;

	if (!knob_exists(knob)) {
		ksft_test_result_skip("%s=%s rejected (no %s)\n", knob, desc, knob);
		return;
	}
	take_snap(&before);
	ret = ksm_write_knob(knob, val);
	take_snap(&after);
	if (ret != -EINVAL)
		ksft_print_msg("write '%s' to %s: %s\n", desc, knob,
			       ret ? strerror(-ret) : "accepted");
	ksft_test_result(ret == -EINVAL && same_snap(&before, &after),
			 "%s=%s rejected with EINVAL, nothing changed\n",
			 knob, desc);
}

static void expect_accept(const char *knob, const char *val, long expect)
{
	long got = -1;
	int ret;

	if (!knob_exists(knob)) {
		ksft_test_result_skip("%s accepts %ld%s (no %s)\n", knob, expect,
				      strchr(val, '\n') ? " with newline" : "",
				      knob);
		return;
	}
	ret = ksm_write_knob(knob, val);
	if (ret)
		ksft_print_msg("write to %s: %s\n", knob, strerror(-ret));
	ksm_read_knob(knob, &got);
	ksft_test_result(!ret && got == expect, "%s accepts %ld%s\n", knob, expect,
			 strchr(val, '\n') ? " with newline" : "");
}

static void test_invalid(void)
{
	expect_einval("run", "3", "3");
	expect_einval("run", "-1", "-1");
	expect_einval("run", "abc", "abc");
	expect_einval("run", "1x", "1x");
	expect_einval("run", "4294967297", "2^32+1");
	expect_einval("run", "99999999999999999999999", "huge");
	expect_einval("pages_to_scan", "abc", "abc");
	expect_einval("pages_to_scan", "-1", "-1");
	expect_einval("pages_to_scan", "4294967296", "2^32");
	expect_einval("pages_to_scan", "99999999999999999999999", "huge");
	expect_einval("sleep_millisecs", "abc", "abc");
	expect_einval("sleep_millisecs", "-5", "-5");
	expect_einval("sleep_millisecs", "4294967296", "2^32");
	expect_einval("merge_across_nodes", "2", "2");
	expect_einval("merge_across_nodes", "abc", "abc");
	expect_einval("use_zero_pages", "abc", "abc");
	expect_einval("use_zero_pages", "2", "2");
	expect_einval("max_page_sharing", "1", "1");
	expect_einval("max_page_sharing", "0", "0");
	expect_einval("max_page_sharing", "abc", "abc");
	expect_einval("stable_node_chains_prune_millisecs", "abc", "abc");
	expect_einval("advisor_mode", "bogus", "bogus");
}

static void test_valid(void)
{
	expect_accept("pages_to_scan", "1234", 1234);
	expect_accept("pages_to_scan", "4321\n", 4321);
	expect_accept("sleep_millisecs", "37", 37);
	expect_accept("sleep_millisecs", "38\n", 38);
	expect_accept("run", "0\n", 0);
	expect_accept("run", "1", 1);
	expect_accept("run", "2", 2);
	expect_accept("run", "0", 0);
	expect_accept("max_page_sharing", "2", 2);
	expect_accept("max_page_sharing", "256", 256);
	expect_accept("use_zero_pages", "1", 1);
	expect_accept("use_zero_pages", "0", 0);
	/* restore the fast settings for the remaining tests */
	ksm_setup_fast();
}

static void test_advisor(void)
{
	struct snap before, after;
	int ret;

	if (!knob_exists("advisor_mode")) {
		ksft_test_result_skip("pages_to_scan rejected under scan-time advisor (%s)\n",
				      "no advisor_mode");
		return;
	}
	ret = ksm_write_knob("advisor_mode", "scan-time");
	if (ret) {
		ksft_print_msg("advisor_mode=scan-time: %s\n", strerror(-ret));
		ksft_test_result_fail("pages_to_scan rejected under scan-time advisor\n");
		return;
	}
	take_snap(&before);
	ret = ksm_write_knob("pages_to_scan", "777");
	take_snap(&after);
	ksft_test_result(ret == -EINVAL && same_snap(&before, &after),
			 "pages_to_scan rejected under scan-time advisor\n");
	ksm_write_knob("advisor_mode", "none");
}

static void test_merge_across_nodes_busy(void)
{
	struct region r;
	long man;
	bool ok;
	int ret;

	if (!knob_exists("merge_across_nodes")) {
		ksft_test_result_skip("merge_across_nodes fixed while pages merged (no knob)\n");
		ksft_test_result_skip("merge_across_nodes changeable after run=2\n");
		return;
	}
	if (region_map(&r, 32))
		ksft_exit_fail_msg("mmap failed\n");
	region_fill(&r, 0x60000, 16);
	if (madvise(r.buf, 32 * page_size, MADV_MERGEABLE))
		ksft_exit_fail_msg("MADV_MERGEABLE: %s\n", strerror(errno));
	ok = ksm_wait_counters(16, 16, KSM_WAIT_SECS);
	man = ksm_get("merge_across_nodes");
	ret = ksm_write_knob("merge_across_nodes", man ? "0" : "1");
	if (!ret)
		ksft_print_msg("merge_across_nodes write accepted while merged\n");
	ok = ok && ret && ksm_get("merge_across_nodes") == man &&
	     ksm_get("pages_shared") == 16 && !region_check(&r);
	ksft_test_result(ok, "merge_across_nodes fixed while pages merged\n");

	ok = !ksm_write_knob("run", "2") &&
	     !ksm_write_knob("merge_across_nodes", man ? "0" : "1") &&
	     ksm_get("merge_across_nodes") == !man &&
	     !ksm_write_knob("merge_across_nodes", man ? "1" : "0") &&
	     ksm_get("merge_across_nodes") == man && !region_check(&r);
	ksft_test_result(ok, "merge_across_nodes changeable after run=2\n");
	region_unmap(&r);
	ksm_start();
}

static void test_readonly(void)
{
	static const char * const counters[] = {
		"pages_shared", "pages_sharing", "pages_unshared",
		"pages_volatile", "full_scans", "general_profit",
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(counters); i++) {
		ret = ksm_write_knob(counters[i], "5");
		ksft_test_result(ret == -EACCES || ret == -EPERM || ret == -EIO,
				 "%s is read-only\n", counters[i]);
	}
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(22 + 12 + 1 + 2 + 6);
	ksm_init();
	ksm_setup_fast();

	test_invalid();
	test_valid();
	test_advisor();
	test_merge_across_nodes_busy();
	test_readonly();

	ksm_restore_knobs();
	ksft_finished();
}
