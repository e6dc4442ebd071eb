/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a vmguest payload holds in its RAM, shared by the payload (32-bit,
 * freestanding) and by ksm_vmhost (the host side), which recomputes the
 * checksums a guest must report.  32-bit arithmetic only.
 *
 * Guest physical layout (MiB): [0, 2) firmware and the payload, then
 * VMG_BASE: the shared region (the same in every guest), the unique region
 * (seeded by the guest's id), and the sparse region: one unique page at the
 * start of each 2 MiB, the rest never written (zero; what the firmware may
 * have left there is cleared), as a guest OS leaves most of the memory it
 * has touched once.  Each region starts on a 2 MiB
 * boundary, so that each huge page of the guest's RAM lies in one region.
 *
 * Every page gets its own seed, so that no two pages of a guest are alike
 * and all merging is across guests.  An overwritten page of the shared
 * region (command 'w') is seeded by the guest's id and the write's
 * generation: it is then unique to that guest.
 *
 * Serial protocol (COM1, 115200 8N1, lines end with "\r\n"):
 *   guest: VMG READY id=I shared_mib=S unique_mib=U sparse_mib=Z sparse_cleared=C
 *          wpages=W ram_mib=R ticks=T shared=X unique=X sparse=X
 *   guest: VMG HB id=I n=N t=T gen=G shared=X unique=X sparse=X bad=B first_bad=P
 *          ticks=T why=C
 *   guest: VMG WROTE id=I gen=G pages=W
 *   guest: VMG ERROR ...
 *   host:  'h' heartbeat now, 'w' overwrite the first W shared pages with
 *          generation G+1, 'r' write them back to the shared content
 *          (G = 0), 'x' flip a word without telling the verifier (self-test)
 * X are 8 hex digits; T are 100 Hz ticks since start; "bad" counts the
 * pages whose checksum differs from what the guest last wrote there,
 * first_bad is the first of them (page index from VMG_BASE) or -1; "why" is
 * the command that asked for the heartbeat, or 't' for the timer.
 */
#ifndef VMGUEST_H
#define VMGUEST_H

#define VMG_PAGE	4096u
#define VMG_WORDS	(VMG_PAGE / 4)
#define VMG_BASE	(2u << 20)
#define VMG_HZ		100

#define VMG_CHUNK	512u		/* pages in 2 MiB */

enum { VMG_SHARED = 1, VMG_UNIQUE = 2, VMG_WRITTEN = 3, VMG_SPARSE = 4 };

static inline uint32_t vmg_mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* The seed of page @n (index within its region) of @kind. */
static inline uint32_t vmg_seed(uint32_t kind, uint32_t id, uint32_t gen, uint32_t n)
{
	uint32_t s = vmg_mix(kind * 0x01000193u + vmg_mix(id * 0x9e3779b1u + gen));

	s = vmg_mix(s ^ (n * 0x85ebca6bu));
	return s ? s : 1;
}

/* Fill a page from @seed: xorshift32, so every word depends on the seed. */
static inline void vmg_fill(uint32_t *p, uint32_t seed)
{
	uint32_t x = seed;
	unsigned int i;

	for (i = 0; i < VMG_WORDS; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x;
	}
}

/* Position-dependent page checksum (Fletcher-like), then mixed. */
static inline uint32_t vmg_page_sum(const volatile uint32_t *p)
{
	uint32_t a = 0, b = 0;
	unsigned int i;

	for (i = 0; i < VMG_WORDS; i++) {
		a += p[i];
		b += a;
	}
	return a ^ vmg_mix(b + 0x5bd1e995u);
}

/* Region checksum: the page sums folded in order. */
static inline uint32_t vmg_fold(uint32_t h, uint32_t page_sum)
{
	return vmg_mix(h ^ page_sum) + 0x27d4eb2fu;
}

#endif /* VMGUEST_H */
