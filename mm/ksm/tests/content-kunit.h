/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KUnit tests of KSM's page content functions (mm/ksm/content.c): the
 * checksum that keys the content indexes and tells whether a page
 * changed, and the comparisons.
 */
#ifndef _KSM_CONTENT_KUNIT_H
#define _KSM_CONTENT_KUNIT_H

#include <kunit/test.h>
#include <linux/random.h>

/* Two pages, the second a copy of the first, which holds random bytes. */
static int ksm_content_init(struct kunit *test)
{
	struct page **pages = kunit_kcalloc(test, 2, sizeof(*pages), GFP_KERNEL);

	if (!pages)
		return -ENOMEM;
	pages[0] = alloc_page(GFP_KERNEL);
	pages[1] = alloc_page(GFP_KERNEL);
	if (!pages[0] || !pages[1]) {
		if (pages[0])
			__free_page(pages[0]);
		if (pages[1])
			__free_page(pages[1]);
		return -ENOMEM;
	}
	get_random_bytes(page_address(pages[0]), PAGE_SIZE);
	copy_highpage(pages[1], pages[0]);
	test->priv = pages;
	return 0;
}

static void ksm_content_exit(struct kunit *test)
{
	struct page **pages = test->priv;

	__free_page(pages[0]);
	__free_page(pages[1]);
}

static u64 *page_words(struct page *page)
{
	return page_address(page);
}

/* Equal content, equal checksum: the checksum depends on content alone. */
static void csum_equal_pages(struct kunit *test)
{
	struct page **p = test->priv;

	KUNIT_EXPECT_EQ(test, page_csum(p[0]), page_csum(p[1]));
	KUNIT_EXPECT_EQ(test, page_csum(p[0]), page_csum(p[0]));
}

/*
 * Pages that differ in a single word never share a checksum (the lane
 * update is a bijection): every word of the page, each with a random
 * nonzero change.
 */
static void csum_one_word_differs(struct kunit *test)
{
	struct page **p = test->priv;
	u64 *w = page_words(p[1]);
	u64 base = page_csum(p[0]);
	unsigned int i, same = 0;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		u64 old = w[i];
		u64 delta = get_random_u64() | 1;

		w[i] ^= delta;
		if (page_csum(p[1]) == base)
			same++;
		w[i] = old;
	}
	KUNIT_EXPECT_EQ(test, same, 0);
	KUNIT_EXPECT_EQ(test, page_csum(p[1]), base);
}

/* Words that trade places (a permutation) change the checksum too. */
static void csum_words_swapped(struct kunit *test)
{
	struct page **p = test->priv;
	u64 *w = page_words(p[1]);
	u64 before;

	w[0] = 1;
	w[4] = 2;	/* the same lane as w[0] */
	before = page_csum(p[1]);
	swap(w[0], w[4]);
	KUNIT_EXPECT_NE(test, page_csum(p[1]), before);
}

/* The zero page's checksum is the one use_zero_pages looks for. */
static void csum_zero_page(struct kunit *test)
{
	struct page **p = test->priv;

	KUNIT_EXPECT_EQ(test, page_csum(ZERO_PAGE(0)), ksm_zero_csum);
	clear_highpage(p[0]);
	KUNIT_EXPECT_EQ(test, page_csum(p[0]), ksm_zero_csum);
	KUNIT_EXPECT_TRUE(test, page_is_zero_filled(p[0]));
	page_words(p[0])[PAGE_SIZE / sizeof(u64) - 1] = 1ULL << 63;
	KUNIT_EXPECT_FALSE(test, page_is_zero_filled(p[0]));
	KUNIT_EXPECT_NE(test, page_csum(p[0]), ksm_zero_csum);
}

/* page_same() sees a difference in any byte, first and last included. */
static void same_any_byte(struct kunit *test)
{
	struct page **p = test->priv;
	u8 *b = page_address(p[1]);
	unsigned int i, missed = 0;

	KUNIT_EXPECT_TRUE(test, page_same(p[0], p[1]));
	for (i = 0; i < PAGE_SIZE; i += (i < 64 || i >= PAGE_SIZE - 64) ? 1 : 61) {
		b[i] ^= 0x80;
		if (page_same(p[0], p[1]))
			missed++;
		b[i] ^= 0x80;
	}
	KUNIT_EXPECT_EQ(test, missed, 0);
	KUNIT_EXPECT_TRUE(test, page_same(p[0], p[1]));
}

/*
 * page_sample_same() looks at the first 64 bytes of every 512: a change
 * there is seen, one elsewhere is not (page_same() is what decides).
 */
static void sample_sees_sampled_words(struct kunit *test)
{
	struct page **p = test->priv;
	u8 *b = page_address(p[1]);
	unsigned int i, seen[2] = { 0, 0 };

	KUNIT_EXPECT_TRUE(test, page_sample_same(p[0], p[1]));
	for (i = 0; i < PAGE_SIZE; i++) {
		b[i] ^= 0x01;
		if (!page_sample_same(p[0], p[1]))
			seen[i % 512 < 64]++;
		b[i] ^= 0x01;
	}
	KUNIT_EXPECT_EQ(test, seen[1], PAGE_SIZE / 8);
	KUNIT_EXPECT_EQ(test, seen[0], 0);
	KUNIT_EXPECT_TRUE(test, page_sample_same(p[0], p[1]));
}

static struct kunit_case ksm_content_cases[] = {
	KUNIT_CASE(csum_equal_pages),
	KUNIT_CASE(csum_one_word_differs),
	KUNIT_CASE(csum_words_swapped),
	KUNIT_CASE(csum_zero_page),
	KUNIT_CASE(same_any_byte),
	KUNIT_CASE(sample_sees_sampled_words),
	{}
};

static struct kunit_suite ksm_content_suite = {
	.name = "ksm_content",
	.init = ksm_content_init,
	.exit = ksm_content_exit,
	.test_cases = ksm_content_cases,
};

kunit_test_suite(ksm_content_suite);

#endif /* _KSM_CONTENT_KUNIT_H */
