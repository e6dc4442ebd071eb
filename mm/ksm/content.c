// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page content: the checksum that keys the content indexes and tells
 * whether a page changed, and full-page comparisons.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * Checksum of a page's content: the key of the content indexes, and the
 * test of whether a page changed between two visits.  Four lanes; each
 * word is xor-ed into its lane, which is then multiplied by an odd
 * constant - a bijection, so two pages that differ in a single word never
 * share a checksum - and the lanes are folded and mixed with xxh64's
 * avalanche.  About half the instructions per byte of xxh64, which ksmd
 * spent nearly half its time in.  Not a cryptographic hash: a collision
 * only costs a comparison that fails.
 */
#define CSUM_MUL	0x9e3779b97f4a7c15ULL	/* odd */

static u64 page_csum(struct page *page)
{
	const u64 *w = kmap_local_page(page);
	u64 a = 1, b = 2, c = 3, d = 4, h;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i += 4) {
		a = (a ^ w[i]) * CSUM_MUL;
		b = (b ^ w[i + 1]) * CSUM_MUL;
		c = (c ^ w[i + 2]) * CSUM_MUL;
		d = (d ^ w[i + 3]) * CSUM_MUL;
	}
	kunmap_local(w);
	h = rol64(a, 1) + rol64(b, 7) + rol64(c, 12) + rol64(d, 18);
	h ^= h >> 33;
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return h ^ (h >> 32);
}

static bool page_is_zero_filled(struct page *page)
{
	void *addr = kmap_local_page(page);
	bool zero = !memchr_inv(addr, 0, PAGE_SIZE);

	kunmap_local(addr);
	return zero;
}

/*
 * Are the words of two pages equal in blocks of eight, one block every
 * @stride words?  One branch per block.
 */
static __always_inline bool words_same_every(struct page *a, struct page *b,
					     unsigned int stride)
{
	const unsigned long *pa = kmap_local_page(a);
	const unsigned long *pb = kmap_local_page(b);
	unsigned long diff = 0;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(long) && !diff; i += stride)
		diff = (pa[i] ^ pb[i]) | (pa[i + 1] ^ pb[i + 1]) |
		       (pa[i + 2] ^ pb[i + 2]) | (pa[i + 3] ^ pb[i + 3]) |
		       (pa[i + 4] ^ pb[i + 4]) | (pa[i + 5] ^ pb[i + 5]) |
		       (pa[i + 6] ^ pb[i + 6]) | (pa[i + 7] ^ pb[i + 7]);
	kunmap_local(pb);
	kunmap_local(pa);
	return !diff;
}

/*
 * Do two pages hold the same bytes?  Only equality matters (the indexes
 * are not ordered by content): every word, eight at a time.
 */
static bool page_same(struct page *a, struct page *b)
{
	return words_same_every(a, b, 8);
}

/*
 * A cheap first look at whether two pages may hold the same bytes: eight
 * words at the start of each 512-byte block, an eighth of the page.  Only
 * a filter (pages that differ elsewhere pass): page_same() decides.
 */
static bool page_sample_same(struct page *a, struct page *b)
{
	return words_same_every(a, b, 512 / sizeof(long));
}
