/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests of entries in blocks (mm/ksm/entries.c): what an entry
 * finds from its own address, the rings of descriptors, the anon_vma
 * word and its references, and freeing a range of entries.
 */
#ifndef _KSM_ENTRIES_KUNIT_H
#define _KSM_ENTRIES_KUNIT_H

#include <kunit/test.h>

/* A block outside the cache, aligned as the cache aligns them. */
static struct ksm_block *kunit_block(struct kunit *test, unsigned long addr)
{
	struct ksm_block *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_EQ(test, (unsigned long)b % KSM_BLOCK_BYTES, 0);
	b->base = window_base(addr);
	return b;
}

/* Every slot knows its block, address and client; windows tile memory. */
static void entry_finds_its_block(struct kunit *test)
{
	static const unsigned long addrs[] = {
		0, PAGE_SIZE, 23 * PAGE_SIZE, 24 * PAGE_SIZE,
		0x7f0000001000UL, 0x7ffffffff000UL,
	};
	struct ksm_client c = {};
	struct ksm_block *b;
	unsigned int i, k;

	for (k = 0; k < ARRAY_SIZE(addrs); k++) {
		b = kunit_block(test, addrs[k]);
		b->client = &c;
		KUNIT_EXPECT_LE(test, b->base, addrs[k]);
		KUNIT_EXPECT_LT(test, addrs[k], block_end(b));
		KUNIT_EXPECT_EQ(test, (b->base >> PAGE_SHIFT) % KSM_BLOCK_SLOTS, 0);
		KUNIT_EXPECT_PTR_EQ(test,
				    &b->slots[block_slot_from(b, addrs[k])],
				    &b->slots[(addrs[k] - b->base) >> PAGE_SHIFT]);
		for (i = 0; i < KSM_BLOCK_SLOTS; i++) {
			struct ksm_entry *e = &b->slots[i];

			KUNIT_EXPECT_PTR_EQ(test, entry_block(e), b);
			KUNIT_EXPECT_EQ(test, entry_slot(e), i);
			KUNIT_EXPECT_EQ(test, entry_addr(e),
					b->base + i * PAGE_SIZE);
			KUNIT_EXPECT_PTR_EQ(test, entry_client(e), &c);
			KUNIT_EXPECT_PTR_EQ(test, entry_meta(e), &b->meta[i]);
		}
	}
	KUNIT_EXPECT_EQ(test, sizeof(struct ksm_entry), 16);
	KUNIT_EXPECT_EQ(test, sizeof(struct ksm_shared), 64);
}

/* The ring's entries, first to last, as slot numbers; -1 past the end. */
static void ring_read(struct ksm_shared *sh, int *out, unsigned int n)
{
	struct ksm_entry *e;
	unsigned int k = 0;

	for (e = shared_first(sh); e; e = shared_next(sh, e))
		if (k < n)
			out[k++] = entry_slot(e);
	while (k < n)
		out[k++] = -1;
}

/* A ring keeps the order entries were added in, whichever one goes. */
static void ring_keeps_order(struct kunit *test)
{
	struct ksm_block *b = kunit_block(test, 0);
	struct ksm_shared sh = {};
	int got[6];
	unsigned int i;

	for (i = 0; i < 5; i++)
		ring_add(&sh, &b->slots[i]);
	ring_read(&sh, got, 6);
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, got[i], i);
	KUNIT_EXPECT_EQ(test, got[5], -1);

	ring_del(&sh, &b->slots[2]);	/* a middle one */
	ring_del(&sh, &b->slots[0]);	/* the first */
	ring_del(&sh, &b->slots[4]);	/* the last */
	ring_read(&sh, got, 3);
	KUNIT_EXPECT_EQ(test, got[0], 1);
	KUNIT_EXPECT_EQ(test, got[1], 3);
	KUNIT_EXPECT_EQ(test, got[2], -1);
	KUNIT_EXPECT_PTR_EQ(test, sh.last, &b->slots[3].link);

	ring_add(&sh, &b->slots[7]);
	ring_read(&sh, got, 4);
	KUNIT_EXPECT_EQ(test, got[2], 7);
	ring_del(&sh, &b->slots[1]);
	ring_del(&sh, &b->slots[3]);
	ring_del(&sh, &b->slots[7]);
	KUNIT_EXPECT_NULL(test, sh.last);
	KUNIT_EXPECT_NULL(test, shared_first(&sh));
}

/*
 * The anon_vma word: one anon_vma per block, referenced once; another
 * one for a slot next to a stable entry switches the block to one per
 * slot, each referenced; freeing the block drops them all.  The
 * anon_vmas here are fakes that keep a reference of the test's own, so
 * that none is ever freed.
 */
