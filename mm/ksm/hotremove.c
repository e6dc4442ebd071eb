// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory hot-remove: no descriptor keeps the pfn of an offlined page.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

#ifdef CONFIG_MEMORY_HOTREMOVE
struct pfn_range {
	unsigned long start;
	unsigned long end;
};

static void shared_prune_in(struct ksm_shared *sh, void *arg)
{
	struct pfn_range *range = arg;

	if (sh->pfn >= range->start && sh->pfn < range->end)
		shared_prune(sh);
}

/* After offlining, no descriptor may keep a pfn inside the range. */
static void stable_prune_range(unsigned long start_pfn, unsigned long end_pfn)
{
	struct pfn_range range = { start_pfn, end_pfn };

	stable_for_each(shared_prune_in, &range, true);
}

/*
 * Descriptors may point at pages of a block being offlined only while
 * their memmap is still intact: until the MEM_OFFLINE notification, which
 * comes before the memmap is torn down.  Pages still in use cannot be
 * offlined, so the descriptors left in the range then are stale ones:
 * drop them before anyone can look at them again.
 */
static int ksm_memory_callback(struct notifier_block *nb,
			       unsigned long event, void *data)
{
	struct memory_notify *range = data;

	if (event == MEM_OFFLINE) {
		ksm_lock_wait();
		stable_prune_range(range->start_pfn,
				   range->start_pfn + range->nr_pages);
		mutex_unlock(&ksm_lock);
	}
	return NOTIFY_OK;
}
#endif
