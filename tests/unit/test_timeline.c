/* test_timeline.c - the heap timeline: glibc's figures (mallinfo2, a walk of every
 * free chunk under each arena's lock) are taken again only once 100 times the last
 * call's duration has passed; the samples in between repeat them. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdlib.h>

#include "suites.h"
#include "timeline.h"

static uint64_t col(json_t *tl, const char *key, size_t i)
{
	return (uint64_t)json_integer_value(json_array_get(json_object_get(tl, key), i));
}

static void test_heap_share(void)
{
	const uint64_t t0 = 1000000000, big_size = (uint64_t)64 << 20;
	timeline_init(1, t0);   /* a sample at every tick */
	timeline_tick(t0);
	uint64_t cost = timeline_heap_cost();
	CU_ASSERT_FATAL(cost > 0);
	/* Above glibc's largest mmap threshold: mapped, so its heap grows by all of it. */
	void *big = malloc(big_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	timeline_tick(t0 + 1);              /* before 100 * cost: the same figures */
	timeline_tick(t0 + 100 * cost);     /* due: taken again */
	json_t *tl = timeline_json(t0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tl);
	CU_ASSERT_EQUAL(timeline_count(), 3);
	CU_ASSERT_EQUAL(col(tl, "heap_b", 1), col(tl, "heap_b", 0));
	CU_ASSERT_EQUAL(col(tl, "used_b", 1), col(tl, "used_b", 0));
#ifndef __SANITIZE_ADDRESS__   /* AddressSanitizer's malloc: glibc's figures never move */
	CU_ASSERT(col(tl, "heap_b", 2) >= col(tl, "heap_b", 0) + big_size);
	CU_ASSERT(col(tl, "used_b", 2) >= col(tl, "used_b", 0) + big_size);
#endif
	CU_ASSERT_EQUAL(col(tl, "t_ns", 2), 100 * cost);
	json_decref(tl);
	free(big);
	timeline_init(0, 0);
}

void suite_timeline(void)
{
	CU_pSuite s = CU_add_suite("timeline", NULL, NULL);
	CU_add_test(s, "glibc's figures: again only after 100 times their cost", test_heap_share);
}
