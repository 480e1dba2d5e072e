/* cpushare.c - real-time code whose CPU time is split in known shares between three
 * functions: each cycle, inside the marked region "cpushare", spin_a runs for 60 %,
 * spin_b for 30 % and spin_c for 10 % of the cycle's CPU time (measured on the
 * thread's own CPU clock). Cycle lengths vary at random between 5 and 15 ms of CPU time
 * so that no timer period lines up with them. Outside the region, spin_outside burns
 * a quarter as much again, which mode "rt" must leave out.
 * Usage: cpushare SECONDS   (CPU seconds spent inside the region) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "audioprof.h"
#include "progs.h"

static volatile uint64_t sink;

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burn CPU until the thread's CPU clock passes `until`. */
static void burn(uint64_t until)
{
	do {
		for (int i = 0; i < 2000; i++)
			sink = sink * 6364136223846793005u + 1442695040888963407u;
	} while (cpu_ns() < until);
}

NOINLINE void spin_a(uint64_t ns) { burn(cpu_ns() + ns); }
NOINLINE void spin_b(uint64_t ns) { burn(cpu_ns() + ns); }
NOINLINE void spin_c(uint64_t ns) { burn(cpu_ns() + ns); }
NOINLINE void spin_outside(uint64_t ns) { burn(cpu_ns() + ns); }

NOINLINE void cycle(uint64_t ns)
{
	AUDIOPROF_RT_ENTER("cpushare");
	spin_a(ns * 6 / 10);
	spin_b(ns * 3 / 10);
	spin_c(ns / 10);
	AUDIOPROF_RT_EXIT();
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	uint64_t total = (uint64_t)(secs * 1e9), done = 0;
	unsigned seed = 12345;
	while (done < total) {
		uint64_t ns = 5000000u + (uint64_t)(rand_r(&seed) % 10000000u);
		cycle(ns);
		spin_outside(ns / 4);
		done += ns;
	}
	printf("cpushare: %.1f s in the region\n", (double)done / 1e9);
	return 0;
}
