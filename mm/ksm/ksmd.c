// SPDX-License-Identifier: GPL-2.0-only
/*
 * ksmd: batches of pages_to_scan, chunks under ksm_lock, giving way to
 * waiters, sleeping.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

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
