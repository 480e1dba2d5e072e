/* trampoline_bench.c - what audioprof costs an audio callback: one
 * JACK-style process callback called N times
 *   direct      straight from the (fake) library's loop,
 *   trampoline  through what jack_set_process_callback registered: under the preload,
 *               preload/entry/audio_jack.c's trampoline (audio_cb_begin .. audio_cb_end),
 *   region      directly, inside audioprof_rt_enter/audioprof_rt_exit (the public API),
 * all in the same run, the best of several rounds each; prints ns per callback and the
 * trampoline's overhead (trampoline - direct). The callback does nothing but count,
 * so the difference is the profiler's whole cost. Run under LD_PRELOAD (bench/Makefile
 * target "tramp"); natively the three are the same call and it says so.
 *
 *   trampoline_bench [N]     N callbacks per round (default 2000000) */
#include "../preload/audioprof.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct fake_client fake_client;
typedef int (*process_fn)(uint32_t nframes, void *arg);
fake_client *fakejack_client(void);
int jack_set_process_callback(fake_client *c, process_fn cb, void *arg);
int fakejack_cycles(long n);
int fakejack_direct(process_fn cb, void *arg, long n);

#define ROUNDS 7

static volatile uint64_t count;

__attribute__((noinline)) static int process(uint32_t nframes, void *arg)
{
	count += nframes == 512 && arg == (void *)&count;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int region(long n)
{
	int r = 0;
	for (long i = 0; i < n; i++) {
		AUDIOPROF_RT_ENTER("bench region");
		r |= process(512, (void *)&count);
		AUDIOPROF_RT_EXIT();
	}
	return r;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	if (n <= 0) {
		fprintf(stderr, "usage: trampoline_bench [N]\n");
		return 2;
	}
	if (jack_set_process_callback(fakejack_client(), process, (void *)&count) != 0) {
		fprintf(stderr, "trampoline_bench: registration failed\n");
		return 1;
	}
	double best[3] = { 1e30, 1e30, 1e30 };
	for (int round = 0; round < ROUNDS; round++)
		for (int m = 0; m < 3; m++) {
			uint64_t t0 = now_ns();
			int r = m == 0 ? fakejack_direct(process, (void *)&count, n) :
				m == 1 ? fakejack_cycles(n) : region(n);
			double ns = (double)(now_ns() - t0) / (double)n;
			if (r == 0 && ns < best[m])
				best[m] = ns;
		}
	uint64_t want = (uint64_t)ROUNDS * 3 * (uint64_t)n;
	if (count != want) {
		fprintf(stderr, "trampoline_bench: %llu callbacks ran, expected %llu\n",
			(unsigned long long)count, (unsigned long long)want);
		return 1;
	}
	int active = AUDIOPROF_ACTIVE();
	printf("trampoline overhead per callback (%ld callbacks x %d rounds, best round%s):\n",
	       n, ROUNDS, active ? "" : "; NOT under the preload: all three are direct calls");
	printf("  direct call              %8.1f ns\n", best[0]);
	printf("  through the trampoline   %8.1f ns   overhead %+.1f ns (x%.1f)\n", best[1],
	       best[1] - best[0], best[1] / best[0]);
	printf("  audioprof_rt_enter/exit  %8.1f ns   overhead %+.1f ns\n", best[2], best[2] - best[0]);
	return 0;
}
