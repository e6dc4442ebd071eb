// SPDX-License-Identifier: GPL-2.0
/*
 * Report the KUnit tests of our KSM (mm/ksm/tests/, CONFIG_KSM_KUNIT_TEST)
 * as selftest results.  The kernel runs them at boot and keeps each
 * suite's results in /sys/kernel/debug/kunit/<suite>/results (KTAP): one
 * result per test case, and the case's diagnostics before it.  A suite
 * missing, or a case that failed or was skipped, is a failure.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kselftest.h"

#ifndef KUNIT_DIR
#define KUNIT_DIR "/sys/kernel/debug/kunit/"
#endif

static const char * const suites[] = {
	"ksm_content",
	"ksm_index",
	"ksm_heuristics",
	"ksm_entries",
};

struct result {
	char name[256];
	bool ok;
};

static struct result results[256];
static int nr_results;

static void add_result(const char *name, bool ok)
{
	if (nr_results == (int)ARRAY_SIZE(results))
		return;
	snprintf(results[nr_results].name, sizeof(results[0].name), "%s", name);
	results[nr_results++].ok = ok;
}

/* A case's result line, "    ok 1 name" or "    not ok 2 name # SKIP ..." */
static bool case_result(const char *line, bool *ok, char *name, size_t len)
{
	const char *p;
	char *hash;
	int n = 0;

	if (strncmp(line, "    ", 4) || line[4] == ' ')
		return false;
	p = line + 4;
	if (!strncmp(p, "ok ", 3)) {
		*ok = true;
		p += 3;
	} else if (!strncmp(p, "not ok ", 7)) {
		*ok = false;
		p += 7;
	} else {
		return false;
	}
	sscanf(p, "%*d %n", &n);
	if (!n)
		return false;
	snprintf(name, len, "%s", p + n);
	name[strcspn(name, "\n")] = 0;
	/* A skipped case did not run: a failure, reported without "#". */
	hash = strstr(name, " #");
	if (hash) {
		*hash = 0;
		if (strstr(hash + 2, "SKIP")) {
			*ok = false;
			strncat(name, " (skipped)", len - strlen(name) - 1);
		}
	}
	return true;
}

static void read_suite(const char *suite)
{
	char path[256], line[512], name[160], label[256];
	int cases = 0;
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), KUNIT_DIR "%s/results", suite);
	f = fopen(path, "r");
	if (!f) {
		ksft_print_msg("%s: no %s (%m): the kernel has no such KUnit suite\n",
			       suite, path);
		snprintf(label, sizeof(label), "%s: suite ran at boot", suite);
		add_result(label, false);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (case_result(line, &ok, name, sizeof(name))) {
			snprintf(label, sizeof(label), "%s: %s", suite, name);
			add_result(label, ok);
			cases++;
		} else if (!strncmp(line, "    # ", 6) &&
			   strncmp(line, "    # Subtest:", 14)) {
			ksft_print_msg("%s: %s", suite, line + 6);
		}
	}
	fclose(f);
	if (!cases) {
		snprintf(label, sizeof(label), "%s: has test cases", suite);
		add_result(label, false);
	}
}

int main(void)
{
	unsigned int i;

	ksft_print_header();
	for (i = 0; i < ARRAY_SIZE(suites); i++)
		read_suite(suites[i]);
	ksft_set_plan(nr_results);
	for (i = 0; i < (unsigned int)nr_results; i++)
		ksft_test_result(results[i].ok, "%s\n", results[i].name);
	ksft_finished();
}
