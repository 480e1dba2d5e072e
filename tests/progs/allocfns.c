/* allocfns.c - every C allocation function at its own site, with exact sizes
 * (checked by t_alloc_funcs.sh). Also checks in the program itself: alignment,
 * content kept across realloc, calloc zeroing, overflow and bad-argument failures,
 * and that malloc_usable_size() >= the request on every kind of block and the whole
 * usable size can be written without touching any other block.
 *
 *  site         call                                  tb       tbk  kept at exit
 *  m_plain      malloc(123)                           123      1    yes
 *  c_plain      calloc(7, 9)                          63       1    no
 *  c_overflow   calloc(SIZE_MAX/2, 4) -> NULL         (none)
 *  r_null       realloc(NULL, 50)                     50       1    no
 *  m_grow       malloc(100)                           100      1    no (realloc'd)
 *  r_grow       realloc(grow, 300)                    300      1    no
 *  m_shrink     malloc(400)                           400      1    no (realloc'd)
 *  r_shrink     realloc(shrink, 40)                   40       1    no
 *  m_zero       malloc(64)                            64       1    no (realloc(p, 0) frees)
 *  r_zero       realloc(p, 0) -> NULL                 (none)
 *  ra_new       reallocarray(NULL, 10, 12)            120      1    no (reallocarray'd)
 *  ra_grow      reallocarray(p, 20, 12)               240      1    no
 *  ra_overflow  reallocarray(p, SIZE_MAX/4, 8) -> NULL(none; p unchanged)
 *  pm_64        posix_memalign(&p, 64, 200)           200      1    no
 *  pm_page      posix_memalign(&p, 4096, 5000)        5000     1    no
 *  pm_bad       posix_memalign(&p, 3, 10) -> EINVAL   (none)
 *  aa_128       aligned_alloc(128, 256)               256      1    no
 *  ma_32        memalign(32, 300)                     300      1    no
 *  ma_big       memalign(65536, 100)                  100      1    no
 *  va_site      valloc(1000)                          1000     1    no
 *  pv_site      pvalloc(1000)                         1000     1    yes (request, not the page)
 *  sd_site      strdup("hello, audioprof")            17       1    no
 *  snd_site     strndup("abcdefghij", 4)              5        1    no
 *  m_big        malloc(1 MiB + 5)  (mmap'd chunk)     1048581  1    no (realloc'd)
 *  r_big        realloc(big, 2 MiB)                   2097152  1    no
 *  m_loop       malloc(16)                            16       1    no (realloc'd)
 *  r_loop       realloc(p, 32, 48, ... 176): 10 times 1040     10   no; mb 176 mbk 1
 *               (each realloc frees the old block, then allocates the new one)
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "progs.h"

NOINLINE void *m_plain(void) { return malloc(123); }
NOINLINE void *c_plain(void) { return calloc(7, 9); }
static volatile size_t half_max = SIZE_MAX / 2, quarter_max = SIZE_MAX / 4;
NOINLINE void *c_overflow(void) { return calloc(half_max, 4); }
NOINLINE void *r_null(void) { return realloc(NULL, 50); }
NOINLINE void *m_grow(void) { return malloc(100); }
NOINLINE void *r_grow(void *p) { return realloc(p, 300); }
NOINLINE void *m_shrink(void) { return malloc(400); }
NOINLINE void *r_shrink(void *p) { return realloc(p, 40); }
NOINLINE void *m_zero(void) { return malloc(64); }
NOINLINE void *r_zero(void *p) { return realloc(p, 0); }
NOINLINE void *ra_new(void) { return reallocarray(NULL, 10, 12); }
NOINLINE void *ra_grow(void *p) { return reallocarray(p, 20, 12); }
NOINLINE void *ra_overflow(void *p) { return reallocarray(p, quarter_max, 8); }
NOINLINE int pm_64(void **pp) { return posix_memalign(pp, 64, 200); }
NOINLINE int pm_page(void **pp) { return posix_memalign(pp, 4096, 5000); }
NOINLINE int pm_bad(void **pp) { return posix_memalign(pp, 3, 10); }
NOINLINE void *aa_128(void) { return aligned_alloc(128, 256); }
NOINLINE void *ma_32(void) { return memalign(32, 300); }
NOINLINE void *ma_big(void) { return memalign(65536, 100); }
NOINLINE void *va_site(void) { return valloc(1000); }
NOINLINE void *pv_site(void) { return pvalloc(1000); }
NOINLINE char *sd_site(void) { return strdup("hello, audioprof"); }
NOINLINE char *snd_site(void) { return strndup("abcdefghij", 4); }
NOINLINE void *m_big(void) { return malloc((1u << 20) + 5); }
NOINLINE void *r_big(void *p) { return realloc(p, 2u << 20); }
NOINLINE void *m_loop(void) { return malloc(16); }
NOINLINE void *r_loop(void *p, size_t n) { return realloc(p, n); }
NOINLINE void release(void *p) { free(p); }

#define NBLK 32
static void *volatile blk[NBLK];
static size_t req[NBLK];
static int nblk;

static void track(void *p, size_t n)
{
	PROG_CHECK(p != NULL, "allocation failed");
	PROG_CHECK(nblk < NBLK, "too many blocks");
	blk[nblk] = p;
	req[nblk] = n;
	nblk++;
}

static int aligned(void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

int main(void)
{
	void *p, *q;
	volatile unsigned char *u;
	size_t i, k;
	int pv_idx;
	long page = sysconf(_SC_PAGESIZE);

	p = m_plain();
	track(p, 123);

	p = c_plain();
	u = p;
	for (i = 0; i < 63; i++)
		PROG_CHECK(u[i] == 0, "calloc block not zeroed");
	track(p, 63);

	errno = 0;
	p = c_overflow();
	PROG_CHECK(p == NULL && errno == ENOMEM, "calloc overflow did not fail with ENOMEM");

	p = r_null();
	track(p, 50);

	p = m_grow();
	memset(p, 0x5a, 100);
	p = r_grow(p);
	PROG_CHECK(p != NULL, "realloc grow failed");
	u = p;
	for (i = 0; i < 100; i++)
		PROG_CHECK(u[i] == 0x5a, "realloc grow lost content");
	track(p, 300);

	p = m_shrink();
	memset(p, 0x3c, 400);
	p = r_shrink(p);
	PROG_CHECK(p != NULL, "realloc shrink failed");
	u = p;
	for (i = 0; i < 40; i++)
		PROG_CHECK(u[i] == 0x3c, "realloc shrink lost content");
	track(p, 40);

	p = m_zero();
	q = r_zero(p);
	PROG_CHECK(q == NULL, "realloc(p, 0) did not return NULL (glibc frees)");

	p = ra_new();
	PROG_CHECK(p != NULL, "reallocarray(NULL) failed");
	memset(p, 0x11, 120);
	p = ra_grow(p);
	PROG_CHECK(p != NULL, "reallocarray grow failed");
	u = p;
	for (i = 0; i < 120; i++)
		PROG_CHECK(u[i] == 0x11, "reallocarray lost content");
	errno = 0;
	q = ra_overflow(p);
	PROG_CHECK(q == NULL && errno == ENOMEM, "reallocarray overflow did not fail with ENOMEM");
	track(p, 240);

	p = NULL;
	PROG_CHECK(pm_64(&p) == 0 && aligned(p, 64), "posix_memalign 64");
	track(p, 200);
	p = NULL;
	PROG_CHECK(pm_page(&p) == 0 && aligned(p, 4096), "posix_memalign 4096");
	track(p, 5000);
	p = (void *)0x1;
	PROG_CHECK(pm_bad(&p) == EINVAL && p == (void *)0x1, "posix_memalign(3) did not give EINVAL");

	p = aa_128();
	PROG_CHECK(p && aligned(p, 128), "aligned_alloc 128");
	track(p, 256);
	p = ma_32();
	PROG_CHECK(p && aligned(p, 32), "memalign 32");
	track(p, 300);
	p = ma_big();
	PROG_CHECK(p && aligned(p, 65536), "memalign 65536");
	track(p, 100);
	p = va_site();
	PROG_CHECK(p && aligned(p, (size_t)page), "valloc page alignment");
	track(p, 1000);
	pv_idx = nblk;
	p = pv_site();
	PROG_CHECK(p && aligned(p, (size_t)page), "pvalloc page alignment");
	PROG_CHECK(malloc_usable_size(p) >= (size_t)page, "pvalloc usable size < page");
	track(p, 1000);

	p = sd_site();
	PROG_CHECK(p && strcmp(p, "hello, audioprof") == 0, "strdup");
	track(p, 17);
	p = snd_site();
	PROG_CHECK(p && strcmp(p, "abcd") == 0, "strndup");
	track(p, 5);

	p = m_big();
	PROG_CHECK(p != NULL, "big malloc");
	memset(p, 0x77, (1u << 20) + 5);
	p = r_big(p);
	PROG_CHECK(p != NULL, "big realloc");
	u = p;
	for (i = 0; i < (1u << 20) + 5; i += 4096)
		PROG_CHECK(u[i] == 0x77, "big realloc lost content");
	track(p, 2u << 20);

	p = m_loop();
	memset(p, 0x42, 16);
	for (i = 2; i <= 11; i++) {
		p = r_loop(p, 16 * i);
		PROG_CHECK(p != NULL && ((unsigned char *)p)[15] == 0x42, "realloc loop");
		memset(p, 0x42, 16 * i);
	}
	release(p);

	free(NULL);

	/* malloc_usable_size: >= the request, and all of it is ours to write. */
	for (k = 0; k < (size_t)nblk; k++) {
		size_t us = malloc_usable_size(blk[k]);
		PROG_CHECK(us >= req[k], "malloc_usable_size < requested size");
		memset(blk[k], (int)(0x80 + k), us);
	}
	for (k = 0; k < (size_t)nblk; k++) {
		size_t us = malloc_usable_size(blk[k]);
		u = blk[k];
		for (i = 0; i < us; i++)
			PROG_CHECK(u[i] == (unsigned char)(0x80 + k),
				   "a block's usable bytes were overwritten by another block");
	}

	/* Free everything but m_plain (index 0) and pv_site's block. */
	for (k = 0; k < (size_t)nblk; k++)
		if (k != 0 && k != (size_t)pv_idx)
			release(blk[k]);
	/* The heap still works after all that. */
	for (k = 0; k < 100; k++) {
		p = malloc(k * 7 + 1);
		PROG_CHECK(p != NULL, "malloc after frees");
		release(p);
	}
	printf("allocfns ok %d blocks\n", nblk);
	return 0;
}
