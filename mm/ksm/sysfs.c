// SPDX-License-Identifier: GPL-2.0-only
/*
 * /sys/kernel/mm/ksm/: knobs and statistics.
 *
 * Part of KSM's one translation unit, mm/ksm.c (see there).
 */

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
