// SPDX-License-Identifier: GPL-2.0-only
/*
 * Finding pages: one page table walk that stops at the next candidate
 * (the scan) or at the next KSM page (unmerging).
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * The scan's fast path, taken by the seek under the page table lock: a
 * page still merged since the last visit, that is, mapped at the address
 * of the cursor's next entry and the KSM page that entry is listed by, in
 * its own domain.  Its visit would find nothing to do: the cursor steps
 * over it in place, without a page reference, an mmap_lock round trip or
 * a page table walk of its own.  At most cur->revisits pages, what is
 * left of ksmd's budget; ksm_lock is held.
 */
static bool cursor_pass_merged(struct ksm_cursor *cur, struct page *page,
			       unsigned long addr)
{
	struct ksm_entry *e;

	if (!cur->revisits)
		return false;
	e = cursor_next_entry(cur, addr);
	if (!e || entry_addr(e) != addr || !entry_is_stable(e) ||
	    folio_shared(page_folio(page)) != e->shared ||
	    e->shared->domain != entry_domain(e))
		return false;
	entry_clear(e, E_FIRST);
	cur->addr = addr + PAGE_SIZE;
	cursor_keep(cur, cur->addr);
	cur->revisits--;
	cur->passed++;
	ksm_pages_scanned++;
	return true;
}

/* Is the page at this pte one the scan (or the unmerging) looks for? */
struct page_seek {
	bool want_ksm;		/* KSM (or KSM zero) mappings to break */
	bool keep_zero;		/* but not the KSM zero page ones */
	unsigned long dirty_at;	/* and mark the ordinary anon folio here dirty */
	struct ksm_cursor *cur;	/* the scan's: pass merged pages in place */
	unsigned long addr;	/* where it was found */
	struct page *page;	/* the page, referenced (scan only) */
};

/* A page_seek.dirty_at that is no page's address. */
#define NO_DIRTY_AT	(~0UL)

static bool seek_pte(struct page_seek *seek, struct vm_area_struct *vma,
		     unsigned long addr, pte_t pte)
{
	struct page *page;

	if (!pte_present(pte)) {
		swp_entry_t entry;

		if (!seek->want_ksm || pte_none(pte))
			return false;
		/*
		 * A KSM page being migrated: its folio is locked while the
		 * migration entry exists.  Unmerging must not skip it: the
		 * rmap walk that puts the pte back looks for it at this
		 * address, so a page left merged here and then moved by
		 * mremap would keep a migration entry for good.  The fault
		 * waits for the migration, then unshares.
		 */
		entry = pte_to_swp_entry(pte);
		if (!is_migration_entry(entry) ||
		    !folio_test_ksm(pfn_swap_entry_folio(entry)))
			return false;
		seek->page = NULL;
		return true;
	}
	if (seek->want_ksm && pte_is_ksm_zero(pte)) {
		if (seek->keep_zero)
			return false;
		seek->page = NULL;
		return true;
	}
	page = vm_normal_page(vma, addr, pte);
	if (!page || !PageAnon(page))
		return false;
	if (seek->want_ksm) {
		if (!PageKsm(page)) {
			/* The private copy an unsharing fault just made. */
			if (addr == seek->dirty_at)
				folio_mark_dirty(page_folio(page));
			return false;
		}
		page = NULL;
	} else {
		if (seek->cur && cursor_pass_merged(seek->cur, page, addr))
			return false;
		get_page(page);
	}
	seek->page = page;
	return true;
}

static int seek_pmd_entry(pmd_t *pmd, unsigned long addr, unsigned long end,
			  struct mm_walk *walk)
{
	struct page_seek *seek = walk->private;
	struct vm_area_struct *vma = walk->vma;
	pte_t *start_pte, *ptep;
	spinlock_t *ptl;	/* page table lock */

	ptl = pmd_trans_huge_lock(pmd, vma);
	if (ptl) {
		pmd_t pmdval = pmdp_get(pmd);
		struct page *page = NULL;

		/* THPs are never KSM pages, but their pages are candidates. */
		if (!seek->want_ksm && pmd_present(pmdval))
			page = vm_normal_page_pmd(vma, addr, pmdval);
		if (page && PageAnon(page)) {
			page += (addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT;
			get_page(page);
			seek->page = page;
			seek->addr = addr;
			spin_unlock(ptl);
			return 1;
		}
		spin_unlock(ptl);
		return 0;
	}

	start_pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!start_pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	for (ptep = start_pte; addr < end; ptep++, addr += PAGE_SIZE) {
		if (seek_pte(seek, vma, addr, ptep_get(ptep))) {
			seek->addr = addr;
			pte_unmap_unlock(start_pte, ptl);
			return 1;
		}
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

static const struct mm_walk_ops seek_ops = {
	.pmd_entry	= seek_pmd_entry,
	.walk_lock	= PGWALK_RDLOCK,
};

/* Find the first page of interest in [start, end) of @vma. */
static bool seek_page(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end, struct page_seek *seek)
{
	return walk_page_range_vma(vma, start, end, &seek_ops, seek) == 1;
}
