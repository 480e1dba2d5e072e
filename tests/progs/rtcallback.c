/* rtcallback.c - a stand-in audio program for the viewer tests: CYCLES (default 60)
 * "callbacks", each a marked real-time region (AUDIOPROF_RT_ENTER/EXIT) with two zones.
 * Every 10th callback allocates and frees a 256-byte block inside the region (real-time
 * violations: malloc and free), every 15th sleeps 200 us in it (a sleep violation).
 * Between callbacks the "UI" allocates 1000 bytes and frees them 1 ms later, and a
 * 4096-byte block allocated at the start is never freed (leaked at exit).
 *
 *   rtcallback [CYCLES]
 */
#include "audioprof.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float buffer[512];

static void mix(int cycle)
{
	AUDIOPROF_ZONE_BEGIN("mix");
	for (int i = 0; i < 512; i++)
		buffer[i] = buffer[i] * 0.5f + (float)((i + cycle) % 7);
	AUDIOPROF_ZONE_END();
}

static void grain_scratch(void)
{
	char *p = malloc(256);     /* a violation: allocation in the callback */
	memset(p, 0, 256);
	free(p);                   /* and a free */
}

static void process(int cycle)
{
	AUDIOPROF_RT_ENTER("rtcallback");
	mix(cycle);
	AUDIOPROF_ZONE_BEGIN("effects");
	if (cycle % 10 == 0)
		grain_scratch();
	if (cycle % 15 == 0)
		usleep(200);       /* a violation: sleeping in the callback */
	AUDIOPROF_ZONE_END();
	AUDIOPROF_RT_EXIT();
}

static void ui_update(void)
{
	char *p = malloc(1000);
	memset(p, 1, 1000);
	usleep(1000);
	free(p);
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 60;
	char *kept = malloc(4096);
	memset(kept, 2, 4096);
	for (int c = 0; c < cycles; c++) {
		process(c);
		ui_update();
	}
	return kept[0] == 2 ? 0 : 1;
}
