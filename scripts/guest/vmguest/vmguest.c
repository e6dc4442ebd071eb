// SPDX-License-Identifier: GPL-2.0
/*
 * vmguest: a bare-metal multiboot payload for an unmodified QEMU, so that
 * KSM can be tested with real QEMU processes as its clients (ksm_vmhost).
 *
 * It fills part of its RAM with content common to every guest and a part
 * of its own (see vmguest.h), then sleeps on interrupts: every "hb" seconds
 * (100 Hz PIT) and on the commands it reads from COM1 it recomputes the
 * checksum of every page from memory, compares each with what it last
 * wrote there, and prints a heartbeat with the regions' checksums.
 *
 * Command line (-append): id=N shared=MIB unique=MIB sparse=MIB hb=SECONDS wpages=N
 */
#include <stdint.h>
#include "vmguest.h"

#define COM1		0x3f8
#define MB_BOOT_MAGIC	0x2badb002
#define MB_INFO_MEM	(1u << 0)
#define MB_INFO_CMDLINE	(1u << 2)
#define MAX_PAGES	((256u << 20) / VMG_PAGE)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
};

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type;
	uint16_t off_hi;
} __attribute__((packed));

struct idt_desc {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

extern void vmg_irq0_stub(void);
extern void vmg_irq4_stub(void);
extern void vmg_irq_other_stub(void);
extern const uint32_t vmg_exc_stubs[32];

void vmg_main(uint32_t magic, struct mb_info *mbi);
void vmg_irq0(void);
void vmg_irq4(void);
void vmg_irq_other(void);
void vmg_exception(uint32_t vec);

static struct idt_entry idt[256];
static uint32_t expect[MAX_PAGES];	/* each page's checksum as last written */
static volatile uint32_t ticks;
static volatile uint8_t rxbuf[64];
static volatile uint32_t rx_head, rx_tail;

static uint32_t id, shared_pages, unique_pages, sparse_pages, wpages, gen, hb_secs = 10, beats;

/* gcc may emit calls to these even when freestanding. */
void *memset(void *s, int c, unsigned int n);
void *memset(void *s, int c, unsigned int n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = c;
	return s;
}

void *memcpy(void *d, const void *s, unsigned int n);
void *memcpy(void *d, const void *s, unsigned int n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, c);
}

static void puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc('\r');
		putc(*s++);
	}
}

static void putu(uint32_t v)
{
	char buf[11];
	int i = 10;

	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	puts(buf + i);
}

static void putd(int32_t v)
{
	if (v < 0) {
		putc('-');
		v = -v;
	}
	putu(v);
}

static void putx(uint32_t v)
{
	int i;

	for (i = 28; i >= 0; i -= 4)
		putc("0123456789abcdef"[(v >> i) & 15]);
}

static void put_kv(const char *key, uint32_t v)
{
	puts(key);
	putu(v);
}

static void put_kx(const char *key, uint32_t v)
{
	puts(key);
	putx(v);
}

static void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

void vmg_exception(uint32_t vec)
{
	put_kv("VMG ERROR id=", id);
	put_kv(" exception=", vec);
	puts("\n");
	halt_forever();
}

void vmg_irq0(void)
{
	ticks++;
	outb(0x20, 0x20);
}

void vmg_irq4(void)
{
	inb(COM1 + 2);
	while (inb(COM1 + 5) & 1) {
		uint8_t c = inb(COM1);

		if (rx_head - rx_tail < sizeof(rxbuf))
			rxbuf[rx_head++ % sizeof(rxbuf)] = c;
	}
	outb(0x20, 0x20);
}

