/* clock.h - monotonic time in nanoseconds for dsp_demo. clock_gettime(CLOCK_MONOTONIC)
 * is served by the vDSO on Linux: no system call, safe in the audio callback. */
#ifndef DSP_CLOCK_H
#define DSP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep until the absolute CLOCK_MONOTONIC time t (ns); restarts after signals.
 * Not for the callback: it blocks. */
static inline void clock_sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

/* Sleep for ns nanoseconds (non-callback threads only). */
static inline void clock_sleep_ns(uint64_t ns)
{
	clock_sleep_until(clock_now_ns() + ns);
}

#endif
