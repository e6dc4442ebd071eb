// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reverse map, migration, memory failure and swap-in of KSM pages: the
 * hooks the rest of mm calls.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * Visit the vmas that may map @addr through @e's anon_vma: with
 * @own_mm those of @e's mm, otherwise those of other mms (fork children
 * not yet seen by ksmd).  Returns false to stop the walk.
 */
static bool walk_entry_vmas(struct folio *folio, struct ksm_entry *e,
			    bool own_mm, struct rmap_walk_control *rwc)
{
	struct anon_vma *anon_vma = entry_anon_vma(e);
	unsigned long addr = entry_addr(e);
	struct anon_vma_chain *avc;
	bool more = true;

	if (!anon_vma_trylock_read(anon_vma)) {
		if (rwc->try_lock) {
			rwc->contended = true;
			return false;
		}
		anon_vma_lock_read(anon_vma);
	}
	anon_vma_interval_tree_foreach(avc, &anon_vma->rb_root, 0, ULONG_MAX) {
		struct vm_area_struct *vma = avc->vma;

		cond_resched();
		if (addr < vma->vm_start || addr >= vma->vm_end)
			continue;
		if (vma->vm_mm == entry_mm(e) ? !own_mm : own_mm)
			continue;
		if (rwc->invalid_vma && rwc->invalid_vma(vma, rwc->arg))
			continue;
		if (!rwc->rmap_one(folio, vma, addr, rwc->arg) ||
		    (rwc->done && rwc->done(folio))) {
			more = false;
			break;
		}
	}
	anon_vma_unlock_read(anon_vma);
	return more;
}

void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct ksm_shared *sh;
	struct ksm_entry *e;
	int pass;

	/* The folio lock keeps the descriptor's entry list stable. */
	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(folio), folio);

	sh = folio_shared(folio);
	if (!sh)
		return;
	for (pass = 0; pass < 2; pass++) {
		for (e = shared_first(sh); e; e = shared_next(sh, e)) {
			if (!walk_entry_vmas(folio, e, pass == 0, rwc))
				return;
		}
	}
}

void folio_migrate_ksm(struct folio *newfolio, struct folio *folio)
{
	struct ksm_shared *sh;

	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(folio), folio);
	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(newfolio), newfolio);
	VM_WARN_ON_ONCE_FOLIO(newfolio->mapping != folio->mapping, newfolio);

	sh = folio_shared(newfolio);
	if (sh) {
		WRITE_ONCE(sh->pfn, folio_pfn(newfolio));
		/*
		 * Readers that find the old folio no longer pointing back
		 * re-read the pfn after smp_rmb(): publish it before that.
		 */
		smp_wmb();
	}
}

#ifdef CONFIG_MEMORY_FAILURE
/* Queue for killing the tasks that map @page at @e's address. */
static void entry_collect_procs(struct ksm_entry *e, struct page *page,
				struct list_head *to_kill, int force_early)
{
	struct anon_vma *anon_vma = entry_anon_vma(e);
	unsigned long addr = entry_addr(e);
	struct anon_vma_chain *avc;

	anon_vma_lock_read(anon_vma);
	anon_vma_interval_tree_foreach(avc, &anon_vma->rb_root, 0, ULONG_MAX) {
		struct vm_area_struct *vma = avc->vma;
		struct task_struct *p;

		if (addr < vma->vm_start || addr >= vma->vm_end)
			continue;
		rcu_read_lock();
		for_each_process(p) {
			struct task_struct *t = task_early_kill(p, force_early);

			if (t && t->mm == vma->vm_mm)
				add_to_kill_ksm(t, page, vma, to_kill, addr);
		}
		rcu_read_unlock();
	}
	anon_vma_unlock_read(anon_vma);
}

void collect_procs_ksm(struct folio *folio, struct page *page,
		       struct list_head *to_kill, int force_early)
{
	struct ksm_shared *sh = folio_shared(folio);
	struct ksm_entry *e;

	if (!sh)
		return;
	for (e = shared_first(sh); e; e = shared_next(sh, e))
		entry_collect_procs(e, page, to_kill, force_early);
}
#endif

/*
 * May the swapcache @folio be mapped at @addr of @vma as it is?  A live
 * KSM page may (but not while run=2 is unmerging everything); so may an
 * anonymous folio that belongs to this very place, or that was not yet
 * anywhere (freshly read from swap).
 */
/*
 * Is @av one of the anon_vmas @vma is linked to (its own and those of the
 * processes it was forked from)?  The chain is stable under the mmap_lock
 * or the vma lock the fault holds.  @av itself is never dereferenced.
 */
static bool vma_links_anon_vma(struct vm_area_struct *vma,
			       struct anon_vma *av)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		if (avc->anon_vma == av)
			return true;
	return false;
}

/*
 * Can the swapped-in @folio be mapped at @addr of @vma as it is?  A
 * folio that is mapped nowhere may still point at the anon_vma of a
 * process that has exited since, already freed: so its anon_vma is only
 * compared with those of @vma, never followed.  A KSM folio is mapped
 * only where KSM may merge: an area unmerged (MADV_UNMERGEABLE, prctl
 * off) while the page was swapped out gets its own copy, as it would
 * have got had the page been mapped then, and so does every area while
 * run=2 unmerges, and an mm of another merge domain than the KSM page's
 * (a fork child in scope process, say).  The folio lock keeps its
 * descriptor in place.
 */
static bool swapin_fits(struct folio *folio, struct vm_area_struct *vma,
			unsigned long addr)
{
	struct anon_vma *av;

	if (folio_test_large(folio))
		return true;
	if (folio_test_ksm(folio))
		return folio_shared(folio) && (vma->vm_flags & VM_MERGEABLE) &&
			READ_ONCE(ksm_run) != KSM_RUN_UNMERGE &&
			mm_in_domain(vma->vm_mm, folio_shared(folio)->domain);
	av = folio_anon_vma(folio);
	if (!av)
		return true;
	return linear_page_index(vma, addr) == folio->index &&
		vma_links_anon_vma(vma, av);
}

struct folio *ksm_might_need_to_copy(struct folio *folio,
				     struct vm_area_struct *vma,
				     unsigned long addr)
{
	struct page *src = folio_page(folio, 0);
	struct folio *copy;

	if (swapin_fits(folio, vma, addr))
		return folio;
	if (PageHWPoison(src))
		return ERR_PTR(-EHWPOISON);
	/* Not read in successfully: the caller reports that. */
	if (!folio_test_uptodate(folio))
		return folio;

	copy = vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, vma, addr, false);
	if (!copy)
		return NULL;
	if (mem_cgroup_charge(copy, vma->vm_mm, GFP_KERNEL)) {
		folio_put(copy);
		return NULL;
	}
	if (copy_mc_user_highpage(&copy->page, src, addr, vma)) {
		folio_put(copy);
		return ERR_PTR(-EHWPOISON);
	}
	/* Handed back locked and dirty, like a swapcache folio would be. */
	__folio_set_locked(copy);
	__folio_mark_uptodate(copy);
	folio_set_dirty(copy);
#ifdef CONFIG_SWAP
	count_vm_event(KSM_SWPIN_COPY);
#endif
	return copy;
}
