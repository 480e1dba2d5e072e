/* test_stats.c - the analyzer's statistics (analyzer/stats.c) on histograms with known
 * answers: the bucket layout of durhist.h, grouped-data quantiles computed by hand,
 * pooling, the Mann-Whitney U test on a published example and a hand-ranked one with
 * ties, and the bootstrap interval of a quantile's change on identical, shifted and
 * randomly drawn samples (the last checks that a 95 % interval misses the truth about
 * 5 % of the time), for one run a side and for several runs that differ. Every sample
 * is generated here, deterministically. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "durhist.h"
#include "stats.h"
#include "suites.h"

#define NEAR(x, want, tol) CU_ASSERT_DOUBLE_EQUAL((x), (want), (tol))

/* ------------------------------------------------------------------ samples */

/* Values from the test's own generator (splitmix64), independent of stats.c's. */
static uint64_t mix_state;

static double unit_uniform(void)
{
	uint64_t z = (mix_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) * 0x1.0p-53;
}

/* A callback-like duration distribution: 50 us plus an exponential tail of mean 20 us
 * (skewed, with a long right tail), scaled by `scale`; its u-quantile. */
static uint64_t duration_at(double u, double scale)
{
	return (uint64_t)llround(scale * (50000.0 - 20000.0 * log(1 - u)));
}

/* n durations evenly through the distribution (the (i + 1/2) / n quantiles): a sample
 * with no randomness in it. */
static void fill_grid(struct stats_hist *h, unsigned n, double scale)
{
	stats_hist_init(h);
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(stats_hist_add(h, duration_at((i + 0.5) / n, scale), 1), 0);
}

/* n durations drawn at random from the distribution. */
static void fill_random(struct stats_hist *h, unsigned n, double scale)
{
	stats_hist_init(h);
	for (unsigned i = 0; i < n; i++)
		stats_hist_add(h, duration_at(unit_uniform(), scale), 1);
}

static void fill_values(struct stats_hist *h, const uint64_t *v, size_t n)
{
	stats_hist_init(h);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(stats_hist_add(h, v[i], 1), 0);
}

/* ------------------------------------------------------------------ layout */

static void test_layout(void)
{
	/* By hand: 1000 = 0b1111101000, top bit 2^9, so steps of 2^5 = 32 ns; 1000 >> 5 =
	 * 31, step 31 & 15 = 15; bucket (9 - 3) * 16 + 15 = 111, from 31 * 32 = 992. */
	CU_ASSERT_EQUAL(durhist_bucket(1000), 111);
	CU_ASSERT_EQUAL(durhist_lower(111), 992);
	CU_ASSERT_EQUAL(durhist_width(111), 32);
	CU_ASSERT_EQUAL(durhist_mid(111), 1008);
	CU_ASSERT_EQUAL(durhist_bucket(15), 15);
	CU_ASSERT_EQUAL(durhist_bucket(31), 31);
	CU_ASSERT_EQUAL(durhist_bucket(32), 32);
	CU_ASSERT_EQUAL(durhist_bucket(33), 32);
	CU_ASSERT_EQUAL(durhist_mid(48), 66);              /* [64, 68) */
	CU_ASSERT_EQUAL(durhist_bucket(UINT64_MAX), DURHIST_BUCKETS - 1);
	CU_ASSERT_EQUAL(durhist_lower(DURHIST_BUCKETS - 1), 31ull << 38);

	/* The buckets tile the line: each starts where the one before ends, and every
	 * duration falls in the bucket whose edges hold it. */
	for (unsigned b = 0; b + 1 < DURHIST_BUCKETS; b++) {
		CU_ASSERT_EQUAL_FATAL(durhist_lower(b) + durhist_width(b), durhist_lower(b + 1));
		CU_ASSERT_EQUAL_FATAL(durhist_bucket(durhist_lower(b)), b);
		CU_ASSERT_EQUAL_FATAL(durhist_bucket(durhist_lower(b + 1) - 1), b);
		/* at most 1/16 of its lower edge wide: 6.25 % resolution */
		CU_ASSERT_FATAL(b < DURHIST_SUB || durhist_width(b) * DURHIST_SUB <= durhist_lower(b));
	}
	for (uint64_t ns = 0; ns < 100000; ns += 7) {
		unsigned b = durhist_bucket(ns);

		CU_ASSERT_FATAL(durhist_lower(b) <= ns && ns < durhist_lower(b) + durhist_width(b));
	}
}

/* ------------------------------------------------------------------ quantiles */

