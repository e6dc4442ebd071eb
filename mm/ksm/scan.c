// SPDX-License-Identifier: GPL-2.0-only
/*
 * The scan: what ksmd does with each page, and the cursor that walks the
 * clients and their entries, round after round.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

/* The heart of ksmd: what to do with one page found by the scan. */
static void scan_page(struct ksm_entry *e, struct page *page)
{
	struct folio *folio = page_folio(page);
	bool first = !entry_test(e, E_SEEN);
	bool went_first = entry_test(e, E_FIRST);
	struct ksm_entry *peer;
	struct page *peer_page;
	struct folio *kfolio;
	int nid;
	u64 csum;

	entry_set(e, E_SEEN);
	entry_clear(e, E_FIRST);
	if (entry_is_stable(e)) {
		bool merged = folio_shared(folio) == e->shared;

		if (merged && e->shared->domain == entry_domain(e))
			return;		/* still merged */
		if (!merged && went_first)
			entry_client(e)->first_broken++;
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

	if (merge_like_last(e, page))
		return;
	nid = tree_nid(page_to_nid(page));
	csum = page_csum(page);
	kfolio = stable_find(page, nid, entry_domain(e), csum);
	if (kfolio) {
		if (!merge_page(e, page, kfolio))
			last_ksm_set(kfolio, e);
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
		entry_clear(e, E_AGE_MASK | E_SKIP_MASK);
		if (!first || !first_sight_on(entry_client(e)))
			return;
		entry_set(e, E_FIRST);
	}

	peer = unstable_find_or_insert(e, page, nid, &peer_page);
	if (!peer) {
		/* Unchanged, yet unique: a candidate for smart scan skips. */
		smart_age(e);
		return;
	}
	merge_pair(e, page, peer, peer_page);
}

/* Point the cursor at the start of @c; under ksm_clients_lock. */
static void cursor_set(struct ksm_client *c)
{
	ksm_cursor.client = c;
	ksm_cursor.addr = 0;
	cursor_rewind(&ksm_cursor, c);
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

/* Forget @e; its block goes with its last entry (block_drop_if_empty()). */
static void entry_free(struct ksm_entry *e)
{
	trace_ksm_remove_rmap_item(entry_is_stable(e) ? e->shared->pfn : 0, e,
				   entry_mm(e));
	entry_leave_trees(e);
	ksm_entries_total--;
	entry_mm(e)->ksm_rmap_items--;
	*entry_meta(e) = 0;
}

/* Free all of @c's entries and blocks. */
static void client_free_entries(struct ksm_client *c)
{
	struct ksm_block *b;
	unsigned int i;

	while ((b = c->blocks)) {
		for (i = 0; i < KSM_BLOCK_SLOTS; i++)
			if (b->meta[i] & E_LIVE)
				entry_free(&b->slots[i]);
		c->blocks = b->next;
		block_free(b);
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

	client_free_entries(c);
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
		cursor_rewind(&ksm_cursor, next);
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
 * Free the entries in [@from, @to) of the blocks from *@link on (the
 * first of which may start below @from), and the blocks that leaves
 * empty: at most KSM_FREE_BATCH entries, and none more once a writer
 * waits for the mmap_lock of @mm (held, if @mm is given); false if some
 * are left.
 */
static bool entries_free_range(struct ksm_block **link, unsigned long from,
			       unsigned long to, struct mm_struct *mm)
{
	struct ksm_block *b;
	unsigned int n = 0, i;

	while ((b = *link) && b->base < to) {
		for (i = block_slot_from(b, from); i < KSM_BLOCK_SLOTS; i++) {
			if (b->base + ((unsigned long)i << PAGE_SHIFT) >= to)
				break;
			if (!(b->meta[i] & E_LIVE))
				continue;
			if (n++ == KSM_FREE_BATCH ||
			    (mm && mmap_lock_is_contended(mm))) {
				block_drop_if_empty(link);
				return false;
			}
			entry_free(&b->slots[i]);
		}
		if (!block_drop_if_empty(link))
			link = &b->next;
	}
	return true;
}

/*
 * Find the entry for @addr at the cursor, creating it (and its block) if
 * needed; entries between the cursor and @addr belong to pages that are
 * gone and are freed.  ERR_PTR(-EAGAIN) if that took a batch and more
 * remain.
 */
static struct ksm_entry *cursor_entry_at(unsigned long addr)
{
	struct ksm_cursor *cur = &ksm_cursor;
	struct ksm_block *b;
	struct ksm_entry *e;
	unsigned int i;

	if (!entries_free_range(cur->link, cur->kept, addr, cur->client->mm))
		return ERR_PTR(-EAGAIN);
	cursor_keep(cur, addr);
	b = *cur->link;
	if (!b || b->base > addr) {
		b = block_alloc(cur->client, window_base(addr));
		if (!b)
			return NULL;
		b->next = *cur->link;
		*cur->link = b;
	}
	i = block_slot_from(b, addr);
	e = &b->slots[i];
	if (b->meta[i] & E_LIVE)
		return e;
	b->meta[i] = E_LIVE;
	e->csum = 0;
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
	cursor_keep(&ksm_cursor, ksm_cursor.addr);
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
		cursor_rewind(cur, c);	/* all of them go */
	if (!entries_free_range(cur->link, cur->kept, ULONG_MAX, NULL))
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
static unsigned int scan_chunk_pages(unsigned int nr, bool last,
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

static unsigned int ksm_scan_chunk(unsigned int nr, bool last,
				   enum scan_step *why)
{
	unsigned int used = scan_chunk_pages(nr, last, why);

	/* Not referenced past ksm_lock: see merge_like_last(). */
	last_ksm_drop();
	return used;
}
