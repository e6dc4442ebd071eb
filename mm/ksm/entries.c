// SPDX-License-Identifier: GPL-2.0-only
/*
 * Entries in blocks: how KSM keeps what it knows of each scanned page in
 * about 21 bytes.
 *
 * Most of what an entry needs is the same for the entries of neighbouring
 * pages: the client, the next entry of the walk, the address but for its
 * low bits, and the anon_vma of the vma.  So a client's address space is
 * cut into windows of KSM_BLOCK_SLOTS pages, and the entries of a window
 * live together in one struct ksm_block: a header with what they share,
 * a 32-bit meta word per page (the E_* flags, the node of the unstable
 * key) and a 16-byte slot per page (checksum or descriptor, and one link).
 * A block is allocated when the scan first meets a page of its window,
 * and freed as soon as its last entry is.  Blocks are aligned to their
 * size: an entry finds its block, and so its address and client, by
 * rounding its own address down.  A client's blocks are singly linked in
 * address order, which is the order the cursor walks them in.
 *
 * The one link of an entry is in the unstable index (a bucket) or in the
 * ring of the KSM page's descriptor.  A ring is kept in the order its
 * entries were added, and points at the last one: adding is at the end,
 * and the scan, which unlinks entries in the order it linked them, takes
 * the first one, whose link before is the last: no walk either way.
 *
 * The anon_vma: an rmap walk of a KSM page goes through the anon_vma of
 * the vma each of its entries was merged in.  A window is normally in a
 * single vma, so a block holds one anon_vma, referenced once.  When a
 * stable entry of another anon_vma joins (a window across two vmas, or
 * a vma replaced under the same addresses), the block switches for good
 * to an array of one referenced anon_vma per slot.  Rmap walks read the
 * word under the lock of the KSM folio whose ring they walk, with the
 * array published by a release store: a slot they look at stays stable
 * under that lock, so its anon_vma stays referenced, in the word or in
 * the array, which is only freed with its block.
 *
 * Locking: blocks, meta words and slots are ksm_lock's; a ring is also
 * changed only under the lock of its KSM folio (rmap walks read it under
 * that lock alone).
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/* ksm_block.av: an array of anon_vmas, one per slot. */
#define KSM_AV_ARRAY	1UL

static unsigned long window_base(unsigned long addr)
{
	unsigned long pfn = addr >> PAGE_SHIFT;

	return (pfn - pfn % KSM_BLOCK_SLOTS) << PAGE_SHIFT;
}

static unsigned long block_end(const struct ksm_block *b)
{
	return b->base + ((unsigned long)KSM_BLOCK_SLOTS << PAGE_SHIFT);
}

/* The slot of @b for @addr, or its first slot if @addr is below @b. */
static unsigned int block_slot_from(const struct ksm_block *b,
				    unsigned long addr)
{
	return addr > b->base ? (addr - b->base) >> PAGE_SHIFT : 0;
}

static bool block_has(const struct ksm_block *b, u32 flags)
{
	unsigned int i;

	for (i = 0; i < KSM_BLOCK_SLOTS; i++)
		if (b->meta[i] & flags)
			return true;
	return false;
}

static struct ksm_block *block_alloc(struct ksm_client *c, unsigned long base)
{
	struct ksm_block *b;

	b = kmem_cache_zalloc(ksm_block_cache,
			      GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
	if (!b)
		return NULL;
	b->client = c;
	b->base = base;
	ksm_blocks_total++;
	return b;
}

/* Free @b, which has no live entry left. */
static void block_free(struct ksm_block *b)
{
	struct anon_vma **avs;
	unsigned int i;

	if (b->av & KSM_AV_ARRAY) {
		avs = (struct anon_vma **)(b->av & ~KSM_AV_ARRAY);
		for (i = 0; i < KSM_BLOCK_SLOTS; i++)
			if (avs[i])
				put_anon_vma(avs[i]);
		kmem_cache_free(ksm_block_avs_cache, avs);
	} else if (b->av) {
		put_anon_vma((struct anon_vma *)b->av);
	}
	ksm_blocks_total--;
	kmem_cache_free(ksm_block_cache, b);
}

/* Free the block at *@link if it has no live entry; true if it did. */
static bool block_drop_if_empty(struct ksm_block **link)
{
	struct ksm_block *b = *link;

	if (block_has(b, E_LIVE))
		return false;
	*link = b->next;
	block_free(b);
	return true;
}

/* The anon_vma rmap walks go through for the stable entry @e. */
static struct anon_vma *entry_anon_vma(const struct ksm_entry *e)
{
	/* Pairs with block_split_anon_vma(): a published array is filled. */
	unsigned long av = smp_load_acquire(&entry_block(e)->av);

