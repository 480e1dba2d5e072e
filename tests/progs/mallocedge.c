/* mallocedge.c - the malloc family's edge cases, one line each: what came back (NULL,
 * or a block with its usable size and whether it has the alignment asked for, and
 * for calloc whether it is zeroed), the return code where there is one, and errno
 * (set to a sentinel before each call, so "unchanged" shows). t_libc_edges.sh runs it
 * natively and under the preload and requires the same output, byte for byte.
 * Pointers themselves are never printed (they differ between runs). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "progs.h"

#define SENTINEL 12345   /* errno before each call: printed as "-" when unchanged */

static void show_errno(int e)
{
	if (e == SENTINEL)
		printf(" errno=-");
	else
		printf(" errno=%s", e ? strerrorname_np(e) : "0");
}

/* glibc's usable size for a heap chunk made for n bytes (request2size, less the size
 * word): what memalign's result has at least. */
static size_t chunk_usable(size_t n)
{
	size_t nb = (n + sizeof(size_t) + 15) & ~(size_t)15;
	return (nb < 4 * sizeof(size_t) ? 4 * sizeof(size_t) : nb) - sizeof(size_t);
}

/* glibc's memalign with an alignment above 16 carves the block out of a larger chunk
 * and splits off the tail only when it is at least a 32-byte chunk: its usable size is
 * chunk_usable(n) plus 0, 16 or 32 bytes, depending on where the chunk it carved from
 * lay (the heap's layout, which no two programs share). Such results print as the
 * class, "memalign(n)+tail"; anything else prints the number. */
static int memalign_class;   /* 1: the call being shown is of the memalign family... */
static size_t memalign_of;   /* ...for this many bytes */

/* One result: p (maybe NULL), the alignment it must have (0: none asked), errno. */
static void show(const char *what, void *p, size_t align, int e)
{
	printf("%-44s", what);
	if (!p) {
		printf(" NULL");
	} else {
		size_t u = malloc_usable_size(p), base = chunk_usable(memalign_of);
		if (memalign_class && u >= base && u - base <= 32 && (u - base) % 16 == 0)
			printf(" block usable=memalign(%zu)+tail", memalign_of);
		else
			printf(" block usable=%zu", u);
		if (align)
			printf(" aligned=%s", (uintptr_t)p % align == 0 ? "yes" : "NO");
	}
	show_errno(e);
	printf("\n");
}

static void show_zeroed(const char *what, void *p, size_t n, int e)
{
	show(what, p, 0, e);
	if (p) {
		size_t z = 0;
		for (size_t i = 0; i < n; i++)
			z += ((unsigned char *)p)[i] == 0;
		printf("%-44s zeroed=%s\n", "", z == n ? "yes" : "NO");
	}
}

static const char *usable_class(void *p, size_t n)
{
	static char buf[64];
	size_t u = malloc_usable_size(p), base = chunk_usable(n);
	if (u >= base && u - base <= 32 && (u - base) % 16 == 0)
		snprintf(buf, sizeof(buf), "memalign(%zu)+tail", n);
	else
		snprintf(buf, sizeof(buf), "%zu", u);
	return buf;
}

/* Each case: errno = SENTINEL; call; record errno; print; free. */
#define CASE(what, expr, align) do {            \
	errno = SENTINEL;                          \
	void *p_ = (expr);                         \
	int e_ = errno;                            \
	show(what, p_, align, e_);                 \
	free(p_);                                  \
} while (0)

#define PM_CASE(what, align, size) do {                                  \
	void *p_ = (void *)1;                                              \
	errno = SENTINEL;                                                  \
	int r_ = posix_memalign(&p_, align, size);                         \
	int e_ = errno;                                                    \
	printf("%-44s rc=%s", what, r_ ? strerrorname_np(r_) : "0");     \
	if (r_ == 0 && (align) > 16)                                       \
		printf(" block usable=%s aligned=%s",                      \
		       usable_class(p_, size), (uintptr_t)p_ % (align) == 0 ? "yes" : "NO"); \
	else if (r_ == 0)                                                  \
		printf(" block usable=%zu aligned=%s", malloc_usable_size(p_), \
		       (uintptr_t)p_ % (align) == 0 ? "yes" : "NO");       \
	else                                                               \
		printf(" out=%s", p_ == (void *)1 ? "untouched" : "CHANGED"); \
	show_errno(e_);                                                    \
	printf("\n");                                                      \
	if (r_ == 0)                                                       \
		free(p_);                                                  \
} while (0)

