/* rtcheck.h - recording a real-time-unsafe call (lock, sleep, I/O, poll, mmap, thread,
 * process) made inside a callback or marked region, for the wrappers of rtcheck.c and
 * for any other file that interposes such a call (e.g. the exec family in shim.c):
 *
 *     ALIAS(execve);
 *     EXPORT int execve(...) { RTCHECK(VK_PROCESS, "execve", execve); ... real call ... }
 *
 * Outside real-time code RTCHECK costs two loads from the thread's rt_tls (one cache
 * line), one global load and two never-taken branches; no call. */
#ifndef AUDIOPROF_RTCHECK_H
#define AUDIOPROF_RTCHECK_H

#include <errno.h>
#include <stdint.h>
#include "audio.h"
#include "clock.h"
#include "interpose.h"

/* May this thread be inside real-time code? False positives are fine (the slow path
 * decides exactly); never a false negative. */
static inline int rtcheck_hot(void)
{
	return unlikely(ap_rt.depth > 0) ||
	       unlikely(ap_rt.gen != __atomic_load_n(&audio_rt_gen, __ATOMIC_RELAXED));
}

/* The slow path: when the thread really is in real-time code and the call is not the
 * profiler's own (runtime_guard), capture the caller's stack and record a violation of
 * `kind` named `call`. fn is the wrapper's own address (SELF), frame 0 of the stack;
 * ra, cfa, fp come from CALLER in the exported wrapper. errno is left untouched.
 * timed: also start timing the call; returns then its handle for rtcheck_done (the
 * clock read last), or 0 when it is not timed (not recorded, no violation slot, or
 * RT_TIMING_MAX calls in flight). */
int rtcheck_record(enum ap_vkind kind, const char *call, uintptr_t fn, uintptr_t ra,
		   uintptr_t cfa, uintptr_t fp, int timed);

/* In an exported wrapper `name` (with ALIAS(name) in scope): record the call if it is
 * made in real-time code. Must be expanded in the exported function itself. */
#define RTCHECK(kind, call, name) do { \
	if (rtcheck_hot()) { \
		uintptr_t ra_, cfa_, fp_; \
		CALLER(ra_, cfa_, fp_); \
		rtcheck_record((kind), (call), SELF(name), ra_, cfa_, fp_, 0); \
	} \
} while (0)

/* The same, for a call that is then timed: int h is its handle, 0 when it is not
 * timed; make the real call between RTCHECK_TIMED and rtcheck_done(h). The time from
 * the clock read that ends rtcheck_record (after the stack was taken) to rtcheck_done's
 * is the call's: two clock reads (clock.h: the TSC or the vDSO, no system call). */
#define RTCHECK_TIMED(kind, call, name, h) do { \
	(h) = 0; \
	if (rtcheck_hot()) { \
		uintptr_t ra_, cfa_, fp_; \
		CALLER(ra_, cfa_, fp_); \
		(h) = rtcheck_record((kind), (call), SELF(name), ra_, cfa_, fp_, 1); \
	} \
} while (0)

/* The call of handle h (non-zero) returned: its time goes to its violation, and it
 * and any left above it (a handler's that never returned) leave the stack. */
static inline void rtcheck_done(int h)
{
	uint64_t t1 = clock_ticks();
	int saved = errno;
	struct rt_timing *tm = &ap_rt.timing[h - 1];
	audio_violation_time(tm, t1 - tm->t0);
	ap_rt.ntiming = h - 1;
	errno = saved;
}

/* `return expr;` of type `type`, timed when h says so: untimed, a tail call. */
#define RTCHECK_RETURN(h, type, expr) do { \
	if (likely(!(h))) \
		return (expr); \
	type r_ = (expr); \
	rtcheck_done(h); \
	return r_; \
} while (0)

/* r = expr, timed when h says so (for wrappers with work after the call). */
#define RTCHECK_CALL(h, r, expr) do { \
	(r) = (expr); \
	if (unlikely(h)) \
		rtcheck_done(h); \
} while (0)

#endif
