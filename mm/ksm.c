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
 * (struct ksm_entry) kept on a per-client list sorted by address, so that
 * the walk and the list can be advanced together; entries whose page has
 * disappeared are dropped as the walk passes them.
 *
 * A page is looked up, by a checksum of its content, in two hash indexes
 * (upstream's "stable tree" and "unstable tree"; see "Content indexes"):
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
 * descriptor lists the entries mapping it; each such entry holds a
 * reference on the anon_vma of its vma, through which rmap walks find
 * every pte mapping the KSM page - including ptes fork() copied into
 * children that have no entry yet.
 *
 * Pages are only merged within a merge domain: all clients (merge_scope
 * global), the processes of one memory cgroup (cgroup), or one process
 * (process); a process may narrow its own scope with a prctl.  The
 * domain is part of the key of both indexes, so no lookup ever compares
 * the content of pages of two domains (see "Merge domains" below).
 *
 * Writing to a KSM page always copies it (do_wp_page).  Unmerging (the
 * MADV_UNMERGEABLE advice, run=2, prctl off, and mremap before it moves
 * a range) faults in such copies with FAULT_FLAG_UNSHARE, also where a
 * KSM page is being migrated: the fault waits for the migration to end.
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

/* ------------------------------------------------------------------ */
/* Data structures                                                      */
/* ------------------------------------------------------------------ */

/**
 * struct ksm_client - an mm registered with KSM
 * @link: on ksm_clients, the order ksmd visits them in
 * @hnode: in ksm_client_hash, keyed by @mm
 * @mm: the mm, pinned by an mm_count reference (mmgrab)
 * @entries: entries for the pages scanned in @mm, ascending address
 * @round: full_scans when the cursor last entered @mm
 * @missed: areas became mergeable behind the cursor while it was in @mm
 * @revisited: went back once in @round for such areas (at most once)
 * @serial: never reused: the domain of the client's pages in scope process
 * @domain: the merge domain of its pages, taken when the cursor enters
 *	@mm in a new round (client_domain_now())
 * @first_merged: pages merged at first sight, decaying (first_sight_*())
 * @first_broken: of those, the ones written to before the next visit
 * @first_off: rounds left without first-sight merging in @mm
 */
struct ksm_client {
	struct list_head link;
	struct hlist_node hnode;
	struct mm_struct *mm;
	struct ksm_entry *entries;
	unsigned long round;
	bool missed;
	bool revisited;
	u64 serial;
	u64 domain;
	unsigned int first_merged;
	unsigned int first_broken;
	unsigned int first_off;
};

/*
 * Low bits of ksm_entry.addr_flags; the address itself is page aligned.
 * E_ROUND is the parity of the scan round in which the entry was put into
 * the unstable index: that index is simply forgotten at the end of a round,
 * and an entry still flagged from the previous round is not in it.
 */
#define E_UNSTABLE	BIT(0)	/* in the unstable index */
#define E_STABLE	BIT(1)	/* listed by a stable descriptor */
#define E_ROUND		BIT(2)
#define E_AGE_SHIFT	3	/* smart scan: visits without merging */
#define E_AGE_MASK	(7UL << E_AGE_SHIFT)
#define E_SKIP_SHIFT	6	/* smart scan: visits left to skip */
#define E_SKIP_MASK	(7UL << E_SKIP_SHIFT)
#define E_SEEN		BIT(9)	/* visited before: its checksum is known */
#define E_FIRST		BIT(10)	/* went on at first sight, not yet revisited */

/**
 * struct ksm_entry - what KSM remembers about one scanned page
 * @next: the client's next entry (higher address)
 * @client: the client whose mm maps the page
 * @addr_flags: page address and E_* flags
 * @hnode: in a bucket of the unstable index (E_UNSTABLE)
 * @csum: checksum of the page when last seen (when not E_STABLE):
 *	64 bits, so that two different pages in one index practically
 *	never share a key
 * @tree_nid: the NUMA node part of its unstable index key (E_UNSTABLE)
 * @shared: the stable descriptor this entry is listed by (E_STABLE)
 * @sibling: in @shared's list of entries
 * @anon_vma: anon_vma of the vma at the time of merging, referenced:
 *	the way rmap walks find the ptes mapping the KSM page
 *
 * 56 bytes on 64-bit.  Everything is reached through small accessors so
 * that a more compact encoding can replace this one.
 */
struct ksm_entry {
	struct ksm_entry *next;
	struct ksm_client *client;
	unsigned long addr_flags;
	union {
		struct {
			struct hlist_node hnode;
			u64 csum;
			u16 tree_nid;
		};
		struct {
			struct ksm_shared *shared;
			struct hlist_node sibling;
			struct anon_vma *anon_vma;
		};
	};
};

/**
 * struct ksm_shared - descriptor of one KSM page
 * @hnode: in a bucket of the stable index (the head of a chain)
 * @head: the chain head this duplicate hangs on (a duplicate)
 * @dups: a head's list of duplicates, or a duplicate's link in it
 * @entries: the entries known to map the page
 * @pfn: where the KSM folio is; only trusted if the folio points back
 * @nr_entries: length of @entries, limited by max_page_sharing
 * @domain: the merge domain the KSM page was made in, and is shared in
 * @csum: checksum of the KSM page's (unchanging) content
 * @nid: NUMA node of the "tree" (the index key's node) it is in
 * @is_dup: a duplicate, not in the index itself
 *
 * KSM pages of equal content form a chain: once a KSM page is shared
 * max_page_sharing times, another one with the same content is made,
 * a duplicate hanging off the descriptor that sits in the index.
 */
struct ksm_shared {
	union {
		struct hlist_node hnode;
		struct ksm_shared *head;
	};
	struct list_head dups;
	struct hlist_head entries;
	unsigned long pfn;
	u64 domain;
	unsigned int nr_entries;
	u64 csum;
	u16 nid;
	bool is_dup;
};

/* Where ksmd is in its walk over all clients. */
struct ksm_cursor {
	struct ksm_client *client;	/* NULL: a new round starts */
	unsigned long addr;		/* next address to look at */
	struct ksm_entry **link;	/* where the entry for addr belongs */
	unsigned int round;		/* parity matches E_ROUND */
	bool yielded;			/* gave way to the mm's writer once */
	unsigned int revisits;		/* merged pages the seek may pass */
	unsigned int passed;		/* and did pass, still merged */
};

#define KSM_RUN_STOP	0
#define KSM_RUN_MERGE	1
#define KSM_RUN_UNMERGE	2

static DEFINE_MUTEX(ksm_lock);
static atomic_t ksm_lock_waiters;	/* ksm_lock_wait() callers */
static DEFINE_SPINLOCK(ksm_clients_lock);
static LIST_HEAD(ksm_clients);
static DEFINE_HASHTABLE(ksm_client_hash, 10);
static u64 ksm_client_serial;		/* under ksm_clients_lock */
static struct ksm_cursor ksm_cursor;

/*
 * The stable and unstable "trees" are hash indexes (see "Content
 * indexes" below): a power of two of buckets, @count items in them.
 */
struct ksm_index {
	struct hlist_head *buckets;
	unsigned int bits;
	unsigned long count;
	unsigned long peak;	/* of @count this round (unstable) */
};

static struct ksm_index ksm_stable_index;
static struct ksm_index ksm_unstable_index;

static struct kmem_cache *ksm_client_cache;
static struct kmem_cache *ksm_entry_cache;
static struct kmem_cache *ksm_shared_cache;

static struct task_struct *ksmd_task;
static DECLARE_WAIT_QUEUE_HEAD(ksmd_wait);

/* Knobs (sysfs) */
static unsigned int ksm_run = KSM_RUN_STOP;
static unsigned int ksm_pages_to_scan = 100;
static unsigned int ksm_sleep_ms = 20;
static unsigned int ksm_use_zero_pages;
static unsigned int ksm_smart_scan = 1;
static unsigned int ksm_merge_across_nodes = 1;
static unsigned int ksm_max_page_sharing = 256;
static unsigned int ksm_merge_scope;	/* enum ksm_scope */
static unsigned int ksm_chains_prune_ms = 2000;
static unsigned long ksm_chains_pruned_at;	/* jiffies, 0: never */

/*
 * The scan-time advisor: instead of a fixed pages_to_scan, aim at one full
 * scan every advisor_target_scan_time seconds, within advisor_max_cpu
 * percent of a CPU, recomputed at the end of every round.
 */
enum ksm_advisor_mode {
	KSM_ADVISOR_NONE,
	KSM_ADVISOR_SCAN_TIME,
};

static enum ksm_advisor_mode ksm_advisor;
static unsigned int ksm_advisor_max_cpu = 70;
static unsigned int ksm_advisor_target_scan_time = 200;	/* seconds */
static unsigned int ksm_advisor_min_pages = 500;
static unsigned int ksm_advisor_max_pages = 30000;
static unsigned int ksm_advisor_saved_pages;	/* pages_to_scan before */
static ktime_t ksm_round_start;
static u64 ksm_round_start_cpu;		/* ksmd's runtime at round start */
static unsigned long ksm_round_start_scanned;	/* pages_scanned then */

/* Statistics (under ksm_lock, read racily) */
static unsigned long ksm_pages_shared;	/* descriptors with entries */
static unsigned long ksm_pages_sharing;	/* further entries on them */
static unsigned long ksm_pages_unshared;	/* entries in unstable index */
static unsigned long ksm_entries_total;
static unsigned long ksm_full_scans;
static unsigned long ksm_pages_scanned;
static unsigned long ksm_pages_skipped;
static unsigned long ksm_chains;		/* heads with duplicates */
static unsigned long ksm_chained;	/* KSM pages in such chains */

/* Checksum of a page full of zeroes, for use_zero_pages. */
static u64 ksm_zero_csum __read_mostly;

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static inline unsigned long entry_addr(const struct ksm_entry *e)
{
	return e->addr_flags & PAGE_MASK;
}

static inline struct mm_struct *entry_mm(const struct ksm_entry *e)
{
	return e->client->mm;
}

static inline bool entry_is_stable(const struct ksm_entry *e)
{
	return e->addr_flags & E_STABLE;
}

static inline bool entry_is_unstable(const struct ksm_entry *e)
{
	return e->addr_flags & E_UNSTABLE;
}

/* An mm whose last user is gone: its page tables are being torn down. */
static inline bool mm_is_exiting(struct mm_struct *mm)
{
	return atomic_read(&mm->mm_users) == 0;
}

static inline struct ksm_shared *folio_shared(struct folio *folio)
{
	if (!folio_test_ksm(folio))
		return NULL;
	return (void *)((unsigned long)READ_ONCE(folio->mapping) &
			~PAGE_MAPPING_FLAGS);
}

static inline void *shared_mapping(struct ksm_shared *sh)
{
	return (void *)((unsigned long)sh | PAGE_MAPPING_KSM);
}

static inline int tree_nid(int nid)
{
	return ksm_merge_across_nodes ? 0 : nid;
}

/* With merge_across_nodes=0, pages of two NUMA nodes are never merged. */
static inline bool nodes_may_merge(int nid_a, int nid_b)
{
	return ksm_merge_across_nodes || nid_a == nid_b;
}

/*
 * Is the locked KSM folio @kfolio the one its descriptor points at?  A
 * folio found through the descriptor and referenced may since have been
 * migrated: the old copy still points at the descriptor until it is
 * freed, but must never be mapped again.  Under the folio lock the
 * answer holds, as migration needs that lock to move the pfn.
 */
static inline bool shared_folio_current(struct folio *kfolio)
{
	struct ksm_shared *sh = folio_shared(kfolio);

	return sh && READ_ONCE(sh->pfn) == folio_pfn(kfolio);
}

/*
 * Checksum of a page's content: the key of the content indexes, and the
 * test of whether a page changed between two visits.  Four lanes; each
 * word is xor-ed into its lane, which is then multiplied by an odd
 * constant - a bijection, so two pages that differ in a single word never
 * share a checksum - and the lanes are folded and mixed with xxh64's
 * avalanche.  About half the instructions per byte of xxh64, which ksmd
 * spent nearly half its time in.  Not a cryptographic hash: a collision
 * only costs a comparison that fails.
 */
#define CSUM_MUL	0x9e3779b97f4a7c15ULL	/* odd */

static u64 page_csum(struct page *page)
{
	const u64 *w = kmap_local_page(page);
	u64 a = 1, b = 2, c = 3, d = 4, h;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i += 4) {
		a = (a ^ w[i]) * CSUM_MUL;
		b = (b ^ w[i + 1]) * CSUM_MUL;
		c = (c ^ w[i + 2]) * CSUM_MUL;
		d = (d ^ w[i + 3]) * CSUM_MUL;
	}
	kunmap_local(w);
	h = rol64(a, 1) + rol64(b, 7) + rol64(c, 12) + rol64(d, 18);
	h ^= h >> 33;
	h *= 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ULL;
	return h ^ (h >> 32);
}

