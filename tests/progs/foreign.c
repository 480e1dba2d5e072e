/* foreign.c - blocks the profiler never saw allocated (made with glibc's __libc_malloc
 * & co., as blocks from before the preload was initialised would be) go through the
 * interposed free, realloc and malloc_usable_size unharmed (t_foreign.sh).
 *   r_foreign: realloc(foreign 200 B block, 400) -> the new block is counted like any
 *              realloc's: tb 400 tbk 1, freed (eb 0); its content is kept.
 *   m_after:   malloc(32) x 1, kept -> the heap still works. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "progs.h"

extern void *__libc_malloc(size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_calloc(size_t, size_t);

static void *volatile keep;

NOINLINE void *r_foreign(void *p) { return realloc(p, 400); }
NOINLINE void *m_after(void) { return malloc(32); }
NOINLINE void release(void *p) { free(p); }

int main(void)
{
	unsigned char *p, *q;
	size_t i;

	p = __libc_malloc(100);
	PROG_CHECK(p != NULL, "__libc_malloc");
	PROG_CHECK(malloc_usable_size(p) >= 100, "usable size of a foreign block");
	memset(p, 1, malloc_usable_size(p));
	release(p);

	p = __libc_memalign(64, 100);
	PROG_CHECK(p != NULL && ((size_t)p & 63) == 0, "__libc_memalign");
	memset(p, 2, 100);
	release(p);

	p = __libc_calloc(3, 50);
	PROG_CHECK(p != NULL && p[149] == 0, "__libc_calloc");
	release(p);

	p = __libc_malloc(200);
	for (i = 0; i < 200; i++)
		p[i] = (unsigned char)i;
	q = r_foreign(p);
	PROG_CHECK(q != NULL, "realloc of a foreign block");
	for (i = 0; i < 200; i++)
		PROG_CHECK(q[i] == (unsigned char)i, "realloc of a foreign block lost its content");
	PROG_CHECK(malloc_usable_size(q) >= 400, "usable size after realloc of a foreign block");
	memset(q, 3, malloc_usable_size(q));
	release(q);

	keep = m_after();
	memset(keep, 4, 32);
	printf("foreign ok\n");
	return 0;
}
