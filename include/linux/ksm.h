/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __LINUX_KSM_H
#define __LINUX_KSM_H
/*
 * Kernel Samepage Merging: the interface mm/ksm.c offers the rest of the
 * kernel.  Areas are registered with madvise(MADV_MERGEABLE) or, for a
 * whole process, prctl(PR_SET_MEMORY_MERGE); ksmd then looks for pages of
 * identical content in them and maps one write-protected copy instead.
 */

#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/sched/coredump.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/bitops.h>

#ifdef CONFIG_KSM
/* Registration of mms and areas: madvise, mmap, prctl, fork, exec, exit */
int ksm_mm_register(struct mm_struct *mm);
void ksm_mm_unregister(struct mm_struct *mm);
void ksm_add_vma(struct vm_area_struct *vma);
int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice, unsigned long *vm_flags);
int ksm_disable(struct mm_struct *mm);
int ksm_enable_merge_any(struct mm_struct *mm);
int ksm_disable_merge_any(struct mm_struct *mm);

/*
 * A pte that KSM pointed at the shared zero page carries the dirty bit,
 * which an ordinary read-only zero page mapping never has: that is how
 * its later unmapping is told apart and accounted.
 */
static inline bool pte_is_ksm_zero(pte_t pte)
{
	return is_zero_pfn(pte_pfn(pte)) && pte_dirty(pte);
}

/*
 * Zero pages KSM mapped in place of empty pages (use_zero_pages), counted
 * per mm only: the total is the sum over the mms registered with KSM, so
 * that the unmapping of ptes no registered mm accounted for (a fork child
 * torn down after a failed fork copied some) cannot skew it.
 */
static inline void ksm_map_zero_page(struct mm_struct *mm)
{
	atomic_long_inc(&mm->ksm_zero_pages);
}

static inline void ksm_might_unmap_zero_page(struct mm_struct *mm, pte_t pte)
{
	if (pte_is_ksm_zero(pte))
		atomic_long_dec(&mm->ksm_zero_pages);
}

static inline long mm_ksm_zero_pages(struct mm_struct *mm)
{
	return atomic_long_read(&mm->ksm_zero_pages);
}

/* A fork child, its page tables copied: ksm.c accounts and registers it. */
void __ksm_fork(struct mm_struct *child, struct mm_struct *parent);

static inline void ksm_fork(struct mm_struct *child, struct mm_struct *parent)
{
	/* The child maps the parent's KSM pages: ksmd must know about it. */
	if (test_bit(MMF_VM_MERGEABLE, &parent->flags))
		__ksm_fork(child, parent);
}

static inline int ksm_execve(struct mm_struct *new_mm)
{
	/* PR_SET_MEMORY_MERGE survives exec: register the new mm too. */
	return test_bit(MMF_VM_MERGE_ANY, &new_mm->flags) ?
		ksm_mm_register(new_mm) : 0;
}

static inline void ksm_exit(struct mm_struct *dying)
{
	if (test_bit(MMF_VM_MERGEABLE, &dying->flags))
		ksm_mm_unregister(dying);
}

/*
 * Swapin of a page whose swap entry other mms may share: KSM decides
 * whether the swapcache folio can be mapped here as it is, or a private
 * copy must be made (returned locked), NULL if that copy could not be
 * allocated, or ERR_PTR(-EHWPOISON) if the source is poisoned.
 */
struct folio *ksm_might_need_to_copy(struct folio *folio,
				     struct vm_area_struct *vma,
				     unsigned long addr);

/* The mms and addresses mapping a KSM folio, for rmap and memory failure */
void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc);
void collect_procs_ksm(struct folio *folio, struct page *page,
		       struct list_head *to_kill, int force_early);

/* Migration moves the KSM page: its descriptor must follow */
void folio_migrate_ksm(struct folio *newfolio, struct folio *folio);

/*
 * Merge scopes: prctl(PR_SET_MEMORY_MERGE_SCOPE) narrows the calling mm's,
 * which fork and exec pass on; ksm_stat names the one in force.
 */
int ksm_narrow_merge_scope(struct mm_struct *mm, unsigned long scope);

static inline void ksm_inherit_merge_scope(struct mm_struct *mm,
					   struct mm_struct *from)
{
	mm->ksm_merge_scope = READ_ONCE(from->ksm_merge_scope);
}

/* /proc/<pid>/ksm_stat */
long ksm_process_profit(struct mm_struct *mm);
const char *ksm_merge_scope_name(struct mm_struct *mm);

#else  /* !CONFIG_KSM: nothing is ever merged */

#ifdef CONFIG_MMU
static inline void folio_migrate_ksm(struct folio *dst, struct folio *src)
{
}

static inline void rmap_walk_ksm(struct folio *folio,
				 struct rmap_walk_control *walk)
{
}

static inline struct folio *ksm_might_need_to_copy(struct folio *folio,
						   struct vm_area_struct *vma,
						   unsigned long address)
{
	return folio;
}

static inline int ksm_madvise(struct vm_area_struct *vma, unsigned long from,
			      unsigned long to, int behavior,
			      unsigned long *flags)
{
	return 0;
}
#endif /* CONFIG_MMU */

static inline void collect_procs_ksm(struct folio *folio, struct page *bad,
				     struct list_head *victims, int early)
{
}

static inline void ksm_might_unmap_zero_page(struct mm_struct *mm, pte_t old)
{
}

static inline void ksm_exit(struct mm_struct *mm)
{
}

static inline void ksm_fork(struct mm_struct *child, struct mm_struct *parent)
{
}

static inline int ksm_execve(struct mm_struct *mm)
{
	return 0;
}

static inline int ksm_disable(struct mm_struct *mm)
{
	return 0;
}

static inline void ksm_add_vma(struct vm_area_struct *vma)
{
}

static inline void ksm_inherit_merge_scope(struct mm_struct *mm,
					   struct mm_struct *from)
{
}

#endif /* !CONFIG_KSM */

#endif /* __LINUX_KSM_H */
