/* stackcache.c - one allocating function reached through different call paths,
 * interleaved, so a per-thread stack cache that trusted only the innermost frames
 * would misattribute blocks (t_stack_cache.sh).
 *   shared_site via_one ... : 300 x 8 B   (freed at once)
 *   shared_site via_two ... : 200 x 8 B   (freed at once)
 *   rec_site under 3 rec frames: 150 x 16 B, under 5 rec frames: 100 x 16 B (freed)
 *   deep_site under 40 deep frames: 10 x 32 B (kept) -> frame list capped by AUDIOPROF_DEPTH
 * All five call paths alternate inside one loop. */
#include <stdlib.h>
#include "progs.h"

static void *volatile keep[10];

NOINLINE void *shared_site(void) { return malloc(8); }
NOINLINE void *via_one(void) { return shared_site(); }
NOINLINE void *via_two(void) { return shared_site(); }
NOINLINE void *rec_site(void) { return malloc(16); }
NOINLINE void *rec(int n) { return n > 1 ? rec(n - 1) : rec_site(); }
NOINLINE void *deep_site(void) { return malloc(32); }
NOINLINE void *deep(int n) { return n > 1 ? deep(n - 1) : deep_site(); }
NOINLINE void release(void *p) { free(p); }

int main(void)
{
	int i, nk = 0;

	for (i = 0; i < 500; i++) {
		release(i % 5 < 3 ? via_one() : via_two());
		if (i % 2 == 0 && i < 300)
			release(rec(3));
		if (i % 5 == 1)
			release(rec(5));
		if (i % 50 == 7)
			keep[nk++] = deep(40);
	}
	PROG_CHECK(nk == 10, "deep count");
	return 0;
}
