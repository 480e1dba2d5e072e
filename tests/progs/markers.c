/* markers.c - the audioprof.h API, used the way a unit test uses it, in any kind of
 * binary (t_markers.sh builds this one file as a PIE and a -no-pie executable, as C++,
 * and as a plug-in for markers_host.c):
 *   ACTIVE: AUDIOPROF_ACTIVE(); the old-style direct call after a NULL check agrees
 *   allocs_since: 5 allocations (alloc_site, 40 bytes each) between two snapshots,
 *     inside region "markers" (entered 7 times, period 256 frames at 48 kHz), with a
 *     zone "work" around them: exact under the preload, 0 without it
 *   frees_since: 5, bytes_since: 200
 * Usage: markers [require]; "require" calls AUDIOPROF_REQUIRE() first.
 * Built with -DMARKERS_PLUGIN: no main, markers_run(int require) instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audioprof.h"

#ifdef __cplusplus
#define MARKERS_EXTERN extern "C"
#else
#define MARKERS_EXTERN
#endif

static const char REGION[] = "markers";
static void *volatile keep[5];

__attribute__((noinline)) static void *alloc_site(void)
{
	return malloc(40);
}

MARKERS_EXTERN int markers_run(int require)
{
	if (require)
		AUDIOPROF_REQUIRE();
	int active = AUDIOPROF_ACTIVE();
	/* Code written for earlier versions of the header: call after a NULL check. */
	int direct = audioprof_active ? audioprof_active() : 0;
	AUDIOPROF_RT_PERIOD(REGION, 256, 48000);
	struct audioprof_counts before = audioprof_counts_now();
	int k = 0;
	for (int i = 0; i < 7; i++) {
		AUDIOPROF_RT_ENTER(REGION);
		AUDIOPROF_ZONE_BEGIN("work");
		if (i < 5)
			keep[k++] = alloc_site();
		AUDIOPROF_ZONE_END();
		AUDIOPROF_RT_EXIT();
	}
	uint64_t allocs = audioprof_allocs_since(&before);
	for (int i = 0; i < 5; i++)
		free(keep[i]);
	struct audioprof_counts after = audioprof_counts_now();
	printf("active %d direct %d allocs_since %llu frees_since %llu bytes_since %llu\n",
	       active, direct, (unsigned long long)allocs,
	       (unsigned long long)(after.frees - before.frees),
	       (unsigned long long)(after.bytes - before.bytes));
	return 0;
}

#ifndef MARKERS_PLUGIN
int main(int argc, char **argv)
{
	return markers_run(argc > 1 && strcmp(argv[1], "require") == 0);
}
#endif