static void block_holds_anon_vmas(struct kunit *test)
{
	struct anon_vma *av1 = kunit_kzalloc(test, sizeof(*av1), GFP_KERNEL);
	struct anon_vma *av2 = kunit_kzalloc(test, sizeof(*av2), GFP_KERNEL);
	struct ksm_block *b;

	KUNIT_ASSERT_NOT_NULL(test, av1);
	KUNIT_ASSERT_NOT_NULL(test, av2);
	atomic_set(&av1->refcount, 1);
	atomic_set(&av2->refcount, 1);
	mutex_lock(&ksm_lock);
	b = block_alloc(NULL, 0);
	mutex_unlock(&ksm_lock);
	KUNIT_ASSERT_NOT_NULL(test, b);

	entry_hold_anon_vma(&b->slots[0], av1);
	b->meta[0] = E_LIVE | E_STABLE;
	entry_hold_anon_vma(&b->slots[1], av1);
	b->meta[1] = E_LIVE | E_STABLE;
	KUNIT_EXPECT_EQ(test, atomic_read(&av1->refcount), 2);
	KUNIT_EXPECT_PTR_EQ(test, entry_anon_vma(&b->slots[1]), av1);

	/* Without a stable entry left, the block's one anon_vma changes. */
	b->meta[0] = E_LIVE;
	b->meta[1] = E_LIVE;
	entry_hold_anon_vma(&b->slots[2], av2);
	b->meta[2] = E_LIVE | E_STABLE;
	KUNIT_EXPECT_EQ(test, atomic_read(&av1->refcount), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&av2->refcount), 2);
	KUNIT_EXPECT_FALSE(test, b->av & KSM_AV_ARRAY);

	/* Next to a stable entry of av2: one per slot. */
	entry_hold_anon_vma(&b->slots[3], av1);
	b->meta[3] = E_LIVE | E_STABLE;
	KUNIT_EXPECT_TRUE(test, b->av & KSM_AV_ARRAY);
	KUNIT_EXPECT_PTR_EQ(test, entry_anon_vma(&b->slots[2]), av2);
	KUNIT_EXPECT_PTR_EQ(test, entry_anon_vma(&b->slots[3]), av1);
	KUNIT_EXPECT_NULL(test, entry_anon_vma(&b->slots[4]));
	KUNIT_EXPECT_EQ(test, atomic_read(&av1->refcount), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&av2->refcount), 2);

	/* A slot merged again in another vma takes the new one. */
	b->meta[2] = E_LIVE;
	entry_hold_anon_vma(&b->slots[2], av1);
	KUNIT_EXPECT_PTR_EQ(test, entry_anon_vma(&b->slots[2]), av1);
	KUNIT_EXPECT_EQ(test, atomic_read(&av1->refcount), 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&av2->refcount), 1);

	memset(b->meta, 0, sizeof(b->meta));
	mutex_lock(&ksm_lock);
	block_free(b);
	mutex_unlock(&ksm_lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&av1->refcount), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&av2->refcount), 1);
}

/*
 * Freeing [from, to) frees the live entries there and nothing else, and
 * the blocks it empties, keeping the list of the others in order.
 */
static void free_range_frees_range(struct kunit *test)
{
	struct mm_struct *mm = kunit_kzalloc(test, sizeof(*mm), GFP_KERNEL);
	const unsigned long w = KSM_BLOCK_SLOTS * PAGE_SIZE;
	struct ksm_client c = { .mm = mm };
	struct ksm_block *b[3], **link;
	unsigned long entries, i, k;
	bool done;

	KUNIT_ASSERT_NOT_NULL(test, mm);
	mutex_lock(&ksm_lock);
	entries = ksm_entries_total;
	link = &c.blocks;
	for (k = 0; k < 3; k++) {
		b[k] = block_alloc(&c, 10 * w + k * w);
		if (!b[k])
			break;
		*link = b[k];
		link = &b[k]->next;
		/* Pages 4 to 19 of each window. */
		for (i = 4; i < 20; i++)
			b[k]->meta[i] = E_LIVE;
		ksm_entries_total += 16;
		mm->ksm_rmap_items += 16;
	}
	if (k < 3) {
		mutex_unlock(&ksm_lock);
		KUNIT_FAIL(test, "out of memory");
		return;
	}
	/* From page 10 of the first window to page 5 of the third. */
	done = entries_free_range(&c.blocks, 10 * w + 10 * PAGE_SIZE,
				  12 * w + 5 * PAGE_SIZE, NULL);
	KUNIT_EXPECT_TRUE(test, done);
	KUNIT_EXPECT_PTR_EQ(test, c.blocks, b[0]);
	KUNIT_EXPECT_PTR_EQ(test, b[0]->next, b[2]);	/* b[1] freed */
	for (i = 0; i < KSM_BLOCK_SLOTS; i++) {
		KUNIT_EXPECT_EQ_MSG(test, !!(b[0]->meta[i] & E_LIVE),
				    i >= 4 && i < 10, "first window, page %lu", i);
		KUNIT_EXPECT_EQ_MSG(test, !!(b[2]->meta[i] & E_LIVE),
				    i >= 5 && i < 20, "third window, page %lu", i);
	}
	KUNIT_EXPECT_EQ(test, mm->ksm_rmap_items, 6 + 15);

	/* Everything from the start: both blocks go. */
	done = entries_free_range(&c.blocks, 0, ULONG_MAX, NULL);
	KUNIT_EXPECT_TRUE(test, done);
	KUNIT_EXPECT_NULL(test, c.blocks);
	KUNIT_EXPECT_EQ(test, mm->ksm_rmap_items, 0);
	KUNIT_EXPECT_EQ(test, ksm_entries_total, entries);
	mutex_unlock(&ksm_lock);
}

static struct kunit_case ksm_entries_cases[] = {
	KUNIT_CASE(entry_finds_its_block),
	KUNIT_CASE(ring_keeps_order),
	KUNIT_CASE(block_holds_anon_vmas),
	KUNIT_CASE(free_range_frees_range),
	{}
};

static struct kunit_suite ksm_entries_suite = {
	.name = "ksm_entries",
	.test_cases = ksm_entries_cases,
};

kunit_test_suite(ksm_entries_suite);

#endif /* _KSM_ENTRIES_KUNIT_H */