static bool page_is_zero_filled(struct page *page)
{
	void *addr = kmap_local_page(page);
	bool zero = !memchr_inv(addr, 0, PAGE_SIZE);

	kunmap_local(addr);
	return zero;
}

/*
 * Do two pages hold the same bytes?  Only equality matters (the indexes
 * are not ordered by content): eight words at a time, one branch each.
 */
static bool page_same(struct page *a, struct page *b)
{
	const unsigned long *pa = kmap_local_page(a);
	const unsigned long *pb = kmap_local_page(b);
	unsigned long diff = 0;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(long) && !diff; i += 8)
		diff = (pa[i] ^ pb[i]) | (pa[i + 1] ^ pb[i + 1]) |
		       (pa[i + 2] ^ pb[i + 2]) | (pa[i + 3] ^ pb[i + 3]) |
		       (pa[i + 4] ^ pb[i + 4]) | (pa[i + 5] ^ pb[i + 5]) |
		       (pa[i + 6] ^ pb[i + 6]) | (pa[i + 7] ^ pb[i + 7]);
	kunmap_local(pb);
	kunmap_local(pa);
	return !diff;
}

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

/* ------------------------------------------------------------------ */
/* Merge domains                                                        */
/* ------------------------------------------------------------------ */

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
	return e->client->domain;
}

/* ------------------------------------------------------------------ */
/* Content indexes                                                      */
/* ------------------------------------------------------------------ */

/*
 * The stable and the unstable "tree" are hash indexes keyed by (merge
 * domain, NUMA node of the tree, checksum of the content).  A lookup
 * hashes the key to a bucket and reads a page only for the items whose
 * whole key is equal - normally just the page it merges with - where a
 * tree ordered by content would read and compare a page at every level of
 * its descent (for unstable pages, with an mmap_lock round trip and a page
 * table walk each time).  An equal checksum is never trusted: pages are
 * merged only once write-protected and compared equal in full.  The
 * checksum has 64 bits, so that two different pages practically never
 * share a key: a lookup takes the first item whose key is equal.
 *
 * A KSM page is keyed by the checksum of its content, which cannot
 * change.  An unstable entry is keyed by the checksum its page had when
 * it went in: a page changed since is not found by its new content, and
 * a lookup by the old one finds it unequal - no harm done, where it left
 * a content tree unsorted.
 *
 * An index holds between PER and 2 * PER items per bucket on average
 * (PER: KSM_UNSTABLE_PER_BUCKET entries, KSM_STABLE_PER_BUCKET KSM pages),
 * within [KSM_INDEX_MIN_BITS, KSM_INDEX_MAX_BITS] bits: an insert that
 * makes it fuller rehashes it into more buckets at once.  At the end of a
 * round the unstable index starts again empty, sized for the most entries
 * it held in the round, and the stable index is rehashed into fewer
 * buckets if it holds less than a quarter of PER per bucket.  Short of
 * memory for a new size, the old one stays.  Not while stable_for_each()
 * walks the buckets.  Under ksm_lock.
 */
#define KSM_INDEX_MIN_BITS	8
#define KSM_INDEX_MAX_BITS	22
#define KSM_UNSTABLE_PER_BUCKET	4
#define KSM_STABLE_PER_BUCKET	2

static struct hlist_head *index_bucket(struct ksm_index *ix, u64 domain,
				       int nid, u64 csum)
{
	u64 key = csum ^ (domain * GOLDEN_RATIO_64) ^ ((u64)nid << 48);

	return &ix->buckets[hash_64(key, ix->bits)];
}

/* log2 of the number of buckets for @n items, @per to 2 * @per a bucket. */
static unsigned int index_bits_for(unsigned long n, unsigned int per)
{
	unsigned int bits = n / per ? ilog2(n / per) : 0;

	return clamp(bits, KSM_INDEX_MIN_BITS, KSM_INDEX_MAX_BITS);
}

/* More than 2 * @per items per bucket: time for more buckets. */
static bool index_too_full(struct ksm_index *ix, unsigned int per)
{
	return ix->count > (2UL * per) << ix->bits &&
	       ix->bits < KSM_INDEX_MAX_BITS;
}

static struct hlist_head *index_alloc(unsigned int bits)
{
	return kvcalloc(1UL << bits, sizeof(struct hlist_head),
			GFP_KERNEL | __GFP_NOWARN);
}

static int index_init(struct ksm_index *ix)
{
	ix->bits = KSM_INDEX_MIN_BITS;
	ix->buckets = index_alloc(ix->bits);
	return ix->buckets ? 0 : -ENOMEM;
}

static unsigned long index_bytes(struct ksm_index *ix)
{
	return sizeof(struct hlist_head) << READ_ONCE(ix->bits);
}

static struct hlist_head *stable_bucket(struct ksm_shared *sh)
{
	return index_bucket(&ksm_stable_index, sh->domain, sh->nid, sh->csum);
}

/*
 * Move every item of @ix into 1 << @bits new buckets, each into the one
 * @bucket_of() says; false, and nothing changed, if short of memory.
 */
static bool index_rehash(struct ksm_index *ix, unsigned int bits,
			 struct hlist_head *(*bucket_of)(struct hlist_node *))
{
	struct hlist_head *old = ix->buckets;
	unsigned long i, n = 1UL << ix->bits;
	struct hlist_node *node, *tmp;

	ix->buckets = index_alloc(bits);
	if (!ix->buckets) {
		ix->buckets = old;
		return false;
	}
	WRITE_ONCE(ix->bits, bits);
	for (i = 0; i < n; i++)
		hlist_for_each_safe(node, tmp, &old[i])
			hlist_add_head(node, bucket_of(node));
	kvfree(old);
	return true;
}

static struct hlist_head *stable_bucket_of(struct hlist_node *node)
{
	return stable_bucket(hlist_entry(node, struct ksm_shared, hnode));
}

static bool ksm_stable_walking;	/* stable_for_each() is at work */

/* After an insert: more buckets if the stable index got too full. */
static void stable_index_grow(void)
{
	struct ksm_index *ix = &ksm_stable_index;

	if (!ksm_stable_walking && index_too_full(ix, KSM_STABLE_PER_BUCKET))
		index_rehash(ix, index_bits_for(ix->count, KSM_STABLE_PER_BUCKET),
			     stable_bucket_of);
}

/* At the end of a round: fewer buckets if the stable index is too empty. */
static void stable_index_shrink(void)
{
	struct ksm_index *ix = &ksm_stable_index;
	unsigned int bits = index_bits_for(ix->count, KSM_STABLE_PER_BUCKET);

	if (bits + 2 < ix->bits)
		index_rehash(ix, bits, stable_bucket_of);
}

/* ------------------------------------------------------------------ */
/* Stable descriptors                                                   */
/* ------------------------------------------------------------------ */

/*
 * A chain keeps its duplicates that can take another sharer before those
 * that are full, so that chain_pick() finds one in constant time.
 */
static void chain_sort_dup(struct ksm_shared *sh)
{
	if (!sh->is_dup)
		return;
	if (sh->nr_entries < READ_ONCE(ksm_max_page_sharing))
		list_move(&sh->dups, &sh->head->dups);
	else
		list_move_tail(&sh->dups, &sh->head->dups);
}

static void entry_unlink_shared(struct ksm_entry *e)
{
	struct ksm_shared *sh = e->shared;

	hlist_del(&e->sibling);
	sh->nr_entries--;
	chain_sort_dup(sh);
	if (hlist_empty(&sh->entries))
		ksm_pages_shared--;
	else
		ksm_pages_sharing--;
	entry_mm(e)->ksm_merging_pages--;
	put_anon_vma(e->anon_vma);
	e->addr_flags &= ~E_STABLE;
	e->csum = 0;
}

/* Caller holds the KSM folio lock (or the descriptor is stale). */
static void entry_link_shared(struct ksm_entry *e, struct ksm_shared *sh,
			      struct anon_vma *anon_vma)
{
	if (hlist_empty(&sh->entries))
		ksm_pages_shared++;
	else
		ksm_pages_sharing++;
	get_anon_vma(anon_vma);
	e->shared = sh;
	e->anon_vma = anon_vma;
	hlist_add_head(&e->sibling, &sh->entries);
	sh->nr_entries++;
	chain_sort_dup(sh);
	e->addr_flags |= E_STABLE;
	e->addr_flags &= ~(E_AGE_MASK | E_SKIP_MASK);
	entry_mm(e)->ksm_merging_pages++;
}

