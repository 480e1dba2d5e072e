/* sitesbench.c - the cost of the per-event accounting alone (preload/engine/sites.c, linked
 * directly: no interposition, no stacks, no clock reads): 1 or 2 threads, each in its
 * own thread area as under the preload, allocating and freeing at their own sites or
 * at the same ones, far below a global peak set first. Prints CPU time (user + system)
 * per event, which is what cache lines written by both threads cost when the threads
 * run at once; `make -C bench sites` runs each case a few times.
 *
 * usage: sitesbench THREADS [shared] [EVENTS]   (EVENTS per thread, default 4000000) */
#include "sites.h"
#include "clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define SITES 16
#define SLOTS 64              /* live blocks per thread */

static site_id site_ids[2][SITES];
static int shared_sites;      /* both threads use thread 0's sites */
static long events;

/* clock.c opens a sysfs file through the profiler's fd helper only in clock_init,
 * which this program never calls (it keeps the identity clock). */
int fds_open(const char *path, int flags, ...);
int fds_open(const char *path, int flags, ...)
{
	(void)path;
	(void)flags;
	return -1;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	struct sites_local *l = sites_local_new();
	uint64_t live[SLOTS];
	memset(live, 0, sizeof(live));
	unsigned x = 1234u + (unsigned)id;
	for (long i = 0; i < events; i++) {
		x = x * 1103515245u + 12345u;
		unsigned k = (x >> 8) % SLOTS;
		site_id s = site_ids[shared_sites ? 0 : id][k % SITES];
		if (live[k]) {
			sites_on_free_local(l, s, live[k], 1, 2);
			live[k] = 0;
		} else {
			live[k] = 16 + (x >> 20) % 1000;
			sites_on_alloc_local(l, s, live[k], 1);
		}
	}
	for (unsigned k = 0; k < SLOTS; k++)
		if (live[k])
			sites_on_free_local(l, site_ids[shared_sites ? 0 : id][k % SITES], live[k], 1, 2);
	return NULL;
}

static double cpu_seconds(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 0;
	shared_sites = argc > 2 && strcmp(argv[2], "shared") == 0;
	events = argc > 3 ? atol(argv[3]) : 4000000;
	if (threads < 1 || threads > 2 || events < 1 ||
	    (argc > 2 && !shared_sites && strcmp(argv[2], "distinct") != 0)) {
		fprintf(stderr, "usage: sitesbench 1|2 [distinct|shared] [EVENTS]\n");
		return 2;
	}
	clock_reset_identity();
	if (sites_init() != 0)
		return 1;
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < SITES; k++) {
			uintptr_t ips[2] = { 0x10000u + (uintptr_t)(t * SITES + k) * 16, 0x20000 };
			site_ids[t][k] = sites_intern(ips, 2);
		}
	/* A peak of 64 MiB first: the churn below stays far under it. */
	sites_on_alloc(site_ids[0][0], 64u << 20, 0);
	sites_on_free(site_ids[0][0], 64u << 20, 0, 1);
	double c0 = cpu_seconds();
	pthread_t th[2];
	for (long t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			return 1;
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	double c = cpu_seconds() - c0;
	struct heap_totals tot;
	sites_totals(&tot);
	printf("sitesbench: %d thread(s), %s sites: %.1f ns of CPU per event (%ld events per "
	       "thread); live at end %llu\n", threads, shared_sites ? "shared" : "distinct",
	       c * 1e9 / ((double)threads * (double)events), events,
	       (unsigned long long)tot.curr_b);
	return tot.curr_b == 0 ? 0 : 1;
}
