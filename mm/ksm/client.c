// SPDX-License-Identifier: GPL-2.0-only
/*
 * Clients: registration, MADV_MERGEABLE and MADV_UNMERGEABLE, prctl,
 * fork and exit; run=2.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

int ksm_mm_register(struct mm_struct *mm)
{
	struct ksm_client *c;
	bool first;

	/* Small, and fork cannot fail over it: do not fail. */
	c = kmem_cache_zalloc(ksm_client_cache, GFP_KERNEL | __GFP_NOFAIL);
	c->mm = mm;
	c->round = ULONG_MAX;	/* not entered in any round */
	mmgrab(mm);

	spin_lock(&ksm_clients_lock);
	c->serial = ++ksm_client_serial;
	hash_add(ksm_client_hash, &c->hnode, (unsigned long)mm);
	/*
	 * At the tail: a fork child's pages, mostly still shared with the
	 * parent's, are then looked at after the parent's.
	 */
	list_add_tail(&c->link, &ksm_clients);
	first = list_is_singular(&ksm_clients);
	spin_unlock(&ksm_clients_lock);

	set_bit(MMF_VM_MERGEABLE, &mm->flags);
	trace_ksm_enter(mm);
	if (first)
		wake_up_interruptible(&ksmd_wait);
	return 0;
}

/*
 * The mm is exiting (or exec failed).  Free its client now if that is
 * cheap; otherwise ksmd notices the exit and does it, so that we never
 * wait for ksmd here.
 */
void ksm_mm_unregister(struct mm_struct *mm)
{
	struct ksm_client *c;
	bool easy = false;

	spin_lock(&ksm_clients_lock);
	c = client_lookup(mm);
	if (c && c != ksm_cursor.client && !c->blocks) {
		hash_del(&c->hnode);
		list_del(&c->link);
		easy = true;
	}
	spin_unlock(&ksm_clients_lock);
	if (!c)
		return;

	if (easy) {
		clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
		clear_bit(MMF_VM_MERGEABLE, &mm->flags);
		trace_ksm_exit(mm);
		mmdrop(mm);
		kmem_cache_free(ksm_client_cache, c);
		return;
	}
	/* Only a dead mm: an exec failure still holds its mmap_lock. */
	if (!mm_is_exiting(mm) || !mutex_trylock(&ksm_lock))
		return;
	/* ksmd may have released it while we were not looking. */
	spin_lock(&ksm_clients_lock);
	c = client_lookup(mm);
	spin_unlock(&ksm_clients_lock);
	if (c && client_release(c))
		round_end();
	mutex_unlock(&ksm_lock);
}

static int count_ksm_zero_pte(pte_t *pte, unsigned long addr,
			      unsigned long next, struct mm_walk *walk)
{
	if (pte_is_ksm_zero(ptep_get(pte)))
		(*(long *)walk->private)++;
	return 0;
}

static const struct mm_walk_ops count_ksm_zero_ops = {
	.pte_entry	= count_ksm_zero_pte,
	.walk_lock	= PGWALK_WRLOCK,
};

/*
 * The KSM zero pages fork() did not copy into the child: those of the
 * parent's areas that the child does not get (MADV_DONTFORK) or gets
 * empty (MADV_WIPEONFORK).  The parent's mmap_lock is held for write.
 */
static long ksm_zero_pages_not_forked(struct mm_struct *parent)
{
	VMA_ITERATOR(vmi, parent, 0);
	struct vm_area_struct *vma;
	long n = 0;

	mmap_assert_write_locked(parent);
	for_each_vma(vmi, vma) {
		if (!(vma->vm_flags & (VM_DONTCOPY | VM_WIPEONFORK)) ||
		    !vma->anon_vma)
			continue;
		walk_page_range(parent, vma->vm_start, vma->vm_end,
				&count_ksm_zero_ops, &n);
	}
	return n;
}

void __ksm_fork(struct mm_struct *child, struct mm_struct *parent)
{
	long zero_ptes;

	/*
	 * dup_mm() copied the parent's counters.  The child has no entries
	 * yet and merges nothing until ksmd scans it, but it does map the
	 * KSM zero-page ptes fork copied: those count for it (and, once it
	 * is registered, in the total).
	 */
	child->ksm_merging_pages = 0;
	child->ksm_rmap_items = 0;
	zero_ptes = atomic_long_read(&parent->ksm_zero_pages);
	if (zero_ptes)
		zero_ptes -= ksm_zero_pages_not_forked(parent);
	atomic_long_set(&child->ksm_zero_pages, zero_ptes);
	ksm_mm_register(child);
}

