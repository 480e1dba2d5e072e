/* test_audio.c - callback timing (preload/engine/audio.c): the percentiles a profile gives
 * (p50, p90, p99, p99.9 and jitter p99) come from a log-linear histogram of
 * durations, 16 steps per power of two. Each must be the duration of the right rank
 * to within half a step (1/32), exact below 16 ns, and never outside [min, max].
 * The slow cycles a source keeps (the N slowest and the first 64 overruns, each once)
 * and its load rows (merged when the timeline halves), read back from the profile's
 * JSON as the writer makes it. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"
#include "options.h"
#include "suites.h"
#include "timeline.h"

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

/* ------------------------------------------------------------ slow cycles */

#define MS 1000000ull

static int slow_ready;

/* A fresh source with a 10 ms deadline, the audio tables made once, keeping 3. */
static struct cb_source *slow_source(const char *name)
{
	if (!slow_ready) {
		options.num[OPT_SLOW_CYCLES] = 3;
		audio_init();
		slow_ready = 1;
	}
	struct cb_source *s = audio_source_new(AP_API_REGION, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	audio_source_format(s, 480, 48000);
	return s;
}

static json_t *no_fs(site_id stack, void *arg)
{
	(void)stack;
	(void)arg;
	return json_array();
}

/* The profile's audioprof object, and in it the callback named name. */
static json_t *written(const char *name, json_t **cb)
{
	json_t *ap = json_object();
	json_t *cbs = audio_callbacks_json(no_fs, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL(cbs);
	json_object_set_new(ap, "callbacks", cbs);
	*cb = NULL;
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(ap, "callbacks"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			*cb = c;
	CU_ASSERT_PTR_NOT_NULL(*cb);
	return ap;
}

static json_int_t field(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* 8 cycles, one an overrun: the 3 slowest are kept, oldest first, each once. */
static void test_slowest_kept(void)
{
	static const uint64_t dur[8] = { 1 * MS, 5 * MS, 2 * MS, 8 * MS, 3 * MS, 20 * MS,
					 4 * MS, 7 * MS };
	struct cb_source *s = slow_source("slowest");
	for (int i = 0; i < 8; i++)
		audio_testing_cycle(s, 1000000000ull + (uint64_t)i * 10 * MS, dur[i]);
	json_t *cb, *ap = written("slowest", &cb);
	json_t *kept = json_object_get(cb, "slow_cycles");
	CU_ASSERT_EQUAL_FATAL(json_array_size(kept), 3);
	static const json_int_t cycle[3] = { 4, 6, 8 }, d[3] = { 8 * MS, 20 * MS, 7 * MS };
	for (size_t i = 0; i < 3; i++) {
		json_t *c = json_array_get(kept, i);
		CU_ASSERT_EQUAL(field(c, "cycle"), cycle[i]);
		CU_ASSERT_EQUAL(field(c, "dur_ns"), d[i]);
		CU_ASSERT_EQUAL(field(c, "start_ns"), 1000000000 + (cycle[i] - 1) * 10 * (json_int_t)MS);
		CU_ASSERT_EQUAL(field(c, "deadline_ns"), 10 * (json_int_t)MS);
		CU_ASSERT(json_is_true(json_object_get(c, "slowest")));
		CU_ASSERT_EQUAL(json_is_true(json_object_get(c, "overrun")), cycle[i] == 6);
		CU_ASSERT_EQUAL(json_array_size(json_object_get(c, "violations")), 0);
	}
	CU_ASSERT_EQUAL(field(cb, "overruns_unlisted"), 0);
	json_decref(ap);
}

/* 70 overruns, each longer than the last: the first 64 and the 3 slowest (the last
 * three) are kept; the 3 between are only counted. */
static void test_overruns_bounded(void)
{
	struct cb_source *s = slow_source("overruns");
	for (int i = 0; i < 70; i++)
		audio_testing_cycle(s, (uint64_t)i * 20 * MS, 11 * MS + (uint64_t)i);
	json_t *cb, *ap = written("overruns", &cb);
	json_t *kept = json_object_get(cb, "slow_cycles");
	CU_ASSERT_EQUAL_FATAL(json_array_size(kept), 67);
	for (size_t i = 0; i < 67; i++) {
		json_t *c = json_array_get(kept, i);
		json_int_t want = i < 64 ? (json_int_t)i + 1 : (json_int_t)i + 4;
		CU_ASSERT_EQUAL(field(c, "cycle"), want);
		CU_ASSERT(json_is_true(json_object_get(c, "overrun")));
		CU_ASSERT_EQUAL(json_is_true(json_object_get(c, "slowest")), want > 67);
	}
	CU_ASSERT_EQUAL(field(cb, "overruns"), 70);
	CU_ASSERT_EQUAL(field(cb, "overruns_unlisted"), 3);
	json_decref(ap);
}

/* Load rows: one per timeline sample; halving merges rows 2i-1 and 2i into row i,
 * and the last old row into the last new one. */
static void test_load_rows(void)
{
	struct cb_source *s = slow_source("load");
	/* Earlier tests' sources are in the rows too: close their intervals first. */
	audio_load_sample(0);
	audio_load_halve(1);   /* row 0 only, as after a halving to one sample */
	for (unsigned i = 1; i < TIMELINE_SAMPLES; i++) {
		/* Row i: i % 3 cycles at 10 % load, one at 50 % every 7th. */
		for (unsigned k = 0; k < i % 3; k++)
			audio_testing_cycle(s, 0, 1 * MS);
		if (i % 7 == 0)
			audio_testing_cycle(s, 0, 5 * MS);
		audio_load_sample(i);
	}
	unsigned kept = TIMELINE_SAMPLES / 2;
	audio_load_halve(kept);
	json_t *tl = json_object();
	json_t *all = audio_load_json(kept);
	CU_ASSERT_PTR_NOT_NULL_FATAL(all);
	json_object_set_new(tl, "load", all);
	/* Sources are written by id: the one made last is last. */
	json_t *row = json_array_get(all, json_array_size(all) - 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(row);
	json_t *count = json_object_get(row, "count"), *mean = json_object_get(row, "mean_ppm"),
	       *max = json_object_get(row, "max_ppm");
	CU_ASSERT_EQUAL_FATAL(json_array_size(count), kept);
	CU_ASSERT_EQUAL(json_array_size(mean), kept);
	CU_ASSERT_EQUAL(json_array_size(max), kept);
	int bad = 0;
	for (unsigned r = 1; r < kept && bad < 5; r++) {
		/* Old rows 2r-1 and 2r (and 2r+1 for the last). */
		uint64_t n = 0, sum = 0, mx = 0;
		for (unsigned o = 2 * r - 1; o <= 2 * r + (r == kept - 1); o++) {
			n += o % 3 + (o % 7 == 0);
			sum += (uint64_t)(o % 3) * 100000 + (o % 7 == 0 ? 500000 : 0);
			if (o % 3 && mx < 100000)
				mx = 100000;
			if (o % 7 == 0)
				mx = 500000;
		}
		if (json_integer_value(json_array_get(count, r)) != (json_int_t)n ||
		    json_integer_value(json_array_get(mean, r)) != (json_int_t)(n ? sum / n : 0) ||
		    json_integer_value(json_array_get(max, r)) != (json_int_t)mx) {
			printf("\nrow %u: count %lld mean %lld max %lld, expected %llu %llu %llu\n", r,
			       (long long)json_integer_value(json_array_get(count, r)),
			       (long long)json_integer_value(json_array_get(mean, r)),
			       (long long)json_integer_value(json_array_get(max, r)),
			       (unsigned long long)n, (unsigned long long)(n ? sum / n : 0),
			       (unsigned long long)mx);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	json_decref(tl);
}

void suite_audio(void)
{
	CU_pSuite s = CU_add_suite("audio", NULL, NULL);
	CU_add_test(s, "quantiles: none, and of one value", test_empty_and_single);
	CU_add_test(s, "quantiles: exact below 16 ns", test_small_exact);
	CU_add_test(s, "quantiles: one slow cycle in 1,000", test_tail);
	CU_add_test(s, "quantiles: within 1/32 of the right rank", test_random);
	CU_add_test(s, "slow cycles: the 3 slowest, oldest first", test_slowest_kept);
	CU_add_test(s, "slow cycles: the first 64 overruns, the rest counted", test_overruns_bounded);
	CU_add_test(s, "load rows: merged in pairs when the timeline halves", test_load_rows);
}