void vmg_irq_other(void)
{
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

static void set_gate(int vec, void (*fn)(void))
{
	uint32_t off = (uint32_t)fn;

	idt[vec].off_lo = off & 0xffff;
	idt[vec].sel = 0x08;
	idt[vec].zero = 0;
	idt[vec].type = 0x8e;		/* present, ring 0, 32-bit interrupt gate */
	idt[vec].off_hi = off >> 16;
}

static void setup_interrupts(void)
{
	struct idt_desc desc = { sizeof(idt) - 1, (uint32_t)idt };
	uint16_t div = 1193182 / VMG_HZ;
	int i;

	for (i = 0; i < 32; i++)
		set_gate(i, (void (*)(void))vmg_exc_stubs[i]);
	for (i = 32; i < 256; i++)
		set_gate(i, vmg_irq_other_stub);
	set_gate(32, vmg_irq0_stub);
	set_gate(36, vmg_irq4_stub);
	asm volatile("lidt %0" : : "m"(desc));

	/* 8259s: IRQ 0-7 at vector 32, 8-15 at 40; only the PIT and COM1 */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 32);
	outb(0xa1, 40);
	outb(0x21, 4);
	outb(0xa1, 2);
	outb(0x21, 1);
	outb(0xa1, 1);
	outb(0x21, (uint8_t)~((1 << 0) | (1 << 4)));
	outb(0xa1, 0xff);

	/* PIT channel 0, rate generator at VMG_HZ */
	outb(0x43, 0x34);
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
}

static void setup_serial(void)
{
	outb(COM1 + 1, 0);		/* no interrupts while configuring */
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1 + 0, 1);		/* 115200 */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03);		/* 8N1 */
	outb(COM1 + 2, 0x07);		/* FIFO on, cleared */
	outb(COM1 + 4, 0x0b);		/* DTR, RTS, OUT2 (IRQ line) */
}

static void enable_rx_irq(void)
{
	outb(COM1 + 1, 0x01);
}

