/* audio.h - what makes the heap profiler an audio profiler: callback sources, the
 * per-thread real-time state that trampolines and marked regions set, callback
 * timing (histograms, load, overruns, jitter, zones) and real-time violations.
 *
 * Threads: a source's timing is written by the thread running its callback (one at
 * a time) and read racily by the profile writer. Violations go into a lock-free
 * table. Nothing on a clean callback's path locks, allocates or makes a syscall,
 * except once per thread (its id, read on its first callback, and the start of its
 * CPU-sampling timer, cpuprof.h). */
#ifndef AUDIOPROF_AUDIO_H
#define AUDIOPROF_AUDIO_H

#include <stdint.h>
#include "runtime.h"
#include "sites.h"

enum ap_api {
	AP_API_JACK, AP_API_PORTAUDIO, AP_API_ALSA, AP_API_PULSE, AP_API_PIPEWIRE,
	AP_API_SDL, AP_API_REGION, AP_API_THREAD, AP_API_COUNT
};

enum ap_vkind {   /* kinds of real-time-unsafe calls */
	VK_ALLOC, VK_FREE, VK_LOCK, VK_SLEEP, VK_IO, VK_POLL, VK_MMAP, VK_THREAD,
	VK_PROCESS, VK_TRYLOCK, VK_COUNT
};

struct cb_source;

#define RT_MAX_NEST  8
#define ZONE_MAX_NEST 8
#define RT_PEND_MAX 64          /* distinct violation sites undone per discarded cycle */
#define RT_CYC_MAX 8            /* distinct violation sites kept per slow cycle */

/* The violations made in one cycle, by violation slot: what a slow cycle keeps of them.
 * (A CPU sampler would keep the samples taken in the cycle beside these.) */
struct rt_cyclog {
	uint32_t n;                    /* entries used */
	uint32_t more;                 /* calls at sites beyond e[] (not kept) */
	uint32_t samples;              /* CPU samples taken in the cycle (cpuprof.c's
	                                * handler, on this thread) */
	struct rt_cycv {
		void *slot;            /* the violation slot (audio_int.h's struct vslot) */
		uint32_t count;        /* calls made there in the cycle */
		uint32_t pad;
		uint64_t ticks;        /* time spent inside those calls (clock ticks) */
	} e[RT_CYC_MAX];
};

/* A violation being timed: pushed on the thread's rt_tls.timing by rtcheck_record
 * (whose wrapper gets its 1-based index), popped by rtcheck_done after the real call,
 * which passes the span to audio_violation_time. A stack, not a local of the wrapper,
 * so that the wrapper keeps no addressable local and its untimed path stays a tail
 * jump; a signal handler's timed calls nest above. */
#define RT_TIMING_MAX 8
struct rt_timing {
	void *slot;                    /* NULL: not recorded, or no slot: not timed */
	uint64_t t0;                   /* clock ticks just before the real call */
	uint32_t gen;                  /* the thread's cycle generation it was made in */
	int16_t ci, pi;                /* its entry in the cycle log, the pending log (-1) */
};

struct rt_frame {
	struct cb_source *src;
	uint64_t t0;           /* start (ns) */
	uint32_t inner;        /* a nested callback ran inside: this one is not timed */
	uint32_t pad;
};

