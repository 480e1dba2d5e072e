/* threads.c - heavy multi-threaded churn with exact totals (checked by t_threads.sh).
 * main allocates QUEUE blocks of 64 B at q_init and puts them in a shared queue.
 * Each of THREADS threads then runs ITERS iterations of:
 *     p = t_alloc(size_a(i));   lock; push p; q = pop; unlock     (q: usually another
 *     q = t_realloc(q, size_r(i)); lock; push q; r = pop; unlock   thread's block)
 *     free(r)
 * Every critical section pushes before it pops, so pops never fail and the queue keeps
 * QUEUE blocks; main frees them after the join. Sizes depend only on i, so:
 *   t_alloc:   tbk = THREADS*ITERS, tb = THREADS * sum(size_a(i))
 *   t_realloc: tbk = THREADS*ITERS, tb = THREADS * sum(size_r(i))
 *   q_init:    tbk = QUEUE, tb = 64*QUEUE;  all three: eb = ebk = 0 at exit.
 * Usage: threads [ITERS] (default 20000). Prints the expected numbers on stdout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "progs.h"

#define THREADS 4
#define QUEUE   64

static size_t size_a(long i) { return 16 + (size_t)(i % 61) * 8; }
static size_t size_r(long i) { return 24 + (size_t)(i % 37) * 16; }

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *volatile ring[QUEUE + 1];
static unsigned head, tail;   /* ring of QUEUE + 1 slots; holds QUEUE or QUEUE + 1 blocks */
static long iters = 20000;

static void *swap(void *p)
{
	void *q;
	pthread_mutex_lock(&lock);
	ring[tail] = p;
	tail = (tail + 1) % (QUEUE + 1);
	q = ring[head];
	head = (head + 1) % (QUEUE + 1);
	pthread_mutex_unlock(&lock);
	return q;
}

NOINLINE void *q_init(void) { return malloc(64); }
NOINLINE void *t_alloc(size_t n) { return malloc(n); }
NOINLINE void *t_realloc(void *p, size_t n) { return realloc(p, n); }
NOINLINE void t_free(void *p) { free(p); }

static void *worker(void *arg)
{
	long i;
	(void)arg;
	for (i = 0; i < iters; i++) {
		void *p = t_alloc(size_a(i));
		PROG_CHECK(p != NULL, "malloc");
		memset(p, (int)i, size_a(i));
		void *q = swap(p);
		q = t_realloc(q, size_r(i));
		PROG_CHECK(q != NULL, "realloc");
		((volatile char *)q)[size_r(i) - 1] = 1;
		void *r = swap(q);
		t_free(r);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[THREADS];
	unsigned long long tb_a = 0, tb_r = 0;
	long i;
	int t;

	if (argc > 1)
		iters = atol(argv[1]);
	for (i = 0; i < QUEUE; i++)
		ring[i] = q_init();
	tail = QUEUE;
	head = 0;
	for (t = 0; t < THREADS; t++)
		PROG_CHECK(pthread_create(&th[t], NULL, worker, NULL) == 0, "pthread_create");
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	while (head != tail) {
		t_free(ring[head]);
		head = (head + 1) % (QUEUE + 1);
	}
	for (i = 0; i < iters; i++) {
		tb_a += size_a(i);
		tb_r += size_r(i);
	}
	printf("t_alloc %llu %llu\nt_realloc %llu %llu\nq_init %d %d\n",
	       (unsigned long long)THREADS * iters, THREADS * tb_a,
	       (unsigned long long)THREADS * iters, THREADS * tb_r, QUEUE, QUEUE * 64);
	return 0;
}