/* Hang the duplicate @dup on the chain of @head. */
static void chain_add(struct ksm_shared *head, struct ksm_shared *dup)
{
	if (list_empty(&head->dups)) {
		ksm_chains++;
		ksm_chained++;		/* the head itself */
	}
	ksm_chained++;
	dup->is_dup = true;
	dup->head = head;
	list_add(&dup->dups, &head->dups);	/* not full: in front */
}

/*
 * Take a descriptor out of the stable index or its chain.  A head that
 * has duplicates hands its place in the index to the first of them.
 */
static void chain_remove(struct ksm_shared *sh)
{
	struct ksm_shared *head = sh->is_dup ? sh->head : sh;
	struct ksm_shared *heir, *d;

	if (!list_empty(&head->dups)) {
		ksm_chained--;
		if (list_is_singular(&head->dups)) {
			ksm_chains--;
			ksm_chained--;
		}
	}
	if (sh->is_dup) {
		list_del(&sh->dups);
		return;
	}
	if (list_empty(&sh->dups)) {
		hlist_del(&sh->hnode);
		ksm_stable_index.count--;
		return;
	}
	heir = list_first_entry(&sh->dups, struct ksm_shared, dups);
	list_del_init(&heir->dups);
	list_splice_init(&sh->dups, &heir->dups);
	list_for_each_entry(d, &heir->dups, dups)
		d->head = heir;
	heir->is_dup = false;
	hlist_add_before(&heir->hnode, &sh->hnode);
	hlist_del(&sh->hnode);
}

/* The KSM folio is gone: forget its descriptor and detach its entries. */
static void shared_prune(struct ksm_shared *sh)
{
	struct ksm_entry *e;
	struct hlist_node *tmp;

	trace_ksm_remove_ksm_page(sh->pfn);
	hlist_for_each_entry_safe(e, tmp, &sh->entries, sibling) {
		/* Merged at first sight, all written to before a revisit. */
		if (e->addr_flags & E_FIRST)
			e->client->first_broken++;
		entry_unlink_shared(e);
	}
	chain_remove(sh);
	kmem_cache_free(ksm_shared_cache, sh);
}

/*
 * Find the KSM folio of a descriptor and take a reference on it (and its
 * lock if @lock).  Returns NULL, having pruned the descriptor, if the
 * folio no longer points back at it.  A folio migrated meanwhile is
 * followed to its new pfn.
 */
static struct folio *shared_get_folio(struct ksm_shared *sh, bool lock)
{
	void *want = shared_mapping(sh);
	struct folio *folio;
	unsigned long pfn;

	lockdep_assert_held(&ksm_lock);
retry:
	pfn = READ_ONCE(sh->pfn);
	folio = pfn_folio(pfn);
	if (READ_ONCE(folio->mapping) != want)
		goto changed;
	if (!folio_try_get(folio)) {
		/* Being freed, or frozen for swap cache removal: wait. */
		if (READ_ONCE(folio->mapping) == want &&
		    READ_ONCE(sh->pfn) == pfn) {
			cond_resched();
			goto retry;
		}
		goto changed;
	}
	if (READ_ONCE(folio->mapping) != want || READ_ONCE(sh->pfn) != pfn) {
		folio_put(folio);
		goto changed;
	}
	if (lock) {
		folio_lock(folio);
		if (folio->mapping != want || READ_ONCE(sh->pfn) != pfn) {
			folio_unlock(folio);
			folio_put(folio);
			goto changed;
		}
	}
	return folio;

changed:
	/* Pairs with the ordering in folio_migrate_ksm(). */
	smp_rmb();
	if (READ_ONCE(sh->pfn) != pfn)
		goto retry;
	shared_prune(sh);
	return NULL;
}

/*
 * Insert a new descriptor for @kpage (its key set): into the index, or as
 * a duplicate on the chain of a KSM page with the same content (all full,
 * then).
 */
static void stable_insert(struct ksm_shared *sh, struct page *kpage)
{
	struct ksm_shared *other;
	struct folio *kfolio;
	bool same;

again:
	hlist_for_each_entry(other, stable_bucket(sh), hnode) {
		if (other->csum != sh->csum || other->domain != sh->domain ||
		    other->nid != sh->nid)
			continue;
		kfolio = shared_get_folio(other, false);
		if (!kfolio)
			goto again;	/* @other was pruned */
		same = page_same(kpage, &kfolio->page);
		folio_put(kfolio);
		if (same) {
			chain_add(other, sh);
			return;
		}
	}
	hlist_add_head(&sh->hnode, stable_bucket(sh));
	ksm_stable_index.count++;
	stable_index_grow();
}

/*
 * Call @fn on every descriptor of the stable index, or only on those
 * outside chains unless @chains.  @fn may prune the descriptor it is given
 * (a head's duplicates are visited first, so a head handing its place to
 * one has nothing left to visit there), or move it elsewhere in the
 * index, and so prune others: each bucket is taken off the index and its
 * descriptors put back one by one before their visit.
 */
static void stable_for_each(void (*fn)(struct ksm_shared *sh, void *arg),
			    void *arg, bool chains)
{
	struct ksm_index *ix = &ksm_stable_index;
	struct ksm_shared *sh, *d, *tmp;
	unsigned long i;

	ksm_stable_walking = true;
	for (i = 0; i < (1UL << ix->bits); i++) {
		HLIST_HEAD(todo);

		hlist_move_list(&ix->buckets[i], &todo);
		while (!hlist_empty(&todo)) {
			sh = hlist_entry(todo.first, struct ksm_shared, hnode);
			hlist_del(&sh->hnode);
			hlist_add_head(&sh->hnode, &ix->buckets[i]);
			if (list_empty(&sh->dups) || chains) {
				list_for_each_entry_safe(d, tmp, &sh->dups, dups)
					fn(d, arg);
				fn(sh, arg);
			}
			cond_resched();
		}
	}
	ksm_stable_walking = false;
}

/* Is @sh in the tree of the node its KSM folio (referenced) is on? */
static bool shared_on_its_node(struct ksm_shared *sh, struct folio *kfolio)
{
	return tree_nid(folio_nid(kfolio)) == sh->nid;
}

/*
 * A KSM page migrated to another node while merge_across_nodes=0 sits in
 * the wrong tree: move its descriptor to the tree of its node, where it
 * becomes a duplicate if a KSM page of the same content is there.
 */
static void shared_move_tree(struct ksm_shared *sh, struct folio *kfolio)
{
	chain_remove(sh);
	sh->is_dup = false;
	INIT_LIST_HEAD(&sh->dups);
	sh->nid = tree_nid(folio_nid(kfolio));
	stable_insert(sh, &kfolio->page);
}

/* Prune @sh if its KSM page is gone, move it if it changed node. */
static void shared_check(struct ksm_shared *sh, void *unused)
{
	struct folio *kfolio = shared_get_folio(sh, false);

	if (!kfolio)
		return;
	if (!shared_on_its_node(sh, kfolio))
		shared_move_tree(sh, kfolio);
	folio_put(kfolio);
}

/*
 * Of a chain whose head has the content wanted, the KSM folio that can
 * take one more sharer: referenced, or NULL if all are full.  Sets
 * *@retry if a stale duplicate had to be pruned on the way.  Duplicates
 * that are not full come first (chain_sort_dup()): only the first one
 * needs looking at.
 */
static struct folio *chain_pick(struct ksm_shared *head, struct folio *hfolio,
				bool *retry)
{
	unsigned int limit = READ_ONCE(ksm_max_page_sharing);
	struct ksm_shared *d;
	struct folio *kfolio;

	if (head->nr_entries < limit)
		return hfolio;
	folio_put(hfolio);
	d = list_first_entry_or_null(&head->dups, struct ksm_shared, dups);
	if (!d || d->nr_entries >= limit)
		return NULL;
	kfolio = shared_get_folio(d, false);
	if (!kfolio) {
		*retry = true;	/* @d was pruned: the list changed */
	} else if (!shared_on_its_node(d, kfolio)) {
		shared_move_tree(d, kfolio);
		folio_put(kfolio);
		kfolio = NULL;
		*retry = true;
	}
	return kfolio;
}

/*
 * Look up a KSM page of @domain whose content has the checksum @csum of
 * @page's, and that may be shared once more; referenced if found.  Not
 * compared here: merge_page() compares the pages once @page is
 * write-protected, which it has to anyway.
 */
static struct folio *stable_find(struct page *page, int nid, u64 domain,
				 u64 csum)
{
	struct ksm_shared *sh;
	struct folio *kfolio;
	bool retry;

again:
	/* Looked up again each time: moving a descriptor may rehash. */
	retry = false;
	hlist_for_each_entry(sh, index_bucket(&ksm_stable_index, domain, nid,
					      csum), hnode) {
		if (sh->csum != csum || sh->domain != domain || sh->nid != nid)
			continue;
		kfolio = shared_get_folio(sh, false);
		if (!kfolio)
			goto again;	/* @sh was pruned */
		if (!shared_on_its_node(sh, kfolio)) {
			/* Migrated since: not for this tree's pages. */
			shared_move_tree(sh, kfolio);
			folio_put(kfolio);
			goto again;
		}
		kfolio = chain_pick(sh, kfolio, &retry);
		if (retry)
			goto again;
		return kfolio;
	}
	return NULL;
}

/*
 * Drop descriptors whose KSM page has been freed and rehome those whose
 * page moved to another node: all of them, or only those outside chains
 * unless @chains.
 */
static void stable_prune_stale(bool chains)
{
	stable_for_each(shared_check, NULL, chains);
}

/*
 * A KSM folio that nothing maps any more (left in a per-CPU LRU or mlock
 * batch, or in the swap cache with swap entries in place of its ptes)
 * stops being one: the folio becomes an ordinary anonymous folio without
 * an anon_vma (a later swap-in gives it the faulting vma's; any other
 * mm then gets a copy) and its descriptor goes.  The folio lock keeps it
 * from being mapped meanwhile.
 */
static void shared_detach_unmapped(struct ksm_shared *sh, void *unused)
{
	struct folio *kfolio = shared_get_folio(sh, true);

	if (!kfolio)
		return;
	if (!folio_mapped(kfolio)) {
		WRITE_ONCE(kfolio->mapping, NULL);
		shared_prune(sh);
	}
	folio_unlock(kfolio);
	folio_put(kfolio);
}

