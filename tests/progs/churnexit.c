/* churnexit.c - threads that allocate and free without pause while the profiler writes
 * snapshots, and while main exits (t_consistent.sh): every profile written must add up
 * (totals == sums over the program points) although no moment of it is quiet.
 *
 *   churnexit OUT SNAPDIR MS
 *
 * WORKERS threads churn for ever: each keeps a ring of live blocks whose length swings
 * between 0 and RING (so the heap's maximum keeps moving), allocating at c_small or
 * c_big and freeing the oldest; every 8th block is swapped with a shared slot, so it is
 * freed by another thread (the site's "other" part, sites.c). main watches OUT (the
 * profile, AUDIOPROF_OUT without %p) for MS milliseconds and hard-links each new file
 * it sees (a new inode: the writer renames a finished file into place) into
 * SNAPDIR/s.N.json, then calls exit(0) while the workers still run, so the exit profile
 * is written with the workers churning. Prints the number of snapshots kept. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "progs.h"

#define WORKERS 3
#define RING    256

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static void *slot;

NOINLINE void *c_small(size_t n) { return malloc(n); }
NOINLINE void *c_big(size_t n) { return malloc(n); }

static void *handoff(void *p)
{
	pthread_mutex_lock(&slot_lock);
	void *q = slot;
	slot = p;
	pthread_mutex_unlock(&slot_lock);
	return q;
}

static void *worker(void *arg)
{
	void *ring[RING];
	unsigned head = 0, len = 0, seed = (unsigned)(uintptr_t)arg * 7919u + 1;
	unsigned long i = 0;
	for (;; i++) {
		seed = seed * 1103515245u + 12345u;
		/* The target length swings 0 -> RING -> 0 over 2 * 4096 iterations. */
		unsigned phase = (unsigned)(i % 8192), want = phase < 4096 ? phase / 16 : (8191 - phase) / 16;
		if (len < want || len == 0) {
			size_t n = 16 + (seed >> 16) % 512;
			void *p = (seed & 1) ? c_small(n) : c_big(n * 8);
			PROG_CHECK(p != NULL, "malloc");
			((volatile char *)p)[0] = 1;
			if ((i & 7) == 0)
				p = handoff(p);
			if (p)
				ring[(head + len++) % RING] = p;
		} else {
			free(ring[head]);
			head = (head + 1) % RING;
			len--;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: churnexit OUT SNAPDIR MS\n");
		return 2;
	}
	const char *out = argv[1], *dir = argv[2];
	long ms = atol(argv[3]);
	pthread_t t;
	for (long w = 0; w < WORKERS; w++)
		PROG_CHECK(pthread_create(&t, NULL, worker, (void *)w) == 0, "pthread_create");
	ino_t last = 0;
	int kept = 0;
	struct timespec tick = { 0, 500000 };
	for (long k = 0; k < ms * 2; k++) {
		struct stat st;
		if (stat(out, &st) == 0 && st.st_ino != last) {
			char name[4096];
			snprintf(name, sizeof(name), "%s/s.%d.json", dir, kept);
			/* ENOENT: renamed over meanwhile; the next round links the newer one. */
			if (link(out, name) == 0) {
				kept++;
				last = st.st_ino;
			} else {
				PROG_CHECK(errno == ENOENT, "link");
			}
		}
		nanosleep(&tick, NULL);
	}
	printf("%d\n", kept);
	fflush(stdout);
	exit(0);   /* the workers are still churning */
}
