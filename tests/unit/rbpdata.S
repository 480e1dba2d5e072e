/* rbpdata.S - a frame whose rbp holds data, not its base (test_stacks.c): calls
 * fn() with rbp set to `value` (a pointer into the caller's locals, different each
 * time), its canonical frame address the stack pointer plus a constant, as compilers
 * emit when they use rbp as a general register.
 *     uint32_t rbpdata_call(uint32_t (*fn)(void), uintptr_t value)            */
	.text
	.globl	rbpdata_call
	.type	rbpdata_call, @function
rbpdata_call:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsi, %rbp
	call	*%rdi
	popq	%rbp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size	rbpdata_call, .-rbpdata_call
	.section .note.GNU-stack,"",@progbits
