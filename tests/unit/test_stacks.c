/* test_stacks.c - stack capture: the right frames, the cache's hits, and the cache
 * telling apart two chains that share the caller, its stack pointer and its frame
 * pointer (the case that makes a cache keyed on those alone wrong). */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sites.h"
#include "stacks.h"
#include "suites.h"

#define DEPTH 16
static struct stack_cache *cache;
static uintptr_t saved_lo, saved_hi;   /* the test thread's stack */

#define NOTAIL __asm__ volatile("" ::: "memory")

/* Plays an interposed allocator: takes its caller's frame like shim.c does. */
__attribute__((noinline)) static site_id fake_alloc(void)
{
	uintptr_t *f = __builtin_frame_address(0);
	site_id s = stacks_capture(cache, DEPTH, 1, (uintptr_t)fake_alloc, f[1],
				   (uintptr_t)(f + 2), f[0]);
	NOTAIL;
	return s;
}

__attribute__((noinline)) static site_id common(void)
{
	site_id s = fake_alloc();
	NOTAIL;
	return s;
}

__attribute__((noinline)) static site_id g1(void)
{
	volatile char pad[32];
	pad[0] = 1;
	site_id s = common();
	NOTAIL;
	return s + (site_id)(pad[0] - 1);
}

__attribute__((noinline)) static site_id g2(void)
{
	volatile char pad[32];
	pad[0] = 1;
	site_id s = common();
	NOTAIL;
	return s + (site_id)(pad[0] - 1);
}

static int within(uintptr_t ip, void *fn)
{
	return ip > (uintptr_t)fn && ip < (uintptr_t)fn + 512;
}

static void check_chain(site_id s, void *caller)
{
	unsigned d;
	const uintptr_t *ips = sites_stack(s, &d);
	CU_ASSERT_FATAL(ips != NULL && d >= 4);
	CU_ASSERT_EQUAL(ips[0], (uintptr_t)fake_alloc);
	CU_ASSERT(within(ips[1], (void *)common));
	CU_ASSERT(within(ips[2], caller));
}

/* The same two call instructions every round, so every round has the same stacks. */
static void run_pair(void)
{
	site_id a = 0, b = 0;
	int same = 1;
	for (int i = 0; i < 11; i++) {
		site_id x = g1(), y = g2();
		if (i == 0) {
			a = x;
			b = y;
		} else if (x != a || y != b) {
			same = 0;
		}
	}
	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT(same);
	check_chain(a, (void *)g1);
	check_chain(b, (void *)g2);
}

static void test_with_cache(void)
{
	struct stacks_counters before = { 0, 0, 0 }, after = { 0, 0, 0 };
	stacks_cache_counters(cache, &before);
	run_pair();
	stacks_cache_counters(cache, &after);
	CU_ASSERT(after.hits - before.hits >= 20);   /* the repeats hit */
}

static void test_without_cache(void)
{
	struct stack_cache *saved = cache;
	cache = NULL;
	run_pair();
	cache = saved;
}

/* A caller whose rbp holds a pointer into its caller's locals, a different one each
 * call: one site, and after the first walk every capture a hit (rbp is not part of the
 * key once the walker knows the frame's base is its stack pointer). */
uint32_t rbpdata_call(site_id (*fn)(void), uintptr_t value);

__attribute__((noinline)) static void rbp_loop(site_id *first, int *same)
{
	volatile char locals[512];
	locals[0] = 0;
	*same = 1;
	for (int i = 0; i < 64; i++) {
		site_id s = rbpdata_call(fake_alloc, (uintptr_t)&locals[i * 8]);
		if (i == 0)
			*first = s;
		else if (s != *first)
			*same = 0;
	}
	NOTAIL;
}

static void test_rbp_data(void)
{
	struct stacks_counters before = { 0, 0, 0 }, after = { 0, 0, 0 };
	site_id first = 0;
	int same = 0;
	stacks_cache_counters(cache, &before);
	rbp_loop(&first, &same);
	stacks_cache_counters(cache, &after);
	CU_ASSERT_TRUE(same);
	CU_ASSERT(after.misses - before.misses <= 2);
	CU_ASSERT(after.hits - before.hits >= 62);
	unsigned d;
	const uintptr_t *ips = sites_stack(first, &d);
	CU_ASSERT_FATAL(d >= 4);
	CU_ASSERT(within(ips[2], (void *)rbp_loop));
}

/* The frame-pointer register dropped from the key must still reach the walk: the
 * innermost caller keeps its base on the stack pointer and leaves rbp alone, and its
 * caller's base is rbp (alloca). Both captures give the whole stack. */
__attribute__((noinline, optimize("omit-frame-pointer"))) static site_id sp_mid(void)
{
	site_id s = fake_alloc();
	NOTAIL;
	return s;
}

__attribute__((noinline)) static site_id fp_outer(int n)
{
	volatile char *p = __builtin_alloca((size_t)n * 16 + 16);
	p[0] = 0;
	site_id s = sp_mid() + (site_id)p[0];
	NOTAIL;
	return s;
}