/* The value of "key=" in @s, or @def. */
static uint32_t arg(const char *s, const char *key, uint32_t def)
{
	const char *p, *k;
	uint32_t v;

	for (p = s; p && *p; p++) {
		if (p != s && p[-1] != ' ')
			continue;
		for (k = key; *k && *k == p[k - key]; k++)
			;
		if (*k)
			continue;
		p += k - key;
		for (v = 0; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + *p - '0';
		return v;
	}
	return def;
}

static inline uint32_t *page(uint32_t n)
{
	return (uint32_t *)(VMG_BASE + n * VMG_PAGE);
}

static int page_is_zero(const uint32_t *p)
{
	unsigned int i;

	for (i = 0; i < VMG_WORDS; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Write page @n (of the whole filled range) and remember its checksum. */
static void write_page(uint32_t n, uint32_t seed)
{
	vmg_fill(page(n), seed);
	expect[n] = vmg_page_sum(page(n));
}

static uint32_t shared_seed(uint32_t n)
{
	if (n < wpages && gen)
		return vmg_seed(VMG_WRITTEN, id, gen, n);
	return vmg_seed(VMG_SHARED, 0, 0, n);
}

/* Recompute every page's checksum; count those that differ. */
static void verify(uint32_t sum[3], uint32_t *bad, int32_t *first_bad)
{
	uint32_t n, s, r, end[3];

	end[0] = shared_pages;
	end[1] = end[0] + unique_pages;
	end[2] = end[1] + sparse_pages;
	sum[0] = sum[1] = sum[2] = 0;
	*bad = 0;
	*first_bad = -1;
	for (r = 0, n = 0; n < end[2]; n++) {
		while (n >= end[r])
			r++;
		s = vmg_page_sum(page(n));
		if (s != expect[n]) {
			if (!*bad)
				*first_bad = n;
			++*bad;
		}
		sum[r] = vmg_fold(sum[r], s);
	}
}

static void heartbeat(char why)
{
	uint32_t t0 = ticks, sum[3], bad;
	int32_t first_bad;

	verify(sum, &bad, &first_bad);
	put_kv("VMG HB id=", id);
	put_kv(" n=", ++beats);
	put_kv(" t=", t0);
	put_kv(" gen=", gen);
	put_kx(" shared=", sum[0]);
	put_kx(" unique=", sum[1]);
	put_kx(" sparse=", sum[2]);
	put_kv(" bad=", bad);
	puts(" first_bad=");
	putd(first_bad);
	put_kv(" ticks=", ticks - t0);
	puts(" why=");
	putc(why);
	puts("\n");
}

static void command(uint8_t c)
{
	uint32_t n;

	switch (c) {
	case 'w':
	case 'r':
		gen = c == 'w' ? gen + 1 : 0;
		for (n = 0; n < wpages && n < shared_pages; n++)
			write_page(n, shared_seed(n));
		put_kv("VMG WROTE id=", id);
		put_kv(" gen=", gen);
		put_kv(" pages=", n);
		puts("\n");
		heartbeat(c);
		break;
	case 'x':
		/* A word changed behind the verifier's back: must be caught. */
		page(wpages)[7] ^= 1;
		put_kv("VMG FLIPPED id=", id);
		put_kv(" page=", wpages);
		puts("\n");
		heartbeat(c);
		break;
	case 'h':
		heartbeat(c);
		break;
	default:
		break;
	}
}

void vmg_main(uint32_t magic, struct mb_info *mbi)
{
	const char *cmdline = "";
	uint32_t ram_top, n, t0, next, total;
	uint32_t hs = 0, hu = 0, hz = 0, cleared = 0;

	setup_serial();
	if (magic != MB_BOOT_MAGIC || !(mbi->flags & MB_INFO_MEM)) {
		puts("VMG ERROR not booted by a multiboot loader\n");
		halt_forever();
	}
	if (mbi->flags & MB_INFO_CMDLINE)
		cmdline = (const char *)mbi->cmdline;
	id = arg(cmdline, "id=", 0);
	shared_pages = arg(cmdline, "shared=", 16) * ((1u << 20) / VMG_PAGE);
	unique_pages = arg(cmdline, "unique=", 4) * ((1u << 20) / VMG_PAGE);
	sparse_pages = arg(cmdline, "sparse=", 0) * ((1u << 20) / VMG_PAGE);
	hb_secs = arg(cmdline, "hb=", 10);
	wpages = arg(cmdline, "wpages=", 256);
	ram_top = (1u << 20) + mbi->mem_upper * 1024;
	total = shared_pages + unique_pages + sparse_pages;
	if (total > MAX_PAGES || VMG_BASE + total * VMG_PAGE > ram_top) {
		put_kv("VMG ERROR id=", id);
		put_kv(" layout does not fit: ram_mib=", ram_top >> 20);
		puts("\n");
		halt_forever();
	}
	if (wpages >= shared_pages)
		wpages = shared_pages ? shared_pages - 1 : 0;

	setup_interrupts();
	enable_rx_irq();
	asm volatile("sti");

	t0 = ticks;
	for (n = 0; n < shared_pages; n++) {
		write_page(n, shared_seed(n));
		hs = vmg_fold(hs, expect[n]);
	}
	for (n = 0; n < unique_pages; n++) {
		write_page(shared_pages + n, vmg_seed(VMG_UNIQUE, id, 0, n));
		hu = vmg_fold(hu, expect[shared_pages + n]);
	}
	/*
	 * Sparse: the first page of each 2 MiB written, the rest left as
	 * they are, zero; but the firmware may have left something there,
	 * which is cleared (and counted).
	 */
	for (n = 0; n < sparse_pages; n++) {
		uint32_t p = shared_pages + unique_pages + n;

		if (n % VMG_CHUNK == 0) {
			write_page(p, vmg_seed(VMG_SPARSE, id, 0, n));
		} else {
			if (!page_is_zero(page(p))) {
				memset(page(p), 0, VMG_PAGE);
				cleared++;
			}
			expect[p] = vmg_page_sum(page(p));
		}
		hz = vmg_fold(hz, expect[p]);
	}
	put_kv("VMG READY id=", id);
	put_kv(" shared_mib=", shared_pages / 256);
	put_kv(" unique_mib=", unique_pages / 256);
	put_kv(" sparse_mib=", sparse_pages / 256);
	put_kv(" sparse_cleared=", cleared);
	put_kv(" wpages=", wpages);
	put_kv(" ram_mib=", ram_top >> 20);
	put_kv(" ticks=", ticks - t0);
	put_kx(" shared=", hs);
	put_kx(" unique=", hu);
	put_kx(" sparse=", hz);
	puts("\n");

	heartbeat('t');
	next = ticks + hb_secs * VMG_HZ;
	for (;;) {
		asm volatile("cli");
		if (rx_head != rx_tail) {
			uint8_t c = rxbuf[rx_tail++ % sizeof(rxbuf)];

			asm volatile("sti");
			command(c);
			continue;
		}
		if (hb_secs && (int32_t)(ticks - next) >= 0) {
			asm volatile("sti");
			heartbeat('t');
			next = ticks + hb_secs * VMG_HZ;
			continue;
		}
		/* sti takes effect after the next instruction: no lost wake-up */
		asm volatile("sti; hlt");
	}
}