	if (av & KSM_AV_ARRAY)
		return ((struct anon_vma **)(av & ~KSM_AV_ARRAY))[entry_slot(e)];
	return (struct anon_vma *)av;
}

/*
 * Switch @b from one anon_vma to one per slot: its stable entries keep
 * theirs, referenced in the array, before the block's own reference goes.
 * Right after a merge, which must not be undone: so it cannot fail.
 */
static struct anon_vma **block_split_anon_vma(struct ksm_block *b)
{
	struct anon_vma *old = (struct anon_vma *)b->av;
	struct anon_vma **avs;
	unsigned int i;

	avs = kmem_cache_zalloc(ksm_block_avs_cache, GFP_KERNEL | __GFP_NOFAIL);
	for (i = 0; i < KSM_BLOCK_SLOTS; i++) {
		if (b->meta[i] & E_STABLE) {
			get_anon_vma(old);
			avs[i] = old;
		}
	}
	/* Pairs with entry_anon_vma(): the array is filled before it shows. */
	smp_store_release(&b->av, (unsigned long)avs | KSM_AV_ARRAY);
	put_anon_vma(old);
	return avs;
}

/*
 * @e is about to be linked with a KSM page merged in a vma of @anon_vma:
 * make entry_anon_vma(@e) return it, referenced.
 */
static void entry_hold_anon_vma(struct ksm_entry *e, struct anon_vma *anon_vma)
{
	struct ksm_block *b = entry_block(e);
	unsigned int i = entry_slot(e);
	struct anon_vma **avs;

	if (!(b->av & KSM_AV_ARRAY)) {
		if (b->av == (unsigned long)anon_vma)
			return;
		if (b->av && block_has(b, E_STABLE)) {
			avs = block_split_anon_vma(b);
		} else {
			/* No walker can be looking at @b's word. */
			if (b->av)
				put_anon_vma((struct anon_vma *)b->av);
			get_anon_vma(anon_vma);
			WRITE_ONCE(b->av, (unsigned long)anon_vma);
			return;
		}
	} else {
		avs = (struct anon_vma **)(b->av & ~KSM_AV_ARRAY);
		if (avs[i] == anon_vma)
			return;
	}
	/* @e is not stable: no walker looks at its slot. */
	if (avs[i])
		put_anon_vma(avs[i]);
	get_anon_vma(anon_vma);
	avs[i] = anon_vma;
}

/* The entry whose link is @link. */
static struct ksm_entry *link_entry(struct ksm_link *link)
{
	return container_of(link, struct ksm_entry, link);
}

/*
 * A ring is walked first to last with shared_first() and shared_next(),
 * unlinking none of its entries on the way.
 */
static struct ksm_entry *shared_first(const struct ksm_shared *sh)
{
	return sh->last ? link_entry(sh->last->next) : NULL;
}

static struct ksm_entry *shared_next(const struct ksm_shared *sh,
				     struct ksm_entry *e)
{
	return &e->link == sh->last ? NULL : link_entry(e->link.next);
}

static void ring_add(struct ksm_shared *sh, struct ksm_entry *e)
{
	if (!sh->last) {
		e->link.next = &e->link;
	} else {
		e->link.next = sh->last->next;
		sh->last->next = &e->link;
	}
	sh->last = &e->link;
}

/* Unlink @e from @sh's ring: no walk when @e is the first. */
static void ring_del(struct ksm_shared *sh, struct ksm_entry *e)
{
	struct ksm_link *prev = link_before(sh->last, &e->link);

	if (prev == &e->link) {
		sh->last = NULL;
		return;
	}
	prev->next = e->link.next;
	if (sh->last == &e->link)
		sh->last = prev;
}

/* The cursor enters @c's entries (NULL: none) with nothing visited yet. */
static void cursor_rewind(struct ksm_cursor *cur, struct ksm_client *c)
{
	cur->kept = 0;
	cur->link = c ? &c->blocks : NULL;
}

/*
 * The cursor has visited everything below @kept: move its link on to the
 * first block that ends above.
 */
static void cursor_keep(struct ksm_cursor *cur, unsigned long kept)
{
	struct ksm_block *b;

	cur->kept = kept;
	while ((b = *cur->link) && block_end(b) <= kept)
		cur->link = &b->next;
}

/* The cursor's first live entry at or above its @kept, up to @limit. */
static struct ksm_entry *cursor_next_entry(struct ksm_cursor *cur,
					   unsigned long limit)
{
	struct ksm_block *b;
	unsigned int i;

	for (b = *cur->link; b && b->base <= limit; b = b->next) {
		for (i = block_slot_from(b, cur->kept); i < KSM_BLOCK_SLOTS; i++)
			if (b->meta[i] & E_LIVE)
				return &b->slots[i];
	}
	return NULL;
}
