// SPDX-License-Identifier: GPL-2.0-only
/*
 * When to merge: first-sight merging with its back-off, and smart scan,
 * which skips pages that keep failing to merge.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * First-sight merging: a page seen for the first time goes on into the
 * unstable index at once, instead of waiting a round for its checksum to
 * show that it does not change, so that static duplicates merge within
 * the first full scan.  A page so merged and written to before ksmd's
 * next visit was merged too early: a COW fault for nothing.  When that
 * happens to more than a quarter of a client's first-sight merges (of at
 * least FIRST_SIGHT_MIN), first-sight merging is off in its mm for
 * FIRST_SIGHT_OFF_ROUNDS rounds.  Both counts decay by half every round.
 * Every other page keeps the checksum test, including a page of an
 * address seen before, which is how a page that COWs after merging waits
 * a round before it merges again.
 */
#define FIRST_SIGHT_MIN		64
#define FIRST_SIGHT_OFF_ROUNDS	8

static bool first_sight_on(struct ksm_client *c)
{
	return !c->first_off;
}

/* The cursor enters @c in a new round. */
static void first_sight_round(struct ksm_client *c)
{
	if (c->first_off) {
		c->first_off--;
	} else if (c->first_merged >= FIRST_SIGHT_MIN &&
		   c->first_broken * 4 > c->first_merged) {
		c->first_off = FIRST_SIGHT_OFF_ROUNDS;
		c->first_merged = 0;
		c->first_broken = 0;
	}
	c->first_merged /= 2;
	c->first_broken /= 2;
}

/* @e has just been merged; count it if it went on at first sight. */
static void first_sight_merged(struct ksm_entry *e)
{
	if (entry_test(e, E_FIRST) && entry_is_stable(e))
		entry_client(e)->first_merged++;
}

/* Smart scan: skip pages that keep failing to merge, more and more. */
static bool smart_skip(struct ksm_entry *e)
{
	u32 skip = (*entry_meta(e) & E_SKIP_MASK) >> E_SKIP_SHIFT;

	if (!ksm_smart_scan || !skip)
		return false;
	entry_clear(e, E_SKIP_MASK);
	entry_set(e, (skip - 1) << E_SKIP_SHIFT);
	ksm_pages_skipped++;
	return true;
}

/*
 * Another round in which @e's page stayed unique.  From the fifth in a
 * row on, skip it for 1, 2, then 4 rounds between looks.
 */
static void smart_age(struct ksm_entry *e)
{
	u32 age = (*entry_meta(e) & E_AGE_MASK) >> E_AGE_SHIFT;
	u32 skip = 0;

	if (age < 7)
		age++;
	if (age >= 5)
		skip = min(1U << (age - 5), 7U);
	entry_clear(e, E_AGE_MASK | E_SKIP_MASK);
	entry_set(e, (age << E_AGE_SHIFT) | (skip << E_SKIP_SHIFT));
}