static void test_quantile_grouped(void)
{
	uint64_t counts[DURHIST_BUCKETS] = { 0 };
	struct stats_hist h;

	/* 4 durations in [992, 1024), 6 in [1024, 1088): the grouped-data formula
	 * L + (qN - F) / f * w, by hand. */
	counts[111] = 4;
	counts[112] = 6;
	CU_ASSERT_EQUAL_FATAL(stats_hist_set(&h, counts, DURHIST_BUCKETS, 0, 0), 0);
	CU_ASSERT_EQUAL(h.count, 10);
	CU_ASSERT_EQUAL(h.min, 992);                       /* not known: the edges */
	CU_ASSERT_EQUAL(h.max, 1087);
	NEAR(stats_quantile(&h, 0.2), 992 + 2.0 / 4 * 32, 1e-9);        /* 1008 */
	NEAR(stats_quantile(&h, 0.4), 1024, 1e-9);                      /* the edge */
	NEAR(stats_quantile(&h, 0.5), 1024 + 1.0 / 6 * 64, 1e-9);       /* 1034.67 */
	NEAR(stats_quantile(&h, 0.9), 1024 + 5.0 / 6 * 64, 1e-9);       /* 1077.33 */
	NEAR(stats_quantile(&h, 0.0), 992, 1e-9);
	NEAR(stats_quantile(&h, 1.0), 1087, 1e-9);                      /* within max */

	/* The exact extremes, when known, bound the interpolation. */
	CU_ASSERT_EQUAL_FATAL(stats_hist_set(&h, counts, DURHIST_BUCKETS, 1000, 1030), 0);
	NEAR(stats_quantile(&h, 0.0), 1000, 1e-9);
	NEAR(stats_quantile(&h, 0.2), 1008, 1e-9);
	NEAR(stats_quantile(&h, 0.9), 1030, 1e-9);
}

static void test_quantile_uniform(void)
{
	struct stats_hist h;

	/* 1..1023 once each: each bucket [L, L + w) holds its w values and the L - 1
	 * values below, so (qN - (L - 1)) / w * w + L = qN + 1 in every bucket. */
	stats_hist_init(&h);
	for (uint64_t v = 1; v <= 1023; v++)
		stats_hist_add(&h, v, 1);
	NEAR(stats_quantile(&h, 0.1), 0.1 * 1023 + 1, 1e-9);
	NEAR(stats_quantile(&h, 0.5), 512.5, 1e-9);
	NEAR(stats_quantile(&h, 0.99), 0.99 * 1023 + 1, 1e-9);
	NEAR(stats_quantile(&h, 0.0), 1, 1e-9);
	NEAR(stats_quantile(&h, 1.0), 1023, 1e-9);
}

static void test_quantile_edges(void)
{
	struct stats_hist h;

	stats_hist_init(&h);
	CU_ASSERT(isnan(stats_quantile(&h, 0.5)));         /* empty */
	CU_ASSERT_EQUAL(stats_hist_add(&h, 123456, 100), 0);
	NEAR(stats_quantile(&h, 0.0), 123456, 0);          /* one value: exactly it */
	NEAR(stats_quantile(&h, 0.5), 123456, 0);
	NEAR(stats_quantile(&h, 1.0), 123456, 0);
	CU_ASSERT(isnan(stats_quantile(&h, -0.1)));
	CU_ASSERT(isnan(stats_quantile(&h, 1.1)));
	CU_ASSERT(isnan(stats_quantile(&h, NAN)));
	CU_ASSERT_EQUAL(stats_hist_add(&h, 1, UINT64_MAX), -1);       /* overflow */
	CU_ASSERT_EQUAL(h.count, 100);
	CU_ASSERT_EQUAL(h.min, 123456);
	CU_ASSERT_EQUAL(stats_hist_add(&h, 5, 0), 0);                 /* nothing added */
	CU_ASSERT_EQUAL(h.min, 123456);
}

