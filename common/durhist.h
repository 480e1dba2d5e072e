/* durhist.h - the layout of the log-linear duration histograms, in one place: the
 * preload fills them (audio.c: callback and period-jitter durations; audioprof.c:
 * zones), the analyzer reads them (stats.c). Header only, no state.
 *
 * Durations are whole nanoseconds. Below 16 ns every value has its own bucket; above,
 * each power of two [2^e, 2^(e+1)) is cut into 16 equal steps of 2^(e-4) ns, so a
 * bucket is at most 1/16 of its lower edge wide (values within 6.25 %):
 *
 *   bucket   0..15   ns 0..15, one value each
 *   bucket  16..31   ns 16..31, one value each (2^4: steps of 1 ns)
 *   bucket  32..47   ns 32..63, 2 ns each
 *   bucket 16*(e-3)+m  ns [(16+m) << (e-4), (17+m) << (e-4)), for e >= 4, m = 0..15
 *   bucket 639       everything from 31 << 38 ns (about 2.3 hours) up: open-ended
 *
 * Changing any of this changes what the counts in a profile mean. */
#ifndef AUDIOPROF_DURHIST_H
#define AUDIOPROF_DURHIST_H

#include <stdint.h>

#define DURHIST_SUB     16                     /* steps per power of two */
#define DURHIST_BUCKETS (40 * DURHIST_SUB)     /* up to 2^43 ns, about 2.4 hours */

/* The bucket of a duration of ns nanoseconds. */
static inline unsigned durhist_bucket(uint64_t ns)
{
	if (ns < DURHIST_SUB)
		return (unsigned)ns;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);       /* >= 4 */
	unsigned b = (e - 3) * DURHIST_SUB + (unsigned)((ns >> (e - 4)) & (DURHIST_SUB - 1));
	return b < DURHIST_BUCKETS ? b : DURHIST_BUCKETS - 1;
}

/* The smallest duration in bucket b (b < DURHIST_BUCKETS). */
static inline uint64_t durhist_lower(unsigned b)
{
	if (b < DURHIST_SUB)
		return b;
	unsigned e = b / DURHIST_SUB + 3, m = b % DURHIST_SUB;
	return ((uint64_t)(DURHIST_SUB + m)) << (e - 4);
}

/* How many whole-ns durations bucket b holds: its width in ns. For the last, open-ended
 * bucket, the width it would have as a regular bucket. */
static inline uint64_t durhist_width(unsigned b)
{
	if (b < DURHIST_SUB)
		return 1;
	return 1ull << (b / DURHIST_SUB - 1);
}

/* The value that stands for bucket b where one number is needed: its lower edge plus
 * half its width, rounded down (the lower edge itself while buckets are 1 ns wide). */
static inline uint64_t durhist_mid(unsigned b)
{
	return durhist_lower(b) + (durhist_width(b) >> 1);
}

#endif
