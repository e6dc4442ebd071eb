/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KSM's records (clients, entries, descriptors), its global state,
 * knobs and statistics, and small accessors.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/**
 * struct ksm_client - an mm registered with KSM
 * @link: on ksm_clients, the order ksmd visits them in
 * @hnode: in ksm_client_hash, keyed by @mm
 * @mm: the mm, pinned by an mm_count reference (mmgrab)
 * @blocks: blocks of entries for the pages scanned in @mm, ascending
 *	address (see ksm/entries.c)
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
	struct ksm_block *blocks;
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
 * An entry's flags, in its block's meta word.  E_ROUND is the parity of
 * the scan round in which the entry was put into the unstable index: that
 * index is simply forgotten at the end of a round, and an entry still
 * flagged from the previous round is not in it.
 */
#define E_UNSTABLE	BIT(0)	/* in the unstable index */
#define E_STABLE	BIT(1)	/* listed by a stable descriptor */
#define E_ROUND		BIT(2)
#define E_AGE_SHIFT	3	/* smart scan: visits without merging */
#define E_AGE_MASK	(7U << E_AGE_SHIFT)
#define E_SKIP_SHIFT	6	/* smart scan: visits left to skip */
#define E_SKIP_MASK	(7U << E_SKIP_SHIFT)
#define E_SEEN		BIT(9)	/* visited before: its checksum is known */
#define E_FIRST		BIT(10)	/* went on at first sight, not yet revisited */
#define E_LIVE		BIT(11)	/* the slot stands for a page */
#define E_NID_SHIFT	16	/* node part of its unstable key (E_UNSTABLE) */

/* A link of a singly linked list: index buckets, descriptor rings. */
struct ksm_link {
	struct ksm_link *next;
};

/**
 * struct ksm_entry - what KSM remembers about one scanned page
 * @csum: checksum of the page when last seen (when not E_STABLE):
 *	64 bits, so that two different pages in one index practically
 *	never share a key
 * @shared: the stable descriptor this entry is listed by (E_STABLE)
 * @link: in a bucket of the unstable index (E_UNSTABLE), or in the ring
 *	of @shared's entries (E_STABLE)
 *
 * 16 bytes: a slot of a struct ksm_block, which holds what the entries of
 * neighbouring pages have in common - the client, the address, the
 * anon_vma - and each entry's flags.  The entry's address in memory says
 * which block and which slot (ksm/entries.c).
 */
struct ksm_entry {
	union {
		u64 csum;
		struct ksm_shared *shared;
	};
	struct ksm_link link;
};

/* Pages per block: the header, a meta word and a slot each fill 512 bytes. */
#define KSM_BLOCK_SLOTS		24
#define KSM_BLOCK_BYTES		512

/**
 * struct ksm_block - the entries of one window of KSM_BLOCK_SLOTS pages
 * @client: whose mm the pages are in
 * @next: the client's next block (higher address)
 * @base: address of the window's first page, a multiple of
 *	KSM_BLOCK_SLOTS pages
 * @av: the anon_vma that stable entries' rmap walks go through: one for
 *	the whole block, or (bit 0 set) an array of one per slot, once two
 *	vmas with different anon_vmas met in the window (entry_anon_vma())
 * @meta: flags (E_*) of each slot
 * @slots: the entries, one per page of the window
 *
 * Aligned to its size, so that an entry finds its block by rounding its
 * own address down.
 */
struct ksm_block {
	struct ksm_client *client;
	struct ksm_block *next;
	unsigned long base;
	unsigned long av;
	u32 meta[KSM_BLOCK_SLOTS];
	struct ksm_entry slots[KSM_BLOCK_SLOTS];
};

/* A block's anon_vmas once it has one per slot (struct ksm_block.av). */
#define KSM_AVS_BYTES		(KSM_BLOCK_SLOTS * sizeof(struct anon_vma *))

/* What a scanned page costs, in bytes: its share of a full block. */
#define KSM_ENTRY_BYTES		(KSM_BLOCK_BYTES / KSM_BLOCK_SLOTS)