static void test_hist_set(void)
{
	uint64_t counts[DURHIST_BUCKETS] = { 0 };
	struct stats_hist h, added;

	/* The same as adding the durations one by one. */
	fill_grid(&added, 500, 1.0);
	CU_ASSERT_EQUAL_FATAL(stats_hist_set(&h, added.n, DURHIST_BUCKETS, added.min, added.max), 0);
	CU_ASSERT_EQUAL(memcmp(&h, &added, sizeof h), 0);
	/* Bad input leaves it empty. */
	CU_ASSERT_EQUAL(stats_hist_set(&h, added.n, DURHIST_BUCKETS - 1, 0, 0), -1);
	CU_ASSERT_EQUAL(h.count, 0);
	CU_ASSERT_EQUAL(stats_hist_set(&h, added.n, DURHIST_BUCKETS, added.min - 5000, added.max), -1);
	CU_ASSERT_EQUAL(stats_hist_set(&h, added.n, DURHIST_BUCKETS, added.min, added.max * 2), -1);
	CU_ASSERT_EQUAL(stats_hist_set(&h, added.n, DURHIST_BUCKETS, added.max, added.min), -1);
	counts[3] = UINT64_MAX;
	counts[4] = 1;
	CU_ASSERT_EQUAL(stats_hist_set(&h, counts, DURHIST_BUCKETS, 0, 0), -1);
	CU_ASSERT_EQUAL(h.count, 0);
	memset(counts, 0, sizeof counts);
	CU_ASSERT_EQUAL(stats_hist_set(&h, counts, DURHIST_BUCKETS, 0, 0), 0);  /* empty */
	CU_ASSERT_EQUAL(h.count, 0);
}

static void test_pool(void)
{
	struct stats_hist a, b, c, pooled, added;
	const struct stats_hist *in[3] = { &a, &b, &c };

	fill_grid(&a, 300, 1.0);
	fill_grid(&b, 200, 1.3);
	stats_hist_init(&c);                                 /* an empty run changes nothing */
	added = a;
	for (unsigned i = 0; i < 200; i++)
		stats_hist_add(&added, duration_at((i + 0.5) / 200, 1.3), 1);
	CU_ASSERT_EQUAL_FATAL(stats_pool(&pooled, in, 3), 0);
	CU_ASSERT_EQUAL(pooled.count, 500);
	CU_ASSERT_EQUAL(pooled.min, a.min);
	CU_ASSERT_EQUAL(pooled.max, b.max);
	CU_ASSERT_EQUAL(memcmp(&pooled, &added, sizeof pooled), 0);
	/* in place */
	CU_ASSERT_EQUAL_FATAL(stats_pool(&a, in, 3), 0);
	CU_ASSERT_EQUAL(memcmp(&a, &added, sizeof a), 0);
	/* nothing to pool */
	CU_ASSERT_EQUAL(stats_pool(&pooled, in, 0), 0);
	CU_ASSERT_EQUAL(pooled.count, 0);
	/* overflow */
	stats_hist_init(&b);
	stats_hist_add(&b, 1000, UINT64_MAX - 10);
	in[1] = &b;
	CU_ASSERT_EQUAL(stats_pool(&pooled, in, 2), -1);
	CU_ASSERT_EQUAL(pooled.count, 0);
}

/* ------------------------------------------------------------------ Mann-Whitney */

static void test_mw_published(void)
{
	/* R. Shier, "Statistics: 2.3 The Mann-Whitney U Test" (Mathematics Learning Support
	 * Centre, 2004), also the example of SciPy's mannwhitneyu: ages at diagnosis, males
	 * 19 22 16 29 24, females 20 11 17 12. U = 17 for males (3 for females); normal
	 * approximation with continuity correction: z = (17 - 10 - 0.5) / sqrt(5 * 4 * 10 /
	 * 12) = 1.5922, two-sided p = 0.11134688653314 (SciPy's method="asymptotic").
	 * Below 32 ns every value has a bucket of its own, so nothing is tied. */
	static const uint64_t males[] = { 19, 22, 16, 29, 24 }, females[] = { 20, 11, 17, 12 };
	struct stats_hist m, f;
	struct stats_mw r;

	fill_values(&m, males, 5);
	fill_values(&f, females, 4);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&f, &m, &r), 0);
	NEAR(r.u, 17, 1e-12);
	NEAR(r.effect, 17.0 / 20, 1e-12);
	NEAR(r.z, 6.5 / sqrt(200.0 / 12), 1e-12);
	NEAR(r.p, 0.11134688653314, 1e-12);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&m, &f, &r), 0);  /* the other way round */
	NEAR(r.u, 3, 1e-12);
	NEAR(r.z, -6.5 / sqrt(200.0 / 12), 1e-12);
	NEAR(r.p, 0.11134688653314, 1e-12);
}

