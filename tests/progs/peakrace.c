/* peakrace.c - two threads at one site keep raising the global heap peak at the same
 * time (t_threads.sh): each thread allocates a block one byte bigger than its previous
 * one, then frees the previous one, ITERS times. Whatever order the concurrent events
 * are put in, a site's value at the global peak can never exceed its own maximum
 * (gb <= mb, gbk <= mbk) and the totals must equal the sums over the sites.
 *   race_site: tbk = 2*ITERS, tb = 2 * sum(64 + i), eb = ebk = 0 at exit.
 * Usage: peakrace [ITERS] (default 50000); prints "race_site TBK TB". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "progs.h"

static long iters = 50000;

NOINLINE void *race_site(size_t n) { return malloc(n); }
NOINLINE void release(void *p) { free(p); }

static void *worker(void *arg)
{
	void *prev = NULL;
	long i;
	(void)arg;
	for (i = 0; i < iters; i++) {
		void *p = race_site(64 + (size_t)i);
		PROG_CHECK(p != NULL, "malloc");
		release(prev);
		prev = p;
	}
	release(prev);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	unsigned long long tb = 0;
	long i;

	if (argc > 1)
		iters = atol(argv[1]);
	PROG_CHECK(pthread_create(&a, NULL, worker, NULL) == 0, "pthread_create");
	PROG_CHECK(pthread_create(&b, NULL, worker, NULL) == 0, "pthread_create");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	for (i = 0; i < iters; i++)
		tb += 64 + (unsigned long long)i;
	printf("race_site %llu %llu\n", 2ull * iters, 2 * tb);
	return 0;
}