/**
 * struct ksm_shared - descriptor of one KSM page
 * @hlink: in a bucket of the stable index (the head of a chain)
 * @head: the chain head this duplicate hangs on (a duplicate)
 * @dups: a head's list of duplicates, or a duplicate's link in it
 * @last: the ring of entries known to map the page, by its last entry
 *	(the one added last); NULL when none
 * @pfn: where the KSM folio is; only trusted if the folio points back
 * @domain: the merge domain the KSM page was made in, and is shared in
 * @csum: checksum of the KSM page's (unchanging) content
 * @nr_entries: length of the ring, limited by max_page_sharing
 * @nid: NUMA node of the "tree" (the index key's node) it is in
 * @is_dup: a duplicate, not in the index itself
 *
 * KSM pages of equal content form a chain: once a KSM page is shared
 * max_page_sharing times, another one with the same content is made,
 * a duplicate hanging off the descriptor that sits in the index.
 * 64 bytes on 64-bit.
 */
struct ksm_shared {
	union {
		struct ksm_link hlink;
		struct ksm_shared *head;
	};
	struct list_head dups;
	struct ksm_link *last;
	unsigned long pfn;
	u64 domain;
	u64 csum;
	unsigned int nr_entries;
	u16 nid;
	bool is_dup;
};

/* Where ksmd is in its walk over all clients. */
struct ksm_cursor {
	struct ksm_client *client;	/* NULL: a new round starts */
	unsigned long addr;		/* next address to look at */
	unsigned long kept;		/* entries below were visited */
	struct ksm_block **link;	/* first block ending above kept */
	unsigned int round;		/* parity matches E_ROUND */
	bool yielded;			/* gave way to the mm's writer once */
	unsigned int revisits;		/* merged pages the seek may pass */
	unsigned int passed;		/* and did pass, still merged */
	struct folio *last_ksm;		/* see merge_like_last() */
	u64 last_domain;		/* the domain it was merged in */
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
 * The stable and unstable "trees" are hash indexes (see
 * ksm/index.c): a power of two of buckets, @count items in them.
 */
struct ksm_index {
	struct ksm_link *buckets;
	unsigned int bits;
	unsigned long count;
	unsigned long peak;	/* of @count this round (unstable) */
};

static struct ksm_index ksm_stable_index;
static struct ksm_index ksm_unstable_index;

static struct kmem_cache *ksm_client_cache;
static struct kmem_cache *ksm_block_cache;
static struct kmem_cache *ksm_block_avs_cache;
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
static unsigned long ksm_blocks_total;
static unsigned long ksm_full_scans;
static unsigned long ksm_pages_scanned;
static unsigned long ksm_pages_skipped;
static unsigned long ksm_chains;		/* heads with duplicates */
static unsigned long ksm_chained;	/* KSM pages in such chains */

/* Checksum of a page full of zeroes, for use_zero_pages. */
static u64 ksm_zero_csum __read_mostly;

static inline struct ksm_block *entry_block(const struct ksm_entry *e)
{
	return (struct ksm_block *)((unsigned long)e & ~(KSM_BLOCK_BYTES - 1UL));
}

static inline unsigned int entry_slot(const struct ksm_entry *e)
{
	return e - entry_block(e)->slots;
}

static inline u32 *entry_meta(const struct ksm_entry *e)
{
	return &entry_block(e)->meta[entry_slot(e)];
}

static inline bool entry_test(const struct ksm_entry *e, u32 flags)
{
	return *entry_meta(e) & flags;
}

static inline void entry_set(const struct ksm_entry *e, u32 flags)
{
	*entry_meta(e) |= flags;
}

static inline void entry_clear(const struct ksm_entry *e, u32 flags)
{
	*entry_meta(e) &= ~flags;
}

static inline unsigned long entry_addr(const struct ksm_entry *e)
{
	return entry_block(e)->base + ((unsigned long)entry_slot(e) << PAGE_SHIFT);
}

static inline struct ksm_client *entry_client(const struct ksm_entry *e)
{
	return entry_block(e)->client;
}

static inline struct mm_struct *entry_mm(const struct ksm_entry *e)
{
	return entry_client(e)->mm;
}

static inline bool entry_is_stable(const struct ksm_entry *e)
{
	return entry_test(e, E_STABLE);
}

static inline bool entry_is_unstable(const struct ksm_entry *e)
{
	return entry_test(e, E_UNSTABLE);
}

static inline int entry_tree_nid(const struct ksm_entry *e)
{
	return *entry_meta(e) >> E_NID_SHIFT;
}

static inline void entry_set_tree_nid(const struct ksm_entry *e, int nid)
{
	*entry_meta(e) = (*entry_meta(e) & ~(~0U << E_NID_SHIFT)) |
			 ((u32)nid << E_NID_SHIFT);
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
