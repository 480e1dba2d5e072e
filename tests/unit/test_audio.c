/* test_audio.c - callback timing (preload/audio.c): the percentiles a profile gives
 * (p50, p90, p99, p99.9 and jitter p99) come from a log-linear histogram of
 * durations, 16 steps per power of two. Each must be the duration of the right rank
 * to within half a step (1/32), exact below 16 ns, and never outside [min, max]. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "audio.h"
#include "suites.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The value of rank floor(q * n) in sorted order: what the quantile estimates. */
static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);
	return sorted[rank < n ? rank : n - 1];
}

static void test_empty_and_single(void)
{
	static const uint64_t one[] = { 0, 1, 15, 16, 17, 1000, 5333333, 1ull << 40 };
	CU_ASSERT_EQUAL(audio_testing_quantile(NULL, 0, 0.99), 0);
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		CU_ASSERT_EQUAL(audio_testing_quantile(&one[i], 1, 0.0), one[i]);
		CU_ASSERT_EQUAL(audio_testing_quantile(&one[i], 1, 0.5), one[i]);
		CU_ASSERT_EQUAL(audio_testing_quantile(&one[i], 1, 0.999), one[i]);
	}
}

/* Below 16 ns every value has a bucket of its own. */
static void test_small_exact(void)
{
	const uint64_t v[] = { 7, 3, 9, 1, 10, 2, 8, 4, 6, 5 };   /* 1..10 */
	CU_ASSERT_EQUAL(audio_testing_quantile(v, 10, 0.0), 1);
	CU_ASSERT_EQUAL(audio_testing_quantile(v, 10, 0.5), 6);
	CU_ASSERT_EQUAL(audio_testing_quantile(v, 10, 0.9), 10);
	CU_ASSERT_EQUAL(audio_testing_quantile(v, 10, 0.89), 9);
	CU_ASSERT_EQUAL(audio_testing_quantile(v, 10, 1.0), 10);
}

/* One slow cycle in 1,000: p99 does not see it, p99.9 does (rank 999 of 0..999). */
static void test_tail(void)
{
	static uint64_t v[1000];
	for (size_t i = 0; i < 1000; i++)
		v[i] = 1000000;
	v[500] = 10000000;
	uint64_t p99 = audio_testing_quantile(v, 1000, 0.99);
	uint64_t p999 = audio_testing_quantile(v, 1000, 0.999);
	CU_ASSERT(p99 * 32 >= 1000000 * 31 && p99 * 32 <= 1000000 * 33);
	CU_ASSERT_EQUAL(p999, 10000000);    /* the top bucket's middle, clamped to max */
	v[500] = 1000000;
	CU_ASSERT(audio_testing_quantile(v, 1000, 0.999) * 32 <= 1000000 * 33);
}

/* Random durations from 16 ns to 2^42 ns (log-uniform), against the sorted values. */
static void test_random(void)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	enum { N = 5000 };
	static uint64_t v[N], sorted[N];
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	int bad = 0;
	for (int round = 0; round < 20 && bad < 5; round++) {
		size_t n = 1 + (size_t)(round * 250);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			unsigned e = 4 + (unsigned)((seed >> 33) % 38);   /* 2^4 .. 2^41 */
			uint64_t mant = (seed >> 7) & ((1ull << e) - 1);
			v[i] = sorted[i] = (1ull << e) | mant;
		}
		qsort(sorted, n, sizeof(sorted[0]), cmp_u64);
		uint64_t prev = 0;
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			uint64_t want = exact(sorted, n, qs[k]);
			uint64_t got = audio_testing_quantile(v, n, qs[k]);
			uint64_t diff = got > want ? got - want : want - got;
			if (diff * 32 > want || got < sorted[0] || got > sorted[n - 1] || got < prev) {
				fprintf(stderr, "n %zu q %g: got %llu, want %llu (min %llu max %llu)\n",
					n, qs[k], (unsigned long long)got, (unsigned long long)want,
					(unsigned long long)sorted[0], (unsigned long long)sorted[n - 1]);
				bad++;
			}
			prev = got;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

void suite_audio(void)
{
	CU_pSuite s = CU_add_suite("audio", NULL, NULL);
	CU_add_test(s, "quantiles: none, and of one value", test_empty_and_single);
	CU_add_test(s, "quantiles: exact below 16 ns", test_small_exact);
	CU_add_test(s, "quantiles: one slow cycle in 1,000", test_tail);
	CU_add_test(s, "quantiles: within 1/32 of the right rank", test_random);
}
