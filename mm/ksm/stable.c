// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stable descriptors: one per KSM page, found from the page through its
 * mapping; chains of duplicates; lookups and sweeps of the stable index.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * A chain keeps its duplicates that can take another sharer before those
 * that are full, so that chain_pick() finds one in constant time.
 */
static void chain_sort_dup(struct ksm_shared *sh)
{
	if (!sh->is_dup)
		return;
	if (sh->nr_entries < READ_ONCE(ksm_max_page_sharing))
		list_move(&sh->dups, &sh->head->dups);
	else
		list_move_tail(&sh->dups, &sh->head->dups);
}

static void entry_unlink_shared(struct ksm_entry *e)
{
	struct ksm_shared *sh = e->shared;

	ring_del(sh, e);
	sh->nr_entries--;
	chain_sort_dup(sh);
	if (!sh->last)
		ksm_pages_shared--;
	else
		ksm_pages_sharing--;
	entry_mm(e)->ksm_merging_pages--;
	entry_clear(e, E_STABLE);
	e->csum = 0;
}

/* Caller holds the KSM folio lock (or the descriptor is stale). */
static void entry_link_shared(struct ksm_entry *e, struct ksm_shared *sh,
			      struct anon_vma *anon_vma)
{
	if (!sh->last)
		ksm_pages_shared++;
	else
		ksm_pages_sharing++;
	entry_hold_anon_vma(e, anon_vma);
	e->shared = sh;
	ring_add(sh, e);
	sh->nr_entries++;
	chain_sort_dup(sh);
	entry_set(e, E_STABLE);
	entry_clear(e, E_AGE_MASK | E_SKIP_MASK);
	entry_mm(e)->ksm_merging_pages++;
}

/* Hang the duplicate @dup on the chain of @head. */
static void chain_add(struct ksm_shared *head, struct ksm_shared *dup)
{
	if (list_empty(&head->dups)) {
		ksm_chains++;
		ksm_chained++;		/* the head itself */
	}
	ksm_chained++;
	dup->is_dup = true;
	dup->head = head;
	list_add(&dup->dups, &head->dups);	/* not full: in front */
}

/*
 * Take a descriptor out of the stable index or its chain.  A head that
 * has duplicates hands its place in the index to the first of them.
 */
static void chain_remove(struct ksm_shared *sh)
{
	struct ksm_shared *head = sh->is_dup ? sh->head : sh;
	struct ksm_shared *heir, *d;

	if (!list_empty(&head->dups)) {
		ksm_chained--;
		if (list_is_singular(&head->dups)) {
			ksm_chains--;
			ksm_chained--;
		}
	}
	if (sh->is_dup) {
		list_del(&sh->dups);
		return;
	}
	if (list_empty(&sh->dups)) {
		link_del(stable_bucket(sh), &sh->hlink);
		ksm_stable_index.count--;
		return;
	}
	heir = list_first_entry(&sh->dups, struct ksm_shared, dups);
	list_del_init(&heir->dups);
	list_splice_init(&sh->dups, &heir->dups);
	list_for_each_entry(d, &heir->dups, dups)
		d->head = heir;
	heir->is_dup = false;
	heir->hlink.next = sh->hlink.next;
	link_before(stable_bucket(sh), &sh->hlink)->next = &heir->hlink;
}

/* The KSM folio is gone: forget its descriptor and detach its entries. */
static void shared_prune(struct ksm_shared *sh)
{
	struct ksm_entry *e;

	trace_ksm_remove_ksm_page(sh->pfn);
	while ((e = shared_first(sh))) {
		/* Merged at first sight, all written to before a revisit. */
		if (entry_test(e, E_FIRST))
			entry_client(e)->first_broken++;
		entry_unlink_shared(e);
	}
	chain_remove(sh);
	kmem_cache_free(ksm_shared_cache, sh);
}

/*
 * Find the KSM folio of a descriptor and take a reference on it (and its
 * lock if @lock).  Returns NULL, having pruned the descriptor, if the
 * folio no longer points back at it.  A folio migrated meanwhile is
 * followed to its new pfn.
 */
static struct folio *shared_get_folio(struct ksm_shared *sh, bool lock)
{
	void *want = shared_mapping(sh);
	struct folio *folio;
	unsigned long pfn;

