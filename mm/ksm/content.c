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

/* The bits in which eight words at @a differ from eight words at @b. */
static __always_inline unsigned long words8_diff(const unsigned long *a,
						 const unsigned long *b)
{
	return (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) |
	       (a[4] ^ b[4]) | (a[5] ^ b[5]) | (a[6] ^ b[6]) | (a[7] ^ b[7]);
}

/*
 * Do two pages hold the same bytes?  Only equality matters (the indexes
 * are not ordered by content): eight words at a time, one branch each.
 */
static bool page_same(struct page *a, struct page *b)
{
	const unsigned long *pa = kmap_local_page(a);
	const unsigned long *pb = kmap_local_page(b);
	unsigned long diff = 0;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(long) && !diff; i += 8)
		diff = words8_diff(pa + i, pb + i);
	kunmap_local(pb);
	kunmap_local(pa);
	return !diff;
}

/*
 * A cheap first look at whether two pages may hold the same bytes: eight
 * words at the start of each 512-byte block, an eighth of the page.  Only
 * a filter (pages that differ elsewhere pass): page_same() decides.
 */
#define SAMPLE_STRIDE	(512 / sizeof(long))

static bool page_sample_same(struct page *a, struct page *b)
{
	const unsigned long *pa = kmap_local_page(a);
	const unsigned long *pb = kmap_local_page(b);
	unsigned long diff = 0;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(long) && !diff; i += SAMPLE_STRIDE)
		diff = words8_diff(pa + i, pb + i);
	kunmap_local(pb);
	kunmap_local(pa);
	return !diff;
}
