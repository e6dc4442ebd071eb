// SPDX-License-Identifier: GPL-2.0-only
/*
 * Content indexes: the hash tables behind the stable and unstable
 * "trees", and how they grow and shrink.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * The stable and the unstable "tree" are hash indexes keyed by (merge
 * domain, NUMA node of the tree, checksum of the content).  A lookup
 * hashes the key to a bucket and reads a page only for the items whose
 * whole key is equal - normally just the page it merges with - where a
 * tree ordered by content would read and compare a page at every level of
 * its descent (for unstable pages, with an mmap_lock round trip and a page
 * table walk each time).  An equal checksum is never trusted: pages are
 * merged only once write-protected and compared equal in full.  The
 * checksum has 64 bits, so that two different pages practically never
 * share a key: a lookup takes the first item whose key is equal.
 *
 * A KSM page is keyed by the checksum of its content, which cannot
 * change.  An unstable entry is keyed by the checksum its page had when
 * it went in: a page changed since is not found by its new content, and
 * a lookup by the old one finds it unequal - no harm done, where it left
 * a content tree unsorted.
 *
 * An index holds between PER and 2 * PER items per bucket on average
 * (PER: KSM_UNSTABLE_PER_BUCKET entries, KSM_STABLE_PER_BUCKET KSM pages),
 * within [KSM_INDEX_MIN_BITS, KSM_INDEX_MAX_BITS] bits: an insert that
 * makes it fuller rehashes it into more buckets at once.  At the end of a
 * round the unstable index starts again empty, sized for the most entries
 * it held in the round, and the stable index is rehashed into fewer
 * buckets if it holds less than a quarter of PER per bucket.  Short of
 * memory for a new size, the old one stays.  Not while stable_for_each()
 * walks the buckets.  Under ksm_lock.
 */
#define KSM_INDEX_MIN_BITS	8
#define KSM_INDEX_MAX_BITS	22
#define KSM_UNSTABLE_PER_BUCKET	4
#define KSM_STABLE_PER_BUCKET	2

static struct ksm_link *index_bucket(struct ksm_index *ix, u64 domain,
				     int nid, u64 csum)
{
	u64 key = csum ^ (domain * GOLDEN_RATIO_64) ^ ((u64)nid << 48);

	return &ix->buckets[hash_64(key, ix->bits)];
}

/* log2 of the number of buckets for @n items, @per to 2 * @per a bucket. */
static unsigned int index_bits_for(unsigned long n, unsigned int per)
{
	unsigned int bits = n / per ? ilog2(n / per) : 0;

	return clamp(bits, KSM_INDEX_MIN_BITS, KSM_INDEX_MAX_BITS);
}

/* More than 2 * @per items per bucket: time for more buckets. */
static bool index_too_full(struct ksm_index *ix, unsigned int per)
{
	return ix->count > (2UL * per) << ix->bits &&
	       ix->bits < KSM_INDEX_MAX_BITS;
}

static struct ksm_link *index_alloc(unsigned int bits)
{
	return kvcalloc(1UL << bits, sizeof(struct ksm_link),
			GFP_KERNEL | __GFP_NOWARN);
}

static int index_init(struct ksm_index *ix)
{
	ix->bits = KSM_INDEX_MIN_BITS;
	ix->buckets = index_alloc(ix->bits);
	return ix->buckets ? 0 : -ENOMEM;
}

static unsigned long index_bytes(struct ksm_index *ix)
{
	return sizeof(struct ksm_link) << READ_ONCE(ix->bits);
}

/*
 * Buckets, and the rings of entries of descriptors, are singly linked
 * lists: a link in an item, a bucket a link that is no item's.  Taking an
 * item out walks its list to the link before it: a bucket holds a few
 * items, and a ring is unlinked in the order it was made (see
 * ksm/entries.c).
 */
static void link_add(struct ksm_link *head, struct ksm_link *node)
{
	node->next = head->next;
	head->next = node;
}

/* The link whose next is @node, on the list from @head. */
static struct ksm_link *link_before(struct ksm_link *head,
				    struct ksm_link *node)
{
	while (head->next != node)
		head = head->next;
	return head;
}

static void link_del(struct ksm_link *head, struct ksm_link *node)
{
	link_before(head, node)->next = node->next;
}

static struct ksm_link *stable_bucket(struct ksm_shared *sh)
{
	return index_bucket(&ksm_stable_index, sh->domain, sh->nid, sh->csum);
}

/*
 * Move every item of @ix into 1 << @bits new buckets, each into the one
 * @bucket_of() says; false, and nothing changed, if short of memory.
 */
static bool index_rehash(struct ksm_index *ix, unsigned int bits,
			 struct ksm_link *(*bucket_of)(struct ksm_link *))
{
	struct ksm_link *old = ix->buckets;
	unsigned long i, n = 1UL << ix->bits;
	struct ksm_link *node, *next;

	ix->buckets = index_alloc(bits);
	if (!ix->buckets) {
		ix->buckets = old;
		return false;
	}
	WRITE_ONCE(ix->bits, bits);
	for (i = 0; i < n; i++)
		for (node = old[i].next; node; node = next) {
			next = node->next;
			link_add(bucket_of(node), node);
		}
	kvfree(old);
	return true;
}

static struct ksm_link *stable_bucket_of(struct ksm_link *node)
{
	return stable_bucket(container_of(node, struct ksm_shared, hlink));
}

static bool ksm_stable_walking;	/* stable_for_each() is at work */

/* After an insert: more buckets if the stable index got too full. */
static void stable_index_grow(void)
{
	struct ksm_index *ix = &ksm_stable_index;

	if (!ksm_stable_walking && index_too_full(ix, KSM_STABLE_PER_BUCKET))
		index_rehash(ix, index_bits_for(ix->count, KSM_STABLE_PER_BUCKET),
			     stable_bucket_of);
}

/* At the end of a round: fewer buckets if the stable index is too empty. */
static void stable_index_shrink(void)
{
	struct ksm_index *ix = &ksm_stable_index;
	unsigned int bits = index_bits_for(ix->count, KSM_STABLE_PER_BUCKET);

	if (bits + 2 < ix->bits)
		index_rehash(ix, bits, stable_bucket_of);
}