/* Per-thread real-time state (initial-exec TLS: no allocation to reach it). */
struct rt_tls {
	int depth;                             /* > 0: inside a callback or RT region */
	int nframes;                           /* timed callback frames on rt_stack */
	unsigned gen;                          /* AUDIOPROF_RT_THREADS generation seen */
	int tid;                               /* kernel thread id, 0 until the first callback */
	struct rt_frame stack[RT_MAX_NEST];
	int nzones;
	struct { const char *name; uint64_t t0; } zones[ZONE_MAX_NEST];
	uint64_t allocs, frees, bytes, unsafe; /* this thread's counters (audioprof.h) */
	struct cb_source *thread_src;          /* source when the whole thread is real-time */
	int never_rt;                          /* the profiler's thread, or a thread exiting */
	int lib_depth;                         /* > 0: inside an audio library's own API,
						* called by one of our wrappers */
	int lib_api;                           /* that library's enum ap_api */
	int pend_on;                           /* frames above this many are provisional
						* (audio_cb_provisional); 0: none */
	struct rt_pendlog {                    /* violations of a provisional cycle, by slot */
		int n;
		struct rt_pend {
			void *slot;            /* its violation slot (NULL: none was found) */
			uint64_t count, bytes;
			uint64_t ticks;        /* time inside the calls (clock ticks) */
			uint32_t stack;
			uint8_t kind, lib;
		} e[RT_PEND_MAX];
	} pend, held;                          /* the current cycle's; a held one's */
	struct cb_source *held_src;            /* a cycle ended but held (audio_cb_hold) */
	uint64_t held_ns;                      /* its duration */
	uint32_t held_frames, held_rate;
	uint64_t held_t0;                      /* its start (ns) */
	uint32_t cyc_gen;                      /* bumped at each callback's start */
	struct rt_cyclog cyc, held_cyc;        /* the current cycle's violations; a held one's */
	int ntiming;                           /* calls being timed (emptied at an outermost
						* callback's start: a handler that longjmp'd
						* out of a timed call leaves its entry) */
	struct rt_timing timing[RT_TIMING_MAX];
};
extern __thread struct rt_tls ap_rt TLS_IE;
extern unsigned audio_rt_gen;             /* bumped when thread names may matter anew */

/* For fork()'s handlers (runtime.c, loader.c, dwlib.c): runtime_guard around their own
 * lock calls, so that these are not recorded as the program's violations, taken only
 * where a call could be recorded (this thread may be in real-time code: the test of
 * rtcheck.h, never a false negative). Elsewhere they write nothing to the TLS page the
 * guard is on: every page the parent writes inside fork() after the kernel's copy is a
 * copy-on-write fault, and so is one its prepare handlers write (the last fork left it
 * write-protected). audio_fork_unguard(audio_fork_guard()) in one handler. */
static inline int audio_fork_guard(void)
{
	if (ap_rt.depth > 0 || ap_rt.gen != __atomic_load_n(&audio_rt_gen, __ATOMIC_RELAXED)) {
		runtime_guard++;
		return 1;
	}
	return 0;
}

static inline void audio_fork_unguard(int taken)
{
	if (taken)
		runtime_guard--;
}

/* ---- set-up (never on the audio thread's hot path) ---- */
void audio_init(void);                    /* from the runtime constructor, after options */
void audio_thread_start(void);            /* a new thread, holding no lock: its tid now */
void audio_reset_after_fork(void);        /* forked child: audio counts start afresh */

/* A new callback source. name is copied (truncated to 63 bytes). Lock-free; maps its
 * memory, so call it where a syscall is acceptable (at registration). */
struct cb_source *audio_source_new(enum ap_api api, const char *name);
/* Set or change the deadline parameters (frames per period, sample rate). */
void audio_source_format(struct cb_source *s, uint32_t frames, uint32_t rate);

/* ---- on the audio thread ---- */
/* Begin and end one callback of s. frames/rate: this period (0 = keep last). */
void audio_cb_begin(struct cb_source *s);
void audio_cb_end(struct cb_source *s, uint32_t frames, uint32_t rate);
/* The current callback frame (the newest audio_cb_begin of this thread) is
 * provisional: whether it was a period's work is only known at its end (ALSA: a cycle
 * that ends in a write was; one that ends in drain, drop or close was teardown).
 * Violations recorded in it are logged per thread until audio_cb_end (kept) or
 * audio_cb_discard (taken back: counts, bytes and the source's totals, for up to
 * RT_PEND_MAX distinct sites; more stay charged). */
void audio_cb_provisional(void);
/* End the newest frame of s without timing it, taking its violations back, and those
 * of a held cycle too. */
void audio_cb_discard(struct cb_source *s);
/* End the newest (provisional) frame of s but hold it: it counts, with its
 * violations, when the thread's next provisional frame ends in audio_cb_end, and is
 * taken back if that one is discarded instead (ALSA: a final short write that pads
 * the last period comes after the program's teardown). */
void audio_cb_hold(struct cb_source *s, uint32_t frames, uint32_t rate);
/* Calls into an audio library's own API, made by our wrappers (around the real
 * function): unsafe calls made inside are the library's, recorded apart with the
 * library's name and never added to the program's counts. */
