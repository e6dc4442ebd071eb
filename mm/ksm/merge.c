// SPDX-License-Identifier: GPL-2.0-only
/*
 * Merging: a page into a KSM page, or two identical pages into a new
 * one.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * May the KSM page of @sh take @e's page as one more sharer?  Only in
 * @e's domain, and below max_page_sharing.  Under ksm_lock and the KSM
 * folio lock, with the folio current (shared_folio_current()).
 */
static bool shared_takes(struct ksm_shared *sh, struct ksm_entry *e)
{
	return sh->domain == entry_domain(e) &&
	       sh->nr_entries < READ_ONCE(ksm_max_page_sharing);
}

/*
 * Merge @page, mapped at @e's address, into the KSM folio @kfolio
 * (referenced, not locked; NULL for the zero page), found by a lookup or
 * by merge_like_last(): it must take the page (shared_takes()).  The
 * caller holds a reference on @page.  Lock order: mmap_lock, KSM folio,
 * then a trylock of the candidate folio.
 */
static int merge_page(struct ksm_entry *e, struct page *page,
		      struct folio *kfolio)
{
	unsigned long addr = entry_addr(e);
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;
	struct page *kpage;
	struct folio *folio;
	int err = -EFAULT;
	pte_t orig;

	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (!vma || (kfolio && !client_domain_current(entry_client(e))))
		goto out;
	kpage = kfolio ? &kfolio->page : ZERO_PAGE(addr);
	if (kfolio) {
		folio_lock(kfolio);
		if (!shared_folio_current(kfolio) ||
		    !shared_takes(folio_shared(kfolio), e) ||
		    !nodes_may_merge(folio_nid(kfolio), page_to_nid(page)))
			goto unlock_kfolio;
	}
	folio = lock_small_folio(page);
	if (!folio)
		goto unlock_kfolio;
	if (!folio_test_anon(folio) || folio_test_ksm(folio) ||
	    wrprotect_pte(vma, folio, addr, &orig) || !page_same(page, kpage))
		goto unlock;
	err = replace_pte(vma, addr, page, kfolio ? kpage : NULL, orig);
	if (!err && kfolio) {
		/*
		 * MADV_FREE of its last mapping may have made the KSM page
		 * clean and lazily freeable: with new sharers it is neither.
		 */
		folio_mark_dirty(kfolio);
		entry_link_shared(e, folio_shared(kfolio), vma->anon_vma);
	}
unlock:
	trace_ksm_merge_with_ksm_page(kfolio ? folio_pfn(kfolio) : 0,
				      page_to_pfn(page), e, mm, err,
				      entry_domain(e));
	folio_unlock(folio);
unlock_kfolio:
	if (kfolio)
		folio_unlock(kfolio);
out:
	mmap_read_unlock(mm);
	return err;
}

/*
 * Runs of identical pages, zero-filled guest memory above all, go into
 * the KSM page that the page before went into, without a checksum or a
 * lookup in the index: ksmd keeps that folio referenced (for the rest of
 * its chunk under ksm_lock, no longer: a reference holds off migration
 * and reclaim) and compares a sample of each page with it first.
 */
static void last_ksm_drop(void)
{
	if (ksm_cursor.last_ksm)
		folio_put(ksm_cursor.last_ksm);
	ksm_cursor.last_ksm = NULL;
}

/* @e's page has just been merged into @kfolio (so in @e's domain). */
static void last_ksm_set(struct folio *kfolio, struct ksm_entry *e)
{
	ksm_cursor.last_domain = entry_domain(e);
	if (ksm_cursor.last_ksm == kfolio)
		return;
	last_ksm_drop();
	folio_get(kfolio);
	ksm_cursor.last_ksm = kfolio;
}

/*
 * Merge @page, mapped at @e's address, into the KSM page the last merge
 * went into, if a sample of it matches and merge_page() finds the whole
 * page equal once write-protected.  When it does not, the next pages are
 * looked up by their checksum again.
 */
static bool merge_like_last(struct ksm_entry *e, struct page *page)
{
	struct folio *kfolio = ksm_cursor.last_ksm;

	/* Never a look at the content of another domain's page. */
	if (!kfolio || ksm_cursor.last_domain != entry_domain(e) ||
	    !nodes_may_merge(folio_nid(kfolio), page_to_nid(page)) ||
	    !page_sample_same(page, &kfolio->page))
		return false;
	if (!merge_page(e, page, kfolio))
		return true;
	last_ksm_drop();
	return false;
}

/*
 * Turn @page, mapped at @e's address, into a new KSM page, if it still
 * has the content of @peer_page once write-protected.  Returns the new
 * KSM folio referenced, or NULL.
 *
 * Only a page that no other mm maps: one still shared with a fork child
 * since fork() would make the child map a KSM page where it may not have
 * asked for merging (the child's vma need not be VM_MERGEABLE), and where
 * no unmerging would ever look for it (it kept the tree knobs EBUSY after
 * run=2).  mmap_lock keeps this mm from forking meanwhile.  The KSM page
 * is made in @e's domain, which must still be its mm's.
 */
