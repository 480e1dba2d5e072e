/* audioprof.h - the public API for programs and tests that want to tell audioprof
 * about their real-time code, time zones inside a callback, or count allocations in
 * a scope (a unit test asserting "no allocation here").
 *
 * Nothing to link: every function is a weak reference that libaudioprof.so defines
 * when it is preloaded. Without the preload the macros below do nothing and the
 * counters stay at zero; a program using them builds and runs unchanged.
 * Use the macros; call the functions directly only after checking them for NULL. */
#ifndef AUDIOPROF_H
#define AUDIOPROF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocation activity of the calling thread, as counted by the preload. */
struct audioprof_counts {
	uint64_t allocs;      /* blocks allocated (malloc family, new, realloc) */
	uint64_t frees;       /* blocks freed */
	uint64_t bytes;       /* bytes allocated */
	uint64_t rt_unsafe;   /* other real-time-unsafe calls (locks, sleeps, I/O, ...) */
};

#define AUDIOPROF_WEAK __attribute__((weak))

/* Mark the calling thread as running real-time code until the matching exit;
 * nestable. name: a static string naming the region (shown in the report). */
extern void audioprof_rt_enter(const char *name) AUDIOPROF_WEAK;
extern void audioprof_rt_exit(void) AUDIOPROF_WEAK;
/* The period of region `name` (same pointer as given to enter): frames / rate is its
 * deadline, so its timing shows load, overruns and near misses. */
extern void audioprof_rt_period(const char *name, uint32_t frames, uint32_t rate) AUDIOPROF_WEAK;

/* Time a named zone inside a callback (nestable; name must stay valid). */
extern void audioprof_zone_begin(const char *name) AUDIOPROF_WEAK;
extern void audioprof_zone_end(void) AUDIOPROF_WEAK;

/* Snapshot the calling thread's counters (all zero without the preload). */
extern void audioprof_thread_counts(struct audioprof_counts *out) AUDIOPROF_WEAK;

/* 1 when libaudioprof.so is loaded and profiling this process. */
extern int audioprof_active(void) AUDIOPROF_WEAK;

#define AUDIOPROF_RT_ENTER(name) do { if (audioprof_rt_enter) audioprof_rt_enter(name); } while (0)
#define AUDIOPROF_RT_EXIT()      do { if (audioprof_rt_exit) audioprof_rt_exit(); } while (0)
#define AUDIOPROF_RT_PERIOD(name, frames, rate) \
	do { if (audioprof_rt_period) audioprof_rt_period(name, frames, rate); } while (0)
#define AUDIOPROF_ZONE_BEGIN(n)  do { if (audioprof_zone_begin) audioprof_zone_begin(n); } while (0)
#define AUDIOPROF_ZONE_END()     do { if (audioprof_zone_end) audioprof_zone_end(); } while (0)
#define AUDIOPROF_ACTIVE()       (audioprof_active ? audioprof_active() : 0)

static inline struct audioprof_counts audioprof_counts_now(void)
{
	struct audioprof_counts c = { 0, 0, 0, 0 };
	if (audioprof_thread_counts)
		audioprof_thread_counts(&c);
	return c;
}

/* Scoped counting, like Rust's assert_no_alloc:
 *     struct audioprof_counts before = audioprof_counts_now();
 *     process(buffer);
 *     assert(audioprof_allocs_since(&before) == 0);
 */
static inline uint64_t audioprof_allocs_since(const struct audioprof_counts *before)
{
	struct audioprof_counts now = audioprof_counts_now();
	return now.allocs - before->allocs;
}

#ifdef __cplusplus
}
#endif

#endif