static inline void audio_lib_enter(int api) { ap_rt.lib_depth++; ap_rt.lib_api = api; }
static inline void audio_lib_leave(void) { ap_rt.lib_depth--; }
/* A backend-reported xrun (any thread). */
void audio_xrun(struct cb_source *s);

/* Record a real-time-unsafe call made inside a callback: stack is the site of the
 * call's stack (sites_intern), bytes for allocations. */
void audio_violation(enum ap_vkind kind, const char *call, site_id stack, uint64_t bytes);
/* The same, also filling *tm so that the call's duration can be added once it returns
 * (tm->slot NULL: nothing to time); tm->t0 is left for the caller. */
void audio_violation_timed(enum ap_vkind kind, const char *call, site_id stack,
			   struct rt_timing *tm);
/* A call that has already returned, made inside a callback, which took `ticks`: an
 * allocation (the wrappers of the malloc family time the underlying call). */
void audio_violation_took(enum ap_vkind kind, const char *call, site_id stack, uint64_t bytes,
			  uint64_t ticks);
/* The call recorded in tm took `ticks`: add them to its violation's total and maximum,
 * and to its cycle's log. No lock, no syscall. */
void audio_violation_time(const struct rt_timing *tm, uint64_t ticks);

/* Slow path of the hot check below: (re)decide whether this thread is real-time by
 * its name (AUDIOPROF_RT_THREADS). */
void audio_thread_recheck(void);
/* A thread was renamed (pthread_setname_np, prctl): names are looked at again. */
void audio_names_changed(void);

/* Is the calling thread inside real-time code? One TLS load when
 * AUDIOPROF_RT_THREADS is unset. */
static inline int audio_in_rt(void)
{
	if (unlikely(ap_rt.gen != __atomic_load_n(&audio_rt_gen, __ATOMIC_RELAXED)))
		audio_thread_recheck();
	return ap_rt.depth > 0;
}

/* The id of the source the calling thread's real-time code belongs to (the newest
 * callback frame, else the thread's own source), -1 if none. Plain TLS reads: safe in
 * a signal handler. */
int audio_current_source_id(void);

/* Violation policy (AUDIOPROF_ON_VIOLATION): what happens at a new violation site. */
enum { ONV_RECORD, ONV_WARN, ONV_ABORT };
extern int audio_on_violation;

/* ---- reading, for the profile writer ---- */
struct json_t;
typedef struct json_t *(*audio_fs_fn)(site_id stack, void *arg);   /* new fs array */
/* The audioprof object's "callbacks" and "violations" (stacks made by fs), new JSON
 * arrays or NULL out of memory; and its "violations_lost". */
struct json_t *audio_callbacks_json(audio_fs_fn fs, void *arg, uint64_t start_ns);
struct json_t *audio_violations_json(audio_fs_fn fs, void *arg);
uint64_t audio_violations_lost(void);
/* Per-site callback allocations, for the pps' "cbk"/"cbb" fields. */
void audio_site_cb(site_id s, uint64_t *blocks, uint64_t *bytes);
/* Writer-thread duties: print new violations (warn mode), refresh thread info. */
void audio_writer_tick(void);
/* The heap timeline took sample number i (timeline.c): close each source's load
 * interval ending now into row i. And the timeline halved its samples: merge rows. */
void audio_load_sample(unsigned i);
void audio_load_halve(unsigned kept);
/* Add "load" (one object per source that ran) to the timeline object: n rows each. */
struct json_t *audio_load_json(unsigned n);
/* Footprint of the audio tables. */
size_t audio_footprint(void);

#ifdef AUDIOPROF_TESTING
/* Tests: the q-quantile (0..1) that a profile gives for these durations (ns), recorded
 * in a timing histogram one by one as a callback's are. Not thread-safe. */
uint64_t audio_testing_quantile(const uint64_t *ns, size_t n, double q);
/* Tests: one cycle of s that started at t0 (ns) and took d ns, with no violation, as
 * the audio thread records it (its deadline as set by audio_source_format). */
void audio_testing_cycle(struct cb_source *s, uint64_t t0, uint64_t d);
#endif

#endif