	lockdep_assert_held(&ksm_lock);
retry:
	pfn = READ_ONCE(sh->pfn);
	folio = pfn_folio(pfn);
	if (READ_ONCE(folio->mapping) != want)
		goto changed;
	if (!folio_try_get(folio)) {
		/* Being freed, or frozen for swap cache removal: wait. */
		if (READ_ONCE(folio->mapping) == want &&
		    READ_ONCE(sh->pfn) == pfn) {
			cond_resched();
			goto retry;
		}
		goto changed;
	}
	if (READ_ONCE(folio->mapping) != want || READ_ONCE(sh->pfn) != pfn) {
		folio_put(folio);
		goto changed;
	}
	if (lock) {
		folio_lock(folio);
		if (folio->mapping != want || READ_ONCE(sh->pfn) != pfn) {
			folio_unlock(folio);
			folio_put(folio);
			goto changed;
		}
	}
	return folio;

changed:
	/* Pairs with the ordering in folio_migrate_ksm(). */
	smp_rmb();
	if (READ_ONCE(sh->pfn) != pfn)
		goto retry;
	shared_prune(sh);
	return NULL;
}

/*
 * Insert a new descriptor for @kpage (its key set): into the index, or as
 * a duplicate on the chain of a KSM page with the same content (all full,
 * then).
 */
static void stable_insert(struct ksm_shared *sh, struct page *kpage)
{
	struct ksm_shared *other;
	struct ksm_link *l;
	struct folio *kfolio;
	bool same;

again:
	for (l = stable_bucket(sh)->next; l; l = l->next) {
		other = container_of(l, struct ksm_shared, hlink);
		if (other->csum != sh->csum || other->domain != sh->domain ||
		    other->nid != sh->nid)
			continue;
		kfolio = shared_get_folio(other, false);
		if (!kfolio)
			goto again;	/* @other was pruned */
		same = page_same(kpage, &kfolio->page);
		folio_put(kfolio);
		if (same) {
			chain_add(other, sh);
			return;
		}
	}
	link_add(stable_bucket(sh), &sh->hlink);
	ksm_stable_index.count++;
	stable_index_grow();
}

/*
 * Call @fn on every descriptor of the stable index, or only on those
 * outside chains unless @chains.  @fn may prune the descriptor it is given
 * (a head's duplicates are visited first, so a head handing its place to
 * one has nothing left to visit there), or move it elsewhere in the
 * index, and so prune others: each bucket is taken off the index and its
 * descriptors put back one by one before their visit.
 */
static void stable_for_each(void (*fn)(struct ksm_shared *sh, void *arg),
			    void *arg, bool chains)
{
	struct ksm_index *ix = &ksm_stable_index;
	struct ksm_shared *sh, *d, *tmp;
	unsigned long i;

	ksm_stable_walking = true;
	for (i = 0; i < (1UL << ix->bits); i++) {
		struct ksm_link todo = ix->buckets[i];

		ix->buckets[i].next = NULL;
		while (todo.next) {
			sh = container_of(todo.next, struct ksm_shared, hlink);
			todo.next = sh->hlink.next;
			link_add(&ix->buckets[i], &sh->hlink);
			if (list_empty(&sh->dups) || chains) {
				list_for_each_entry_safe(d, tmp, &sh->dups, dups)
					fn(d, arg);
				fn(sh, arg);
			}
			cond_resched();
		}
	}
	ksm_stable_walking = false;
}

/* Is @sh in the tree of the node its KSM folio (referenced) is on? */
static bool shared_on_its_node(struct ksm_shared *sh, struct folio *kfolio)
{
	return tree_nid(folio_nid(kfolio)) == sh->nid;
}

/*
 * A KSM page migrated to another node while merge_across_nodes=0 sits in
 * the wrong tree: move its descriptor to the tree of its node, where it
 * becomes a duplicate if a KSM page of the same content is there.
 */
static void shared_move_tree(struct ksm_shared *sh, struct folio *kfolio)
{
	chain_remove(sh);
	sh->is_dup = false;
	INIT_LIST_HEAD(&sh->dups);
	sh->nid = tree_nid(folio_nid(kfolio));
	stable_insert(sh, &kfolio->page);
}

/* Prune @sh if its KSM page is gone, move it if it changed node. */
static void shared_check(struct ksm_shared *sh, void *unused)
{
	struct folio *kfolio = shared_get_folio(sh, false);

	if (!kfolio)
		return;
	if (!shared_on_its_node(sh, kfolio))
		shared_move_tree(sh, kfolio);
	folio_put(kfolio);
}

/*
 * Of a chain whose head has the content wanted, the KSM folio that can
 * take one more sharer: referenced, or NULL if all are full.  Sets
 * *@retry if a stale duplicate had to be pruned on the way.  Duplicates
 * that are not full come first (chain_sort_dup()): only the first one
 * needs looking at.
 */