static void test_mw_ties(void)
{
	/* base 1 2 2 3, new 2 3 3 4. Ranked together: 1 -> 1; the three 2s -> 3 each; the
	 * three 3s -> 6 each; 4 -> 8. New's rank sum 3 + 6 + 6 + 8 = 23, U = 23 - 4 * 5 / 2
	 * = 13 (pairs: 2 beats 1 and ties two 2s: 2; each 3 beats three, ties one: 3.5;
	 * 4 beats all four: 13). Ties: two groups of 3, sum(t^3 - t) = 48; variance
	 * 4 * 4 / 12 * (9 - 48 / (8 * 7)) = 10.857142857; z = (13 - 8 - 0.5) / 3.2950..
	 * = 1.365698202, p = erfc(z / sqrt 2) = 0.172033708922. */
	static const uint64_t base[] = { 1, 2, 2, 3 }, new[] = { 2, 3, 3, 4 };
	struct stats_hist b, n;
	struct stats_mw r;

	fill_values(&b, base, 4);
	fill_values(&n, new, 4);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&b, &n, &r), 0);
	NEAR(r.u, 13, 1e-12);
	NEAR(r.z, 4.5 / sqrt(16.0 / 12 * (9 - 48.0 / 56)), 1e-12);
	NEAR(r.z, 1.365698202000489, 1e-12);
	NEAR(r.p, 0.17203370892182, 1e-12);

	/* Durations that share a bucket are ties, however they differ: 1000 and 1010 both
	 * in [992, 1024). */
	stats_hist_init(&b);
	stats_hist_init(&n);
	stats_hist_add(&b, 1000, 50);
	stats_hist_add(&n, 1010, 70);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&b, &n, &r), 0);
	NEAR(r.u, 50 * 70 / 2.0, 0);
	NEAR(r.z, 0, 0);
	NEAR(r.p, 1, 0);                                   /* no variance: nothing to see */
}

static void test_mw_identical_and_shifted(void)
{
	struct stats_hist a, b;
	struct stats_mw r;

	fill_grid(&a, 2000, 1.0);
	fill_grid(&b, 2000, 1.0);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&a, &b, &r), 0);
	NEAR(r.u, 2000.0 * 2000 / 2, 0);
	NEAR(r.effect, 0.5, 0);
	NEAR(r.p, 1, 0);

	/* 5 % slower, all through the distribution: p far below 0.001 */
	fill_grid(&b, 2000, 1.05);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&a, &b, &r), 0);
	CU_ASSERT(r.p < 0.001);
	CU_ASSERT(r.z > 3.29);                             /* two-sided 0.001 */
	CU_ASSERT(r.effect > 0.5);
	CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&b, &a, &r), 0);
	CU_ASSERT(r.p < 0.001);
	CU_ASSERT(r.z < -3.29);

	/* Empty sides are refused. */
	stats_hist_init(&b);
	CU_ASSERT_EQUAL(stats_mann_whitney(&a, &b, &r), -1);
	CU_ASSERT_EQUAL(stats_mann_whitney(&b, &a, &r), -1);
}

/* ------------------------------------------------------------------ change of a quantile */

static void test_change_identical(void)
{
	struct stats_hist a, b;
	struct stats_change c;

	fill_grid(&a, 2000, 1.0);
	fill_grid(&b, 2000, 1.0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.5, 0.95, 0, &c), 0);
	NEAR(c.change, 0, 0);
	NEAR(c.base, stats_quantile(&a, 0.5), 0);
	CU_ASSERT(c.lo < 0 && c.hi > 0);
	/* The median of 2000 exponential-tailed durations is known to a few %: the
	 * interval is narrow as well as around 0. */
	CU_ASSERT(c.lo > -0.05 && c.hi < 0.05);
	CU_ASSERT_EQUAL(c.tail, 1000);
	CU_ASSERT(c.p > 0.9);                              /* about half on each side */

	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.99, 0.95, 0, &c), 0);
	NEAR(c.change, 0, 0);
	CU_ASSERT(c.lo < 0 && c.hi > 0);
	CU_ASSERT_EQUAL(c.tail, 20);
}

