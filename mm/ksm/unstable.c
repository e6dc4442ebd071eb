// SPDX-License-Identifier: GPL-2.0-only
/*
 * The unstable index: ordinary pages that may merge, forgotten at the
 * end of every round.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

static struct ksm_link *unstable_bucket(struct ksm_entry *e)
{
	return index_bucket(&ksm_unstable_index, entry_domain(e),
			    entry_tree_nid(e), e->csum);
}

static void entry_leave_unstable(struct ksm_entry *e)
{
	bool this_round = entry_test(e, E_ROUND) == (ksm_cursor.round & 1);

	/* An entry flagged in the previous round sits in a forgotten index. */
	if (this_round) {
		link_del(unstable_bucket(e), &e->link);
		ksm_unstable_index.count--;
	}
	entry_clear(e, E_UNSTABLE | E_ROUND);
	ksm_pages_unshared--;
}

static void entry_leave_trees(struct ksm_entry *e)
{
	if (entry_is_stable(e))
		entry_leave_stable(e);
	else if (entry_is_unstable(e))
		entry_leave_unstable(e);
}

/*
 * End of a round: the unstable index is forgotten, its entries clear
 * lazily; it starts again empty, sized for the most entries it held.
 */
static void unstable_forget(void)
{
	struct ksm_index *ix = &ksm_unstable_index;
	unsigned int bits = index_bits_for(ix->peak, KSM_UNSTABLE_PER_BUCKET);
	struct ksm_link *fresh = NULL;

	if (bits != ix->bits)
		fresh = index_alloc(bits);
	if (fresh) {
		kvfree(ix->buckets);
		ix->buckets = fresh;
		WRITE_ONCE(ix->bits, bits);
	} else {
		memset(ix->buckets, 0, index_bytes(ix));
	}
	ix->count = 0;
	ix->peak = 0;
	ksm_cursor.round++;
}

static struct ksm_link *unstable_bucket_of(struct ksm_link *node)
{
	return unstable_bucket(link_entry(node));
}

/* Empty the unstable index at once, clearing the entries in it. */
static void unstable_clear(void)
{
	struct ksm_index *ix = &ksm_unstable_index;
	struct ksm_link *l;
	unsigned long i;

	for (i = 0; i < (1UL << ix->bits); i++) {
		for (l = ix->buckets[i].next; l; l = l->next) {
			entry_clear(link_entry(l), E_UNSTABLE | E_ROUND);
			ksm_pages_unshared--;
		}
		ix->buckets[i].next = NULL;
	}
	ix->count = 0;
}

/* The page an unstable entry stands for, referenced, if still a candidate. */
static struct page *entry_get_page(struct ksm_entry *e)
{
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;
	struct page *page = NULL;
	struct folio_walk fw;
	struct folio *folio;

	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (!vma)
		goto out;
	folio = folio_walk_start(&fw, vma, entry_addr(e), 0);
	if (folio) {
		if (folio_test_anon(folio) && !folio_test_ksm(folio)) {
			page = fw.page;
			folio_get(folio);
		}
		folio_walk_end(&fw, vma);
	}
out:
	mmap_read_unlock(mm);
	return page;
}

/*
 * Look for a page whose content has the checksum @e->csum of @page's in
 * the unstable index, and insert @e there if none is found.  Returns the
 * matching entry, with its page referenced in *@peer_page, or NULL.  Not
 * compared here: make_ksm_page() and merge_page() compare the pages once
 * write-protected, which they have to anyway.
 */
static struct ksm_entry *unstable_find_or_insert(struct ksm_entry *e,
						 struct page *page, int nid,
						 struct page **peer_page)
{
	struct ksm_index *ix = &ksm_unstable_index;
	struct ksm_link *bucket = index_bucket(ix, entry_domain(e), nid,
					       e->csum);
	struct ksm_entry *other;
	struct ksm_link *l;
	struct page *opage;

again:
	for (l = bucket->next; l; l = l->next) {
		other = link_entry(l);
		if (other->csum != e->csum || entry_tree_nid(other) != nid ||
		    entry_domain(other) != entry_domain(e))
			continue;
		cond_resched();
		opage = entry_get_page(other);
		if (!opage) {
			/* Gone, or not a candidate any more. */
			entry_leave_unstable(other);
			goto again;
		}
		if (opage == page) {
			/* The very same page, seen through a fork. */
			put_page(opage);
			return NULL;
		}
		if (!nodes_may_merge(page_to_nid(page), page_to_nid(opage))) {
			/* Migrated since it was inserted: no partner here. */
			put_page(opage);
			return NULL;
		}
		*peer_page = opage;
		return other;
	}
	link_add(bucket, &e->link);
	entry_set_tree_nid(e, nid);
	ix->count++;
	ix->peak = max(ix->peak, ix->count);
	if (index_too_full(ix, KSM_UNSTABLE_PER_BUCKET))
		index_rehash(ix, index_bits_for(ix->count, KSM_UNSTABLE_PER_BUCKET),
			     unstable_bucket_of);
	entry_set(e, E_UNSTABLE);
	if (ksm_cursor.round & 1)
		entry_set(e, E_ROUND);
	ksm_pages_unshared++;
	return NULL;
}
