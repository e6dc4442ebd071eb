// SPDX-License-Identifier: GPL-2.0-only
/*
 * Profit: what KSM saves, per process and in all.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

long ksm_process_profit(struct mm_struct *mm)
{
	return (long)(mm->ksm_merging_pages + mm_ksm_zero_pages(mm)) *
		PAGE_SIZE - mm->ksm_rmap_items * KSM_ENTRY_BYTES;
}

/* KSM zero pages mapped by the registered mms (see ksm_map_zero_page()). */
static long ksm_zero_pages_total(void)
{
	struct ksm_client *c;
	long n = 0;

	spin_lock(&ksm_clients_lock);
	list_for_each_entry(c, &ksm_clients, link)
		n += mm_ksm_zero_pages(c->mm);
	spin_unlock(&ksm_clients_lock);
	return n;
}

/* Bytes of the buckets of both content indexes. */
static unsigned long ksm_index_bytes(void)
{
	return index_bytes(&ksm_stable_index) +
	       index_bytes(&ksm_unstable_index);
}

static long ksm_general_profit(void)
{
	return (long)(ksm_pages_sharing + ksm_zero_pages_total()) * PAGE_SIZE -
		ksm_blocks_total * KSM_BLOCK_BYTES -
		ksm_index_bytes();
}
