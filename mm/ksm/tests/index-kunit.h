/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests of KSM's content indexes (mm/ksm/index.c): their sizing,
 * the key's parts, and that growing one loses or misplaces nothing.
 */
#ifndef _KSM_INDEX_KUNIT_H
#define _KSM_INDEX_KUNIT_H

#include <kunit/test.h>
#include <linux/random.h>

struct index_test_item {
	struct ksm_link node;
	u64 domain;
	int nid;
	u64 csum;
};

static struct ksm_index *index_test_ix;	/* for index_test_bucket_of() */

static struct ksm_link *index_test_bucket_of(struct ksm_link *node)
{
	struct index_test_item *it = container_of(node, struct index_test_item,
						  node);

	return index_bucket(index_test_ix, it->domain, it->nid, it->csum);
}

/* log2 of the buckets: PER to 2 * PER items each, within the bounds. */
static void index_sizing(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, index_bits_for(0, 4), KSM_INDEX_MIN_BITS);
	KUNIT_EXPECT_EQ(test, index_bits_for(4UL << 10, 4), 10);
	KUNIT_EXPECT_EQ(test, index_bits_for((8UL << 10) - 1, 4), 10);
	KUNIT_EXPECT_EQ(test, index_bits_for(8UL << 10, 4), 11);
	KUNIT_EXPECT_EQ(test, index_bits_for(ULONG_MAX, 2), KSM_INDEX_MAX_BITS);
}

/* Too full: more than 2 * PER per bucket, and below the most buckets. */
static void index_fullness(struct kunit *test)
{
	struct ksm_index ix = { .bits = 10 };

	ix.count = 8UL << 10;
	KUNIT_EXPECT_FALSE(test, index_too_full(&ix, 4));
	ix.count++;
	KUNIT_EXPECT_TRUE(test, index_too_full(&ix, 4));
	ix.bits = KSM_INDEX_MAX_BITS;
	ix.count = ULONG_MAX;
	KUNIT_EXPECT_FALSE(test, index_too_full(&ix, 4));
	KUNIT_EXPECT_EQ(test, index_bytes(&ix),
			sizeof(struct ksm_link) << KSM_INDEX_MAX_BITS);
}

/*
 * The domain and the node are part of the key: with 2^12 buckets, the
 * same checksum in two domains (or two nodes) lands in the same bucket
 * about once in 4096 - not for most checksums, as it would were they
 * left out.
 */
static void index_key_parts(struct kunit *test)
{
	struct ksm_index ix = { .bits = 12 };
	unsigned int i, same_domain = 0, same_node = 0;

	ix.buckets = index_alloc(ix.bits);
	KUNIT_ASSERT_NOT_NULL(test, ix.buckets);
	for (i = 0; i < 1000; i++) {
		u64 csum = get_random_u64();

		KUNIT_EXPECT_PTR_EQ(test, index_bucket(&ix, 1, 0, csum),
				    index_bucket(&ix, 1, 0, csum));
		same_domain += index_bucket(&ix, 1, 0, csum) ==
			       index_bucket(&ix, 2, 0, csum);
		same_node += index_bucket(&ix, 1, 0, csum) ==
			     index_bucket(&ix, 1, 1, csum);
	}
	kvfree(ix.buckets);
	KUNIT_EXPECT_LT(test, same_domain, 20);
	KUNIT_EXPECT_LT(test, same_node, 20);
}

/*
 * Fill an index the way an unstable one fills, growing whenever it gets
 * too full: in the end every item is in the bucket its key says, none is
 * lost, and the index has the buckets its count calls for.
 */
static void index_grows_intact(struct kunit *test)
{
	const unsigned int n = 20000;
	struct index_test_item *items;
	struct ksm_index ix = {};
	struct ksm_link *node;
	unsigned long i, found = 0, misplaced = 0;
	unsigned int bits;

	items = kvcalloc(n, sizeof(*items), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, items);
	KUNIT_ASSERT_EQ(test, index_init(&ix), 0);
	index_test_ix = &ix;
	for (i = 0; i < n; i++) {
		items[i].domain = i % 3;
		items[i].nid = i % 2;
		items[i].csum = get_random_u64();
		link_add(index_test_bucket_of(&items[i].node), &items[i].node);
		ix.count++;
		if (!index_too_full(&ix, KSM_UNSTABLE_PER_BUCKET))
			continue;
		bits = index_bits_for(ix.count, KSM_UNSTABLE_PER_BUCKET);
		KUNIT_EXPECT_TRUE(test, index_rehash(&ix, bits,
						     index_test_bucket_of));
	}
	for (i = 0; i < (1UL << ix.bits); i++) {
		for (node = ix.buckets[i].next; node; node = node->next) {
			found++;
			if (index_test_bucket_of(node) != &ix.buckets[i])
				misplaced++;
		}
	}
	KUNIT_EXPECT_EQ(test, found, n);
	KUNIT_EXPECT_EQ(test, misplaced, 0);
	KUNIT_EXPECT_FALSE(test, index_too_full(&ix, KSM_UNSTABLE_PER_BUCKET));
	KUNIT_EXPECT_EQ(test, ix.bits, index_bits_for(n, KSM_UNSTABLE_PER_BUCKET));
	kvfree(ix.buckets);
	kvfree(items);
}

static struct kunit_case ksm_index_cases[] = {
	KUNIT_CASE(index_sizing),
	KUNIT_CASE(index_fullness),
	KUNIT_CASE(index_key_parts),
	KUNIT_CASE(index_grows_intact),
	{}
};

static struct kunit_suite ksm_index_suite = {
	.name = "ksm_index",
	.test_cases = ksm_index_cases,
};

kunit_test_suite(ksm_index_suite);

#endif /* _KSM_INDEX_KUNIT_H */
