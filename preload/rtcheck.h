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
 * profiler's own (rt_guard), capture the caller's stack and record a violation of
 * `kind` named `call`. fn is the wrapper's own address (SELF), frame 0 of the stack;
 * ra, cfa, fp come from CALLER in the exported wrapper. errno is left untouched.
 * tm (or NULL): set up to time the call (tm->slot non-NULL, tm->t0 read last). */
void rtcheck_record(enum ap_vkind kind, const char *call, uintptr_t fn, uintptr_t ra,
		    uintptr_t cfa, uintptr_t fp, struct rt_timing *tm);

/* In an exported wrapper `name` (with ALIAS(name) in scope): record the call if it is
 * made in real-time code. Must be expanded in the exported function itself. */
#define RTCHECK(kind, call, name) do { \
	if (rtcheck_hot()) { \
		uintptr_t ra_, cfa_, fp_; \
		CALLER(ra_, cfa_, fp_); \
		rtcheck_record((kind), (call), SELF(name), ra_, cfa_, fp_, NULL); \
	} \
} while (0)

/* The same, for a call that is then timed: tm.slot is non-NULL when the call was
 * recorded; make the real call between RTCHECK_TIMED and rtcheck_done. The time from
 * tm.t0 (read after the stack was taken) to rtcheck_done's clock read is the call's:
 * two clock reads (clock.h: the TSC or the vDSO, no system call). */
#define RTCHECK_TIMED(kind, call, name, tm) do { \
	(tm).slot = NULL; \
	if (rtcheck_hot()) { \
		uintptr_t ra_, cfa_, fp_; \
		CALLER(ra_, cfa_, fp_); \
		rtcheck_record((kind), (call), SELF(name), ra_, cfa_, fp_, &(tm)); \
	} \
} while (0)

static inline void rtcheck_done(const struct rt_timing *tm)
{
	uint64_t t1 = clock_ticks();
	int saved = errno;
	audio_violation_time(tm, t1 - tm->t0);
	errno = saved;
}

/* r = expr, timed when tm says so. */
#define RTCHECK_CALL(tm, r, expr) do { \
	if (unlikely((tm).slot)) { \
		(r) = (expr); \
		rtcheck_done(&(tm)); \
	} else { \
		(r) = (expr); \
	} \
} while (0)

#endif
