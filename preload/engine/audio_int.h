/* audio_int.h - what the parts of the audio engine share (audio.c: sources and their
 * timing; audioprof.c: the public marker API; audio_violations.c: the violation table;
 * audio_threads.c: thread names and scheduling; audio_json.c: the audio part of the
 * profile). Not for other modules: they use audio.h. */
#ifndef AUDIOPROF_AUDIO_INT_H
#define AUDIOPROF_AUDIO_INT_H

#include "audio.h"
#include "durhist.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ histograms */

#define LOAD_EDGES 14                     /* load histogram bucket edges in % */
extern const unsigned audio_load_edges[LOAD_EDGES];

/* Durations: the log-linear layout of durhist.h. */
struct hist { uint64_t n[DURHIST_BUCKETS]; };

/* The q-quantile (0..1) of a histogram holding `count` values, clamped to [min, max]. */
uint64_t audio_hquantile(const struct hist *h, uint64_t count, double q, uint64_t min,
			 uint64_t max);

/* ------------------------------------------------------------ sources */

#define ZONES 16

struct zone {
	const char *name;                      /* the program's pointer; compared by address */
	char text[64];                         /* its text, copied at first use: a plug-in
						* that named the zone may be unloaded before
						* the profile is written */
	uint64_t count, sum, max, min;
	struct hist h;
};

/* A kept cycle. Written by the source's audio thread only: seq is odd while it
 * writes, and a reader that sees seq change (or odd) reads again. */
struct slow_rec {
	uint32_t seq;
	uint32_t kept;                         /* the writer's copies: SLOW_* flags */
	uint64_t cycle;                        /* its number: 1 is the source's first timed */
	uint64_t start;                        /* CLOCK_MONOTONIC ns at its start */
	uint64_t dur;                          /* ns */
	uint64_t deadline;                     /* ns, then; 0 if none */
	struct rt_cyclog log;                  /* the violations made in it */
};

#define OVER_MAX 64                            /* overruns kept per source: the first ones */

/* A source's load over one heap timeline interval. */
struct load_row {
	uint64_t count;                        /* cycles timed in the interval */
	uint64_t ppm_sum;                      /* their loads, parts per million of the deadline */
	uint64_t ppm_max;                      /* the largest */
};

struct cb_source {
	struct cb_source *next;                /* registry, push-only */
	struct slow_rec *slow;                 /* [slow_max]: the slowest cycles (after the source) */
	struct slow_rec *over;                 /* [OVER_MAX]: the first overruns (after those) */
	struct load_row *load;                 /* [TIMELINE_SAMPLES] (last; writer thread) */
	int id;
	enum ap_api api;
	char name[64];
	int tid;                               /* thread of the first callback */
	char thread[64], policy[32];           /* its name and scheduling, as last seen */
	int prio;                              /* (read from /proc by the writer thread) */
	uint32_t frames, rate;                 /* most recent period */
	uint64_t deadline;                     /* ns, most recent */
	uint64_t count, sum, min, max;         /* durations of completed callbacks */
	uint64_t load_ppm_sum, load_ppm_max;   /* duration / deadline in parts per million */
	uint64_t overruns, near80, near95;
	uint64_t load_hist[LOAD_EDGES + 1];
	uint64_t last_start, periods, period_sum;
	uint64_t jitter_max;
	uint64_t xruns;                        /* atomic: may come from any thread */
	uint64_t allocs, frees, alloc_bytes, unsafe;
	uint64_t lib_calls;                    /* unsafe calls (of any kind) made inside the
						* audio library's own API: not the program's */
	uint64_t discarded;                    /* cycles ended without a period's work */
	uint32_t nslow, nover;                 /* entries of slow[], over[] written */
	uint64_t slow_floor;                   /* shortest of slow[] once full (ns) */
	uint64_t ival_max;                     /* largest load (ppm) since the last row */
	uint64_t load_count0, load_sum0;       /* count, load_ppm_sum at the last row (writer) */
	struct hist dur, jitter;
	struct zone zones[ZONES];
};

/* The registry, newest first (push-only), and how many sources it holds. */
extern struct cb_source *audio_sources;
extern int audio_nsources;
extern unsigned audio_slow_max;                /* AUDIOPROF_SLOW_CYCLES */
extern unsigned audio_load_n;                  /* rows of every source's load[] in use */

/* Anonymous private memory, or NULL. */
void *audio_map(size_t size);

/* The source that violations on this thread are charged to. */
struct cb_source *audio_current_source(void);

/* Pops the newest frame; returns it when it is s's own timed frame, else NULL. Ends
 * the provisional state when the provisional frame is the one popped: *was_pend. */
struct rt_frame *audio_frame_pop(struct rt_tls *t, struct cb_source *s, int *was_pend);

/* ------------------------------------------------------------ violations */

#define VSLOTS 8192u   /* power of two */

struct vslot {
	uint32_t state;          /* 0 free, 1 being filled, 2 ready */
	uint32_t stack;          /* site_id */
	const char *call;
	struct cb_source *src;
	uint8_t kind, warned;
	uint8_t lib;             /* 0: the program's; else 1 + the enum ap_api of the
				  * library inside whose API the call was made */
	uint64_t count, bytes;   /* atomic adds (atomic subtractions: audio_cb_discard) */
	uint64_t ticks;          /* time inside the calls, clock ticks (atomic, as count) */
	uint64_t ticks_max;      /* the longest call (atomic maximum) */
	uint8_t timed;           /* its calls are timed (audio_violation_time ran) */
};
extern struct vslot *audio_vtab;

extern const char *const audio_kind_names[VK_COUNT];
extern const char *const audio_api_names[AP_API_COUNT];
/* The library whose API a library-internal call was made in (vslot.lib - 1). */
extern const char *const audio_lib_names[AP_API_COUNT];

/* AUDIOPROF_ON_VIOLATION=abort: a provisional cycle is kept, so its first violation
 * (new or not) is reported now, and the program aborted. */
void audio_pend_abort(const struct rt_pendlog *l);

/* The violation table and the per-site callback counts: mapped at start-up, cleared in
 * a forked child, and their resident size. */
void audio_violations_init(void);
void audio_violations_reset(void);
size_t audio_violations_footprint(void);

/* ------------------------------------------------------------ threads */

/* AUDIOPROF_RT_THREADS, read at start-up. */
void audio_threads_init(void);

/* Keep the source's thread name and policy current while its thread lives (a thread
 * that has exited by the time the profile is written keeps what was seen last). */
void audio_refresh_thread(struct cb_source *s);

#endif