/*
 * After unmerging: every descriptor whose KSM page is still mapped stays
 * (there is none unless unmerging failed), all others are dropped.
 */
static void stable_detach_unmapped(void)
{
	/* Let the per-CPU batches give their references back first. */
	lru_add_drain_all();
	stable_for_each(shared_detach_unmapped, NULL, true);
}

/*
 * Chains are swept for stale duplicates at most once per
 * stable_node_chains_prune_millisecs; in between, a stale duplicate is
 * only dropped when a lookup stumbles on it.
 */
static bool chains_prune_due(void)
{
	unsigned long interval = msecs_to_jiffies(READ_ONCE(ksm_chains_prune_ms));

	if (ksm_chains_pruned_at &&
	    time_before(jiffies, ksm_chains_pruned_at + interval))
		return false;
	ksm_chains_pruned_at = jiffies ?: 1;
	return true;
}

/* Take an entry off its descriptor's list, with the KSM folio locked. */
static void entry_leave_stable(struct ksm_entry *e)
{
	struct folio *kfolio = shared_get_folio(e->shared, true);

	/* A stale descriptor was pruned, which detached @e already. */
	if (!kfolio)
		return;
	entry_unlink_shared(e);
	folio_unlock(kfolio);
	folio_put(kfolio);
}

/* ------------------------------------------------------------------ */
/* Unstable index                                                       */
/* ------------------------------------------------------------------ */

static void entry_leave_unstable(struct ksm_entry *e)
{
	bool this_round = !!(e->addr_flags & E_ROUND) == (ksm_cursor.round & 1);

	/* An entry flagged in the previous round sits in a forgotten index. */
	if (this_round) {
		hlist_del(&e->hnode);
		ksm_unstable_index.count--;
	}
	e->addr_flags &= ~(E_UNSTABLE | E_ROUND);
	ksm_pages_unshared--;
}

static void entry_leave_trees(struct ksm_entry *e)
{
	if (entry_is_stable(e))
		entry_leave_stable(e);
	else if (entry_is_unstable(e))
		entry_leave_unstable(e);
}

/*
 * End of a round: the unstable index is forgotten, its entries clear
 * lazily; it starts again empty, sized for the most entries it held.
 */
static void unstable_forget(void)
{
	struct ksm_index *ix = &ksm_unstable_index;
	unsigned int bits = index_bits_for(ix->peak, KSM_UNSTABLE_PER_BUCKET);
	struct hlist_head *fresh = NULL;

	if (bits != ix->bits)
		fresh = index_alloc(bits);
	if (fresh) {
		kvfree(ix->buckets);
		ix->buckets = fresh;
		WRITE_ONCE(ix->bits, bits);
	} else {
		memset(ix->buckets, 0, index_bytes(ix));
	}
	ix->count = 0;
	ix->peak = 0;
	ksm_cursor.round++;
}

static struct hlist_head *unstable_bucket_of(struct hlist_node *node)
{
	struct ksm_entry *e = hlist_entry(node, struct ksm_entry, hnode);

	return index_bucket(&ksm_unstable_index, entry_domain(e), e->tree_nid,
			    e->csum);
}

/* Empty the unstable index at once, clearing the entries in it. */
static void unstable_clear(void)
{
	struct ksm_index *ix = &ksm_unstable_index;
	struct hlist_node *tmp;
	struct ksm_entry *e;
	unsigned long i;

	for (i = 0; i < (1UL << ix->bits); i++) {
		hlist_for_each_entry_safe(e, tmp, &ix->buckets[i], hnode) {
			e->addr_flags &= ~(E_UNSTABLE | E_ROUND);
			ksm_pages_unshared--;
		}
		INIT_HLIST_HEAD(&ix->buckets[i]);
	}
	ix->count = 0;
}

/* The page an unstable entry stands for, referenced, if still a candidate. */
static struct page *entry_get_page(struct ksm_entry *e)
{
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;
	struct page *page = NULL;
	struct folio_walk fw;
	struct folio *folio;

	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (!vma)
		goto out;
	folio = folio_walk_start(&fw, vma, entry_addr(e), 0);
	if (folio) {
		if (folio_test_anon(folio) && !folio_test_ksm(folio)) {
			page = fw.page;
			folio_get(folio);
		}
		folio_walk_end(&fw, vma);
	}
out:
	mmap_read_unlock(mm);
	return page;
}

/*
 * Look for a page whose content has the checksum @e->csum of @page's in
 * the unstable index, and insert @e there if none is found.  Returns the
 * matching entry, with its page referenced in *@peer_page, or NULL.  Not
 * compared here: make_ksm_page() and merge_page() compare the pages once
 * write-protected, which they have to anyway.
 */
static struct ksm_entry *unstable_find_or_insert(struct ksm_entry *e,
						 struct page *page, int nid,
						 struct page **peer_page)
{
	struct ksm_index *ix = &ksm_unstable_index;
	struct hlist_head *bucket = index_bucket(ix, entry_domain(e), nid,
						 e->csum);
	struct ksm_entry *other;
	struct page *opage;

again:
	hlist_for_each_entry(other, bucket, hnode) {
		if (other->csum != e->csum || other->tree_nid != nid ||
		    entry_domain(other) != entry_domain(e))
			continue;
		cond_resched();
		opage = entry_get_page(other);
		if (!opage) {
			/* Gone, or not a candidate any more. */
			entry_leave_unstable(other);
			goto again;
		}
		if (opage == page) {
			/* The very same page, seen through a fork. */
			put_page(opage);
			return NULL;
		}
		if (!nodes_may_merge(page_to_nid(page), page_to_nid(opage))) {
			/* Migrated since it was inserted: no partner here. */
			put_page(opage);
			return NULL;
		}
		*peer_page = opage;
		return other;
	}
	hlist_add_head(&e->hnode, bucket);
	e->tree_nid = nid;
	ix->count++;
	ix->peak = max(ix->peak, ix->count);
	if (index_too_full(ix, KSM_UNSTABLE_PER_BUCKET))
		index_rehash(ix, index_bits_for(ix->count, KSM_UNSTABLE_PER_BUCKET),
			     unstable_bucket_of);
	e->addr_flags |= E_UNSTABLE;
	if (ksm_cursor.round & 1)
		e->addr_flags |= E_ROUND;
	ksm_pages_unshared++;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Page table work                                                      */
/* ------------------------------------------------------------------ */

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
	struct ksm_entry *e = *cur->link;

	if (!cur->revisits || !e || entry_addr(e) != addr ||
	    !entry_is_stable(e) || folio_shared(page_folio(page)) != e->shared ||
	    e->shared->domain != entry_domain(e))
		return false;
	e->addr_flags &= ~E_FIRST;
	cur->addr = addr + PAGE_SIZE;
	cur->link = &e->next;
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

/* ------------------------------------------------------------------ */
/* Merging                                                              */
/* ------------------------------------------------------------------ */

/*
 * Merge @page, mapped at @e's address, into the KSM folio @kfolio
 * (referenced, not locked; NULL for the zero page), which a lookup in
 * @e's domain found.  The caller holds a reference on @page.  Lock order:
 * mmap_lock, KSM folio, then a trylock of the candidate folio.
 */
static int merge_page(struct ksm_entry *e, struct page *page,
		      struct folio *kfolio)
{
	unsigned long addr = entry_addr(e);
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;
	struct page *kpage;
	struct folio *folio;
	int err = -EFAULT;
	pte_t orig;

	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (!vma || (kfolio && !client_domain_current(e->client)))
		goto out;
	kpage = kfolio ? &kfolio->page : ZERO_PAGE(addr);
	if (kfolio) {
		folio_lock(kfolio);
		if (!shared_folio_current(kfolio) ||
		    !nodes_may_merge(folio_nid(kfolio), page_to_nid(page)))
			goto unlock_kfolio;
	}
	folio = lock_small_folio(page);
	if (!folio)
		goto unlock_kfolio;
	if (!folio_test_anon(folio) || folio_test_ksm(folio) ||
	    wrprotect_pte(vma, folio, addr, &orig) || !page_same(page, kpage))
		goto unlock;
	err = replace_pte(vma, addr, page, kfolio ? kpage : NULL, orig);
	if (!err && kfolio) {
		/*
		 * MADV_FREE of its last mapping may have made the KSM page
		 * clean and lazily freeable: with new sharers it is neither.
		 */
		folio_mark_dirty(kfolio);
		entry_link_shared(e, folio_shared(kfolio), vma->anon_vma);
	}
unlock:
	trace_ksm_merge_with_ksm_page(kfolio ? folio_pfn(kfolio) : 0,
				      page_to_pfn(page), e, mm, err,
				      entry_domain(e));
	folio_unlock(folio);
unlock_kfolio:
	if (kfolio)
		folio_unlock(kfolio);
out:
	mmap_read_unlock(mm);
	return err;
}

/*
 * Turn @page, mapped at @e's address, into a new KSM page, if it still
 * has the content of @peer_page once write-protected.  Returns the new
 * KSM folio referenced, or NULL.
 *
 * Only a page that no other mm maps: one still shared with a fork child
 * since fork() would make the child map a KSM page where it may not have
 * asked for merging (the child's vma need not be VM_MERGEABLE), and where
 * no unmerging would ever look for it (it kept the tree knobs EBUSY after
 * run=2).  mmap_lock keeps this mm from forking meanwhile.  The KSM page
 * is made in @e's domain, which must still be its mm's.
 */
static struct folio *make_ksm_page(struct ksm_entry *e, struct page *page,
				   struct page *peer_page)
{
	struct mm_struct *mm = entry_mm(e);
	struct folio *folio = NULL;
	struct vm_area_struct *vma;
	struct ksm_shared *sh;
	pte_t orig;

