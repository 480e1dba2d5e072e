/* test_cpuprof.c - the CPU sampler's table of stacks and its part of the profile
 * (preload/engine/cpuprof.c): equal stacks of one callback share a count, other callbacks or
 * frames get their own; four threads counting the same stacks at once lose nothing
 * (every sample is in a stack's count, each callback's sum exact);
 * a full table counts what it cannot hold as lost; and a real timer on this thread's
 * CPU clock, with the real handler, samples a loop that runs as "real-time code". */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "audio.h"
#include "cpuprof.h"
#include "options.h"
#include "runtime.h"
#include "unwind.h"
#include "suites.h"

/* fs callback: the frame count as a one-element array, enough to check shapes. */
static json_t *fs_len(const uintptr_t *ips, unsigned n, void *arg)
{
	(void)ips;
	(void)arg;
	json_t *a = json_array();
	json_array_append_new(a, json_integer(n));
	return a;
}

static json_t *cpu_object(void)
{
	json_t *c = cpuprof_object(fs_len, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

static uint64_t u(const json_t *o, const char *k)
{
	return (uint64_t)json_integer_value(json_object_get(o, k));
}

static void test_merge(void)
{
	CU_ASSERT_EQUAL_FATAL(cpuprof_testing_table(32), 0);
	const uintptr_t a[] = { 0x1000, 0x2000, 0x3000 }, b[] = { 0x1001, 0x2000, 0x3000 };
	for (int i = 0; i < 5; i++)
		cpuprof_testing_record(0, a, 3);
	cpuprof_testing_record(1, a, 3);   /* another callback: another stack */
	cpuprof_testing_record(0, b, 3);   /* another leaf */
	cpuprof_testing_record(0, a, 2);   /* shorter */
	cpuprof_testing_record(-1, a, 3);  /* no callback */
	json_t *c = cpu_object();
	CU_ASSERT_EQUAL(u(c, "samples"), 9);
	CU_ASSERT_EQUAL(u(c, "lost"), 0);
	json_t *st = json_object_get(c, "stacks");
	CU_ASSERT_EQUAL(json_array_size(st), 5);
	size_t i;
	json_t *e;
	int five = 0;
	json_array_foreach(st, i, e) {
		if (u(e, "count") == 5) {
			five++;
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "callback")), 0);
			CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(e, "fs"), 0)), 3);
		} else {
			CU_ASSERT_EQUAL(u(e, "count"), 1);
		}
	}
	CU_ASSERT_EQUAL(five, 1);
	uint64_t per[3] = { 0, 0, 0 };   /* callbacks 0, 1 and -1 */
	json_array_foreach(json_object_get(c, "callbacks"), i, e) {
		json_int_t cb = json_integer_value(json_object_get(e, "callback"));
		per[cb < 0 ? 2 : cb] += u(e, "samples");
	}
	CU_ASSERT_EQUAL(per[0], 7);
	CU_ASSERT_EQUAL(per[1], 1);
	CU_ASSERT_EQUAL(per[2], 1);
	json_decref(c);
}

#define THREADS 4
#define PER_THREAD 20000
#define KINDS 8

static void *counter(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		uintptr_t ips[4] = { 0x5000 + (uintptr_t)(i % KINDS), 0x6000, 0x7000, 0x8000 };
		cpuprof_testing_record(i % 2, ips, 4);
	}
	return NULL;
}

static void test_threads(void)
{
	CU_ASSERT_EQUAL_FATAL(cpuprof_testing_table(32), 0);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, counter, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	json_t *c = cpu_object();
	CU_ASSERT_EQUAL(u(c, "lost"), 0);
	CU_ASSERT_EQUAL(u(c, "samples"), THREADS * PER_THREAD);
	/* Two threads may claim two slots for one stack at the same moment: the sum of each
	 * callback over its slots is what must be exact. */
	uint64_t per[2] = { 0, 0 };
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(c, "stacks"), i, e) {
		json_int_t cb = json_integer_value(json_object_get(e, "callback"));
		CU_ASSERT_FATAL(cb == 0 || cb == 1);
		per[cb] += u(e, "count");
	}
	CU_ASSERT_EQUAL(per[0] + per[1], THREADS * PER_THREAD);
	CU_ASSERT_EQUAL(per[0], THREADS * PER_THREAD / 2);
	CU_ASSERT(json_array_size(json_object_get(c, "stacks")) >= KINDS);   /* 4 leaves x 2 callbacks */
	json_decref(c);
}