static void test_fp_kept_for_walk(void)
{
	site_id got[2];
	stacks_libunwind_fallback = 0;   /* as on an audio thread: the walker alone */
	for (volatile int i = 0; i < 2; i++)   /* one call site (not unrolled) */
		got[i] = fp_outer(1);
	stacks_libunwind_fallback = 1;
	site_id b = got[1];
	CU_ASSERT_EQUAL(got[0], got[1]);
	unsigned d;
	const uintptr_t *ips = sites_stack(b, &d);
	CU_ASSERT_FATAL(d >= 5);
	CU_ASSERT(within(ips[2], (void *)fp_outer));
	CU_ASSERT(within(ips[3], (void *)test_fp_kept_for_walk));
}

/* A wrapper that many callers share (gcc's xmalloc, operator new): eight callers of
 * common(), each called from one call site, so that common's return address, stack
 * pointer and frame pointer (the cache's key) are the same for all eight. Each
 * caller's stack is one site, walked once: the next round finds each in the cache
 * (four ways per key used to take turns, and every capture walked). */
#define SHARED_CALLER(k) \
	__attribute__((noinline)) static site_id h##k(void) \
	{ \
		volatile char pad[32]; \
		pad[0] = 1; \
		site_id s = common(); \
		NOTAIL; \
		return s + (site_id)(pad[0] - 1); \
	}
SHARED_CALLER(0) SHARED_CALLER(1) SHARED_CALLER(2) SHARED_CALLER(3)
SHARED_CALLER(4) SHARED_CALLER(5) SHARED_CALLER(6) SHARED_CALLER(7)

static site_id (*const shared_callers[8])(void) = { h0, h1, h2, h3, h4, h5, h6, h7 };

__attribute__((noinline)) static void shared_rounds(site_id *first, int *same)
{
	*same = 1;
	for (int r = 0; r < 11; r++)
		for (int k = 0; k < 8; k++) {
			site_id s = shared_callers[k]();
			if (r == 0)
				first[k] = s;
			else if (s != first[k])
				*same = 0;
		}
	NOTAIL;
}

static void test_shared_key(void)
{
	struct stacks_counters before = { 0, 0, 0 }, after = { 0, 0, 0 };
	site_id first[8];
	int same = 0;
	stacks_cache_counters(cache, &before);
	shared_rounds(first, &same);
	stacks_cache_counters(cache, &after);
	CU_ASSERT_TRUE(same);
	for (int k = 0; k < 8; k++) {
		check_chain(first[k], (void *)shared_callers[k]);
		for (int j = 0; j < k; j++)
			CU_ASSERT_NOT_EQUAL(first[j], first[k]);
	}
	CU_ASSERT_EQUAL(after.misses - before.misses, 8);
	CU_ASSERT_EQUAL(after.hits - before.hits, 80);
}

/* Two levels of wrappers: common() under mid(), mid() under six callers from one call
 * depth, so that the six stacks share the key and the caller above it (ips[2]) and
 * part only at ips[3]. A same-key entry's copy of the frame its set was chosen by
 * matches every one of them at the first level: each still gets its own site, walked
 * once, and found again in every later round. */
__attribute__((noinline)) static site_id mid(void)
{
	site_id s = common();
	NOTAIL;
	return s;
}

#define MID_CALLER(k) \
	__attribute__((noinline)) static site_id m##k(void) \
	{ \
		volatile char pad[32]; \
		pad[0] = 1; \
		site_id s = mid(); \
		NOTAIL; \
		return s + (site_id)(pad[0] - 1); \
	}
MID_CALLER(0) MID_CALLER(1) MID_CALLER(2) MID_CALLER(3) MID_CALLER(4) MID_CALLER(5)

#define NMID 6
static site_id (*const mid_callers[NMID])(void) = { m0, m1, m2, m3, m4, m5 };

__attribute__((noinline)) static void mid_rounds(site_id *first, int *same)
{
	*same = 1;
	for (int r = 0; r < 11; r++)
		for (int k = 0; k < NMID; k++) {
			site_id s = mid_callers[k]();
			if (r == 0)
				first[k] = s;
			else if (s != first[k])
				*same = 0;
		}
	NOTAIL;
}

static void test_shared_two_levels(void)
{
	struct stacks_counters before = { 0, 0, 0 }, after = { 0, 0, 0 };
	site_id first[NMID];
	int same = 0;
	stacks_cache_counters(cache, &before);
	mid_rounds(first, &same);
	stacks_cache_counters(cache, &after);
	CU_ASSERT_TRUE(same);
	for (int k = 0; k < NMID; k++) {
		unsigned d;
		const uintptr_t *ips = sites_stack(first[k], &d);
		CU_ASSERT_FATAL(ips != NULL && d >= 5);
		CU_ASSERT_EQUAL(ips[0], (uintptr_t)fake_alloc);
		CU_ASSERT(within(ips[1], (void *)common));
		CU_ASSERT(within(ips[2], (void *)mid));
		CU_ASSERT(within(ips[3], (void *)mid_callers[k]));
		for (int j = 0; j < k; j++)
			CU_ASSERT_NOT_EQUAL(first[j], first[k]);
	}
	CU_ASSERT_EQUAL(after.misses - before.misses, NMID);
	CU_ASSERT_EQUAL(after.hits - before.hits, 10 * NMID);
}

