/* addrof.c - a program that takes the addresses of malloc, calloc, realloc and free
 * (as CPython's allocator tables do). Built as a non-PIE executable (t_addrof.sh does
 * that itself with -no-pie), those functions get canonical PLT addresses inside the
 * executable, and &malloc anywhere in the process, the preload included, then means
 * the executable's PLT stub. Frame 0 must still name the interposed function.
 *   a_direct: malloc(10) x 2 kept         -> tb 20 tbk 2
 *   a_ptr:    fp_malloc(20) x 3 kept      -> tb 60 tbk 3 (called through the pointer)
 *   a_calloc: fp_calloc(4, 8) x 1 freed   -> tb 32 tbk 1 eb 0
 *   a_realloc: fp_realloc(direct[0], 100) -> tb 100 tbk 1 kept */
#include <stdio.h>
#include <stdlib.h>
#include "progs.h"

void *(*volatile fp_malloc)(size_t);
void *(*volatile fp_calloc)(size_t, size_t);
void *(*volatile fp_realloc)(void *, size_t);
void (*volatile fp_free)(void *);

static void *volatile keep[6];

NOINLINE void *a_direct(void) { return malloc(10); }
NOINLINE void *a_ptr(void) { return fp_malloc(20); }
NOINLINE void *a_calloc(void) { return fp_calloc(4, 8); }
NOINLINE void *a_realloc(void *p) { return fp_realloc(p, 100); }

int main(void)
{
	int i;

	/* Taken in code (not a data initializer): non-PIC code references the symbols
	 * directly, which makes the linker give them canonical PLT addresses. */
	fp_malloc = malloc;
	fp_calloc = calloc;
	fp_realloc = realloc;
	fp_free = free;
	for (i = 0; i < 2; i++)
		keep[i] = a_direct();
	for (i = 2; i < 5; i++)
		keep[i] = a_ptr();
	fp_free(a_calloc());
	keep[0] = a_realloc(keep[0]);
	PROG_CHECK(keep[0] != NULL, "realloc");
	printf("addrof ok\n");
	return 0;
}