	sh = kmem_cache_zalloc(ksm_shared_cache,
			       GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
	if (!sh)
		return NULL;
	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (vma && client_domain_current(e->client))
		folio = lock_small_folio(page);
	if (!folio)
		goto fail;
	if (!folio_test_anon(folio) || folio_test_ksm(folio) ||
	    folio_mapcount(folio) != 1 ||
	    !nodes_may_merge(page_to_nid(page), page_to_nid(peer_page)) ||
	    wrprotect_pte(vma, folio, entry_addr(e), &orig) ||
	    !page_same(page, peer_page)) {
		folio_unlock(folio);
		goto fail;
	}
	/*
	 * A KSM folio must never look clean to reclaim: its ptes are clean,
	 * and a clean folio that MADV_FREE made lazily freeable (or that
	 * MADV_FREE would make so, seeing no dirty bit) is discarded, data
	 * and all, for every process sharing it.  Dirty, it goes to swap.
	 */
	folio_mark_dirty(folio);
	INIT_HLIST_HEAD(&sh->entries);
	INIT_LIST_HEAD(&sh->dups);
	sh->pfn = folio_pfn(folio);
	sh->domain = entry_domain(e);
	sh->nid = tree_nid(folio_nid(folio));
	/* The key both pages were found by; they are equal, and final. */
	sh->csum = e->csum;
	/* From now on rmap walks on the folio go through the descriptor. */
	WRITE_ONCE(folio->mapping, shared_mapping(sh));
	trace_ksm_merge_one_page(folio_pfn(folio), e, mm, 0, sh->domain);
	stable_insert(sh, page);
	entry_link_shared(e, sh, vma->anon_vma);
	folio_get(folio);
	folio_unlock(folio);
	mmap_read_unlock(mm);
	return folio;
fail:
	mmap_read_unlock(mm);
	kmem_cache_free(ksm_shared_cache, sh);
	return NULL;
}

/*
 * @page and @peer_page are two pages of the same large folio: split it
 * now, which cannot be done while we hold two references on it.  Returns
 * the peer's page again, referenced, or NULL.
 */
static struct page *split_shared_folio(struct ksm_entry *e, struct page *page,
				       struct ksm_entry *peer,
				       struct page *peer_page)
{
	struct mm_struct *mm = entry_mm(e);
	struct folio *folio;

	put_page(peer_page);
	mmap_read_lock(mm);
	folio = entry_vma(e) ? lock_small_folio(page) : NULL;
	if (folio)
		folio_unlock(folio);
	mmap_read_unlock(mm);
	return folio ? entry_get_page(peer) : NULL;
}

/*
 * First-sight merging: a page seen for the first time goes on into the
 * unstable index at once, instead of waiting a round for its checksum to
 * show that it does not change, so that static duplicates merge within
 * the first full scan.  A page so merged and written to before ksmd's
 * next visit was merged too early: a COW fault for nothing.  When that
 * happens to more than a quarter of a client's first-sight merges (of at
 * least FIRST_SIGHT_MIN), first-sight merging is off in its mm for
 * FIRST_SIGHT_OFF_ROUNDS rounds.  Both counts decay by half every round.
 * Every other page keeps the checksum test, including a page of an
 * address seen before, which is how a page that COWs after merging waits
 * a round before it merges again.
 */
#define FIRST_SIGHT_MIN		64
#define FIRST_SIGHT_OFF_ROUNDS	8

static bool first_sight_on(struct ksm_client *c)
{
	return !c->first_off;
}

/* The cursor enters @c in a new round. */
static void first_sight_round(struct ksm_client *c)
{
	if (c->first_off) {
		c->first_off--;
	} else if (c->first_merged >= FIRST_SIGHT_MIN &&
		   c->first_broken * 4 > c->first_merged) {
		c->first_off = FIRST_SIGHT_OFF_ROUNDS;
		c->first_merged = 0;
		c->first_broken = 0;
	}
	c->first_merged /= 2;
	c->first_broken /= 2;
}

/* @e has just been merged; count it if it went on at first sight. */
static void first_sight_merged(struct ksm_entry *e)
{
	if ((e->addr_flags & E_FIRST) && entry_is_stable(e))
		e->client->first_merged++;
}

/*
 * Two identical ordinary pages: make one a KSM page, map it for both.
 * Consumes the reference on @peer_page.
 */
static void merge_pair(struct ksm_entry *e, struct page *page,
		       struct ksm_entry *peer, struct page *peer_page)
{
	struct ksm_entry *ke = e, *other = peer;
	struct page *kpage = page, *opage;
	struct folio *kfolio;

