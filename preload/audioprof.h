/* audioprof.h - the public API for programs and tests that want to tell audioprof
 * about their real-time code, time zones inside a callback, or count allocations in
 * a scope (a unit test asserting "no allocation here").
 *
 * Nothing to link. libaudioprof.so defines the functions when it is preloaded; this
 * header finds them at run time with dlsym(RTLD_DEFAULT, ...), once per translation
 * unit, in a constructor (before main, or when the plug-in that includes it is
 * loaded), and keeps the pointers in its own static storage. That works the same in
 * a position-independent or a fixed-address (-no-pie) executable, in C and C++, and
 * in a shared library such as a plug-in: weak references, which this header used
 * before, are resolved to 0 by the linker in a -no-pie executable. After the
 * look-up every macro is a load and a call: no lock, no system call, no allocation,
 * safe on an audio thread and in a signal handler. Without the preload the macros
 * do nothing and the counters stay at zero; a test that must not pass without the
 * profiler says so with AUDIOPROF_REQUIRE().
 *
 * glibc 2.34 and later have dlsym in the C library itself; with an older glibc, link
 * with -ldl (without it the program still links and runs, and the API reads as
 * inactive). */
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

#ifdef AUDIOPROF_DEFINING_API
/* libaudioprof.so itself (preload/engine/audioprof.c): the definitions. */
void audioprof_rt_enter(const char *name);
void audioprof_rt_exit(void);
void audioprof_rt_period(const char *name, uint32_t frames, uint32_t rate);
void audioprof_zone_begin(const char *name);
void audioprof_zone_end(void);
void audioprof_thread_counts(struct audioprof_counts *out);
int audioprof_active(void);
#else

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* The functions libaudioprof.so exports, as found at run time (NULL without it). */
struct audioprof_api_ {
	/* Mark the calling thread as running real-time code until the matching exit;
	 * nestable. name: a static string naming the region (shown in the report). */
	void (*rt_enter)(const char *name);
	void (*rt_exit)(void);
	/* The period of region `name` (same pointer as given to enter): frames / rate is
	 * its deadline, so its timing shows load, overruns and near misses. */
	void (*rt_period)(const char *name, uint32_t frames, uint32_t rate);
	/* Time a named zone inside a callback (nestable; name must stay valid). */
	void (*zone_begin)(const char *name);
	void (*zone_end)(void);
	/* Snapshot the calling thread's counters. */
	void (*thread_counts)(struct audioprof_counts *out);
	/* 1 when libaudioprof.so is loaded and profiling this process. */
	int (*active)(void);
};

/* This translation unit's copy: written once by audioprof_resolve_ (any thread may
 * race to do it; all write the same values, atomically), read atomically. */
static struct audioprof_api_ audioprof_api_data_;
static int audioprof_api_done_;

#if defined(__GLIBC__) && (__GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 34))
/* dlsym is in libdl before glibc 2.34: without -ldl, link anyway and stay inactive. */
#pragma weak dlsym
#pragma weak dlerror
#define AUDIOPROF_DLSYM_MISSING_() (!&dlsym)
#else
#define AUDIOPROF_DLSYM_MISSING_() 0
#endif

#ifdef RTLD_DEFAULT
#define AUDIOPROF_RTLD_DEFAULT_ RTLD_DEFAULT
#else
#define AUDIOPROF_RTLD_DEFAULT_ ((void *)0)   /* glibc's value; RTLD_DEFAULT needs _GNU_SOURCE */
#endif

#define AUDIOPROF_LOOKUP_(field, name) do {                                            \
	void *p_ = dlsym(AUDIOPROF_RTLD_DEFAULT_, name);                               \
	__typeof__(audioprof_api_data_.field) f_;                                      \
	__builtin_memcpy(&f_, &p_, sizeof(f_));                                        \
	__atomic_store_n(&audioprof_api_data_.field, f_, __ATOMIC_RELAXED);           \
} while (0)

/* Look the API up. audioprof_active comes first: when it is missing (no preload), one
 * failed look-up is all, and its dlerror() state is cleared again. */