static void test_change_shifted(void)
{
	struct stats_hist a, b;
	struct stats_change c;
	const double qs[] = { 0.5, 0.9, 0.99 };

	/* Every duration 20 % longer: every quantile 20 % higher (within the bucket
	 * interpolation), and the interval around +20 %, far from 0. How far: the
	 * q-quantile of n durations with density f there varies by sqrt(q (1 - q) / n) / f;
	 * for this distribution's median that is 0.7 % of it, so the change is known to
	 * 1.2 * sqrt 2 * 0.7 % * 1.96 = +-2.3 %; at p99, where only 20 of 2000 lie beyond,
	 * to +-10 %. */
	fill_grid(&a, 2000, 1.0);
	fill_grid(&b, 2000, 1.2);
	for (unsigned i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, qs[i], 0.95, 0, &c), 0);
		NEAR(c.change, 0.2, 0.01);
		CU_ASSERT(c.lo < 0.2 && c.hi > 0.2);
		CU_ASSERT(c.lo > 0.05 && c.hi < 0.35);
		CU_ASSERT(c.p < 0.001);
		if (qs[i] == 0.5)
			CU_ASSERT(c.lo > 0.17 && c.hi < 0.23);
	}
	/* And 20 % faster the other way round: 1 / 1.2 - 1 = -16.7 %. */
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&b, &a, 0.5, 0.95, 0, &c), 0);
	NEAR(c.change, 1 / 1.2 - 1, 0.01);
	CU_ASSERT(c.lo < 1 / 1.2 - 1 && c.hi > 1 / 1.2 - 1);
}

static void test_change_deterministic(void)
{
	struct stats_hist a, b;
	struct stats_change c1, c2, c3;

	fill_grid(&a, 700, 1.0);
	fill_grid(&b, 900, 1.03);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.9, 0.95, 0, &c1), 0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.9, 0.95, 0, &c2), 0);
	CU_ASSERT_EQUAL(memcmp(&c1, &c2, sizeof c1), 0);
	/* A wider level, a wider interval (same resamples, so nested). */
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.9, 0.99, 0, &c3), 0);
	CU_ASSERT(c3.lo <= c1.lo && c3.hi >= c1.hi);
	CU_ASSERT(c3.hi - c3.lo > c1.hi - c1.lo);
}

static void test_change_errors(void)
{
	struct stats_hist a, b, zero;
	struct stats_change c;

	fill_grid(&a, 100, 1.0);
	stats_hist_init(&b);
	stats_hist_init(&zero);
	stats_hist_add(&zero, 0, 10);
	CU_ASSERT_EQUAL(stats_quantile_change(&a, &b, 0.5, 0.95, 0, &c), -1);
	CU_ASSERT_EQUAL(stats_quantile_change(&b, &a, 0.5, 0.95, 0, &c), -1);
	CU_ASSERT_EQUAL(stats_quantile_change(&zero, &a, 0.5, 0.95, 0, &c), -1);
	CU_ASSERT_EQUAL(stats_quantile_change(&a, &a, 0, 0.95, 0, &c), -1);
	CU_ASSERT_EQUAL(stats_quantile_change(&a, &a, 1, 0.95, 0, &c), -1);
	CU_ASSERT_EQUAL(stats_quantile_change(&a, &a, 0.5, 1, 0, &c), -1);
	CU_ASSERT_EQUAL(stats_quantile_change(&a, &a, 0.5, NAN, 0, &c), -1);
	/* p99 of 300 cycles: 3 beyond it, flagged for the caller */
	fill_grid(&a, 300, 1.0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &a, 0.99, 0.95, 0, &c), 0);
	CU_ASSERT_EQUAL(c.tail, 3);
}

/* ------------------------------------------------------------------ on random samples */

