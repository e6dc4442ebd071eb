/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmguest entry: a multiboot (v1) header, a flat GDT, a stack, and the
 * interrupt stubs that call into C.  QEMU's -kernel loads the ELF at 1 MiB
 * and enters _start in 32-bit protected mode with EAX = the multiboot magic
 * and EBX = the multiboot information.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	movl	$stack_top, %esp
	lgdt	gdt_desc
	ljmp	$0x08, $1f
1:	movw	$0x10, %cx
	movw	%cx, %ds
	movw	%cx, %es
	movw	%cx, %ss
	movw	%cx, %fs
	movw	%cx, %gs
	pushl	%ebx
	pushl	%eax
	call	vmg_main
2:	cli
	hlt
	jmp	2b

/* Hardware interrupts: save the registers, call C, return. */
	.macro IRQ_STUB name, handler
	.globl \name
\name:
	pushal
	cld
	call	\handler
	popal
	iret
	.endm

	IRQ_STUB vmg_irq0_stub, vmg_irq0
	IRQ_STUB vmg_irq4_stub, vmg_irq4
	IRQ_STUB vmg_irq_other_stub, vmg_irq_other

/* A CPU exception: report its vector and stop. */
	.macro EXC_STUB vec
	.globl vmg_exc_stub_\vec
vmg_exc_stub_\vec:
	pushl	$\vec
	call	vmg_exception
	.endm

	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC_STUB \vec
	.endr

	.section .rodata
	.globl vmg_exc_stubs
	.align 4
vmg_exc_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long vmg_exc_stub_\vec
	.endr

	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