int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice, unsigned long *vm_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	int err;

	switch (advice) {
	case MADV_MERGEABLE:
		if (*vm_flags & VM_MERGEABLE)
			return 0;
		/* Ineligible areas are silently left alone. */
		if (!vma_ksm_compatible(vma, *vm_flags))
			return 0;
		if (!test_bit(MMF_VM_MERGEABLE, &mm->flags)) {
			err = ksm_mm_register(mm);
			if (err)
				return err;
		} else if (vma->anon_vma) {
			client_areas_added(mm);
		}
		*vm_flags |= VM_MERGEABLE;
		break;

	case MADV_UNMERGEABLE:
		if (!(*vm_flags & VM_MERGEABLE))
			return 0;
		if (vma->anon_vma) {
			err = unmerge_range(vma, start, end);
			if (err)
				return err;
		}
		*vm_flags &= ~VM_MERGEABLE;
		break;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(ksm_madvise);

void ksm_add_vma(struct vm_area_struct *vma)
{
	if (test_bit(MMF_VM_MERGE_ANY, &vma->vm_mm->flags) &&
	    !(vma->vm_flags & VM_MERGEABLE) &&
	    vma_ksm_compatible(vma, vma->vm_flags))
		vm_flags_set(vma, VM_MERGEABLE);
}

static void ksm_add_all_vmas(struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma)
		ksm_add_vma(vma);
}

/* Unmerge and unregister every area of @mm; mmap_lock held for write. */
static int ksm_del_all_vmas(struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;
	int err;

	for_each_vma(vmi, vma) {
		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		if (vma->anon_vma) {
			err = unmerge_range(vma, vma->vm_start, vma->vm_end);
			if (err)
				return err;
		}
		vm_flags_clear(vma, VM_MERGEABLE);
	}
	return 0;
}

/* prctl(PR_SET_MEMORY_MERGE, 1): every compatible area, present and future. */
int ksm_enable_merge_any(struct mm_struct *mm)
{
	int err;

	mmap_assert_write_locked(mm);
	if (test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return 0;
	if (!test_bit(MMF_VM_MERGEABLE, &mm->flags)) {
		err = ksm_mm_register(mm);
		if (err)
			return err;
	}
	set_bit(MMF_VM_MERGE_ANY, &mm->flags);
	ksm_add_all_vmas(mm);
	client_areas_added(mm);
	return 0;
}

/* prctl(PR_SET_MEMORY_MERGE, 0): unmerge everything, keep registration. */
int ksm_disable_merge_any(struct mm_struct *mm)
{
	int err;

	mmap_assert_write_locked(mm);
	if (!test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return 0;
	err = ksm_del_all_vmas(mm);
	if (err) {
		ksm_add_all_vmas(mm);
		return err;
	}
	clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
	return 0;
}

int ksm_disable(struct mm_struct *mm)
{
	mmap_assert_write_locked(mm);
	if (!test_bit(MMF_VM_MERGEABLE, &mm->flags))
		return 0;
	if (test_bit(MMF_VM_MERGE_ANY, &mm->flags))
		return ksm_disable_merge_any(mm);
	return ksm_del_all_vmas(mm);
}

/*
 * prctl(PR_SET_MEMORY_MERGE_SCOPE): narrow @mm's merge scope to @scope.
 * Set under the mmap_lock held for write, which waits for any merge ksmd
 * is making in @mm; every merge after it sees the new scope.  Then, if
 * the scope in force changed, the mm's KSM pages (all made in its former
 * domain) are unmerged at once; should that fail (a fatal signal, no
 * memory), ksmd unmerges the rest when it next visits them.
 */
int ksm_narrow_merge_scope(struct mm_struct *mm, unsigned long scope)
{
	unsigned int was;
	int err = 0;

	if (scope > KSM_SCOPE_PROCESS)
		return -EINVAL;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	if (scope < mm->ksm_merge_scope) {
		mmap_write_unlock(mm);
		return -EPERM;
	}
	was = mm_merge_scope(mm);
	WRITE_ONCE(mm->ksm_merge_scope, scope);
	mmap_write_downgrade(mm);
	if (mm_merge_scope(mm) != was)
		err = unmerge_mm(mm, true);
	mmap_read_unlock(mm);
	return err;
}

const char *ksm_merge_scope_name(struct mm_struct *mm)
{
	return ksm_scope_names[mm_merge_scope(mm)];
}

/* run=2: unmerge every page of every client, leaving areas registered. */
static int unmerge_everything(void)
{
	struct ksm_client *c;
	int err = 0;

	unstable_clear();
	spin_lock(&ksm_clients_lock);
	cursor_set(list_first_entry_or_null(&ksm_clients, struct ksm_client,
					    link));
	spin_unlock(&ksm_clients_lock);

	while ((c = ksm_cursor.client)) {
		struct mm_struct *mm = c->mm;

		mmap_read_lock(mm);
		if (!mm_is_exiting(mm))
			err = unmerge_mm(mm, false);
		mmap_read_unlock(mm);
		if (err)
			break;
		if (mm_is_exiting(mm)) {
			client_release(c);
			continue;
		}
		client_free_entries(c);
		spin_lock(&ksm_clients_lock);
		cursor_set(client_after(c));
		spin_unlock(&ksm_clients_lock);
	}

	spin_lock(&ksm_clients_lock);
	cursor_set(NULL);
	spin_unlock(&ksm_clients_lock);
	stable_detach_unmapped();
	return err;
}