int main(void)
{
	const size_t huge = SIZE_MAX, big = (size_t)PTRDIFF_MAX + 1, page = (size_t)getpagesize();
	char what[64];

	/* malloc: zero, every small size up to a few chunks, huge ones */
	CASE("malloc(0)", malloc(0), 16);
	for (size_t n = 1; n <= 72; n++) {
		snprintf(what, sizeof(what), "malloc(%zu)", n);
		CASE(what, malloc(n), 16);
	}
	CASE("malloc(1000)", malloc(1000), 16);
	CASE("malloc(PTRDIFF_MAX+1)", malloc(big), 0);
	CASE("malloc(SIZE_MAX)", malloc(huge), 0);
	CASE("malloc(SIZE_MAX-16)", malloc(huge - 16), 0);
	CASE("malloc(SIZE_MAX-40)", malloc(huge - 40), 0);

	/* calloc: zero counts, overflow, huge */
	errno = SENTINEL;
	{ void *p = calloc(0, 0); int e = errno; show_zeroed("calloc(0,0)", p, 0, e); free(p); }
	errno = SENTINEL;
	{ void *p = calloc(1, 0); int e = errno; show_zeroed("calloc(1,0)", p, 0, e); free(p); }
	errno = SENTINEL;
	{ void *p = calloc(0, 7); int e = errno; show_zeroed("calloc(0,7)", p, 0, e); free(p); }
	errno = SENTINEL;
	{ void *p = calloc(3, 5); int e = errno; show_zeroed("calloc(3,5)", p, 15, e); free(p); }
	errno = SENTINEL;
	{ void *p = calloc(10, 100); int e = errno; show_zeroed("calloc(10,100)", p, 1000, e); free(p); }
	CASE("calloc(SIZE_MAX,2)", calloc(huge, 2), 0);
	CASE("calloc(2,SIZE_MAX/2+1)", calloc(2, huge / 2 + 1), 0);
	CASE("calloc(1,SIZE_MAX)", calloc(1, huge), 0);
	CASE("calloc(1,PTRDIFF_MAX+1)", calloc(1, big), 0);

	/* realloc */
	CASE("realloc(NULL,0)", realloc(NULL, 0), 16);
	CASE("realloc(NULL,5)", realloc(NULL, 5), 16);
	CASE("realloc(NULL,100)", realloc(NULL, 100), 16);
	CASE("realloc(NULL,SIZE_MAX)", realloc(NULL, huge), 0);
	{
		errno = SENTINEL;
		void *p = malloc(100);
		void *q = realloc(p, 0);
		int e = errno;
		show("realloc(malloc(100),0)", q, 0, e);
		free(q);
	}
	{
		void *p = malloc(100);
		memset(p, 0x5a, 100);
		errno = SENTINEL;
		void *q = realloc(p, huge);
		int e = errno;
		show("realloc(p,SIZE_MAX)", q, 0, e);
		printf("%-44s p intact=%s\n", "", ((unsigned char *)p)[99] == 0x5a ? "yes" : "NO");
		free(q ? q : p);
	}
	{
		void *p = malloc(100);
		errno = SENTINEL;
		void *q = realloc(p, big);
		int e = errno;
		show("realloc(p,PTRDIFF_MAX+1)", q, 0, e);
		free(q ? q : p);
	}
	for (size_t n = 1; n <= 40; n += 3) {
		void *p = malloc(100);
		memset(p, 0x33, 100);
		errno = SENTINEL;
		void *q = realloc(p, n);
		int e = errno;
		snprintf(what, sizeof(what), "realloc(malloc(100),%zu)", n);
		show(what, q, 16, e);
		if (q && ((unsigned char *)q)[n - 1] != 0x33)
			printf("%-44s contents LOST\n", "");
		free(q ? q : p);
	}
	{
		void *p = malloc(5);
		errno = SENTINEL;
		void *q = realloc(p, 5000);
		int e = errno;
		show("realloc(malloc(5),5000)", q, 16, e);
		free(q ? q : p);
	}

	/* reallocarray */
	CASE("reallocarray(NULL,SIZE_MAX,2)", reallocarray(NULL, huge, 2), 0);
	CASE("reallocarray(NULL,0,0)", reallocarray(NULL, 0, 0), 16);
	CASE("reallocarray(NULL,3,5)", reallocarray(NULL, 3, 5), 16);
	{
		void *p = malloc(10);
		errno = SENTINEL;
		void *q = reallocarray(p, huge / 2, 3);
		int e = errno;
		show("reallocarray(p,SIZE_MAX/2,3)", q, 0, e);
		free(q ? q : p);
	}
	{
		void *p = malloc(10);
		errno = SENTINEL;
		void *q = reallocarray(p, 0, 8);
		int e = errno;
		show("reallocarray(p,0,8)", q, 0, e);
		free(q);
	}

	/* the aligned family: good, bad and huge alignments, zero and huge sizes */
	static const size_t aligns[] = { 0, 1, 2, 3, 4, 8, 16, 24, 32, 48, 64, 100, 256, 4096, 65536 };
	static const size_t sizes[] = { 0, 1, 10, 24, 100, 4096 };
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		size_t a = aligns[i];
		size_t expect = a && !(a & (a - 1)) ? a : 0;
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			size_t n = sizes[j];
			memalign_class = a > 16;
			memalign_of = n;
			snprintf(what, sizeof(what), "memalign(%zu,%zu)", a, n);
			CASE(what, memalign(a, n), expect);
			snprintf(what, sizeof(what), "aligned_alloc(%zu,%zu)", a, n);
			CASE(what, aligned_alloc(a, n), expect);
			memalign_class = 0;
			snprintf(what, sizeof(what), "posix_memalign(%zu,%zu)", a, n);
			PM_CASE(what, a, n);
		}
	}
	CASE("memalign(64,SIZE_MAX)", memalign(64, huge), 0);
	CASE("memalign(64,SIZE_MAX-100)", memalign(64, huge - 100), 0);
	CASE("memalign(64,PTRDIFF_MAX+1)", memalign(64, big), 0);
	CASE("memalign(SIZE_MAX/2+2,8)", memalign(huge / 2 + 2, 8), 0);
	CASE("memalign(SIZE_MAX/2+1,8)", memalign(huge / 2 + 1, 8), 0);
	CASE("memalign(SIZE_MAX,8)", memalign(huge, 8), 0);
	CASE("aligned_alloc(64,SIZE_MAX)", aligned_alloc(64, huge), 0);
	CASE("aligned_alloc(SIZE_MAX/2+1,8)", aligned_alloc(huge / 2 + 1, 8), 0);
	CASE("aligned_alloc(SIZE_MAX,8)", aligned_alloc(huge, 8), 0);
	PM_CASE("posix_memalign(64,SIZE_MAX)", 64, huge);
	PM_CASE("posix_memalign(64,SIZE_MAX-100)", 64, huge - 100);
	PM_CASE("posix_memalign(64,PTRDIFF_MAX+1)", 64, big);
	PM_CASE("posix_memalign(SIZE_MAX/2+1,8)", huge / 2 + 1, 8);
	PM_CASE("posix_memalign(SIZE_MAX,8)", huge, 8);

	/* valloc, pvalloc */
	static const size_t vsizes[] = { 0, 1, 24, 100, 4095, 4096, 4097, 10000 };
	for (size_t j = 0; j < sizeof(vsizes) / sizeof(vsizes[0]); j++) {
		size_t n = vsizes[j];
		memalign_class = 1;
		memalign_of = n;
		snprintf(what, sizeof(what), "valloc(%zu)", n);
		CASE(what, valloc(n), page);
		/* glibc 2.36 rounds pvalloc's size with & -(page - 1) */
		memalign_of = (n + page - 1) & -(page - 1);
		snprintf(what, sizeof(what), "pvalloc(%zu)", n);
		CASE(what, pvalloc(n), page);
	}
	memalign_class = 0;
	CASE("valloc(SIZE_MAX)", valloc(huge), 0);
	CASE("valloc(SIZE_MAX-5000)", valloc(huge - 5000), 0);
	CASE("pvalloc(SIZE_MAX)", pvalloc(huge), 0);
	CASE("pvalloc(SIZE_MAX-5000)", pvalloc(huge - 5000), 0);
	CASE("pvalloc(PTRDIFF_MAX+1)", pvalloc(big), 0);

	/* Large blocks: glibc mmaps them (t_libc_edges.sh fixes the mmap threshold at
	 * 128 KiB, so that it does not move with earlier frees) and rounds to pages; sizes
	 * around a page boundary. */
	for (size_t d = 0; d <= 64; d += 8) {
		size_t n = 80 * page - d;
		snprintf(what, sizeof(what), "malloc(80*page-%zu)", d);
		CASE(what, malloc(n), 16);
		snprintf(what, sizeof(what), "calloc(1,80*page-%zu)", d);
		CASE(what, calloc(1, n), 16);
	}
	CASE("malloc(300000)", malloc(300000), 16);
	CASE("realloc(NULL,300000)", realloc(NULL, 300000), 16);
	{
		void *p = malloc(100);
		errno = SENTINEL;
		void *q = realloc(p, 300000);
		int e = errno;
		show("realloc(malloc(100),300000)", q, 16, e);
		errno = SENTINEL;
		void *r = realloc(q, 500000);
		e = errno;
		show("realloc(that,500000)", r, 16, e);
		errno = SENTINEL;
		void *t = realloc(r, 100);
		e = errno;
		show("realloc(that,100)", t, 16, e);
		free(t);
	}

	/* malloc_usable_size, free of NULL */
	errno = SENTINEL;
	size_t u = malloc_usable_size(NULL);
	int e = errno;
	printf("%-44s %zu", "malloc_usable_size(NULL)", u);
	show_errno(e);
	printf("\n");
	errno = SENTINEL;
	free(NULL);
	e = errno;
	printf("%-44s", "free(NULL)");
	show_errno(e);
	printf("\n");
	/* free keeps errno (glibc 2.33 and later), also when it unmaps a block */
	static const size_t fsizes[] = { 0, 100, 300000 };
	for (size_t j = 0; j < sizeof(fsizes) / sizeof(fsizes[0]); j++) {
		void *p = malloc(fsizes[j]);
		errno = SENTINEL;
		free(p);
		e = errno;
		snprintf(what, sizeof(what), "free(malloc(%zu))", fsizes[j]);
		printf("%-44s", what);
		show_errno(e);
		printf("\n");
	}
	return 0;
}