static void test_random_samples(void)
{
	struct stats_hist a, b, pa[4], pb[4], pooled_a, pooled_b;
	const struct stats_hist *ina[4] = { &pa[0], &pa[1], &pa[2], &pa[3] };
	const struct stats_hist *inb[4] = { &pb[0], &pb[1], &pb[2], &pb[3] };
	struct stats_change c, one;
	struct stats_mw r;
	unsigned pairs = 200, ci_miss = 0, mw_miss = 0, found = 0;

	/* Two samples of 300 from one distribution, 200 times: a 95 % interval of the
	 * median misses 0, and the test says p < 0.05, about 5 % of the time each (10 of
	 * 200; binomial sd 3.1). Outside 2..24 the methods are miscalibrated. */
	mix_state = 1;
	for (unsigned i = 0; i < pairs; i++) {
		fill_random(&a, 300, 1.0);
		fill_random(&b, 300, 1.0);
		CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.5, 0.95, 2000, &c), 0);
		ci_miss += c.lo > 0 || c.hi < 0;
		/* the p-value and the interval tell the same story */
		if (c.p < 0.045)
			CU_ASSERT(c.lo > 0 || c.hi < 0);
		if (c.p > 0.055)
			CU_ASSERT(c.lo < 0 && c.hi > 0);
		CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&a, &b, &r), 0);
		mw_miss += r.p < 0.05;
	}
	CU_ASSERT(ci_miss >= 2 && ci_miss <= 24);
	CU_ASSERT(mw_miss >= 2 && mw_miss <= 24);

	/* 10 % slower, 300 cycles a side: both find it nearly every time. */
	for (unsigned i = 0; i < 50; i++) {
		fill_random(&a, 300, 1.0);
		fill_random(&b, 300, 1.1);
		CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a, &b, 0.5, 0.95, 2000, &c), 0);
		CU_ASSERT_EQUAL_FATAL(stats_mann_whitney(&a, &b, &r), 0);
		found += c.lo > 0 && r.p < 0.05;
	}
	CU_ASSERT(found >= 45);

	/* Four runs a side pooled: the interval narrows (about by half: sqrt 4). */
	for (unsigned i = 0; i < 4; i++) {
		fill_random(&pa[i], 300, 1.0);
		fill_random(&pb[i], 300, 1.1);
	}
	CU_ASSERT_EQUAL_FATAL(stats_pool(&pooled_a, ina, 4), 0);
	CU_ASSERT_EQUAL_FATAL(stats_pool(&pooled_b, inb, 4), 0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&pa[0], &pb[0], 0.5, 0.95, 0, &one), 0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&pooled_a, &pooled_b, 0.5, 0.95, 0, &c), 0);
	CU_ASSERT(c.hi - c.lo < 0.75 * (one.hi - one.lo));
	CU_ASSERT(c.lo < 0.1 && c.hi > 0.1);
}

/* ------------------------------------------------------------------ several runs a side */

static void test_runs_known(void)
{
	static const double sb[4] = { 0.9, 1.0, 1.1, 1.0 }, sn[4] = { 1.0, 1.1, 0.9, 1.0 };
	struct stats_hist a[4], b[4], pa, pb;
	const struct stats_hist *ia[4] = { &a[0], &a[1], &a[2], &a[3] };
	const struct stats_hist *ib[4] = { &b[0], &b[1], &b[2], &b[3] };
	struct stats_change runs, cycles, one, plain;

	/* The same four runs on each side, in another order: the pooled samples are
	 * identical, so the change is exactly 0; the runs differ by +-10 %, which an
	 * interval over runs holds and one over the pooled cycles does not. */
	for (unsigned i = 0; i < 4; i++) {
		fill_grid(&a[i], 500, sb[i]);
		fill_grid(&b[i], 500, sn[i]);
	}
	CU_ASSERT_EQUAL_FATAL(stats_pool(&pa, ia, 4), 0);
	CU_ASSERT_EQUAL_FATAL(stats_pool(&pb, ib, 4), 0);
	CU_ASSERT_EQUAL(memcmp(&pa, &pb, sizeof pa), 0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change_runs(ia, 4, ib, 4, 0.5, 0.95, 0, &runs), 0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&pa, &pb, 0.5, 0.95, 0, &cycles), 0);
	NEAR(runs.change, 0, 0);
	NEAR(runs.base, stats_quantile(&pa, 0.5), 0);
	CU_ASSERT_EQUAL(runs.tail, 1000);
	CU_ASSERT(runs.lo < 0 && runs.hi > 0);
	CU_ASSERT(runs.lo < 1.5 * cycles.lo && runs.hi > 1.5 * cycles.hi);
	CU_ASSERT(runs.p > 0.5);

	/* Every run 30 % slower: found, around +30 %, for all the spread between runs. */
	for (unsigned i = 0; i < 4; i++)
		fill_grid(&b[i], 500, 1.3 * sb[i]);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change_runs(ia, 4, ib, 4, 0.5, 0.95, 0, &runs), 0);
	NEAR(runs.change, 0.3, 0.01);
	CU_ASSERT(runs.lo > 0.1 && runs.lo < 0.3 && runs.hi > 0.3);
	CU_ASSERT(runs.p < 0.01);

	/* One run a side is the plain bootstrap. */
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change_runs(ia, 1, ib, 1, 0.9, 0.95, 0, &one), 0);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&a[0], &b[0], 0.9, 0.95, 0, &plain), 0);
	CU_ASSERT_EQUAL(memcmp(&one, &plain, sizeof one), 0);

	/* No run, or an empty one, is refused. */
	CU_ASSERT_EQUAL(stats_quantile_change_runs(ia, 0, ib, 4, 0.5, 0.95, 0, &runs), -1);
	stats_hist_init(&b[3]);
	CU_ASSERT_EQUAL(stats_quantile_change_runs(ia, 4, ib, 4, 0.5, 0.95, 0, &runs), -1);
}

