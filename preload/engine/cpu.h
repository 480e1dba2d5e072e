/* cpu.h - what the processor can do, for the few choices the profiler makes on it.
 * One cpuid and one xgetbv, asked where needed: libgcc's __builtin_cpu_supports would
 * bring its CPU model constructor into every process, a dozen cpuid instructions (each
 * a trap to the hypervisor in a virtual machine, microseconds apiece) at every start. */
#ifndef AUDIOPROF_CPU_H
#define AUDIOPROF_CPU_H

#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* AVX usable: the processor has it and the kernel saves its registers (OSXSAVE with
 * the SSE and AVX state enabled in XCR0), as __builtin_cpu_supports("avx") checks. */
static inline int cpu_has_avx(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_AVX) || !(c & bit_OSXSAVE))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
#else
	return 0;
#endif
}

#endif