/* More stacks than the table starts with room for: NDEEP captures, each from its own
 * depth of one recursion (so its own key), captured round after round in the same
 * order. A table of fixed size evicts each before it comes round again and walks
 * every time; one that grows when it evicts at such a rate keeps them all after a few
 * rounds, and its entries, moved to the larger table, still give each capture its own
 * site (the outermost DEPTH stacks take in the rounds' loop, which the compiler may
 * have peeled into several calls: their sites may differ, rightly). A cache of its
 * own, so the others' counters are not disturbed. */
#define NDEEP 24000
static site_id *deep_sites;
static int deep_same;

__attribute__((noinline)) static void deep(int d, int round)
{
	if (d == 0)
		return;
	site_id s = common();
	if (round == 0)
		deep_sites[d - 1] = s;
	else if (deep_sites[d - 1] != s && d <= NDEEP - DEPTH)
		deep_same = 0;
	deep(d - 1, round);
	NOTAIL;
}

static void test_grows(void)
{
	struct stack_cache *saved = cache;
	cache = calloc(1, stacks_cache_size(DEPTH));
	void *table = calloc(1, stacks_cache_table_size(DEPTH));
	deep_sites = calloc(NDEEP, sizeof(*deep_sites));
	CU_ASSERT_FATAL(cache && table && deep_sites);
	stacks_cache_init(cache, DEPTH, table);
	stacks_cache_set_stack(cache, saved_lo, saved_hi);
	deep_same = 1;
	struct stacks_counters before = { 0, 0, 0 }, after = { 0, 0, 0 };
	for (int r = 0; r < 4; r++) {
		if (r == 3)
			stacks_cache_counters(cache, &before);
		deep(NDEEP, r);
	}
	stacks_cache_counters(cache, &after);
	CU_ASSERT_TRUE(deep_same);
	CU_ASSERT_EQUAL(after.uncacheable, 0);
	/* The last round: nearly all found. A table that could not grow holds 16,384
	 * entries, so a third of these stacks at least would be walked again; where the
	 * hashes of this run's addresses fall decides how many evictions remain (15 to
	 * 1,208 of 24,000 seen). */
	CU_ASSERT(after.misses - before.misses < NDEEP / 8);
	CU_ASSERT(after.hits - before.hits > NDEEP - NDEEP / 8);
	check_chain(deep_sites[0], (void *)deep);
	free(deep_sites);
	free(table);
	free(cache);
	cache = saved;
}

/* Without full unwinding, the stack is [fn, ra]. */
__attribute__((noinline)) static site_id shallow(void)
{
	uintptr_t *f = __builtin_frame_address(0);
	site_id s = stacks_capture(NULL, DEPTH, 0, (uintptr_t)shallow, f[1], (uintptr_t)(f + 2), f[0]);
	NOTAIL;
	return s;
}

static void test_shallow(void)
{
	unsigned d;
	const uintptr_t *ips = sites_stack(shallow(), &d);
	CU_ASSERT_EQUAL(d, 2);
	CU_ASSERT_EQUAL(ips[0], (uintptr_t)shallow);
	CU_ASSERT(within(ips[1], (void *)test_shallow));
}

void suite_stacks(void)
{
	CU_pSuite s = CU_add_suite("stacks", NULL, NULL);
	sites_init();
	stacks_global_init();
	cache = calloc(1, stacks_cache_size(DEPTH));
	stacks_cache_init(cache, DEPTH, calloc(1, stacks_cache_table_size(DEPTH)));
	pthread_attr_t a;
	void *lo = NULL;
	size_t size = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &lo, &size);
		pthread_attr_destroy(&a);
	}
	saved_lo = (uintptr_t)lo;
	saved_hi = (uintptr_t)lo + size;
	stacks_cache_set_stack(cache, saved_lo, saved_hi);
	CU_add_test(s, "cache: distinct chains, repeated hits", test_with_cache);
	CU_add_test(s, "no cache: same answers", test_without_cache);
	CU_add_test(s, "shallow capture before start-up", test_shallow);
	CU_add_test(s, "cache: rbp holding data is not part of the key", test_rbp_data);
	CU_add_test(s, "cache: rbp left out of the key still reaches the walk", test_fp_kept_for_walk);
	CU_add_test(s, "cache: one key, eight stacks above it", test_shared_key);
	CU_add_test(s, "cache: one key and caller, six stacks above them",
		    test_shared_two_levels);
	CU_add_test(s, "cache: grows for more stacks than it starts with", test_grows);
}