/* Student's t: critical values and tail areas from published tables. */
static void test_t_known(void)
{
	NEAR(stats_t_critical(0.05, 1), 12.7062, 0.0001);
	NEAR(stats_t_critical(0.05, 2), 4.30265, 0.00001);
	NEAR(stats_t_critical(0.05, 4), 2.77645, 0.00001);
	NEAR(stats_t_critical(0.05, 10), 2.22814, 0.00001);
	NEAR(stats_t_critical(0.01, 5), 4.03214, 0.00001);
	NEAR(stats_t_critical(0.05, 1e7), 1.95996, 0.00001);   /* the normal's */
	NEAR(stats_t_two_sided(2.0, 5), 0.101939, 0.000001);
	NEAR(stats_t_two_sided(1.0, 1), 0.5, 1e-12);            /* Cauchy: 1 - 2 atan(1) / pi */
	NEAR(stats_t_two_sided(0, 3), 1, 1e-12);
	NEAR(stats_t_two_sided(-2.0, 5), 0.101939, 0.000001);
	CU_ASSERT(isnan(stats_t_two_sided(1, 0)));
	CU_ASSERT(isnan(stats_t_critical(0, 5)));
}

/* Runs as replicates, by hand: two runs a side whose medians are 0.95 and 1.05 times
 * one run's, then 1.1 and 1.2 times. Logs -0.051293, 0.048790 and 0.095310, 0.182322:
 * change exp(0.140067) - 1 = 15.0 %, Welch se 0.066309, t 2.112, 1.962 degrees of
 * freedom, p = 0.172 by the t table. Every run's cycles are far apart from the other
 * side's, so the cycles' bootstrap alone calls it certain; the runs do not. */
static void test_runs_t_known(void)
{
	static const double fb[2] = { 0.95, 1.05 }, fn[2] = { 1.1, 1.2 };
	struct stats_hist a[3], b[3];
	const struct stats_hist *ia[3] = { &a[0], &a[1], &a[2] };
	const struct stats_hist *ib[3] = { &b[0], &b[1], &b[2] };
	struct stats_runs_t rt;
	struct stats_change c;
	double unit;

	fill_grid(&a[2], 4000, 1.0);
	unit = stats_quantile(&a[2], 0.5);
	for (unsigned i = 0; i < 2; i++) {
		fill_grid(&a[i], 4000, fb[i]);
		fill_grid(&b[i], 4000, fn[i]);
		/* the buckets keep each median within 0.3 % of the factor asked */
		NEAR(stats_quantile(&a[i], 0.5) / unit, fb[i], 0.003 * fb[i]);
		NEAR(stats_quantile(&b[i], 0.5) / unit, fn[i], 0.003 * fn[i]);
	}
	CU_ASSERT_EQUAL_FATAL(stats_runs_t(ia, 2, ib, 2, 0.5, 0.95, &rt), 0);
	NEAR(rt.change, 0.150, 0.003);
	NEAR(rt.df, 1.962, 0.03);
	NEAR(rt.p, 0.172, 0.01);
	CU_ASSERT(rt.lo < 0 && rt.hi > 0.3);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change_runs(ia, 2, ib, 2, 0.5, 0.95, 0, &c), 0);
	CU_ASSERT(c.p >= rt.p && c.lo <= rt.lo && c.hi >= rt.hi);
	CU_ASSERT(c.p > 0.05 && c.lo < 0);

	/* One run on a side: the other side's spread stands for it, df = 1. */
	CU_ASSERT_EQUAL_FATAL(stats_runs_t(ia, 2, ib, 1, 0.5, 0.95, &rt), 0);
	NEAR(rt.df, 1, 0);
	/* Too few runs, or bad arguments. */
	CU_ASSERT_EQUAL(stats_runs_t(ia, 1, ib, 1, 0.5, 0.95, &rt), -1);
	CU_ASSERT_EQUAL(stats_runs_t(ia, 0, ib, 3, 0.5, 0.95, &rt), -1);
	CU_ASSERT_EQUAL(stats_runs_t(ia, 2, ib, 2, 1.5, 0.95, &rt), -1);

	/* Three runs a side spread +-10 %, every run of new 30 % slower: t 3.20 with 4
	 * degrees of freedom, p = 0.033: found. */
	static const double g[3] = { 0.9, 1.0, 1.1 };
	for (unsigned i = 0; i < 3; i++) {
		fill_grid(&a[i], 4000, g[i]);
		fill_grid(&b[i], 4000, 1.3 * g[i]);
	}
	CU_ASSERT_EQUAL_FATAL(stats_runs_t(ia, 3, ib, 3, 0.5, 0.95, &rt), 0);
	NEAR(rt.change, 0.3, 0.003);
	NEAR(rt.p, 0.033, 0.005);
	CU_ASSERT_EQUAL_FATAL(stats_quantile_change_runs(ia, 3, ib, 3, 0.5, 0.95, 0, &c), 0);
	CU_ASSERT(c.p < 0.05 && c.lo > 0);
}