static struct folio *make_ksm_page(struct ksm_entry *e, struct page *page,
				   struct page *peer_page)
{
	struct mm_struct *mm = entry_mm(e);
	struct folio *folio = NULL;
	struct vm_area_struct *vma;
	struct ksm_shared *sh;
	pte_t orig;

	sh = kmem_cache_zalloc(ksm_shared_cache,
			       GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
	if (!sh)
		return NULL;
	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (vma && client_domain_current(entry_client(e)))
		folio = lock_small_folio(page);
	if (!folio)
		goto fail;
	if (!folio_test_anon(folio) || folio_test_ksm(folio) ||
	    folio_mapcount(folio) != 1 ||
	    !nodes_may_merge(page_to_nid(page), page_to_nid(peer_page)) ||
	    wrprotect_pte(vma, folio, entry_addr(e), &orig) ||
	    !page_same(page, peer_page)) {
		folio_unlock(folio);
		goto fail;
	}
	/*
	 * A KSM folio must never look clean to reclaim: its ptes are clean,
	 * and a clean folio that MADV_FREE made lazily freeable (or that
	 * MADV_FREE would make so, seeing no dirty bit) is discarded, data
	 * and all, for every process sharing it.  Dirty, it goes to swap.
	 */
	folio_mark_dirty(folio);
	sh->last = NULL;
	INIT_LIST_HEAD(&sh->dups);
	sh->pfn = folio_pfn(folio);
	sh->domain = entry_domain(e);
	sh->nid = tree_nid(folio_nid(folio));
	/* The key both pages were found by; they are equal, and final. */
	sh->csum = e->csum;
	/* From now on rmap walks on the folio go through the descriptor. */
	WRITE_ONCE(folio->mapping, shared_mapping(sh));
	trace_ksm_merge_one_page(folio_pfn(folio), e, mm, 0, sh->domain);
	stable_insert(sh, page);
	entry_link_shared(e, sh, vma->anon_vma);
	folio_get(folio);
	folio_unlock(folio);
	mmap_read_unlock(mm);
	return folio;
fail:
	mmap_read_unlock(mm);
	kmem_cache_free(ksm_shared_cache, sh);
	return NULL;
}

/*
 * @page and @peer_page are two pages of the same large folio: split it
 * now, which cannot be done while we hold two references on it.  Returns
 * the peer's page again, referenced, or NULL.
 */
static struct page *split_shared_folio(struct ksm_entry *e, struct page *page,
				       struct ksm_entry *peer,
				       struct page *peer_page)
{
	struct mm_struct *mm = entry_mm(e);
	struct folio *folio;

	put_page(peer_page);
	mmap_read_lock(mm);
	folio = entry_vma(e) ? lock_small_folio(page) : NULL;
	if (folio)
		folio_unlock(folio);
	mmap_read_unlock(mm);
	return folio ? entry_get_page(peer) : NULL;
}

/*
 * Two identical ordinary pages: make one a KSM page, map it for both.
 * Consumes the reference on @peer_page.
 */
static void merge_pair(struct ksm_entry *e, struct page *page,
		       struct ksm_entry *peer, struct page *peer_page)
{
	struct ksm_entry *ke = e, *other = peer;
	struct page *kpage = page, *opage;
	struct folio *kfolio;

	if (page_folio(page) == page_folio(peer_page)) {
		peer_page = split_shared_folio(e, page, peer, peer_page);
		if (!peer_page)
			return;
	}
	opage = peer_page;
	entry_leave_unstable(peer);
	/* A page still shared since fork() cannot be the KSM page. */
	if (folio_mapcount(page_folio(page)) > 1) {
		swap(ke, other);
		swap(kpage, opage);
	}
	kfolio = make_ksm_page(ke, kpage, opage);
	if (!kfolio)
		goto out;
	if (merge_page(other, opage, kfolio)) {
		/* No KSM page with a single user: give it back. */
		entry_break(ke);
		if (entry_is_stable(ke))
			entry_leave_stable(ke);
	} else {
		first_sight_merged(ke);
		first_sight_merged(other);
		last_ksm_set(kfolio, other);
	}
	folio_put(kfolio);
out:
	put_page(peer_page);
}

/*
 * @page is a KSM page already (a fork child's, say): list @e with it, or
 * unmerge it here if it was made in another domain than @e's.
 */
static void adopt_ksm_page(struct ksm_entry *e, struct page *page)
{
	struct folio *folio = page_folio(page);
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;
	struct ksm_shared *sh;
	bool foreign = false;

	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (vma) {
		folio_lock(folio);
		sh = folio_shared(folio);
		if (sh && shared_folio_current(folio)) {
			foreign = sh->domain != entry_domain(e) ||
				  !client_domain_current(entry_client(e));
			if (!foreign)
				entry_link_shared(e, sh, vma->anon_vma);
		}
		folio_unlock(folio);
		if (foreign)
			break_ksm_at(vma, entry_addr(e));
	}
	mmap_read_unlock(mm);
}
