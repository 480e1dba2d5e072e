/* clock.h - the allocation hot path's timestamps ("ticks").
 *
 * A block's birth and death are two clock reads per allocation, the largest single cost
 * of the hot path after the stack. Ticks are the CPU's time-stamp counter when that is
 * safe (x86-64 with an invariant TSC, and the kernel itself keeping CLOCK_MONOTONIC
 * with the TSC, which it only does when the counters of all CPUs agree): one rdtsc
 * (~11 ns here) instead of a vDSO clock_gettime (~24 ns). Otherwise, and with
 * AUDIOPROF_CLOCK=monotonic, ticks are CLOCK_MONOTONIC nanoseconds and every
 * conversion below is the identity.
 *
 * Ticks become nanoseconds only when a profile is written, at the ratio measured
 * between two pairs of simultaneous reads of both clocks: one at start-up, one taken
 * by clock_sync() just before the write. Over a run of a second that ratio is exact to
 * a few parts per million, and since every duration is converted with the same ratio,
 * sums of lifetimes are converted exactly as their parts would be. The short-lived
 * threshold, compared on the hot path, is converted to ticks with the ratio of the last
 * sync (start-up: a 20 us calibration, good to ~0.05 %, until the writer thread's first
 * sync right after the preload's start-up). */
#ifndef AUDIOPROF_CLOCK_H
#define AUDIOPROF_CLOCK_H

#include <stdint.h>
#include <time.h>

extern int clock_tsc;   /* 1: ticks are TSC counts; set once by clock_init */

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_ticks(void)
{
#if defined(__x86_64__)
	if (__builtin_expect(clock_tsc, 1))
		return __builtin_ia32_rdtsc();
#endif
	return clock_mono_ns();
}

/* Choose the tick source (use_tsc = 0 forces CLOCK_MONOTONIC) and take the start-up
 * pair; with the TSC, spins ~100 us to calibrate. Call once, before any tick is read
 * (again in a forked child is harmless: the clocks are the same). */
void clock_init(int use_tsc);

/* Take a new pair of simultaneous reads: the conversions below use the ratio between
 * the start-up pair and this one. Returns CLOCK_MONOTONIC ns now and the ticks of the
 * same moment in *ticks. Not thread-safe against itself: the runtime calls it from
 * the profile writer under its write lock. */
uint64_t clock_sync(uint64_t *ticks);

uint64_t clock_span_ns(uint64_t ticks);      /* a duration in ticks, in ns */
uint64_t clock_ns(uint64_t ticks);           /* a tick time as CLOCK_MONOTONIC ns */
uint64_t clock_ticks_of(uint64_t mono_ns);   /* a CLOCK_MONOTONIC time in ticks */
uint64_t clock_span_ticks(uint64_t ns);      /* a duration in ns, in ticks */

/* For tests: identity mode (ticks = ns) and no pairs, as in a fresh process. */
void clock_reset_identity(void);

#endif