static void test_runs_random(void)
{
	struct stats_hist a[4], b[4], pa, pb;
	const struct stats_hist *ia[4] = { &a[0], &a[1], &a[2], &a[3] };
	const struct stats_hist *ib[4] = { &b[0], &b[1], &b[2], &b[3] };
	struct stats_change c;
	unsigned pairs = 60, pooled_miss = 0, runs_miss = 0;

	/* Runs of 300 cycles whose conditions make each one a random few % faster or
	 * slower (a log-normal factor, sd 5 %), four a side, all from one process: the
	 * interval over the pooled cycles misses 0 for half the pairs; the one over runs
	 * for about 11 % (43 of 400 in a longer simulation: four runs give the spread
	 * between runs only roughly, see stats.c; 27 of 400 with eight). */
	mix_state = 2;
	for (unsigned t = 0; t < pairs; t++) {
		for (unsigned i = 0; i < 4; i++) {
			double u1 = unit_uniform(), u2 = unit_uniform(), u3 = unit_uniform(),
			       u4 = unit_uniform();

			fill_random(&a[i], 300, exp(0.05 * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2)));
			fill_random(&b[i], 300, exp(0.05 * sqrt(-2 * log(u3)) * cos(2 * M_PI * u4)));
		}
		CU_ASSERT_EQUAL_FATAL(stats_pool(&pa, ia, 4), 0);
		CU_ASSERT_EQUAL_FATAL(stats_pool(&pb, ib, 4), 0);
		CU_ASSERT_EQUAL_FATAL(stats_quantile_change(&pa, &pb, 0.5, 0.95, 1000, &c), 0);
		pooled_miss += c.lo > 0 || c.hi < 0;
		CU_ASSERT_EQUAL_FATAL(stats_quantile_change_runs(ia, 4, ib, 4, 0.5, 0.95, 1000, &c), 0);
		runs_miss += c.lo > 0 || c.hi < 0;
	}
	CU_ASSERT(pooled_miss >= 15);                      /* a quarter and more */
	CU_ASSERT(runs_miss <= 12);                        /* 20 %: 11 % and 2 sd */
}

void suite_stats(void)
{
	CU_pSuite s = CU_add_suite("stats", NULL, NULL);

	CU_add_test(s, "histogram layout: edges, widths, hand-computed buckets", test_layout);
	CU_add_test(s, "quantile: grouped-data interpolation by hand", test_quantile_grouped);
	CU_add_test(s, "quantile: 1..1023 gives qN + 1", test_quantile_uniform);
	CU_add_test(s, "quantile: empty, one value, bad q, overflow", test_quantile_edges);
	CU_add_test(s, "histogram from a profile's counts", test_hist_set);
	CU_add_test(s, "pooling", test_pool);
	CU_add_test(s, "Mann-Whitney: Shier's published example", test_mw_published);
	CU_add_test(s, "Mann-Whitney: ties ranked by hand, one bucket = ties", test_mw_ties);
	CU_add_test(s, "Mann-Whitney: identical p = 1, shifted p < 0.001",
		    test_mw_identical_and_shifted);
	CU_add_test(s, "change: identical samples, interval around 0", test_change_identical);
	CU_add_test(s, "change: 20 % shift, interval around +20 %", test_change_shifted);
	CU_add_test(s, "change: deterministic, nested levels", test_change_deterministic);
	CU_add_test(s, "change: refused inputs, the tail count", test_change_errors);
	CU_add_test(s, "random samples: 5 % false alarms, shifts found, pooling narrows",
		    test_random_samples);
	CU_add_test(s, "runs: the spread between runs is in the interval", test_runs_known);
	CU_add_test(s, "runs: random run conditions, pooled cycles mislead", test_runs_random);
	CU_add_test(s, "t distribution: published critical values and tails", test_t_known);
	CU_add_test(s, "runs as replicates: Welch by hand, joined with the bootstrap",
		    test_runs_t_known);
}
