/* threadseq.c - threads that allocate one after another (t_threads.sh): main allocates
 * at s_main, then starts N threads in turn, each joined before the next starts, each
 * allocating and freeing one block at s_seq. N + 1 distinct threads allocated, though
 * never more than two at once (the profiler reuses an exited thread's state).
 *   threadseq [N]   (default 8); prints N + 1. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "progs.h"

NOINLINE void *s_main(void) { return malloc(32); }
NOINLINE void *s_seq(void) { return malloc(48); }

static void *one(void *arg)
{
	void *p = s_seq();
	PROG_CHECK(p != NULL, "malloc");
	free(p);
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	void *p = s_main();
	PROG_CHECK(p != NULL, "malloc");
	for (int i = 0; i < n; i++) {
		pthread_t t;
		PROG_CHECK(pthread_create(&t, NULL, one, NULL) == 0, "pthread_create");
		PROG_CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	}
	free(p);
	printf("%d\n", n + 1);
	return 0;
}
