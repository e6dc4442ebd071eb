// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel Samepage Merging (KSM).
 *
 * How it works
 * ------------
 * A process registers areas with madvise(MADV_MERGEABLE), or all of its
 * areas with prctl(PR_SET_MEMORY_MERGE).  Its mm then gets a "client"
 * record on ksmd's list.  ksmd walks the clients round-robin and, inside
 * each, the VM_MERGEABLE vmas in address order, looking at every present
 * anonymous page.  Each page it has looked at is remembered by an "entry"
 * (struct ksm_entry), kept with those of its neighbours in a block of 24
 * pages; a client's blocks are on a list sorted by address, so that the
 * walk and the list can be advanced together; entries whose page has
 * disappeared are dropped as the walk passes them (see ksm/entries.c).
 *
 * A page is looked up, by a checksum of its content, in two hash indexes
 * (upstream's "stable tree" and "unstable tree"; see ksm/index.c):
 *
 *  - the stable index holds one descriptor (struct ksm_shared) per KSM
 *    page: a write-protected page mapped in place of identical pages.
 *    Its content can never change.  A match here replaces our pte with
 *    one pointing at the KSM page.
 *
 *  - the unstable index holds entries for ordinary pages seen for the
 *    first time, or that did not change since the last visit (the
 *    checksum tells).  Their content may still change behind our back,
 *    so the index is only a hint: it is emptied after each full scan.  A
 *    match turns our page into a new KSM page (inserted in the stable
 *    index) and maps it in place of the other one.
 *
 * A run of identical pages (zero-filled memory, say) skips both: each
 * page is first tried against the KSM page the page before went into,
 * within the same domain (merge_like_last()).
 *
 * Whatever an index says, two pages are merged only once both are
 * write-protected and compared equal in full.  Pages that stay merged
 * cost a later scan little: it steps over them under the page table lock
 * as it walks (cursor_pass_merged()).
 *
 * A KSM folio is marked by folio->mapping pointing at its descriptor with
 * PAGE_MAPPING_KSM set; the descriptor records the folio's pfn, not a
 * pointer or a reference.  It finds its folio by checking that the folio
 * at that pfn still points back: so freed KSM pages are noticed lazily
 * and their descriptors pruned ("stale").  Migration moves the pfn.  The
 * descriptor keeps a ring of the entries mapping it; the block of each
 * such entry holds a reference on the anon_vma of its vma, through which
 * rmap walks find every pte mapping the KSM page - including ptes fork()
 * copied into children that have no entry yet.
 *
 * Pages are only merged within a merge domain: all clients (merge_scope
 * global), the processes of one memory cgroup (cgroup), or one process
 * (process); a process may narrow its own scope with a prctl.  The
 * domain is part of the key of both indexes, so no lookup ever compares
 * the content of pages of two domains (see ksm/policy.c).
 *
 * Writing to a KSM page always copies it (do_wp_page).  Unmerging (the
 * MADV_UNMERGEABLE advice, run=2, prctl off, and mremap before it moves
 * a range) faults in such copies with FAULT_FLAG_UNSHARE, also where a
 * KSM page is being migrated: the fault waits for the migration to end.
 *
 * Layout
 * ------
 * This file is KSM's one translation unit: it includes one file per
 * concern from mm/ksm/, in the order they depend on each other (as
 * kernel/sched/build_policy.c does), so that all of it stays static and
 * inlinable, and ends with ksm_init():
 *
 *	state.h		records, global state, knobs, statistics
 *	content.c	page checksum and comparison
 *	policy.c	which areas KSM works on; merge domains
 *	index.c		the hash indexes behind the stable and unstable trees
 *	entries.c	entries in blocks of neighbouring pages; descriptor rings
 *	stable.c	descriptors of KSM pages, chains, the stable index
 *	unstable.c	the unstable index
 *	pte.c		write-protect a pte, map a KSM page in its place
 *	seek.c		page table walk to the next page of interest
 *	unmerge.c	breaking KSM pages
 *	heuristics.c	first-sight merging and smart scan
 *	merge.c		merging a page, making a KSM page
 *	scan.c		what ksmd does with a page; the cursor
 *	ksmd.c		the daemon's batches and sleeps
 *	client.c	registration, madvise, prctl, fork, exit, run=2
 *	rmap.c		rmap walk, migration, memory failure, swap-in
 *	stats.c		profit
 *	hotremove.c	memory hot-remove
 *	sysfs.c		/sys/kernel/mm/ksm/
 *
 * mm/ksm/tests/ has KUnit tests of the parts that need no process
 * (CONFIG_KSM_KUNIT_TEST).
 *
 * Locking
 * -------
 *  ksm_lock (mutex): the indexes, descriptors, entries and all counters
 *	except the zero page ones, the scan cursor, and knobs that depend on
 *	the trees.  ksmd holds it for a chunk of pages (KSM_CHUNK_PAGES, each
 *	step of bounded work); run=2 for its whole unmerge; memory hot-remove
 *	while it prunes descriptors at MEM_OFFLINE.  It is
 *	never taken while holding an mmap_lock (ksm_exit only trylocks).
 *	Order: ksm_lock -> mmap_lock (read, one mm at a time) -> folio lock
 *	-> anon_vma lock / page table lock.
 *  ksm_clients_lock (spinlock): the client list and hash, and which client
 *	the cursor is on; lets ksm_exit() find out whether it may free the
 *	client itself or must leave it to ksmd.
 *  folio lock of a KSM page: held whenever entries are added to or removed
 *	from its descriptor, because rmap walks read that list under the
 *	folio lock alone.  A stale descriptor has no folio and no walker.
 *  mmap_lock: ksmd takes it for read around every access to a client's
 *	page tables and checks, under it, that the mm is still alive
 *	(mm_users != 0); the client holds an mm_count reference, so the
 *	mm_struct itself never goes away under us.  An exiting mm is
 *	released by ksm_exit() when that is cheap, otherwise by ksmd.
 */

#include <linux/freezer.h>
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/kthread.h>
#include <linux/ksm.h>
#include <linux/memcontrol.h>
#include <linux/memory.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/oom.h>
#include <linux/pagewalk.h>
#include <linux/prctl.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/secretmem.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/swapops.h>

#include <asm/tlbflush.h>
#include "internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/ksm.h>

#include "ksm/state.h"
#include "ksm/content.c"
#include "ksm/policy.c"
#include "ksm/index.c"
#include "ksm/entries.c"
#include "ksm/stable.c"
#include "ksm/unstable.c"
#include "ksm/pte.c"
#include "ksm/seek.c"
#include "ksm/unmerge.c"
#include "ksm/heuristics.c"
#include "ksm/merge.c"
#include "ksm/scan.c"
#include "ksm/ksmd.c"
#include "ksm/client.c"
#include "ksm/rmap.c"
#include "ksm/stats.c"
#include "ksm/hotremove.c"
#include "ksm/sysfs.c"

static int __init ksm_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct ksm_block) != KSM_BLOCK_BYTES);
	ksm_client_cache = KMEM_CACHE(ksm_client, 0);
	ksm_block_cache = kmem_cache_create("ksm_block", KSM_BLOCK_BYTES,
					    KSM_BLOCK_BYTES, 0, NULL);
	ksm_block_avs_cache = kmem_cache_create("ksm_block_avs", KSM_AVS_BYTES,
						0, 0, NULL);
	ksm_shared_cache = KMEM_CACHE(ksm_shared, 0);
	if (!ksm_client_cache || !ksm_block_cache || !ksm_block_avs_cache ||
	    !ksm_shared_cache) {
		err = -ENOMEM;
		goto fail;
	}
	ksm_zero_csum = page_csum(ZERO_PAGE(0));
	if (index_init(&ksm_stable_index) || index_init(&ksm_unstable_index)) {
		err = -ENOMEM;
		goto fail;
	}

	ksmd_task = kthread_run(ksmd_main, NULL, "ksmd");
	if (IS_ERR(ksmd_task)) {
		err = PTR_ERR(ksmd_task);
		pr_err("ksm: creating kthread failed\n");
		goto fail;
	}

#ifdef CONFIG_SYSFS
	err = sysfs_create_group(mm_kobj, &ksm_attr_group);
	if (err) {
		pr_err("ksm: register sysfs failed\n");
		kthread_stop(ksmd_task);
		goto fail;
	}
#else
	ksm_run = KSM_RUN_MERGE;	/* no way for the user to start it */
#endif

#ifdef CONFIG_MEMORY_HOTREMOVE
	hotplug_memory_notifier(ksm_memory_callback, KSM_CALLBACK_PRI);
#endif
	return 0;

fail:
	kvfree(ksm_stable_index.buckets);
	kvfree(ksm_unstable_index.buckets);
	kmem_cache_destroy(ksm_shared_cache);
	kmem_cache_destroy(ksm_block_avs_cache);
	kmem_cache_destroy(ksm_block_cache);
	kmem_cache_destroy(ksm_client_cache);
	return err;
}
subsys_initcall(ksm_init);

#ifdef CONFIG_KSM_KUNIT_TEST
#include "ksm/tests/content-kunit.h"
#include "ksm/tests/index-kunit.h"
#include "ksm/tests/entries-kunit.h"
#include "ksm/tests/heuristics-kunit.h"
#endif
