// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unmerging: faulting in private copies of KSM pages.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * Fault in the mm's own copy of the KSM page (or KSM zero page) mapped
 * at @addr, with FAULT_FLAG_UNSHARE as a write to it would.  Returns 0
 * if the fault did its work (the caller looks again: a racing fault or
 * migration may have left a KSM page there), 1 if the page cannot be
 * broken (poisoned, say) and is left be, or an error.  The caller holds
 * the mmap_lock.
 */
static int unshare_fault(struct vm_area_struct *vma, unsigned long addr)
{
	vm_fault_t ret;

	if (fatal_signal_pending(current))
		return -EINTR;
	ret = handle_mm_fault(vma, addr, FAULT_FLAG_UNSHARE | FAULT_FLAG_REMOTE,
			      NULL);
	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	return ret & VM_FAULT_ERROR ? 1 : 0;
}

/*
 * Break every KSM page mapped in [start, end) of @vma, and every KSM zero
 * page unless @keep_zero; the caller holds the mmap_lock.
 *
 * The private copy an unsharing fault leaves is mapped clean, and so is
 * the folio: MADV_FREE would take it for a page never written and make it
 * lazily freeable without looking at who else maps it (a fork child, say),
 * and reclaim would then discard its data for all of them.  It holds
 * data: the look after the fault, which checks that it did its work,
 * marks it dirty.  That look is also the seek for the next page to break,
 * so one page table walk a page does both.
 */
static int unmerge_pages(struct vm_area_struct *vma, unsigned long start,
			 unsigned long end, bool keep_zero)
{
	unsigned long addr = start, dirty_at = NO_DIRTY_AT;
	int ret;

	/* Without COW there is no unsharing: such a page cannot be broken. */
	if (!is_cow_mapping(vma->vm_flags))
		return 0;
	while (addr < end) {
		struct page_seek seek = {
			.want_ksm = true,
			.keep_zero = keep_zero,
			.dirty_at = dirty_at,
		};

		if (!seek_page(vma, addr, end, &seek))
			break;
		ret = unshare_fault(vma, seek.addr);
		if (ret < 0)
			return ret;
		/* Done with: look again here; left be: go on past it. */
		addr = seek.addr + (ret ? PAGE_SIZE : 0);
		dirty_at = ret ? NO_DIRTY_AT : seek.addr;
		cond_resched();
	}
	return 0;
}

/*
 * Give the mm its own copy of whatever KSM page (or KSM zero page) is
 * mapped at @addr.
 */
static int break_ksm_at(struct vm_area_struct *vma, unsigned long addr)
{
	return unmerge_pages(vma, addr, addr + PAGE_SIZE, false);
}

static int unmerge_range(struct vm_area_struct *vma, unsigned long start,
			 unsigned long end)
{
	return unmerge_pages(vma, start, end, false);
}

/*
 * Break the KSM pages of every mergeable area of @mm (and its KSM zero
 * pages unless @keep_zero); the caller holds the mmap_lock.
 */
static int unmerge_mm(struct mm_struct *mm, bool keep_zero)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;
	int err;

	for_each_vma(vmi, vma) {
		if (!(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
			continue;
		err = unmerge_pages(vma, vma->vm_start, vma->vm_end, keep_zero);
		if (err)
			return err;
	}
	return 0;
}

/* Undo the merge of the page @e stands for (its mm's mapping only). */
static void entry_break(struct ksm_entry *e)
{
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = mm_is_exiting(mm) ? NULL : vma_lookup(mm, entry_addr(e));
	if (vma)
		break_ksm_at(vma, entry_addr(e));
	mmap_read_unlock(mm);
}