static void audioprof_resolve_(void)
{
	if (AUDIOPROF_DLSYM_MISSING_()) {
		__atomic_store_n(&audioprof_api_done_, 1, __ATOMIC_RELEASE);
		return;
	}
	AUDIOPROF_LOOKUP_(active, "audioprof_active");
	if (!__atomic_load_n(&audioprof_api_data_.active, __ATOMIC_RELAXED)) {
		(void)dlerror();
	} else {
		AUDIOPROF_LOOKUP_(rt_enter, "audioprof_rt_enter");
		AUDIOPROF_LOOKUP_(rt_exit, "audioprof_rt_exit");
		AUDIOPROF_LOOKUP_(rt_period, "audioprof_rt_period");
		AUDIOPROF_LOOKUP_(zone_begin, "audioprof_zone_begin");
		AUDIOPROF_LOOKUP_(zone_end, "audioprof_zone_end");
		AUDIOPROF_LOOKUP_(thread_counts, "audioprof_thread_counts");
	}
	__atomic_store_n(&audioprof_api_done_, 1, __ATOMIC_RELEASE);
}

/* At load time, so that no audio thread makes the look-up. */
__attribute__((constructor)) static void audioprof_resolve_at_load_(void)
{
	audioprof_resolve_();
}

/* The API; looked up here only if called before this unit's constructor ran (from
 * another constructor). */
static inline struct audioprof_api_ *audioprof_api_(void)
{
	if (__builtin_expect(!__atomic_load_n(&audioprof_api_done_, __ATOMIC_ACQUIRE), 0))
		audioprof_resolve_();
	return &audioprof_api_data_;
}

#define AUDIOPROF_FN_(field) (__atomic_load_n(&audioprof_api_()->field, __ATOMIC_RELAXED))

/* The function names of earlier versions, for code that calls them directly after a
 * NULL check (`if (audioprof_active) audioprof_active()`): each is the pointer found,
 * or NULL. Prefer the macros below. */
#define audioprof_rt_enter      AUDIOPROF_FN_(rt_enter)
#define audioprof_rt_exit       AUDIOPROF_FN_(rt_exit)
#define audioprof_rt_period     AUDIOPROF_FN_(rt_period)
#define audioprof_zone_begin    AUDIOPROF_FN_(zone_begin)
#define audioprof_zone_end      AUDIOPROF_FN_(zone_end)
#define audioprof_thread_counts AUDIOPROF_FN_(thread_counts)
#define audioprof_active        AUDIOPROF_FN_(active)

#define AUDIOPROF_RT_ENTER(name) do {                                                  \
	void (*audioprof_f_)(const char *) = audioprof_rt_enter;                       \
	if (audioprof_f_) audioprof_f_(name);                                          \
} while (0)
#define AUDIOPROF_RT_EXIT() do {                                                       \
	void (*audioprof_f_)(void) = audioprof_rt_exit;                                \
	if (audioprof_f_) audioprof_f_();                                              \
} while (0)
#define AUDIOPROF_RT_PERIOD(name, frames, rate) do {                                   \
	void (*audioprof_f_)(const char *, uint32_t, uint32_t) = audioprof_rt_period;  \
	if (audioprof_f_) audioprof_f_(name, frames, rate);                            \
} while (0)
#define AUDIOPROF_ZONE_BEGIN(n) do {                                                   \
	void (*audioprof_f_)(const char *) = audioprof_zone_begin;                     \
	if (audioprof_f_) audioprof_f_(n);                                             \
} while (0)
#define AUDIOPROF_ZONE_END() do {                                                      \
	void (*audioprof_f_)(void) = audioprof_zone_end;                               \
	if (audioprof_f_) audioprof_f_();                                              \
} while (0)

static inline int audioprof_is_active_(void)
{
	int (*f)(void) = audioprof_active;
	return f ? f() : 0;
}
#define AUDIOPROF_ACTIVE() audioprof_is_active_()

/* For a test that proves nothing without the profiler: when this process is not
 * being profiled, print why on stderr and abort(), like a failed assert(). */
static inline void audioprof_require_(const char *file, int line)
{
	if (audioprof_is_active_())
		return;
	fprintf(stderr, "%s:%d: AUDIOPROF_REQUIRE(): this program is not running under "
		"audioprof (libaudioprof.so is not preloaded, or is not profiling this "
		"process), so its allocation counts and regions would read zero and prove "
		"nothing; run it with `audioprof run -- PROGRAM` or "
		"LD_PRELOAD=/path/to/libaudioprof.so\n", file, line);
	abort();
}
#define AUDIOPROF_REQUIRE() audioprof_require_(__FILE__, __LINE__)

static inline struct audioprof_counts audioprof_counts_now(void)
{
	struct audioprof_counts c = { 0, 0, 0, 0 };
	void (*f)(struct audioprof_counts *) = audioprof_thread_counts;
	if (f)
		f(&c);
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

#endif /* AUDIOPROF_DEFINING_API */

#ifdef __cplusplus
}
#endif

#endif
