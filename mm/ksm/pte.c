// SPDX-License-Identifier: GPL-2.0-only
/*
 * The page table work of a merge: write-protect a candidate's pte, then
 * map the KSM page in its place.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * Write-protect the pte mapping @folio (small, locked) at @addr.  Refuse
 * if anybody but the page tables and us holds a reference: a GUP pin or
 * O_DIRECT might still write to the page after we compared it.  On
 * success *@orig is the resulting pte.
 */
static int wrprotect_pte(struct vm_area_struct *vma, struct folio *folio,
			 unsigned long addr, pte_t *orig)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr, 0);
	struct page *page = folio_page(folio, 0);
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	int err = -EFAULT;
	pte_t entry;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	if (!page_vma_mapped_walk(&pvmw))
		goto out;
	if (WARN_ONCE(!pvmw.pte, "ksm: pmd-mapped small folio"))
		goto unlock;
	entry = ptep_get(pvmw.pte);
	if (!pte_present(entry))
		goto unlock;
	if (pte_write(entry) || pte_dirty(entry) || PageAnonExclusive(page) ||
	    mm_tlb_flush_pending(mm)) {
		bool exclusive = PageAnonExclusive(page);
		int swapped = folio_test_swapcache(folio);

		flush_cache_page(vma, addr, pte_pfn(entry));
		/* Once the pte is clear, GUP-fast cannot take new references. */
		entry = ptep_clear_flush(vma, addr, pvmw.pte);
		if (folio_mapcount(folio) + 1 + swapped !=
		    folio_ref_count(folio)) {
			set_pte_at(mm, addr, pvmw.pte, entry);
			goto unlock;
		}
		if (exclusive && folio_try_share_anon_rmap_pte(folio, page)) {
			set_pte_at(mm, addr, pvmw.pte, entry);
			goto unlock;
		}
		if (pte_dirty(entry))
			folio_mark_dirty(folio);
		entry = pte_mkclean(pte_wrprotect(entry));
		set_pte_at(mm, addr, pvmw.pte, entry);
	}
	*orig = entry;
	err = 0;
unlock:
	page_vma_mapped_walk_done(&pvmw);
out:
	mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * Map @kpage (NULL: the shared zero page) at @addr in place of @page,
 * whose folio is locked, provided the pte is still @orig.
 */
static int replace_pte(struct vm_area_struct *vma, unsigned long addr,
		       struct page *page, struct page *kpage, pte_t orig)
{
	struct folio *folio = page_folio(page);
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	pte_t *ptep, newpte;
	int err = -EFAULT;
	spinlock_t *ptl;	/* page table lock */
	pmd_t *pmd;

	pmd = mm_find_pmd(mm, addr);
	if (!pmd)
		return err;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		goto out;
	if (!pte_same(ptep_get(ptep), orig)) {
		pte_unmap_unlock(ptep, ptl);
		goto out;
	}
	if (kpage) {
		struct folio *kfolio = page_folio(kpage);

		folio_get(kfolio);
		folio_add_anon_rmap_pte(kfolio, kpage, vma, addr, RMAP_NONE);
		newpte = mk_pte(kpage, vma->vm_page_prot);
	} else {
		/* The dirty bit tells this zero page mapping is ours. */
		newpte = pfn_pte(my_zero_pfn(addr), vma->vm_page_prot);
		newpte = pte_mkdirty(pte_mkspecial(newpte));
		ksm_map_zero_page(mm);
		dec_mm_counter(mm, MM_ANONPAGES);
	}
	newpte = pte_wrprotect(newpte);
	if (pte_soft_dirty(orig))
		newpte = pte_mksoft_dirty(newpte);
	if (pte_uffd_wp(orig))
		newpte = pte_mkuffd_wp(newpte);

	flush_cache_page(vma, addr, pte_pfn(orig));
	ptep_clear_flush(vma, addr, ptep);
	set_pte_at(mm, addr, ptep, newpte);
	/* The old page loses this mapping and the reference it held. */
	folio_remove_rmap_pte(folio, page, vma);
	pte_unmap_unlock(ptep, ptl);
	if (!folio_mapped(folio))
		folio_free_swap(folio);
	folio_put(folio);
	err = 0;
out:
	mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * Lock the folio of @page, splitting it first if it is large: only then
 * can one of its pages be merged.  The caller's reference on @page stays
 * valid (a split moves it to @page's new folio).
 */
static struct folio *lock_small_folio(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!folio_trylock(folio))
		return NULL;
	if (folio_test_large(folio)) {
		if (!folio_test_anon(folio) || split_huge_page(page)) {
			folio_unlock(folio);
			return NULL;
		}
		folio = page_folio(page);
	}
	return folio;
}