static void test_full(void)
{
	CU_ASSERT_EQUAL_FATAL(cpuprof_testing_table(2), 0);
	unsigned n = cpuprof_testing_slots() + 1000;
	for (unsigned i = 0; i < n; i++) {
		uintptr_t ips[2] = { 0x10000 + i, 0x20000 };
		cpuprof_testing_record(0, ips, 2);
	}
	json_t *c = cpu_object();
	CU_ASSERT(u(c, "lost") >= 1000);
	CU_ASSERT_EQUAL(u(c, "samples") + u(c, "lost"), n);
	CU_ASSERT(u(c, "samples") <= cpuprof_testing_slots());
	json_decref(c);
}

static volatile uint64_t sink;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The real thing on this thread: cpuprof_init (mode rt, 1000 Hz), the thread's timer,
 * asked for at its first real-time entry and started by the writer's tick (played
 * here); 0.3 s of CPU inside, 0.1 s outside. */
static void test_signal(void)
{
	options.num[OPT_CPU] = 0;   /* rt */
	options.num[OPT_CPU_RATE] = 1000;
	unwind_init();
	cpuprof_testing_table(32);
	cpuprof_init();
	CU_ASSERT_NOT_EQUAL_FATAL(cpuprof_signal(), 0);
	runtime_thread_start();   /* stack bounds and the timer */
	CU_ASSERT_EQUAL_FATAL(cpuprof_tstate, 1);
	ap_rt.depth++;
	cpuprof_rt_entered();   /* asks: no syscall here */
	CU_ASSERT_EQUAL(cpuprof_tstate, 2);
	cpuprof_writer_tick();  /* the writer thread's part: starts the timer */
	uint64_t end = thread_cpu_ns() + 300000000u;
	while (thread_cpu_ns() < end)
		for (int i = 0; i < 10000; i++)
			sink = sink * 6364136223846793005u + 1;
	ap_rt.depth--;
	end = thread_cpu_ns() + 100000000u;
	while (thread_cpu_ns() < end)
		for (int i = 0; i < 10000; i++)
			sink = sink * 6364136223846793005u + 1;
	cpuprof_thread_exit();
	CU_ASSERT_EQUAL(cpuprof_tstate, 0);
	json_t *c = cpu_object();
	/* At least the kernel's slowest tick (100 Hz) in 0.3 s, less a few for scheduling. */
	CU_ASSERT(u(c, "samples") >= 20);
	CU_ASSERT(u(c, "outside_rt") >= 5);
	CU_ASSERT_EQUAL(u(c, "truncated"), 0);
	size_t i;
	json_t *e;
	unsigned deepest = 0;
	json_array_foreach(json_object_get(c, "stacks"), i, e) {
		unsigned d = (unsigned)json_integer_value(json_array_get(json_object_get(e, "fs"), 0));
		if (d > deepest)
			deepest = d;
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "callback")), -1);
	}
	CU_ASSERT(deepest >= 3);   /* the loop, this test, CUnit's runner, ... main */
	json_decref(c);
}

void suite_cpuprof(void)
{
	CU_pSuite s = CU_add_suite("cpuprof", NULL, NULL);
	CU_add_test(s, "equal stacks of one callback share a count", test_merge);
	CU_add_test(s, "threads counting at once lose nothing", test_threads);
	CU_add_test(s, "a full table counts the rest as lost", test_full);
	CU_add_test(s, "a real CPU-time timer samples real-time code only", test_signal);
}