	if (page_folio(page) == page_folio(peer_page)) {
		peer_page = split_shared_folio(e, page, peer, peer_page);
		if (!peer_page)
			return;
	}
	opage = peer_page;
	entry_leave_unstable(peer);
	/* A page still shared since fork() cannot be the KSM page. */
	if (folio_mapcount(page_folio(page)) > 1) {
		swap(ke, other);
		swap(kpage, opage);
	}
	kfolio = make_ksm_page(ke, kpage, opage);
	if (!kfolio)
		goto out;
	if (merge_page(other, opage, kfolio)) {
		/* No KSM page with a single user: give it back. */
		entry_break(ke);
		if (entry_is_stable(ke))
			entry_leave_stable(ke);
	} else {
		first_sight_merged(ke);
		first_sight_merged(other);
	}
	folio_put(kfolio);
out:
	put_page(peer_page);
}

/*
 * @page is a KSM page already (a fork child's, say): list @e with it, or
 * unmerge it here if it was made in another domain than @e's.
 */
static void adopt_ksm_page(struct ksm_entry *e, struct page *page)
{
	struct folio *folio = page_folio(page);
	struct mm_struct *mm = entry_mm(e);
	struct vm_area_struct *vma;
	struct ksm_shared *sh;
	bool foreign = false;

	mmap_read_lock(mm);
	vma = entry_vma(e);
	if (vma) {
		folio_lock(folio);
		sh = folio_shared(folio);
		if (sh && shared_folio_current(folio)) {
			foreign = sh->domain != entry_domain(e) ||
				  !client_domain_current(e->client);
			if (!foreign)
				entry_link_shared(e, sh, vma->anon_vma);
		}
		folio_unlock(folio);
		if (foreign)
			break_ksm_at(vma, entry_addr(e));
	}
	mmap_read_unlock(mm);
}

/* Smart scan: skip pages that keep failing to merge, more and more. */
static bool smart_skip(struct ksm_entry *e)
{
	unsigned long skip = (e->addr_flags & E_SKIP_MASK) >> E_SKIP_SHIFT;

	if (!ksm_smart_scan || !skip)
		return false;
	e->addr_flags &= ~E_SKIP_MASK;
	e->addr_flags |= (skip - 1) << E_SKIP_SHIFT;
	ksm_pages_skipped++;
	return true;
}

/*
 * Another round in which @e's page stayed unique.  From the fifth in a
 * row on, skip it for 1, 2, then 4 rounds between looks.
 */
static void smart_age(struct ksm_entry *e)
{
	unsigned long age = (e->addr_flags & E_AGE_MASK) >> E_AGE_SHIFT;
	unsigned long skip = 0;

	if (age < 7)
		age++;
	if (age >= 5)
		skip = min(1UL << (age - 5), 7UL);
	e->addr_flags &= ~(E_AGE_MASK | E_SKIP_MASK);
	e->addr_flags |= (age << E_AGE_SHIFT) | (skip << E_SKIP_SHIFT);
}

/* The heart of ksmd: what to do with one page found by the scan. */
static void scan_page(struct ksm_entry *e, struct page *page)
{
	struct folio *folio = page_folio(page);
	bool first = !(e->addr_flags & E_SEEN);
	bool went_first = e->addr_flags & E_FIRST;
	struct ksm_entry *peer;
	struct page *peer_page;
	struct folio *kfolio;
	int nid;
	u64 csum;

	e->addr_flags = (e->addr_flags | E_SEEN) & ~E_FIRST;
	if (entry_is_stable(e)) {
		bool merged = folio_shared(folio) == e->shared;

		if (merged && e->shared->domain == entry_domain(e))
			return;		/* still merged */
		if (!merged && went_first)
			e->client->first_broken++;
		entry_leave_stable(e);
		if (merged) {
			/* Merged in a domain its mm has left: unmerge. */
			entry_break(e);
			return;
		}
	} else if (entry_is_unstable(e)) {
		entry_leave_unstable(e);
	}

	if (folio_test_ksm(folio)) {
		adopt_ksm_page(e, page);
		return;
	}
	if (smart_skip(e))
		return;
	/*
	 * Merging a page of a huge page splits it, and the split itself
	 * maps the zero-filled pages to the shared zero page: no huge page
	 * is broken up for those alone.  Its other pages may still merge.
	 */
	if (folio_test_large(folio) && page_is_zero_filled(page)) {
		smart_age(e);
		return;
	}

	nid = tree_nid(page_to_nid(page));
	csum = page_csum(page);
	kfolio = stable_find(page, nid, entry_domain(e), csum);
	if (kfolio) {
		merge_page(e, page, kfolio);
		folio_put(kfolio);
		return;
	}

	if (ksm_use_zero_pages && csum == ksm_zero_csum &&
	    !merge_page(e, page, NULL))
		return;

	/*
	 * Only a page that kept its content since the last visit goes on,
	 * or one seen for the first time (first-sight merging).
	 */
	if (e->csum != csum) {
		e->csum = csum;
		e->addr_flags &= ~(E_AGE_MASK | E_SKIP_MASK);
		if (!first || !first_sight_on(e->client))
			return;
		e->addr_flags |= E_FIRST;
	}

	peer = unstable_find_or_insert(e, page, nid, &peer_page);
	if (!peer) {
		/* Unchanged, yet unique: a candidate for smart scan skips. */
		smart_age(e);
		return;
	}
	merge_pair(e, page, peer, peer_page);
}

/* ------------------------------------------------------------------ */
/* Clients and the scan cursor                                          */
/* ------------------------------------------------------------------ */

/* Point the cursor at the start of @c; under ksm_clients_lock. */
static void cursor_set(struct ksm_client *c)
{
	ksm_cursor.client = c;
	ksm_cursor.addr = 0;
	ksm_cursor.link = c ? &c->entries : NULL;
	if (!c)
		return;
	if (c->round != ksm_full_scans) {
		c->round = ksm_full_scans;
		c->revisited = false;
		/* None of its entries is in this round's unstable index yet. */
		c->domain = client_domain_now(c);
		first_sight_round(c);
	}
	c->missed = false;
}

/*
 * Areas of @c's mm have just become mergeable (their pages may already be
 * there), under its mmap_lock held for write.  A full scan counted after
 * this must have looked at them: if the cursor has already been through
 * that mm in the current round, it goes back to it once, either from the
 * start of the mm when it reaches its end (the cursor is in it now), or
 * by moving the client after the cursor.  Once a round per client, so
 * that madvise in a loop cannot keep a round from ending.
 */
static void client_areas_added(struct mm_struct *mm)
{
	struct ksm_client *c;

	spin_lock(&ksm_clients_lock);
	c = client_lookup(mm);
	/* full_scans only changes while the cursor is on no client. */
	if (c && ksm_cursor.client && c->round == READ_ONCE(ksm_full_scans) &&
	    !c->revisited) {
		if (ksm_cursor.client == c) {
			c->missed = true;
		} else {
			list_move_tail(&c->link, &ksm_clients);
			c->revisited = true;
		}
	}
	spin_unlock(&ksm_clients_lock);
}

/* The client after @c, or NULL at the end; under ksm_clients_lock. */
static struct ksm_client *client_after(struct ksm_client *c)
{
	if (list_is_last(&c->link, &ksm_clients))
		return NULL;
	return list_next_entry(c, link);
}

/* ksmd's CPU time so far, in ns. */
static u64 ksmd_runtime(void)
{
	return READ_ONCE(ksmd_task->se.sum_exec_runtime);
}

/*
 * The advisor's one decision, made when a round ends: scale pages_to_scan
 * by how much longer (or shorter) the round took than wanted, halfway
 * from the current value (to damp oscillation), then cap by the CPU the
 * new value would cost, and keep it within the configured bounds.
 */
static void advisor_adjust(void)
{
	u64 elapsed_ms = ktime_ms_delta(ktime_get(), ksm_round_start);
	u64 cpu_ms = div_u64(ksmd_runtime() - ksm_round_start_cpu,
			     NSEC_PER_MSEC);
	u64 target_ms = (u64)ksm_advisor_target_scan_time * MSEC_PER_SEC;
	u64 cur = ksm_pages_to_scan, want, cpu_pct;

	if (!elapsed_ms || !target_ms)
		return;
	want = div64_u64(cur * elapsed_ms, target_ms);
	want = (cur + want) / 2;
	cpu_pct = div64_u64(cpu_ms * 100, elapsed_ms);
	if (cpu_pct && div64_u64(cpu_pct * want, cur ?: 1) > ksm_advisor_max_cpu)
		want = div64_u64(cur * ksm_advisor_max_cpu, cpu_pct);
	want = clamp_t(u64, want, ksm_advisor_min_pages, ksm_advisor_max_pages);
	WRITE_ONCE(ksm_pages_to_scan, want);
	trace_ksm_advisor(div_u64(elapsed_ms, MSEC_PER_SEC), want, cpu_pct);
}

/*
 * Every page of the round has been looked at.  Count the round before
 * anything that may sleep: whoever changed a page after it was looked at
 * and then waits for one more full scan must not see this one counted.
 */
static void round_end(void)
{
	trace_ksm_stop_scan(ksm_full_scans, ksm_entries_total);
	WRITE_ONCE(ksm_full_scans, ksm_full_scans + 1);
	unstable_forget();
	stable_prune_stale(chains_prune_due());
	stable_index_shrink();
	if (ksm_advisor == KSM_ADVISOR_SCAN_TIME)
		advisor_adjust();
}

static void entry_free(struct ksm_entry *e)
{
	trace_ksm_remove_rmap_item(entry_is_stable(e) ? e->shared->pfn : 0, e,
				   entry_mm(e));
	entry_leave_trees(e);
	ksm_entries_total--;
	entry_mm(e)->ksm_rmap_items--;
	kmem_cache_free(ksm_entry_cache, e);
}

static void entries_free_from(struct ksm_entry **link)
{
	struct ksm_entry *e;

	while ((e = *link)) {
		*link = e->next;
		entry_free(e);
		cond_resched();
	}
}

/*
 * Forget a client whose mm is exiting (or whose entries are all gone and
 * who is unregistering).  Returns true if this moved the cursor past the
 * last client.
 */
static bool client_release(struct ksm_client *c)
{
	struct mm_struct *mm = c->mm;
	bool wrapped = false;

	entries_free_from(&c->entries);
	spin_lock(&ksm_clients_lock);
	if (ksm_cursor.client == c) {
		cursor_set(client_after(c));
		wrapped = !ksm_cursor.client;
	}
	hash_del(&c->hnode);
	list_del(&c->link);
	spin_unlock(&ksm_clients_lock);

	clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
	clear_bit(MMF_VM_MERGEABLE, &mm->flags);
	trace_ksm_exit(mm);
	mmdrop(mm);
	kmem_cache_free(ksm_client_cache, c);
	return wrapped;
}

/*
 * Move the cursor to the next client, ending the round after the last.
 * Returns false if that ended the round.
 */
static bool cursor_next_client(void)
{
	struct ksm_client *next = ksm_cursor.client;

	spin_lock(&ksm_clients_lock);
	if (next->missed) {
		/* Back to the start of this mm: see client_areas_added(). */
		next->revisited = true;
		ksm_cursor.addr = 0;
		ksm_cursor.link = &next->entries;
		next->missed = false;
		spin_unlock(&ksm_clients_lock);
		return true;
	}
	next = client_after(next);
	cursor_set(next);
	spin_unlock(&ksm_clients_lock);
	if (!next)
		round_end();
	return next;
}

static bool cursor_start_round(void)
{
	struct ksm_client *first;

	if (list_empty(&ksm_clients))
		return false;
	/*
	 * Freshly faulted pages wait in per-cpu LRU batches holding a
	 * reference, which would make wrprotect_pte() refuse them.  Not
	 * worth it when the last round found nothing to look at.
	 */
	if (ksm_pages_scanned != ksm_round_start_scanned)
		lru_add_drain_all();
	ksm_round_start_scanned = ksm_pages_scanned;
	spin_lock(&ksm_clients_lock);
	first = list_first_entry_or_null(&ksm_clients, struct ksm_client, link);
	cursor_set(first);
	spin_unlock(&ksm_clients_lock);
	if (first) {
		ksm_round_start = ktime_get();
		ksm_round_start_cpu = ksmd_runtime();
		trace_ksm_start_scan(ksm_full_scans, ksm_entries_total);
	}
	return first;
}

/*
 * Bounds on the work done for one step of the cursor, so that neither
 * ksm_lock nor an mmap_lock is held for long when a huge range has gone
 * (its entries are freed a batch at a time) or is empty (the seek looks
 * at so much address space at a time).  A step cut short resumes where
 * it stopped, and counts as KSM_STEP_COST pages of ksmd's budget.
 */
#define KSM_FREE_BATCH		128
#define KSM_SEEK_SPAN		(64UL << 20)
#define KSM_STEP_COST		16

/* How a step of the cursor ended. */
enum scan_step {
	SCAN_PAGE,	/* found a page to scan */
	SCAN_MORE,	/* work bound reached: go on after dropping the locks */
	SCAN_END,	/* end of this mm: go on to the next client */
	SCAN_YIELD,	/* a lock we hold is wanted: let its waiter in */
	SCAN_IDLE,	/* nothing (more) to scan now: the batch ends */
};

/*
 * Free the entries from *@link on whose address is below @addr (all of
 * them if @addr is 0), at most KSM_FREE_BATCH, and none more once a
 * writer waits for the mmap_lock of @mm (held, if @mm is given); false if
 * some are left.
 */
static bool entries_free_below(struct ksm_entry **link, unsigned long addr,
			       struct mm_struct *mm)
{
	struct ksm_entry *e;
	unsigned int n = 0;

	while ((e = *link) && (!addr || entry_addr(e) < addr)) {
		if (n++ == KSM_FREE_BATCH || (mm && mmap_lock_is_contended(mm)))
			return false;
		*link = e->next;
		entry_free(e);
	}
	return true;
}

/*
 * Find the entry for @addr at the cursor, creating it if needed; entries
 * for lower addresses belong to pages that are gone and are freed.
 * ERR_PTR(-EAGAIN) if that took a batch and more remain.
 */
static struct ksm_entry *cursor_entry_at(unsigned long addr)
{
	struct ksm_entry **link = ksm_cursor.link;
	struct ksm_entry *e;

