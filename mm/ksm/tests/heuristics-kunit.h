/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests of KSM's merging heuristics (mm/ksm/heuristics.c): the
 * back-off of first-sight merging, and smart scan's ageing.
 */
#ifndef _KSM_HEURISTICS_KUNIT_H
#define _KSM_HEURISTICS_KUNIT_H

#include <kunit/test.h>

/* A quarter of first-sight merges broken, of at least the minimum: off. */
static void first_sight_backs_off(struct kunit *test)
{
	struct ksm_client c = {};
	unsigned int round;

	c.first_merged = FIRST_SIGHT_MIN;
	c.first_broken = FIRST_SIGHT_MIN / 4;	/* not more than a quarter */
	first_sight_round(&c);
	KUNIT_EXPECT_TRUE(test, first_sight_on(&c));
	/* The counts decayed by half. */
	KUNIT_EXPECT_EQ(test, c.first_merged, FIRST_SIGHT_MIN / 2);
	KUNIT_EXPECT_EQ(test, c.first_broken, FIRST_SIGHT_MIN / 8);

	c.first_merged = FIRST_SIGHT_MIN;
	c.first_broken = FIRST_SIGHT_MIN / 4 + 1;
	first_sight_round(&c);
	KUNIT_EXPECT_FALSE(test, first_sight_on(&c));
	KUNIT_EXPECT_EQ(test, c.first_merged, 0);
	KUNIT_EXPECT_EQ(test, c.first_broken, 0);

	/* Off for FIRST_SIGHT_OFF_ROUNDS rounds, then on again. */
	for (round = 1; round < FIRST_SIGHT_OFF_ROUNDS; round++) {
		first_sight_round(&c);
		KUNIT_EXPECT_FALSE(test, first_sight_on(&c));
	}
	first_sight_round(&c);
	KUNIT_EXPECT_TRUE(test, first_sight_on(&c));
}

/* Too few first-sight merges to judge: never off, however many broke. */
static void first_sight_needs_enough(struct kunit *test)
{
	struct ksm_client c = {};

	c.first_merged = FIRST_SIGHT_MIN - 1;
	c.first_broken = FIRST_SIGHT_MIN - 1;
	first_sight_round(&c);
	KUNIT_EXPECT_TRUE(test, first_sight_on(&c));
}

/* Only an entry that went on at first sight and got merged is counted. */
static void first_sight_counts_merges(struct kunit *test)
{
	struct ksm_client c = {};
	struct ksm_block *b = kunit_block(test, 0);
	struct ksm_entry *e;

	b->client = &c;
	e = &b->slots[3];
	first_sight_merged(e);
	KUNIT_EXPECT_EQ(test, c.first_merged, 0);
	b->meta[3] = E_LIVE | E_FIRST;
	first_sight_merged(e);
	KUNIT_EXPECT_EQ(test, c.first_merged, 0);
	b->meta[3] = E_LIVE | E_FIRST | E_STABLE;
	first_sight_merged(e);
	KUNIT_EXPECT_EQ(test, c.first_merged, 1);
}

static unsigned long entry_skip(struct ksm_entry *e)
{
	return (*entry_meta(e) & E_SKIP_MASK) >> E_SKIP_SHIFT;
}

/*
 * Smart scan: four unchanged, unique visits cost nothing; from the fifth
 * on a page is skipped for 1, 2, then 4 rounds; ageing keeps the address.
 */
static void smart_scan_ages(struct kunit *test)
{
	static const unsigned long want[] = { 0, 0, 0, 0, 1, 2, 4, 4, 4 };
	struct ksm_block *b = kunit_block(test, 0x7f0000001000UL);
	struct ksm_entry *e;
	unsigned int i;

	e = &b->slots[block_slot_from(b, 0x7f0000001000UL)];
	b->meta[entry_slot(e)] = E_LIVE | E_SEEN | (5U << E_NID_SHIFT);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		smart_age(e);
		KUNIT_EXPECT_EQ_MSG(test, entry_skip(e), want[i], "visit %u", i + 1);
	}
	KUNIT_EXPECT_EQ(test, entry_addr(e), 0x7f0000001000UL);
	KUNIT_EXPECT_TRUE(test, entry_test(e, E_SEEN | E_LIVE));
	KUNIT_EXPECT_EQ(test, entry_tree_nid(e), 5);
}

static struct kunit_case ksm_heuristics_cases[] = {
	KUNIT_CASE(first_sight_backs_off),
	KUNIT_CASE(first_sight_needs_enough),
	KUNIT_CASE(first_sight_counts_merges),
	KUNIT_CASE(smart_scan_ages),
	{}
};

static struct kunit_suite ksm_heuristics_suite = {
	.name = "ksm_heuristics",
	.test_cases = ksm_heuristics_cases,
};

kunit_test_suite(ksm_heuristics_suite);

#endif /* _KSM_HEURISTICS_KUNIT_H */
