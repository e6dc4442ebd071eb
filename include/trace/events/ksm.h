/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of Kernel Samepage Merging (mm/ksm.c).
 *
 * The event names are the ones tools already know (ksm:ksm_start_scan
 * and so on); the fields are those of our implementation: an "entry" is
 * what KSM remembers about one scanned page, a "round" one full pass of
 * ksmd over every registered mm.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksm

#if !defined(_TRACE_KSM_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_KSM_H

#include <linux/tracepoint.h>

/* A round of ksmd begins or ends: its number and the entries alive. */
DECLARE_EVENT_CLASS(ksm_round,
		    TP_PROTO(unsigned long round, unsigned long entries),
		    TP_ARGS(round, entries),
		    TP_STRUCT__entry(__field(unsigned long, round)
				     __field(unsigned long, entries)),
		    TP_fast_assign(__entry->round = round;
				   __entry->entries = entries;),
		    TP_printk("round=%lu entries=%lu",
			      __entry->round, __entry->entries)
);

DEFINE_EVENT(ksm_round, ksm_start_scan,
	     TP_PROTO(unsigned long round, unsigned long entries),
	     TP_ARGS(round, entries)
);

DEFINE_EVENT(ksm_round, ksm_stop_scan,
	     TP_PROTO(unsigned long round, unsigned long entries),
	     TP_ARGS(round, entries)
);

/* An mm joins KSM (first mergeable area) or leaves it (exit, unmerge). */
DECLARE_EVENT_CLASS(ksm_client,
		    TP_PROTO(void *mm),
		    TP_ARGS(mm),
		    TP_STRUCT__entry(__field(void *, mm)),
		    TP_fast_assign(__entry->mm = mm;),
		    TP_printk("mm=%p", __entry->mm)
);

DEFINE_EVENT(ksm_client, ksm_enter,
	     TP_PROTO(void *mm),
	     TP_ARGS(mm)
);

DEFINE_EVENT(ksm_client, ksm_exit,
	     TP_PROTO(void *mm),
	     TP_ARGS(mm)
);

/*
 * An ordinary page became a new KSM page (@err 0) for entry @ke of @mm,
 * in merge domain @domain.
 */
TRACE_EVENT(ksm_merge_one_page,
	    TP_PROTO(unsigned long pfn, void *ke, void *mm, int err,
		     u64 domain),
	    TP_ARGS(pfn, ke, mm, err, domain),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(void *, ke)
			     __field(void *, mm)
			     __field(int, err)
			     __field(u64, domain)),
	    TP_fast_assign(__entry->pfn = pfn;
			   __entry->ke = ke;
			   __entry->mm = mm;
			   __entry->err = err;
			   __entry->domain = domain;),
	    TP_printk("ksm_pfn=%lu entry=%p mm=%p err=%d domain=%#llx",
		      __entry->pfn, __entry->ke, __entry->mm, __entry->err,
		      __entry->domain)
);

/*
 * The page at @pfn was (@err 0) or was not replaced by the KSM page
 * @kpfn, or by the shared zero page when @kpfn is 0; @domain is the
 * merge domain of the entry's mm.
 */
TRACE_EVENT(ksm_merge_with_ksm_page,
	    TP_PROTO(unsigned long kpfn, unsigned long pfn, void *ke,
		     void *mm, int err, u64 domain),
	    TP_ARGS(kpfn, pfn, ke, mm, err, domain),
	    TP_STRUCT__entry(__field(unsigned long, kpfn)
			     __field(unsigned long, pfn)
			     __field(void *, ke)
			     __field(void *, mm)
			     __field(int, err)
			     __field(u64, domain)),
	    TP_fast_assign(__entry->kpfn = kpfn;
			   __entry->pfn = pfn;
			   __entry->ke = ke;
			   __entry->mm = mm;
			   __entry->err = err;
			   __entry->domain = domain;),
	    TP_printk("ksm_pfn=%lu pfn=%lu entry=%p mm=%p err=%d domain=%#llx",
		      __entry->kpfn, __entry->pfn, __entry->ke, __entry->mm,
		      __entry->err, __entry->domain)
);

/* The KSM page that was at @pfn is gone: its descriptor is dropped. */
TRACE_EVENT(ksm_remove_ksm_page,
	    TP_PROTO(unsigned long pfn),
	    TP_ARGS(pfn),
	    TP_STRUCT__entry(__field(unsigned long, pfn)),
	    TP_fast_assign(__entry->pfn = pfn;),
	    TP_printk("ksm_pfn=%lu", __entry->pfn)
);

/* KSM forgets entry @ke of @mm (merged into @pfn, or 0). */
TRACE_EVENT(ksm_remove_rmap_item,
	    TP_PROTO(unsigned long pfn, void *ke, void *mm),
	    TP_ARGS(pfn, ke, mm),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(void *, ke)
			     __field(void *, mm)),
	    TP_fast_assign(__entry->pfn = pfn;
			   __entry->ke = ke;
			   __entry->mm = mm;),
	    TP_printk("ksm_pfn=%lu entry=%p mm=%p",
		      __entry->pfn, __entry->ke, __entry->mm)
);

/* The scan-time advisor set pages_to_scan after a round of @scan_secs. */
TRACE_EVENT(ksm_advisor,
	    TP_PROTO(unsigned long scan_secs, unsigned long pages_to_scan,
		     unsigned int cpu_percent),
	    TP_ARGS(scan_secs, pages_to_scan, cpu_percent),
	    TP_STRUCT__entry(__field(unsigned long, scan_secs)
			     __field(unsigned long, pages_to_scan)
			     __field(unsigned int, cpu_percent)),
	    TP_fast_assign(__entry->scan_secs = scan_secs;
			   __entry->pages_to_scan = pages_to_scan;
			   __entry->cpu_percent = cpu_percent;),
	    TP_printk("scan_secs=%lu pages_to_scan=%lu cpu_percent=%u",
		      __entry->scan_secs, __entry->pages_to_scan, __entry->cpu_percent)
);

#endif /* _TRACE_KSM_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