	if (!entries_free_below(link, addr, ksm_cursor.client->mm))
		return ERR_PTR(-EAGAIN);
	e = *link;
	if (e && entry_addr(e) == addr)
		return e;
	e = kmem_cache_zalloc(ksm_entry_cache,
			      GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
	if (!e)
		return NULL;
	e->client = ksm_cursor.client;
	e->addr_flags = addr;
	e->next = *link;
	*link = e;
	ksm_entries_total++;
	entry_mm(e)->ksm_rmap_items++;
	return e;
}

/*
 * The first candidate page in @mm at or after @addr, looking at no more
 * than KSM_SEEK_SPAN of mergeable address space.  SCAN_PAGE: its address
 * is in *@found, the page referenced in *@pagep.  SCAN_MORE: none up to
 * *@found, where the seek should resume.  SCAN_END: none up to the end
 * of @mm.  The caller holds the mmap_lock.
 */
static enum scan_step mm_seek_page(struct mm_struct *mm, unsigned long addr,
				   unsigned long *found, struct page **pagep)
{
	VMA_ITERATOR(vmi, mm, addr);
	unsigned long limit = addr + min(KSM_SEEK_SPAN, mm->task_size - addr);
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma) {
		struct page_seek seek = { .cur = &ksm_cursor };
		unsigned long start = max(addr, vma->vm_start);

		if (!(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
			continue;
		if (start >= limit) {
			*found = start;
			return SCAN_MORE;
		}
		if (seek_page(vma, start, min(vma->vm_end, limit), &seek)) {
			*found = seek.addr;
			*pagep = seek.page;
			return SCAN_PAGE;
		}
		if (vma->vm_end > limit) {
			*found = limit;
			return SCAN_MORE;
		}
	}
	return SCAN_END;
}

/*
 * Look for the next candidate page in the cursor's mm, from the cursor's
 * address on; the caller holds its mmap_lock.  SCAN_PAGE: its entry is in
 * *@ep, the page referenced in *@pagep, and the cursor is left on it
 * (cursor_step() moves it past).  SCAN_IDLE: an entry could not be
 * allocated.  Otherwise as mm_seek_page().
 */
static enum scan_step scan_in_mm(struct mm_struct *mm, struct ksm_entry **ep,
				 struct page **pagep)
{
	struct ksm_cursor *cur = &ksm_cursor;
	enum scan_step step;
	unsigned long addr;
	struct ksm_entry *e;

	step = mm_seek_page(mm, cur->addr, &addr, pagep);
	if (step == SCAN_END)
		return step;
	cur->addr = addr;
	if (step == SCAN_MORE)
		return step;
	e = cursor_entry_at(addr);
	if (IS_ERR_OR_NULL(e)) {
		put_page(*pagep);
		return e ? SCAN_MORE : SCAN_IDLE;
	}
	*ep = e;
	return SCAN_PAGE;
}

/* Move the cursor past @e, the entry it is on, before its page is scanned. */
static void cursor_step(struct ksm_entry *e)
{
	ksm_cursor.addr = entry_addr(e) + PAGE_SIZE;
	ksm_cursor.link = &e->next;
}

/*
 * The cursor has reached the end of its mm, or the mm is exiting: free
 * the entries left past the cursor (all of them if it is exiting), a
 * batch at a time (SCAN_MORE while some are left), then go on to the next
 * client (SCAN_END), or end the round after the last one (SCAN_IDLE).
 * No mmap_lock is held: entries are ksm_lock's alone.
 */
static enum scan_step scan_end_of_mm(bool exiting)
{
	struct ksm_cursor *cur = &ksm_cursor;
	struct ksm_client *c = cur->client;

	if (exiting)
		cur->link = &c->entries;	/* all of them go */
	if (!entries_free_below(cur->link, 0, NULL))
		return SCAN_MORE;
	if (exiting) {
		if (!client_release(c))
			return SCAN_END;
		round_end();
		return SCAN_IDLE;
	}
	/* A completed round ends the batch: ksmd may sleep now. */
	return cursor_next_client() ? SCAN_END : SCAN_IDLE;
}

/*
 * Advance the cursor towards the next anonymous page of a VM_MERGEABLE
 * vma, doing a bounded amount of work: SCAN_PAGE (its entry in *@ep, the
 * page referenced in *@pagep), SCAN_MORE or SCAN_IDLE.
 */
static enum scan_step scan_next(struct ksm_entry **ep, struct page **pagep)
{
	struct ksm_cursor *cur = &ksm_cursor;
	struct mm_struct *mm;
	enum scan_step step;
	bool exiting;

	do {
		if (!cur->client && !cursor_start_round())
			return SCAN_IDLE;
		mm = cur->client->mm;
		/* A writer waits for the mm: let it go first, once per step. */
		if (!cur->yielded && mmap_lock_is_contended(mm)) {
			cur->yielded = true;
			return SCAN_YIELD;
		}
		mmap_read_lock(mm);
		exiting = mm_is_exiting(mm);
		step = exiting ? SCAN_END : scan_in_mm(mm, ep, pagep);
		mmap_read_unlock(mm);
		cur->yielded = false;
		if (step == SCAN_END)
			step = scan_end_of_mm(exiting);
		cond_resched();
	} while (step == SCAN_END);
	return step;
}

/*
 * Most pages scanned in one hold of ksm_lock: a larger pages_to_scan is
 * scanned in such chunks, letting the freezer in between.
 */
#define KSM_CHUNK_PAGES		64

/*
 * Scan up to @nr pages (at most KSM_CHUNK_PAGES) under ksm_lock; returns
 * how much of ksmd's budget that used (pages scanned, plus KSM_STEP_COST
 * for each step cut short).  *@why says why the chunk ended: SCAN_IDLE,
 * nothing more to scan now; SCAN_YIELD, a lock we hold is wanted (the
 * step counts as one cut short); SCAN_MORE, @nr reached.  With @last, the
 * chunk completes ksmd's batch: the cursor then goes on to the next page
 * to scan, without scanning it, so that passing the end of the last mm on
 * the way ends the round before ksmd sleeps.  A round is so counted as
 * soon as its last page has been looked at, and full_scans never counts a
 * round whose pages were all looked at before a change that its reader
 * made while ksmd slept.
 */
static unsigned int ksm_scan_chunk(unsigned int nr, bool last,
				   enum scan_step *why)
{
	unsigned int used = 0;
	enum scan_step step;
	struct ksm_entry *e;
	struct page *page;

	lockdep_assert_held(&ksm_lock);
	*why = SCAN_MORE;
	while (READ_ONCE(ksm_run) == KSM_RUN_MERGE) {
		if (used >= nr && !last)
			return used;
		/* Pages still merged may be passed within what is left. */
		ksm_cursor.revisits = used + 1 < nr ? nr - used - 1 : 0;
		ksm_cursor.passed = 0;
		/* Someone waits for ksm_lock: give way within a page. */
		step = atomic_read(&ksm_lock_waiters) ? SCAN_YIELD :
						       scan_next(&e, &page);
		used += ksm_cursor.passed;
		if (step == SCAN_IDLE)
			break;
		if (step == SCAN_YIELD) {
			*why = step;
			return used + KSM_STEP_COST;
		}
		if (used >= nr) {
			/* Look-ahead only: the next batch starts here. */
			if (step == SCAN_PAGE)
				put_page(page);
			return used;
		}
		if (step == SCAN_PAGE) {
			cursor_step(e);
			ksm_pages_scanned++;
			scan_page(e, page);
			put_page(page);
			used++;
		} else {
			used += KSM_STEP_COST;
		}
		cond_resched();
	}
	*why = SCAN_IDLE;
	return used;
}

/* ------------------------------------------------------------------ */
/* ksmd                                                                 */
/* ------------------------------------------------------------------ */

/*
 * ksm_lock for anyone but ksmd (sysfs writers, memory hot-remove): ksmd
 * sees the waiter at its next page, drops the lock and waits for the
 * waiter to have it, so the wait is never longer than one page's work.
 */
static void ksm_lock_wait(void)
{
	atomic_inc(&ksm_lock_waiters);
	mutex_lock(&ksm_lock);
	atomic_dec(&ksm_lock_waiters);
	wake_up_var(&ksm_lock_waiters);
}

/*
 * ksmd has dropped its locks for a waiter.  A ksm_lock waiter is waited
 * for until it has the lock; a waiting mmap_lock writer is given a tick.
 */
static void ksmd_give_way(void)
{
	/* Interruptible: not a hung task if the waiter waits long itself. */
	if (atomic_read(&ksm_lock_waiters))
		wait_var_event_interruptible(&ksm_lock_waiters,
					     !atomic_read(&ksm_lock_waiters));
	else
		schedule_timeout_idle(1);
}

static bool ksmd_has_work(void)
{
	return READ_ONCE(ksm_run) == KSM_RUN_MERGE && !list_empty(&ksm_clients);
}

/* ksmd must stop what it is doing: for kthread_stop() or the freezer. */
static bool ksmd_interrupted(void)
{
	return kthread_should_stop() || freezing(current);
}

/*
 * One batch: pages_to_scan pages (or steps, see ksm_scan_chunk()), in
 * chunks.  Returns the number of pages scanned.
 */
static unsigned int ksmd_scan_batch(void)
{
	unsigned int nr = READ_ONCE(ksm_pages_to_scan);
	unsigned long scanned = ksm_pages_scanned;
	unsigned int used = 0, chunk;
	enum scan_step why;

	do {
		chunk = min(nr - used, KSM_CHUNK_PAGES);
		mutex_lock(&ksm_lock);
		if (ksmd_has_work())
			used += ksm_scan_chunk(chunk, used + chunk >= nr, &why);
		else
			why = SCAN_IDLE;
		mutex_unlock(&ksm_lock);
		if (why == SCAN_YIELD)
			ksmd_give_way();
		else
			cond_resched();
	} while (why != SCAN_IDLE && used < nr && !ksmd_interrupted());
	return ksm_pages_scanned - scanned;
}

/*
 * With sleep_millisecs=0 ksmd only yields between batches, but a batch that
 * found no page at all (every mergeable area empty) would turn that into a
 * busy loop of empty rounds: such a batch sleeps this long instead.
 */
#define KSMD_IDLE_MS	10

/* Sleep between two batches, the last of which scanned @scanned pages. */
static void ksmd_pause(unsigned int scanned)
{
	unsigned int set = READ_ONCE(ksm_sleep_ms);
	unsigned int ms = set;

	if (!ms && !scanned)
		ms = KSMD_IDLE_MS;
	if (!ms) {
		try_to_freeze();
		cond_resched();
		return;
	}
	/* A new sleep_millisecs value ends the sleep at once. */
	wait_event_freezable_timeout(ksmd_wait, kthread_should_stop() ||
				     READ_ONCE(ksm_sleep_ms) != set,
				     msecs_to_jiffies(ms));
}

static int ksmd_main(void *unused)
{
	set_freezable();
	set_user_nice(current, 5);

	while (!kthread_should_stop()) {
		unsigned int scanned = ksmd_has_work() ? ksmd_scan_batch() : 0;

		if (ksmd_has_work())
			ksmd_pause(scanned);
		else
			wait_event_freezable(ksmd_wait, ksmd_has_work() ||
					     kthread_should_stop());
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Registration                                                         */
/* ------------------------------------------------------------------ */

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
	if (c && c != ksm_cursor.client && !c->entries) {
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
		entries_free_from(&c->entries);
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

/* ------------------------------------------------------------------ */
/* Reverse map, migration, memory failure, swap                         */
/* ------------------------------------------------------------------ */

/*
 * Visit the vmas that may map @addr through @e's anon_vma: with
 * @own_mm those of @e's mm, otherwise those of other mms (fork children
 * not yet seen by ksmd).  Returns false to stop the walk.
 */
static bool walk_entry_vmas(struct folio *folio, struct ksm_entry *e,
			    bool own_mm, struct rmap_walk_control *rwc)
{
	struct anon_vma *anon_vma = e->anon_vma;
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
		hlist_for_each_entry(e, &sh->entries, sibling) {
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
	struct anon_vma *anon_vma = e->anon_vma;
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
	hlist_for_each_entry(e, &sh->entries, sibling)
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

long ksm_process_profit(struct mm_struct *mm)
{
	return (long)(mm->ksm_merging_pages + mm_ksm_zero_pages(mm)) *
		PAGE_SIZE - mm->ksm_rmap_items * sizeof(struct ksm_entry);
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
		ksm_entries_total * sizeof(struct ksm_entry) -
		ksm_index_bytes();
}

/* ------------------------------------------------------------------ */
/* Memory hot-remove                                                    */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* sysfs: /sys/kernel/mm/ksm/                                           */
/* ------------------------------------------------------------------ */

#ifdef CONFIG_SYSFS
static ssize_t run_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(ksm_run));
}

/* 0 stops ksmd, 1 runs it, 2 stops it and unmerges every KSM page. */
static ssize_t run_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	unsigned int mode;
	int err = 0;

	if (kstrtouint(buf, 10, &mode) || mode > KSM_RUN_UNMERGE)
		return -EINVAL;

	ksm_lock_wait();
	if (mode != ksm_run) {
		WRITE_ONCE(ksm_run, mode);
		if (mode == KSM_RUN_UNMERGE) {
			/* The OOM killer should pick us if we fill memory. */
			set_current_oom_origin();
			err = unmerge_everything();
			clear_current_oom_origin();
			if (err)
				WRITE_ONCE(ksm_run, KSM_RUN_STOP);
		}
	}
	mutex_unlock(&ksm_lock);

	if (mode == KSM_RUN_MERGE)
		wake_up_interruptible(&ksmd_wait);
	return err ? err : count;
}

static struct kobj_attribute run_attr = __ATTR_RW(run);

/* Changing how the trees are organised needs them empty. */
static bool ksm_trees_empty(void)
{
	return !ksm_stable_index.count;
}

/*
 * Set a knob that decides how the trees are organised (merge_across_nodes,
 * max_page_sharing, merge_scope): only while there are no KSM pages, else
 * -EBUSY.  The unstable index is emptied and every client's domain taken
 * again under the new value.  Under ksm_lock.
 */
static int set_tree_knob(unsigned int *var, unsigned int val)
{
	struct ksm_client *c;

	if (val == *var)
		return 0;
	stable_detach_unmapped();
	if (!ksm_trees_empty())
		return -EBUSY;
	unstable_clear();
	WRITE_ONCE(*var, val);
	spin_lock(&ksm_clients_lock);
	list_for_each_entry(c, &ksm_clients, link)
		c->domain = client_domain_now(c);
	spin_unlock(&ksm_clients_lock);
	return 0;
}

/**
 * struct ksm_knob - a numeric tunable in /sys/kernel/mm/ksm
 * @kattr: the sysfs attribute
 * @value: the variable it sets
 * @min: smallest value accepted
 * @max: largest value accepted
 * @boolean: also takes the words kstrtobool() knows ("y", "off", ...)
 * @needs_empty_trees: only changeable while there are no KSM pages
 * @wakes_ksmd: ksmd should look at the new value at once
 */
struct ksm_knob {
	struct kobj_attribute kattr;
	unsigned int *value;
	unsigned int min;
	unsigned int max;
	bool boolean;
	bool needs_empty_trees;
	bool wakes_ksmd;
};

static ssize_t knob_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct ksm_knob *knob = container_of(attr, struct ksm_knob, kattr);

	return sysfs_emit(buf, "%u\n", READ_ONCE(*knob->value));
}

static int knob_parse(struct ksm_knob *knob, const char *buf,
		      unsigned int *val)
{
	bool flag;

	if (knob->boolean) {
		if (kstrtobool(buf, &flag))
			return -EINVAL;
		*val = flag;
		return 0;
	}
	if (kstrtouint(buf, 10, val) || *val < knob->min || *val > knob->max)
		return -EINVAL;
	return 0;
}

static ssize_t knob_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	struct ksm_knob *knob = container_of(attr, struct ksm_knob, kattr);
	ssize_t ret = count;
	unsigned int val;

	if (knob_parse(knob, buf, &val))
		return -EINVAL;
	/* The scan-time advisor owns pages_to_scan while it is on. */
	if (knob->value == &ksm_pages_to_scan &&
	    READ_ONCE(ksm_advisor) != KSM_ADVISOR_NONE)
		return -EINVAL;
	if (!knob->needs_empty_trees) {
		WRITE_ONCE(*knob->value, val);
	} else {
		ksm_lock_wait();
		if (set_tree_knob(knob->value, val))
			ret = -EBUSY;
		mutex_unlock(&ksm_lock);
	}
	if (knob->wakes_ksmd)
		wake_up_interruptible(&ksmd_wait);
	return ret;
}

#define KSM_KNOB(_name, _var, _min, _max, ...)				\
static struct ksm_knob _name##_knob = {					\
	.kattr = __ATTR(_name, 0644, knob_show, knob_store),		\
	.value = &(_var), .min = (_min), .max = (_max), __VA_ARGS__	\
}

KSM_KNOB(pages_to_scan, ksm_pages_to_scan, 0, UINT_MAX);
KSM_KNOB(sleep_millisecs, ksm_sleep_ms, 0, UINT_MAX, .wakes_ksmd = true);
KSM_KNOB(use_zero_pages, ksm_use_zero_pages, 0, 1, .boolean = true);
KSM_KNOB(smart_scan, ksm_smart_scan, 0, 1, .boolean = true);
KSM_KNOB(merge_across_nodes, ksm_merge_across_nodes, 0, 1,
	 .needs_empty_trees = true);
KSM_KNOB(max_page_sharing, ksm_max_page_sharing, 2, UINT_MAX,
	 .needs_empty_trees = true);
KSM_KNOB(stable_node_chains_prune_millisecs, ksm_chains_prune_ms, 0,
	 UINT_MAX);
KSM_KNOB(advisor_max_cpu, ksm_advisor_max_cpu, 1, 100);
KSM_KNOB(advisor_target_scan_time, ksm_advisor_target_scan_time, 1,
	 UINT_MAX);
KSM_KNOB(advisor_min_pages_to_scan, ksm_advisor_min_pages, 1, UINT_MAX);
KSM_KNOB(advisor_max_pages_to_scan, ksm_advisor_max_pages, 1, UINT_MAX);

static const char * const ksm_advisor_names[] = {
	[KSM_ADVISOR_NONE]	= "none",
	[KSM_ADVISOR_SCAN_TIME]	= "scan-time",
};

/* A knob of named choices reads them all, the current one in brackets. */
static ssize_t choices_show(char *buf, const char * const *names, int n,
			    int cur)
{
	int i, len = 0;

	for (i = 0; i < n; i++)
		len += sysfs_emit_at(buf, len, i == cur ? "%s[%s]" : "%s%s",
				     i ? " " : "", names[i]);
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

static ssize_t advisor_mode_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return choices_show(buf, ksm_advisor_names,
			    ARRAY_SIZE(ksm_advisor_names), READ_ONCE(ksm_advisor));
}

static ssize_t advisor_mode_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	int mode = sysfs_match_string(ksm_advisor_names, buf);

