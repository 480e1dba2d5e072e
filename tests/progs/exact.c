/* exact.c - allocation sites with known, exact DHAT numbers (checked by t_exact.sh).
 * No stdio and no other libc call that allocates, so the global heap peak is known.
 *
 * Timeline (live = the program's live bytes):
 *   phase 1  site_a: 10 x 100 B (live 1000), free 5            -> live 500
 *   phase 2  site_b: 2 x 10 B (live 520), free both             -> live 500   (mb 20: DHAT says 0)
 *            site_h: 1 x 1000 B (live 1500), free it, 5 x 10 B  -> live 550   (mb 1000, mbk 5)
 *   phase 3  site_c: 4 x 2000, site_d: 3 x 300, site_e: calloc(5, 40)
 *                                      -> live 9650 = THE GLOBAL PEAK (first reached here)
 *            free site_c's 4 blocks                             -> live 1650
 *   phase 4  site_f: 3 x 2500 (live 9150 < peak), free 1        -> live 6650
 *            site_g: 1 x 3000 -> live 9650 (equals the peak: not a new one), free -> 6650
 *   exit     live: a 500/5, h 50/5, d 900/3, e 200/1, f 5000/2
 *
 *  site | tb   tbk | mb   mbk | gb   gbk | eb   ebk | freed
 *  a    | 1000 10  | 1000 10  | 500  5   | 500  5   | 5
 *  b    | 20   2   | 20   2   | 0    0   | 0    0   | 2
 *  h    | 1050 6   | 1000 5   | 50   5   | 50   5   | 1
 *  c    | 8000 4   | 8000 4   | 8000 4   | 0    0   | 4
 *  d    | 900  3   | 900  3   | 900  3   | 900  3   | 0
 *  e    | 200  1   | 200  1   | 200  1   | 200  1   | 0     (calloc)
 *  f    | 7500 3   | 7500 3   | 0    0   | 5000 2   | 1
 *  g    | 3000 1   | 3000 1   | 0    0   | 0    0   | 1
 */
#include <stdlib.h>
#include "progs.h"

static void *volatile a[10], *volatile b[2], *volatile h[6], *volatile c[4],
	*volatile d[3], *volatile e, *volatile f[3], *volatile g;

NOINLINE void *site_a(void) { return malloc(100); }
NOINLINE void *site_b(void) { return malloc(10); }
NOINLINE void *site_h(size_t n) { return malloc(n); }
NOINLINE void *site_c(void) { return malloc(2000); }
NOINLINE void *site_d(void) { return malloc(300); }
NOINLINE void *site_e(void) { return calloc(5, 40); }
NOINLINE void *site_f(void) { return malloc(2500); }
NOINLINE void *site_g(void) { return malloc(3000); }
NOINLINE void release(void *p) { free(p); }

int main(void)
{
	int i;

	/* phase 1 */
	for (i = 0; i < 10; i++)
		a[i] = site_a();
	for (i = 0; i < 5; i++)
		release(a[i]);

	/* phase 2 */
	for (i = 0; i < 2; i++)
		b[i] = site_b();
	for (i = 0; i < 2; i++)
		release(b[i]);
	for (i = 0; i < 6; i++) {        /* one call line: one site */
		h[i] = site_h(i == 0 ? 1000 : 10);
		if (i == 0)
			release(h[0]);
	}

	/* phase 3: the global peak */
	for (i = 0; i < 4; i++)
		c[i] = site_c();
	for (i = 0; i < 3; i++)
		d[i] = site_d();
	e = site_e();
	for (i = 0; i < 4; i++)
		release(c[i]);

	/* phase 4: re-growth below, then exactly back to, the peak */
	for (i = 0; i < 3; i++)
		f[i] = site_f();
	release(f[0]);
	g = site_g();
	release(g);

	for (i = 0; i < 10; i++)
		PROG_CHECK(a[i] != NULL, "site_a returned NULL");
	PROG_CHECK(e != NULL && ((volatile char *)e)[199] == 0, "calloc block not zeroed");
	return 0;
}
