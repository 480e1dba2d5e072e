/* librtmod.c - the module rtstacks.c dlopen()s (t_rt_nolock.sh): allocating functions
 * in a shared object of their own, so some of the real-time thread's first-met stacks
 * run through a module loaded at run time. Built as tests/progs/bin/librtmod.so.
 * rtmod_run(k, size) allocates `size` bytes with malloc, frees them, and returns k. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline, noclone, used))

static void *volatile keep;

#define RTMOD_SITE(i) \
	NOINLINE static void rtmod_site_##i(size_t size) \
	{ \
		keep = malloc(size); \
		free(keep); \
	}
RTMOD_SITE(0) RTMOD_SITE(1) RTMOD_SITE(2) RTMOD_SITE(3)

/* One call site per module function: a distinct stack for each k. */
NOINLINE int rtmod_run(int k, size_t size)
{
	switch (k & 3) {
	case 0: rtmod_site_0(size); break;
	case 1: rtmod_site_1(size); break;
	case 2: rtmod_site_2(size); break;
	default: rtmod_site_3(size); break;
	}
	return k;
}