	if (mode < 0)
		return -EINVAL;
	ksm_lock_wait();
	if (mode != ksm_advisor) {
		/* Start from the minimum; give the old value back after. */
		if (mode == KSM_ADVISOR_SCAN_TIME) {
			ksm_advisor_saved_pages = ksm_pages_to_scan;
			WRITE_ONCE(ksm_pages_to_scan, ksm_advisor_min_pages);
		} else {
			WRITE_ONCE(ksm_pages_to_scan, ksm_advisor_saved_pages);
		}
		WRITE_ONCE(ksm_advisor, mode);
	}
	mutex_unlock(&ksm_lock);
	return count;
}

static struct kobj_attribute advisor_mode_attr = __ATTR_RW(advisor_mode);

static ssize_t merge_scope_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return choices_show(buf, ksm_scope_names, ARRAY_SIZE(ksm_scope_names),
			    READ_ONCE(ksm_merge_scope));
}

/* Like merge_across_nodes: only while there are no KSM pages. */
static ssize_t merge_scope_store(struct kobject *kobj,
				 struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	int scope = sysfs_match_string(ksm_scope_names, buf);
	int err;

	if (scope < 0)
		return -EINVAL;
	ksm_lock_wait();
	err = set_tree_knob(&ksm_merge_scope, scope);
	mutex_unlock(&ksm_lock);
	return err ? err : count;
}

static struct kobj_attribute merge_scope_attr = __ATTR_RW(merge_scope);

#define KSM_STAT(_name, _expr)						\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n", (long)(_expr));			\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

KSM_STAT(pages_shared, READ_ONCE(ksm_pages_shared));
KSM_STAT(pages_sharing, READ_ONCE(ksm_pages_sharing));
KSM_STAT(pages_unshared, READ_ONCE(ksm_pages_unshared));
KSM_STAT(pages_volatile, max(0L, (long)READ_ONCE(ksm_entries_total) -
			     (long)READ_ONCE(ksm_pages_shared) -
			     (long)READ_ONCE(ksm_pages_sharing) -
			     (long)READ_ONCE(ksm_pages_unshared)));
KSM_STAT(pages_skipped, READ_ONCE(ksm_pages_skipped));
KSM_STAT(pages_scanned, READ_ONCE(ksm_pages_scanned));
KSM_STAT(full_scans, READ_ONCE(ksm_full_scans));
KSM_STAT(general_profit, ksm_general_profit());
KSM_STAT(index_bytes, ksm_index_bytes());
KSM_STAT(ksm_zero_pages, ksm_zero_pages_total());
KSM_STAT(stable_node_chains, READ_ONCE(ksm_chains));
KSM_STAT(stable_node_dups, READ_ONCE(ksm_chained));

static struct attribute *ksm_attrs[] = {
	&run_attr.attr,
	&pages_to_scan_knob.kattr.attr,
	&sleep_millisecs_knob.kattr.attr,
	&use_zero_pages_knob.kattr.attr,
	&smart_scan_knob.kattr.attr,
	&merge_across_nodes_knob.kattr.attr,
	&max_page_sharing_knob.kattr.attr,
	&merge_scope_attr.attr,
	&stable_node_chains_prune_millisecs_knob.kattr.attr,
	&advisor_mode_attr.attr,
	&advisor_max_cpu_knob.kattr.attr,
	&advisor_target_scan_time_knob.kattr.attr,
	&advisor_min_pages_to_scan_knob.kattr.attr,
	&advisor_max_pages_to_scan_knob.kattr.attr,
	&pages_shared_attr.attr,
	&pages_sharing_attr.attr,
	&pages_unshared_attr.attr,
	&pages_volatile_attr.attr,
	&pages_skipped_attr.attr,
	&pages_scanned_attr.attr,
	&full_scans_attr.attr,
	&general_profit_attr.attr,
	&index_bytes_attr.attr,
	&ksm_zero_pages_attr.attr,
	&stable_node_chains_attr.attr,
	&stable_node_dups_attr.attr,
	NULL,
};

static const struct attribute_group ksm_attr_group = {
	.attrs = ksm_attrs,
	.name = "ksm",
};
#endif /* CONFIG_SYSFS */

static int __init ksm_init(void)
{
	int err;

	ksm_client_cache = KMEM_CACHE(ksm_client, 0);
	ksm_entry_cache = KMEM_CACHE(ksm_entry, 0);
	ksm_shared_cache = KMEM_CACHE(ksm_shared, 0);
	if (!ksm_client_cache || !ksm_entry_cache || !ksm_shared_cache) {
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
	kmem_cache_destroy(ksm_entry_cache);
	kmem_cache_destroy(ksm_client_cache);
	return err;
}
subsys_initcall(ksm_init);