static struct folio *chain_pick(struct ksm_shared *head, struct folio *hfolio,
				bool *retry)
{
	unsigned int limit = READ_ONCE(ksm_max_page_sharing);
	struct ksm_shared *d;
	struct folio *kfolio;

	if (head->nr_entries < limit)
		return hfolio;
	folio_put(hfolio);
	d = list_first_entry_or_null(&head->dups, struct ksm_shared, dups);
	if (!d || d->nr_entries >= limit)
		return NULL;
	kfolio = shared_get_folio(d, false);
	if (!kfolio) {
		*retry = true;	/* @d was pruned: the list changed */
	} else if (!shared_on_its_node(d, kfolio)) {
		shared_move_tree(d, kfolio);
		folio_put(kfolio);
		kfolio = NULL;
		*retry = true;
	}
	return kfolio;
}

/*
 * Look up a KSM page of @domain whose content has the checksum @csum of
 * @page's, and that may be shared once more; referenced if found.  Not
 * compared here: merge_page() compares the pages once @page is
 * write-protected, which it has to anyway.
 */
static struct folio *stable_find(struct page *page, int nid, u64 domain,
				 u64 csum)
{
	struct ksm_shared *sh;
	struct ksm_link *l;
	struct folio *kfolio;
	bool retry;

again:
	/* Looked up again each time: moving a descriptor may rehash. */
	retry = false;
	for (l = index_bucket(&ksm_stable_index, domain, nid, csum)->next; l;
	     l = l->next) {
		sh = container_of(l, struct ksm_shared, hlink);
		if (sh->csum != csum || sh->domain != domain || sh->nid != nid)
			continue;
		kfolio = shared_get_folio(sh, false);
		if (!kfolio)
			goto again;	/* @sh was pruned */
		if (!shared_on_its_node(sh, kfolio)) {
			/* Migrated since: not for this tree's pages. */
			shared_move_tree(sh, kfolio);
			folio_put(kfolio);
			goto again;
		}
		kfolio = chain_pick(sh, kfolio, &retry);
		if (retry)
			goto again;
		return kfolio;
	}
	return NULL;
}

/*
 * Drop descriptors whose KSM page has been freed and rehome those whose
 * page moved to another node: all of them, or only those outside chains
 * unless @chains.
 */
static void stable_prune_stale(bool chains)
{
	stable_for_each(shared_check, NULL, chains);
}

/*
 * A KSM folio that nothing maps any more (left in a per-CPU LRU or mlock
 * batch, or in the swap cache with swap entries in place of its ptes)
 * stops being one: the folio becomes an ordinary anonymous folio without
 * an anon_vma (a later swap-in gives it the faulting vma's; any other
 * mm then gets a copy) and its descriptor goes.  The folio lock keeps it
 * from being mapped meanwhile.
 */
static void shared_detach_unmapped(struct ksm_shared *sh, void *unused)
{
	struct folio *kfolio = shared_get_folio(sh, true);

	if (!kfolio)
		return;
	if (!folio_mapped(kfolio)) {
		WRITE_ONCE(kfolio->mapping, NULL);
		shared_prune(sh);
	}
	folio_unlock(kfolio);
	folio_put(kfolio);
}

/*
 * After unmerging: every descriptor whose KSM page is still mapped stays
 * (there is none unless unmerging failed), all others are dropped.
 */
static void stable_detach_unmapped(void)
{
	/* Let the per-CPU batches give their references back first. */
	lru_add_drain_all();
	stable_for_each(shared_detach_unmapped, NULL, true);
}

/*
 * Chains are swept for stale duplicates at most once per
 * stable_node_chains_prune_millisecs; in between, a stale duplicate is
 * only dropped when a lookup stumbles on it.
 */
static bool chains_prune_due(void)
{
	unsigned long interval = msecs_to_jiffies(READ_ONCE(ksm_chains_prune_ms));

	if (ksm_chains_pruned_at &&
	    time_before(jiffies, ksm_chains_pruned_at + interval))
		return false;
	ksm_chains_pruned_at = jiffies ?: 1;
	return true;
}

/* Take an entry off its descriptor's list, with the KSM folio locked. */
static void entry_leave_stable(struct ksm_entry *e)
{
	struct folio *kfolio = shared_get_folio(e->shared, true);

	/* A stale descriptor was pruned, which detached @e already. */
	if (!kfolio)
		return;
	entry_unlink_shared(e);
	folio_unlock(kfolio);
	folio_put(kfolio);
}
