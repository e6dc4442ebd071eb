// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy: which areas KSM may work on, and which pages may be merged
 * with which (merge domains).
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/*
 * Can KSM work on this vma, were its flags @flags?  The one place for
 * that policy.
 */
static bool vma_ksm_compatible(struct vm_area_struct *vma, unsigned long flags)
{
	if (flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO |
			     VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP |
			     VM_DROPPABLE))
		return false;
	if (vma_is_dax(vma))
		return false;
	if (vma_is_secretmem(vma))
		return false;
#ifdef VM_SAO
	if (flags & VM_SAO)
		return false;
#endif
#ifdef VM_SPARC_ADI
	if (flags & VM_SPARC_ADI)
		return false;
#endif
	return true;
}

/* The vma an entry's page lives in, if KSM may still touch it. */
static struct vm_area_struct *entry_vma(struct ksm_entry *e)
{
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	if (mm_is_exiting(mm))
		return NULL;
	vma = vma_lookup(mm, entry_addr(e));
	if (!vma || !(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
		return NULL;
	return vma;
}

/*
 * merge_scope splits the clients into merge domains, and a page is only
 * ever compared with, let alone merged with, pages of its own domain: the
 * domain is part of the key of the stable and unstable indexes (and so of
 * chains, whose KSM pages compare equal), and a lookup compares it before
 * it reads any page.  The scope in force for an mm is
 * the narrower of the system's and the mm's own (PR_SET_MEMORY_MERGE_SCOPE,
 * kept across fork and exec).  A domain is a 64-bit value: the scope in
 * the top bits, then the memory cgroup's id (never reused while the system
 * runs) or the client's serial number.
 *
 * The unstable index is keyed by a snapshot of each client's domain,
 * taken when the cursor enters the client in a new round.  Merging
 * re-checks it under the mmap_lock of the mm concerned: the prctl narrows
 * a scope under that lock held for write, so no merge in the old domain
 * completes after it returns; a move to another memory cgroup is seen by
 * the next merge.  A KSM page stays in the domain it was made in: an entry
 * found on a KSM page of another domain (its process moved, narrowed its
 * scope, or is a fork child mapping its parent's KSM page in scope
 * process) is unmerged at ksmd's next visit.  The shared zero page
 * (use_zero_pages) tells nothing about anybody's data: it is shared in
 * every scope.
 */
enum ksm_scope {
	KSM_SCOPE_GLOBAL = PR_MEMORY_MERGE_SCOPE_GLOBAL,
	KSM_SCOPE_CGROUP = PR_MEMORY_MERGE_SCOPE_CGROUP,
	KSM_SCOPE_PROCESS = PR_MEMORY_MERGE_SCOPE_PROCESS,
};

#define KSM_DOMAIN_SCOPE_SHIFT	60

static const char * const ksm_scope_names[] = {
	[KSM_SCOPE_GLOBAL]	= "global",
	[KSM_SCOPE_CGROUP]	= "cgroup",
	[KSM_SCOPE_PROCESS]	= "process",
};

static unsigned int mm_merge_scope(struct mm_struct *mm)
{
	return max(READ_ONCE(ksm_merge_scope), READ_ONCE(mm->ksm_merge_scope));
}

/* The id of the memory cgroup @mm is charged to; 0 without memcg. */
static u64 mm_memcg_id(struct mm_struct *mm)
{
	u64 id = 0;
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg;

	if (mem_cgroup_disabled())
		return 0;
	rcu_read_lock();
	memcg = mem_cgroup_from_task(rcu_dereference(mm->owner));
	if (memcg)
		id = cgroup_id(memcg->css.cgroup);
	rcu_read_unlock();
#endif
	return id;
}

/* The merge domain of @mm's pages now, @serial being its client's. */
static u64 mm_domain(struct mm_struct *mm, u64 serial)
{
	unsigned int scope = mm_merge_scope(mm);
	u64 id = 0;

	if (scope == KSM_SCOPE_CGROUP)
		id = mm_memcg_id(mm);
	else if (scope == KSM_SCOPE_PROCESS)
		id = serial;
	return (u64)scope << KSM_DOMAIN_SCOPE_SHIFT | id;
}

static u64 client_domain_now(struct ksm_client *c)
{
	return mm_domain(c->mm, c->serial);
}

/*
 * May @c's pages still be merged in the domain the trees know them by?
 * Asked under the mmap_lock of @c's mm, before each merge.
 */
static bool client_domain_current(struct ksm_client *c)
{
	return client_domain_now(c) == c->domain;
}

/* The client of @mm, if any; under ksm_clients_lock. */
static struct ksm_client *client_lookup(struct mm_struct *mm)
{
	struct ksm_client *c;

	hash_for_each_possible(ksm_client_hash, c, hnode, (unsigned long)mm)
		if (c->mm == mm)
			return c;
	return NULL;
}

/* Do @mm's pages belong to @domain now?  For swap-in: no client at hand. */
static bool mm_in_domain(struct mm_struct *mm, u64 domain)
{
	struct ksm_client *c;
	u64 serial = 0;

	/* Only scope process needs the client's serial number. */
	if (mm_merge_scope(mm) == KSM_SCOPE_PROCESS) {
		spin_lock(&ksm_clients_lock);
		c = client_lookup(mm);
		if (c)
			serial = c->serial;
		spin_unlock(&ksm_clients_lock);
		if (!c)
			return false;
	}
	return mm_domain(mm, serial) == domain;
}

static inline u64 entry_domain(const struct ksm_entry *e)
{
	return entry_client(e)->domain;
}
