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
