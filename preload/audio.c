/* audio.c - callback sources and their timing, the per-thread real-time state, the
 * violation table, AUDIOPROF_RT_THREADS, and the audio part of the profile.
 *
 * Timing per source: a log-linear histogram of durations (16 steps per power of two,
 * so percentiles within 6 %), exact count/min/max/sum, load against the deadline
 * (frames / rate) with overruns and near misses, period jitter, per-zone timings.
 * Violations: an open-addressing table keyed by (kind, call, stack site, source),
 * claimed with a CAS; a slot being filled by another thread is skipped, so two
 * entries for one key can exist and are merged when written. Each slot also sums the
 * time spent inside its calls and keeps the longest (rtcheck.c times them).
 * Slow cycles: per source, the AUDIOPROF_SLOW_CYCLES slowest cycles and the first
 * OVER_MAX overruns, each with the violations made in it (struct rt_cyclog), written
 * by the audio thread under a sequence count that the profile writer checks.
 * Load over time: per source, one row per heap timeline sample (count, mean and max
 * load of the cycles since the previous one), closed by the writer thread. */
#include "audio.h"
#include "jsonput.h"
#include "cpuprof.h"
#include "clock.h"
#include "durhist.h"
#include "forkmem.h"
#include "timeline.h"
#define AUDIOPROF_DEFINING_API   /* the definitions, not the run-time look-up */
#include "audioprof.h"
#include "wildcard.h"
#include "fds.h"
#include "log.h"
#include "options.h"
#include "symbols.h"
#include "mem.h"
#include "profile_schema.h"

#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

__thread struct rt_tls ap_rt TLS_IE;
unsigned audio_rt_gen;
int audio_on_violation;

/* ------------------------------------------------------------ histograms */

#define LOAD_EDGES 14                     /* load histogram bucket edges in % */
static const unsigned load_edges[LOAD_EDGES] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 95,
						 100, 150, 200, 400 };

/* Durations: the log-linear layout of durhist.h. */
struct hist { uint64_t n[DURHIST_BUCKETS]; };

/* The q-quantile (0..1) of a histogram holding `count` values, clamped to [min, max]. */
static uint64_t hquantile(const struct hist *h, uint64_t count, double q, uint64_t min, uint64_t max)
{
	if (!count)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)count);
	if (rank >= count)
		rank = count - 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < DURHIST_BUCKETS; b++) {
		seen += h->n[b];
		if (seen > rank) {
			uint64_t v = durhist_mid(b);
			return v < min ? min : v > max ? max : v;
		}
	}
	return max;
}

#ifdef AUDIOPROF_TESTING
uint64_t audio_testing_quantile(const uint64_t *ns, size_t n, double q)
{
	static struct hist h;
	uint64_t min = UINT64_MAX, max = 0;
	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < n; i++) {
		h.n[durhist_bucket(ns[i])]++;
		min = ns[i] < min ? ns[i] : min;
		max = ns[i] > max ? ns[i] : max;
	}
	return hquantile(&h, n, q, n ? min : 0, max);
}
#endif

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

static struct cb_source *sources;
static int nsources;
static unsigned slow_max;                      /* AUDIOPROF_SLOW_CYCLES */
static unsigned load_n;                        /* rows of every source's load[] in use */

static void *map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Sources come from a slab reserved at start-up (untouched pages cost nothing), so
 * that the first entry of a region or the first callback of a stream, on the audio
 * thread, maps nothing; past the slab, one mapping each. */
#define SLAB_SOURCES 256
static char *src_slab;
static unsigned src_slab_used;
static size_t src_size;   /* sizeof(struct cb_source), rounded up to 64 bytes */

struct cb_source *audio_source_new(enum ap_api api, const char *name)
{
	/* One piece each: the source, its kept cycles, its load rows (src_size). */
	char *m = NULL;
	unsigned i = src_slab ? __atomic_fetch_add(&src_slab_used, 1, __ATOMIC_RELAXED) : SLAB_SOURCES;
	if (i < SLAB_SOURCES)
		m = src_slab + (size_t)i * src_size;
	else
		m = map(src_size);
	if (!m)
		return NULL;
	struct cb_source *s = (struct cb_source *)m;
	size_t at = (sizeof(*s) + 63) & ~(size_t)63;
	if (slow_max) {
		s->slow = (struct slow_rec *)(m + at);
		at += ((size_t)slow_max * sizeof(*s->slow) + 63) & ~(size_t)63;
		s->over = (struct slow_rec *)(m + at);
		at += ((size_t)OVER_MAX * sizeof(*s->over) + 63) & ~(size_t)63;
	}
	s->load = (struct load_row *)(m + at);
	s->api = api;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	s->min = UINT64_MAX;
	s->id = __atomic_fetch_add(&nsources, 1, __ATOMIC_RELAXED);
	s->next = __atomic_load_n(&sources, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&sources, &s->next, s, 1, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return s;
}

void audio_source_format(struct cb_source *s, uint32_t frames, uint32_t rate)
{
	if (!s || !frames || !rate)
		return;
	s->frames = frames;
	s->rate = rate;
	s->deadline = (uint64_t)frames * 1000000000u / rate;
}

/* ------------------------------------------------------------ callbacks */

void audio_cb_begin(struct cb_source *s)
{
	struct rt_tls *t = &ap_rt;
	uint64_t now = runtime_now();
	if (unlikely(!t->tid))
		t->tid = (int)syscall(SYS_gettid);   /* once per thread */
	if (!s->tid)
		s->tid = t->tid;
	if (t->nframes > 0 && t->nframes <= RT_MAX_NEST)
		t->stack[t->nframes - 1].inner = 1;  /* the outer wrapper is not timed */
	if (t->nframes == 0)
		t->ntiming = 0;
	if (t->nframes < RT_MAX_NEST) {
		struct rt_frame *f = &t->stack[t->nframes];
		f->src = s;
		f->t0 = now;
		f->inner = 0;
	}
	t->nframes++;
	t->depth++;
	cpuprof_rt_entered();
	t->cyc_gen++;
	t->cyc.n = t->cyc.more = t->cyc.samples = 0;
	if (s->last_start && s->deadline) {
		uint64_t period = now - s->last_start;
		uint64_t j = period > s->deadline ? period - s->deadline : s->deadline - period;
		s->periods++;
		s->period_sum += period;
		if (j > s->jitter_max)
			s->jitter_max = j;
		s->jitter.n[durhist_bucket(j)]++;
	}
	s->last_start = now;
}

/* Write kept cycle r (this source's audio thread only). */
static void slow_put(struct slow_rec *r, const struct cb_source *s, uint64_t d, uint64_t t0,
		     const struct rt_cyclog *log)
{
	uint32_t seq = r->seq;
	__atomic_store_n(&r->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->cycle = s->count;
	r->start = t0;
	r->dur = d;
	r->deadline = s->deadline;
	r->log.n = log->n <= RT_CYC_MAX ? log->n : RT_CYC_MAX;
	r->log.more = log->more;
	r->log.samples = log->samples;
	for (uint32_t i = 0; i < r->log.n; i++)
		r->log.e[i] = log->e[i];
	__atomic_store_n(&r->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Keep the cycle just counted if it is among the slow_max slowest, or one of the
 * first OVER_MAX overruns. The common case is one comparison. */
static void slow_note(struct cb_source *s, uint64_t d, uint64_t t0, int overrun,
		      const struct rt_cyclog *log)
{
	if (!s->slow || !s->over)
		return;
	if (overrun && s->nover < OVER_MAX) {
		slow_put(&s->over[s->nover], s, d, t0, log);
		__atomic_store_n(&s->nover, s->nover + 1, __ATOMIC_RELEASE);
	}
	if (s->nslow < slow_max) {
		slow_put(&s->slow[s->nslow], s, d, t0, log);
		__atomic_store_n(&s->nslow, s->nslow + 1, __ATOMIC_RELEASE);
		if (s->nslow < slow_max)
			return;
	} else if (d > s->slow_floor) {
		unsigned lo = 0;
		for (unsigned i = 1; i < slow_max; i++)
			if (s->slow[i].dur < s->slow[lo].dur)
				lo = i;
		slow_put(&s->slow[lo], s, d, t0, log);
	} else {
		return;
	}
	uint64_t floor = UINT64_MAX;
	for (unsigned i = 0; i < slow_max; i++)
		if (s->slow[i].dur < floor)
			floor = s->slow[i].dur;
	s->slow_floor = floor;
}

/* One completed callback of s that started at t0 and took d ns, with the violations
 * of log made in it. */
static void source_time(struct cb_source *s, uint64_t d, uint32_t frames, uint32_t rate,
			uint64_t t0, const struct rt_cyclog *log)
{
	if (frames && rate && (frames != s->frames || rate != s->rate))
		audio_source_format(s, frames, rate);
	s->count++;
	s->sum += d;
	if (d < s->min)
		s->min = d;
	if (d > s->max)
		s->max = d;
	s->dur.n[durhist_bucket(d)]++;
	if (s->deadline) {
		uint64_t ppm = d * 1000000u / s->deadline;
		s->load_ppm_sum += ppm;
		if (ppm > s->load_ppm_max)
			s->load_ppm_max = ppm;
		if (ppm > 1000000u)
			s->overruns++;
		if (ppm > 950000u)
			s->near95++;
		if (ppm > 800000u)
			s->near80++;
		unsigned i = 0;
		while (i < LOAD_EDGES && ppm >= load_edges[i] * 10000u)
			i++;
		s->load_hist[i]++;
		if (ppm > __atomic_load_n(&s->ival_max, __ATOMIC_RELAXED))
			__atomic_store_n(&s->ival_max, ppm, __ATOMIC_RELAXED);
		slow_note(s, d, t0, ppm > 1000000u, log);
	} else {
		slow_note(s, d, t0, 0, log);
	}
}

#ifdef AUDIOPROF_TESTING
void audio_testing_cycle(struct cb_source *s, uint64_t t0, uint64_t d)
{
	static const struct rt_cyclog none;
	source_time(s, d, 0, 0, t0, &none);
}
#endif

static void pend_abort(const struct rt_pendlog *l);

static void held_commit(struct rt_tls *t)
{
	pend_abort(&t->held);
	if (t->held_src)
		source_time(t->held_src, t->held_ns, t->held_frames, t->held_rate, t->held_t0,
			    &t->held_cyc);
	t->held_src = NULL;
	t->held.n = 0;
}

static void pend_undo(struct rt_tls *t, struct rt_pendlog *l, struct cb_source *s);

/* Pops the newest frame; returns it when it is s's own timed frame, else NULL. Ends
 * the provisional state when the provisional frame is the one popped: *was_pend. */
static struct rt_frame *frame_pop(struct rt_tls *t, struct cb_source *s, int *was_pend)
{
	t->depth--;
	t->nframes--;
	*was_pend = t->pend_on && t->nframes < t->pend_on;
	if (*was_pend)
		t->pend_on = 0;
	if (t->nframes < 0 || t->nframes >= RT_MAX_NEST) {
		if (t->nframes < 0)
			t->nframes = 0;
		return NULL;
	}
	struct rt_frame *f = &t->stack[t->nframes];
	if (f->inner || f->src != s)
		return NULL;   /* a wrapper around another user callback: that one is timed */
	return f;
}

void audio_cb_end(struct cb_source *s, uint32_t frames, uint32_t rate)
{
	struct rt_tls *t = &ap_rt;
	uint64_t now = runtime_now();
	int was_pend;
	struct rt_frame *f = frame_pop(t, s, &was_pend);
	if (was_pend) {
		pend_abort(&t->pend);
		t->pend.n = 0;   /* a period's work after all: its violations stay */
		held_commit(t);  /* and the stream went on after the held one */
	}
	if (f)
		source_time(s, now - f->t0, frames, rate, f->t0, &t->cyc);
}

void audio_cb_hold(struct cb_source *s, uint32_t frames, uint32_t rate)
{
	struct rt_tls *t = &ap_rt;
	uint64_t now = runtime_now();
	int was_pend;
	struct rt_frame *f = frame_pop(t, s, &was_pend);
	if (!was_pend || !f) {   /* not a provisional frame: ends as usual */
		if (was_pend) {
			pend_abort(&t->pend);
			t->pend.n = 0;
		}
		if (f)
			source_time(s, now - f->t0, frames, rate, f->t0, &t->cyc);
		return;
	}
	held_commit(t);          /* an older held cycle: the stream went on after it */
	t->held = t->pend;       /* (by value: n entries of at most RT_PEND_MAX) */
	t->pend.n = 0;
	t->held_src = s;
	t->held_ns = now - f->t0;
	t->held_t0 = f->t0;
	t->held_cyc = t->cyc;
	t->held_frames = frames;
	t->held_rate = rate;
}

void audio_xrun(struct cb_source *s)
{
	if (s)
		__atomic_add_fetch(&s->xruns, 1, __ATOMIC_RELAXED);
}

/* The source that violations on this thread are charged to. */
static struct cb_source *current_source(void)
{
	struct rt_tls *t = &ap_rt;
	int n = t->nframes < RT_MAX_NEST ? t->nframes : RT_MAX_NEST;
	if (n > 0)
		return t->stack[n - 1].src;
	return t->thread_src;
}

int audio_current_source_id(void)
{
	struct cb_source *s = current_source();
	return s ? s->id : -1;
}

/* ------------------------------------------------------------ public API (audioprof.h) */

#define EXPORT __attribute__((visibility("default")))

/* Regions are sources of their own, one per name pointer (a few per program). */
#define REGIONS 64
static struct { const char *name; struct cb_source *src; } regions[REGIONS];

static struct cb_source *region_source(const char *name)
{
	for (int i = 0; i < REGIONS; i++) {
		const char *n = __atomic_load_n(&regions[i].name, __ATOMIC_ACQUIRE);
		if (n == name) {
			struct cb_source *s;
			while (!(s = __atomic_load_n(&regions[i].src, __ATOMIC_ACQUIRE)))
				;   /* being created by another thread right now */
			return s;
		}
		if (!n) {
			const char *expect = NULL;
			if (__atomic_compare_exchange_n(&regions[i].name, &expect, name, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				rt_guard++;
				struct cb_source *s = audio_source_new(AP_API_REGION, name ? name : "region");
				rt_guard--;
				__atomic_store_n(&regions[i].src, s, __ATOMIC_RELEASE);
				return s;
			}
			if (expect == name) {
				i--;   /* look at this slot again */
				continue;
			}
		}
	}
	return NULL;
}

/* Regions are told apart by the name's address; a NULL name is one region. */
static const char unnamed_region[] = "region";

EXPORT void audioprof_rt_enter(const char *name)
{
	struct cb_source *s = region_source(name ? name : unnamed_region);
	if (s)
		audio_cb_begin(s);
	else
		ap_rt.depth++;
}

EXPORT void audioprof_rt_period(const char *name, uint32_t frames, uint32_t rate)
{
	struct cb_source *s = region_source(name ? name : unnamed_region);
	audio_source_format(s, frames, rate);
}

EXPORT void audioprof_rt_exit(void)
{
	struct rt_tls *t = &ap_rt;
	if (t->depth <= 0)
		return;
	int n = t->nframes;
	if (n > 0 && n <= RT_MAX_NEST && t->stack[n - 1].src &&
	    t->stack[n - 1].src->api == AP_API_REGION)
		audio_cb_end(t->stack[n - 1].src, 0, 0);
	else if (t->depth > n + (t->thread_src != NULL))
		t->depth--;   /* a region that got no source (table full) */
	/* else: an exit with no matching enter; the callback around it stays real-time */
}

EXPORT void audioprof_zone_begin(const char *name)
{
	struct rt_tls *t = &ap_rt;
	if (t->nzones < ZONE_MAX_NEST) {
		t->zones[t->nzones].name = name;
		t->zones[t->nzones].t0 = runtime_now();
	}
	t->nzones++;
}

EXPORT void audioprof_zone_end(void)
{
	struct rt_tls *t = &ap_rt;
	if (t->nzones <= 0)
		return;
	t->nzones--;
	if (t->nzones >= ZONE_MAX_NEST)
		return;
	uint64_t d = runtime_now() - t->zones[t->nzones].t0;
	const char *name = t->zones[t->nzones].name;
	struct cb_source *s = current_source();
	if (!s)
		return;   /* zones outside any callback are not kept */
	for (int i = 0; i < ZONES; i++) {
		struct zone *z = &s->zones[i];
		if (z->name != name && z->name)
			continue;
		if (!z->name) {
			size_t k = 0;
			for (; name && name[k] && k + 1 < sizeof(z->text); k++)
				z->text[k] = name[k];
			z->text[k] = 0;
			z->min = UINT64_MAX;
			__atomic_store_n(&z->name, name, __ATOMIC_RELEASE);   /* text first */
		}
		z->count++;
		z->sum += d;
		if (d > z->max)
			z->max = d;
		if (d < z->min)
			z->min = d;
		z->h.n[durhist_bucket(d)]++;
		return;
	}
}

EXPORT void audioprof_thread_counts(struct audioprof_counts *out)
{
	out->allocs = ap_rt.allocs;
	out->frees = ap_rt.frees;
	out->bytes = ap_rt.bytes;
	out->rt_unsafe = ap_rt.unsafe;
}

EXPORT int audioprof_active(void)
{
	return rt_state == RT_READY;
}

/* ------------------------------------------------------------ AUDIOPROF_RT_THREADS */

static const char *rt_threads_pattern;

void audio_thread_recheck(void)
{
	struct rt_tls *t = &ap_rt;
	t->gen = __atomic_load_n(&audio_rt_gen, __ATOMIC_RELAXED);
	if (!rt_threads_pattern || t->never_rt)
		return;
	char name[16] = "";
	prctl(PR_GET_NAME, name, 0, 0, 0);
	int match = glob_match(rt_threads_pattern, name);
	if (match && !t->thread_src) {
		rt_guard++;
		t->thread_src = audio_source_new(AP_API_THREAD, name);
		rt_guard--;
		if (!t->tid)
			t->tid = (int)syscall(SYS_gettid);
		if (t->thread_src) {
			t->thread_src->tid = t->tid;
			snprintf(t->thread_src->thread, sizeof(t->thread_src->thread), "%s", name);
		}
		t->depth++;
		cpuprof_rt_entered();
	} else if (!match && t->thread_src) {
		t->thread_src = NULL;
		t->depth--;
	}
}

/* Called by the shim when any thread is renamed: every thread looks at its name
 * again on its next interposed call. */
void audio_names_changed(void)
{
	if (rt_threads_pattern)
		__atomic_add_fetch(&audio_rt_gen, 1, __ATOMIC_RELAXED);
}

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
static struct vslot *vtab;
static uint64_t vlost;       /* violations that found no slot */
static uint64_t (*site_cb)[2];   /* per site: blocks, bytes allocated in callbacks */

static void report_one(struct vslot *v);

/* This thread's provisional frame saw a violation in slot v (NULL: none found).
 * Returns its entry in the log, or -1. */
static int pend_log(struct rt_tls *t, struct vslot *v, enum ap_vkind kind, site_id stack,
		    uint64_t bytes, uint8_t lib)
{
	struct rt_pendlog *l = &t->pend;
	for (int i = 0; i < l->n; i++) {
		struct rt_pend *p = &l->e[i];
		if (p->slot == v && p->kind == kind && p->stack == stack && p->lib == lib) {
			p->count++;
			p->bytes += bytes;
			return i;
		}
	}
	if (l->n >= RT_PEND_MAX)
		return -1;   /* more distinct sites than the log holds: these stay charged */
	struct rt_pend *p = &l->e[l->n];
	p->slot = v;
	p->kind = (uint8_t)kind;
	p->stack = stack;
	p->lib = lib;
	p->count = 1;
	p->bytes = bytes;
	p->ticks = 0;
	return l->n++;
}

/* The current cycle made a call at slot v (NULL: none found). Returns its entry in the
 * cycle log, or -1 (not in a timed callback, or the log is full: counted in more). */
static int cyc_log(struct rt_tls *t, struct vslot *v)
{
	struct rt_cyclog *l = &t->cyc;
	if (t->nframes <= 0)
		return -1;   /* a whole real-time thread's: it has no cycles */
	if (v)
		for (uint32_t i = 0; i < l->n; i++)
			if (l->e[i].slot == v) {
				l->e[i].count++;
				return (int)i;
			}
	if (!v || l->n >= RT_CYC_MAX) {
		l->more++;
		return -1;
	}
	struct rt_cycv *e = &l->e[l->n];
	e->slot = v;
	e->count = 1;
	e->ticks = 0;
	return (int)l->n++;
}

/* The source's and thread's totals for count calls of kind (negative: taken back). */
static void charge(struct rt_tls *t, struct cb_source *src, enum ap_vkind kind, site_id stack,
		   int64_t count, int64_t bytes, uint8_t lib)
{
	if (lib) {
		if (src)
			src->lib_calls += (uint64_t)count;
		return;
	}
	if (kind != VK_ALLOC && kind != VK_FREE && kind != VK_TRYLOCK) {
		t->unsafe += (uint64_t)count;
		if (src)
			src->unsafe += (uint64_t)count;
	}
	if (src) {
		if (kind == VK_ALLOC) {
			src->allocs += (uint64_t)count;
			src->alloc_bytes += (uint64_t)bytes;
		} else if (kind == VK_FREE) {
			src->frees += (uint64_t)count;
		}
	}
	if (kind == VK_ALLOC && site_cb && stack && stack <= SITES_MAX) {
		__atomic_add_fetch(&site_cb[stack][0], (uint64_t)count, __ATOMIC_RELAXED);
		__atomic_add_fetch(&site_cb[stack][1], (uint64_t)bytes, __ATOMIC_RELAXED);
	}
}

static void record(enum ap_vkind kind, const char *call, site_id stack, uint64_t bytes,
		   struct rt_timing *tm)
{
	struct cb_source *src = current_source();
	struct rt_tls *t = &ap_rt;
	uint8_t lib = t->lib_depth > 0 ? (uint8_t)(t->lib_api + 1) : 0;
	charge(t, src, kind, stack, 1, (int64_t)bytes, lib);
	struct vslot *found = NULL;
	int fresh = 0;
	if (!vtab)
		goto out;
	uint64_t h = ((uint64_t)stack * 0x9E3779B97F4A7C15ull) ^ ((uintptr_t)call >> 3) ^
		     ((uintptr_t)src >> 6) ^ kind ^ ((uint64_t)lib << 8);
	h *= 0xFF51AFD7ED558CCDull;
	for (unsigned i = 0; i < 64; i++) {
		struct vslot *v = &vtab[(h + i) & (VSLOTS - 1)];
		uint32_t st = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);
		if (st == 0) {
			uint32_t expect = 0;
			if (!__atomic_compare_exchange_n(&v->state, &expect, 1, 0, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				continue;
			v->stack = stack;
			v->call = call;
			v->src = src;
			v->kind = (uint8_t)kind;
			v->lib = lib;
			v->count = 1;
			v->bytes = bytes;
			__atomic_store_n(&v->state, 2, __ATOMIC_RELEASE);
			found = v;
			fresh = 1;
			goto out;
		}
		if (st == 2 && v->stack == stack && v->call == call && v->src == src &&
		    v->kind == kind && v->lib == lib) {
			__atomic_add_fetch(&v->count, 1, __ATOMIC_RELAXED);
			if (bytes)
				__atomic_add_fetch(&v->bytes, bytes, __ATOMIC_RELAXED);
			found = v;
			goto out;
		}
	}
	__atomic_add_fetch(&vlost, 1, __ATOMIC_RELAXED);
out:;
	int pi = t->pend_on ? pend_log(t, found, kind, stack, bytes, lib) : -1;
	int ci = cyc_log(t, found);
	if (tm) {
		tm->slot = found;
		tm->gen = t->cyc_gen;
		tm->ci = (int16_t)ci;
		tm->pi = (int16_t)pi;
	}
	if (fresh && audio_on_violation == ONV_ABORT && kind != VK_TRYLOCK && !lib &&
	    !t->pend_on)   /* a provisional cycle's: when it is kept */
		report_one(found);
}

void audio_violation(enum ap_vkind kind, const char *call, site_id stack, uint64_t bytes)
{
	record(kind, call, stack, bytes, NULL);
}

void audio_violation_timed(enum ap_vkind kind, const char *call, site_id stack,
			   struct rt_timing *tm)
{
	record(kind, call, stack, 0, tm);
}

void audio_violation_time(const struct rt_timing *tm, uint64_t ticks)
{
	struct vslot *v = tm->slot;
	if (!v)
		return;
	__atomic_add_fetch(&v->ticks, ticks, __ATOMIC_RELAXED);
	uint64_t m = __atomic_load_n(&v->ticks_max, __ATOMIC_RELAXED);
	while (ticks > m && !__atomic_compare_exchange_n(&v->ticks_max, &m, ticks, 1,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (!__atomic_load_n(&v->timed, __ATOMIC_RELAXED))
		__atomic_store_n(&v->timed, 1, __ATOMIC_RELAXED);
	struct rt_tls *t = &ap_rt;
	if (tm->gen != t->cyc_gen)
		return;   /* a callback began inside the call: its cycle is not this one's */
	if (tm->ci >= 0 && (uint32_t)tm->ci < t->cyc.n && t->cyc.e[tm->ci].slot == v)
		t->cyc.e[tm->ci].ticks += ticks;
	if (tm->pi >= 0 && t->pend_on && tm->pi < t->pend.n && t->pend.e[tm->pi].slot == v)
		t->pend.e[tm->pi].ticks += ticks;
}

void audio_cb_provisional(void)
{
	struct rt_tls *t = &ap_rt;
	if (t->nframes > 0) {
		t->pend_on = t->nframes;
		t->pend.n = 0;
	}
}

/* AUDIOPROF_ON_VIOLATION=abort: a provisional cycle is kept, so its first violation
 * (new or not) is reported now, and the program aborted. */
static void pend_abort(const struct rt_pendlog *l)
{
	if (audio_on_violation != ONV_ABORT)
		return;
	for (int i = 0; i < l->n; i++)
		if (l->e[i].slot && l->e[i].kind != VK_TRYLOCK && !l->e[i].lib) {
			struct vslot *v = l->e[i].slot;
			report_one(v);
		}
}

/* Take back the violations logged in l (charged to s). */
static void pend_undo(struct rt_tls *t, struct rt_pendlog *l, struct cb_source *s)
{
	for (int i = 0; i < l->n; i++) {
		struct rt_pend *p = &l->e[i];
		struct vslot *v = p->slot;
		if (v) {
			__atomic_sub_fetch(&v->count, p->count, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&v->bytes, p->bytes, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&v->ticks, p->ticks, __ATOMIC_RELAXED);
		} else {
			__atomic_sub_fetch(&vlost, p->count, __ATOMIC_RELAXED);
		}
		charge(t, s, (enum ap_vkind)p->kind, p->stack, -(int64_t)p->count,
		       -(int64_t)p->bytes, p->lib);
	}
	l->n = 0;
}

void audio_cb_discard(struct cb_source *s)
{
	struct rt_tls *t = &ap_rt;
	int was_pend;
	frame_pop(t, s, &was_pend);
	if (!was_pend)
		return;
	pend_undo(t, &t->pend, s);
	if (s)
		s->discarded++;
	if (t->held_src) {
		pend_undo(t, &t->held, t->held_src);
		t->held_src->discarded++;
		t->held_src = NULL;
	}
}

void audio_site_cb(site_id s, uint64_t *blocks, uint64_t *bytes)
{
	*blocks = *bytes = 0;
	if (site_cb && s && s <= SITES_MAX) {
		*blocks = __atomic_load_n(&site_cb[s][0], __ATOMIC_RELAXED);
		*bytes = __atomic_load_n(&site_cb[s][1], __ATOMIC_RELAXED);
	}
}

static const char *const kind_names[VK_COUNT] = {
	[VK_ALLOC] = "alloc", [VK_FREE] = "free", [VK_LOCK] = "lock", [VK_SLEEP] = "sleep",
	[VK_IO] = "io", [VK_POLL] = "poll", [VK_MMAP] = "mmap", [VK_THREAD] = "thread",
	[VK_PROCESS] = "process", [VK_TRYLOCK] = "trylock",
};

static const char *const api_names[AP_API_COUNT] = {
	[AP_API_JACK] = "jack", [AP_API_PORTAUDIO] = "portaudio", [AP_API_ALSA] = "alsa",
	[AP_API_PULSE] = "pulse", [AP_API_PIPEWIRE] = "pipewire", [AP_API_SDL] = "sdl",
	[AP_API_REGION] = "region", [AP_API_THREAD] = "thread",
};

/* The library whose API a library-internal call was made in (vslot.lib - 1). */
static const char *const lib_names[AP_API_COUNT] = {
	[AP_API_JACK] = "libjack", [AP_API_PORTAUDIO] = "libportaudio",
	[AP_API_ALSA] = "libasound", [AP_API_PULSE] = "libpulse",
	[AP_API_PIPEWIRE] = "libpipewire", [AP_API_SDL] = "libSDL2",
	[AP_API_REGION] = "?", [AP_API_THREAD] = "?",
};

/* A violation's first report on stderr: the call, where, and the stack. */
struct line_buf { char buf[4096]; size_t n; };

static void add_frame(const char *frame, void *arg)
{
	struct line_buf *lb = arg;
	int w = snprintf(lb->buf + lb->n, sizeof(lb->buf) - lb->n, "    %s\n", frame);
	if (w > 0 && (size_t)w < sizeof(lb->buf) - lb->n)
		lb->n += (size_t)w;
}

static void report_one(struct vslot *v)
{
	rt_guard++;
	/* One thread prints a site, once (the writer's tick and an abort may race). */
	uint8_t expect = 0;
	if (!__atomic_compare_exchange_n(&v->warned, &expect, 2, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		goto out;
	struct line_buf lb;
	lb.n = 0;
	unsigned depth = 0;
	const uintptr_t *ips = sites_stack(v->stack, &depth);
	for (unsigned i = 0; i < depth && i < 16; i++)
		symbols_resolve(ips[i] + (i == 0), add_frame, &lb);
	const char *what = v->kind == VK_TRYLOCK ? "warning" : "real-time violation";
	if (v->src)
		log_msg("%s: %s() in %s callback \"%s\"\n%.*s", what, v->call,
			api_names[v->src->api], v->src->name, (int)(lb.n ? lb.n - 1 : 0), lb.buf);
	else
		log_msg("%s: %s() in real-time code\n%.*s", what, v->call,
			(int)(lb.n ? lb.n - 1 : 0), lb.buf);
out:
	rt_guard--;
	if (audio_on_violation == ONV_ABORT && v->kind != VK_TRYLOCK)
		abort();
}

static void refresh_thread(struct cb_source *s);

void audio_writer_tick(void)
{
	for (struct cb_source *s = __atomic_load_n(&sources, __ATOMIC_ACQUIRE); s; s = s->next)
		refresh_thread(s);
	if (audio_on_violation != ONV_WARN || !vtab)
		return;
	struct mem_pages pages;   /* only pages in memory hold slots */
	mem_pages_init(&pages, vtab, VSLOTS * sizeof(*vtab));
	for (unsigned i = 0; i < VSLOTS; i++) {
		struct vslot *v = &vtab[i];
		if (mem_pages_in(&pages, &v->state) &&
		    __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == 2 && !v->warned &&
		    !v->lib && __atomic_load_n(&v->count, __ATOMIC_RELAXED))
			report_one(v);
	}
}

/* ------------------------------------------------------------ the profile */

static int set_u(json_t *o, const char *k, uint64_t v)
{
	return json_object_set_new_nocheck(o, k, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

static void thread_info(int tid, char *name, size_t nlen, char *policy, size_t plen, int *prio);

/* Keep the source's thread name and policy current while its thread lives (a thread
 * that has exited by the time the profile is written keeps what was seen last). */
static void refresh_thread(struct cb_source *s)
{
	if (s->tid > 0)
		thread_info(s->tid, s->thread, sizeof(s->thread), s->policy, sizeof(s->policy), &s->prio);
}

/* Thread name and scheduling from /proc; unchanged when the thread is gone. */
static void thread_info(int tid, char *name, size_t nlen, char *policy, size_t plen, int *prio)
{
	if (tid <= 0)
		return;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	int fd = fds_open(path, O_RDONLY, 0);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *l = strchr(buf, '('), *r = strrchr(buf, ')');
	if (!l || !r || r < l)
		return;
	snprintf(name, nlen, "%.*s", (int)(r - l - 1), l + 1);
	/* Fields after ") ": state is field 3; rt_priority 40, policy 41. */
	char *p = r + 2;
	long v40 = 0, v41 = 0;
	for (int field = 3; *p && field <= 41; field++) {
		char *e;
		long v = strtol(p, &e, 10);
		if (field == 40)
			v40 = v;
		if (field == 41)
			v41 = v;
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	static const char *const pol[] = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
					   "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE" };
	v41 &= ~0x40000000L;   /* SCHED_RESET_ON_FORK */
	snprintf(policy, plen, "%s", v41 >= 0 && v41 < 7 ? pol[v41] : "?");
	*prio = (int)v40;
}

static json_t *hist_json(const uint64_t *counts, unsigned n, const unsigned *edges)
{
	json_t *h = json_object(), *e = json_array(), *c = json_array();
	if (!h || !e || !c) {
		json_decref(h); json_decref(e); json_decref(c);
		return NULL;
	}
	json_array_append_new(e, json_integer(0));
	for (unsigned i = 0; i < n - 1; i++)
		json_array_append_new(e, json_integer(edges[i]));
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(c, json_integer((json_int_t)counts[i]));
	json_object_set_new_nocheck(h, "edges_pct", e);
	json_object_set_new_nocheck(h, "counts", c);
	return h;
}

/* A duration histogram, compactly: its non-empty buckets in rising order, each as two
 * whole numbers, the bucket's index (common/durhist.h) and its count. */
static json_t *durhist_json(const struct hist *h)
{
	json_t *a = json_array();
	for (unsigned b = 0; a && b < DURHIST_BUCKETS; b++) {
		uint64_t n = __atomic_load_n(&h->n[b], __ATOMIC_RELAXED);
		if (!n)
			continue;
		json_array_append_new(a, json_integer((json_int_t)b));
		json_array_append_new(a, json_integer((json_int_t)n));
	}
	return a;
}


/* ---- slow cycles */

#define SLOW_SLOWEST 1   /* among the slowest kept */
#define SLOW_OVERRUN 2   /* among the first overruns kept */

/* A consistent copy of kept cycle r; 0 if it could not be read (being rewritten
 * again and again) or was never written. */
static int slow_read(const struct slow_rec *r, struct slow_rec *out)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t a = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		if (a & 1)
			continue;
		memcpy(out, r, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) == a)
			return a != 0;
	}
	return 0;
}

static int slow_by_cycle(const void *a, const void *b)
{
	const struct slow_rec *x = a, *y = b;
	return x->cycle < y->cycle ? -1 : x->cycle > y->cycle;
}


/* One kept cycle's violations: kind, call, count, time inside (when timed), stack. */
static json_t *cycle_violations_json(const struct rt_cyclog *log, audio_fs_fn fs, void *arg);

/* Each kept cycle's field value (PROFILE_SLOW_CYCLE in common/profile_schema.h). */
#define SV_cycle           r->cycle
#define SV_start_ns        (r->start > start_ns ? r->start - start_ns : 0)
#define SV_dur_ns          r->dur
#define SV_deadline_ns     r->deadline
#define SV_load_pct        (r->deadline ? (double)r->dur * 100.0 / (double)r->deadline : 0)
#define SV_slowest         (r->kept & SLOW_SLOWEST)
#define SV_overrun         over
#define SV_violations      vs
#define SV_violations_more r->log.more
#define SV_cpu_samples     r->log.samples

/* The source's kept cycles, oldest first ("slow_cycles"), and in *unlisted its
 * overruns not among them. The writer's copies live in a static buffer: one profile
 * write at a time. */
static json_t *slow_json(const struct cb_source *s, audio_fs_fn fs, void *arg,
			 uint64_t start_ns, uint64_t *unlisted)
{
	static struct slow_rec buf[1000 + OVER_MAX];
	static uint8_t flags[1000 + OVER_MAX];
	unsigned n = 0;
	int kept = s->slow && s->over;   /* else AUDIOPROF_SLOW_CYCLES=0: none */
	unsigned nover = kept ? __atomic_load_n(&s->nover, __ATOMIC_ACQUIRE) : 0;
	unsigned nslow = kept ? __atomic_load_n(&s->nslow, __ATOMIC_ACQUIRE) : 0;
	for (unsigned i = 0; i < nover && i < OVER_MAX; i++)
		if (slow_read(&s->over[i], &buf[n]))
			flags[n++] = SLOW_OVERRUN;
	for (unsigned i = 0; i < nslow && i < slow_max && i < 1000; i++) {
		if (!slow_read(&s->slow[i], &buf[n]))
			continue;
		unsigned k = 0;
		while (k < n && buf[k].cycle != buf[n].cycle)
			k++;
		if (k < n)
			flags[k] |= SLOW_SLOWEST;   /* an overrun kept already */
		else
			flags[n++] = SLOW_SLOWEST;
	}
	/* Sort by cycle, flags along. */
	for (unsigned i = 0; i < n; i++)
		buf[i].kept = flags[i];
	qsort(buf, n, sizeof(buf[0]), slow_by_cycle);
	json_t *a = json_array();
	uint64_t listed_over = 0;
	for (unsigned i = 0; a && i < n; i++) {
		const struct slow_rec *r = &buf[i];
		json_t *c = json_object(), *vs = cycle_violations_json(&r->log, fs, arg);
		if (!c || !vs) {
			json_decref(c);
			json_decref(vs);
			continue;
		}
		int over = r->deadline && r->dur * 1000000u / r->deadline > 1000000u;
		listed_over += over;
#define SLOW_PUT(key, type, unit, presence, what) put_##type(c, #key, SV_##key);
		PROFILE_SLOW_CYCLE(SLOW_PUT)
#undef SLOW_PUT
		json_array_append_new(a, c);
	}
	uint64_t overruns = s->overruns;
	*unlisted = overruns > listed_over ? overruns - listed_over : 0;
	return a;
}

/* ---- load over time */

void audio_load_sample(unsigned i)
{
	if (i >= TIMELINE_SAMPLES)
		return;
	for (struct cb_source *s = __atomic_load_n(&sources, __ATOMIC_ACQUIRE); s; s = s->next) {
		if (!s->load)
			continue;
		uint64_t c = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
		uint64_t sum = __atomic_load_n(&s->load_ppm_sum, __ATOMIC_RELAXED);
		s->load[i].count = c - s->load_count0;
		s->load[i].ppm_sum = sum - s->load_sum0;
		s->load[i].ppm_max = __atomic_exchange_n(&s->ival_max, 0, __ATOMIC_RELAXED);
		s->load_count0 = c;
		s->load_sum0 = sum;
	}
	load_n = i + 1;
}

static void row_merge(struct load_row *to, const struct load_row *from)
{
	to->count += from->count;
	to->ppm_sum += from->ppm_sum;
	if (from->ppm_max > to->ppm_max)
		to->ppm_max = from->ppm_max;
}

/* The timeline kept its samples 0, 2, 4, ...: row i now covers the intervals that
 * ended at old samples 2i-1 and 2i (and the last row the old last one too). */
void audio_load_halve(unsigned kept)
{
	for (struct cb_source *s = __atomic_load_n(&sources, __ATOMIC_ACQUIRE); s; s = s->next) {
		struct load_row *r = s->load;
		if (!r || !kept || 2 * kept > TIMELINE_SAMPLES)
			continue;
		for (unsigned i = 1; i < kept; i++) {
			struct load_row m = r[2 * i - 1];
			row_merge(&m, &r[2 * i]);
			r[i] = m;
		}
		for (unsigned j = 2 * kept - 1; j < TIMELINE_SAMPLES && j < load_n; j++)
			row_merge(&r[kept - 1], &r[j]);
		memset(&r[kept], 0, (TIMELINE_SAMPLES - kept) * sizeof(*r));
	}
	load_n = kept;
}

/* Each source's load row field (PROFILE_TIMELINE_LOAD). */
#define LV_callback      (uint64_t)id
#define LV_count         c
#define LV_mean_ppm      mean
#define LV_max_ppm       max
#define LV_tail_count    tc
#define LV_tail_mean_ppm (tc ? ts / tc : 0)
#define LV_tail_max_ppm  (tc ? __atomic_load_n(&s->ival_max, __ATOMIC_RELAXED) : 0)

json_t *audio_load_json(unsigned n)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	if (n > load_n)
		n = load_n;
	int nsrc = __atomic_load_n(&nsources, __ATOMIC_ACQUIRE);
	for (int id = 0; id < nsrc; id++) {
		struct cb_source *s = __atomic_load_n(&sources, __ATOMIC_ACQUIRE);
		while (s && s->id != id)
			s = s->next;
		if (!s || !s->load || !__atomic_load_n(&s->count, __ATOMIC_RELAXED))
			continue;
		json_t *o = json_object(), *c = json_array(), *mean = json_array(), *max = json_array();
		if (!o || !c || !mean || !max) {
			json_decref(o); json_decref(c); json_decref(mean); json_decref(max);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			const struct load_row *r = &s->load[i];
			json_array_append_new(c, json_integer((json_int_t)r->count));
			json_array_append_new(mean, json_integer((json_int_t)(r->count ? r->ppm_sum / r->count : 0)));
			json_array_append_new(max, json_integer((json_int_t)r->ppm_max));
		}
		/* The cycles since the last sample (up to the profile's end): in no row. */
		uint64_t tc = __atomic_load_n(&s->count, __ATOMIC_RELAXED) - s->load_count0;
		uint64_t ts = __atomic_load_n(&s->load_ppm_sum, __ATOMIC_RELAXED) - s->load_sum0;
#define LOAD_PUT(key, type, unit, presence, what) put_##type(o, #key, LV_##key);
		PROFILE_TIMELINE_LOAD(LOAD_PUT)
#undef LOAD_PUT
		json_array_append_new(a, o);
	}
	return a;
}


/* Each zone field's value (PROFILE_ZONE in common/profile_schema.h), from zone_json's
 * z and the count zc it read once. */
#define ZV_name      z->text
#define ZV_count     zc
#define ZV_mean_ns   (zc ? z->sum / zc : 0)
#define ZV_min_ns    (zc ? z->min : 0)
#define ZV_p99_ns    hquantile(&z->h, zc, 0.99, zc ? z->min : 0, z->max)
#define ZV_max_ns    z->max
#define ZV_dur_hist  durhist_json(&z->h)

static json_t *zone_json(struct zone *z)
{
	json_t *zo = json_object();
	if (!zo)
		return NULL;
	uint64_t zc = z->count;
#define ZONE_PUT(key, type, unit, presence, what) put_##type(zo, #key, ZV_##key);
	PROFILE_ZONE(ZONE_PUT)
#undef ZONE_PUT
	return zo;
}

static json_t *zones_json(struct cb_source *s)
{
	json_t *zones = json_array();
	for (int i = 0; zones && i < ZONES; i++) {
		struct zone *z = &s->zones[i];
		if (!__atomic_load_n(&z->name, __ATOMIC_ACQUIRE))
			break;
		json_t *zo = zone_json(z);
		if (!zo)
			break;
		json_array_append_new(zones, zo);
	}
	return zones;
}

/* Each callback field's value (PROFILE_CALLBACK in common/profile_schema.h), from the
 * source s and the numbers source_json() read once: a field is its line in the schema
 * and its line here. */
#define CV_id             (uint64_t)s->id
#define CV_api            api_names[s->api]
#define CV_name           s->name
#define CV_tid            (uint64_t)s->tid
#define CV_thread         tname
#define CV_policy         policy
#define CV_priority       (uint64_t)prio
#define CV_rate           s->rate
#define CV_frames         s->frames
#define CV_deadline_ns    s->deadline
#define CV_count          count
#define CV_min_ns         min
#define CV_mean_ns        (count ? sum / count : 0)
#define CV_p50_ns         hquantile(&s->dur, count, 0.50, min, max)
#define CV_p90_ns         hquantile(&s->dur, count, 0.90, min, max)
#define CV_p99_ns         hquantile(&s->dur, count, 0.99, min, max)
#define CV_p999_ns        hquantile(&s->dur, count, 0.999, min, max)
#define CV_max_ns         max
#define CV_dur_hist       durhist_json(&s->dur)
#define CV_load_mean_pct  (count && s->deadline ? (double)s->load_ppm_sum / count / 10000.0 : 0)
#define CV_load_max_pct   (s->deadline ? (double)s->load_ppm_max / 10000.0 : 0)
#define CV_overruns       s->overruns
#define CV_near80         s->near80
#define CV_near95         s->near95
#define CV_period_mean_ns (periods ? s->period_sum / periods : 0)
#define CV_jitter_max_ns  s->jitter_max
#define CV_jitter_p99_ns  hquantile(&s->jitter, periods, 0.99, 0, s->jitter_max)
#define CV_xruns          __atomic_load_n(&s->xruns, __ATOMIC_RELAXED)
#define CV_allocs         s->allocs
#define CV_frees          s->frees
#define CV_alloc_bytes    s->alloc_bytes
#define CV_rt_unsafe      s->unsafe
#define CV_lib_calls      s->lib_calls
#define CV_discarded      s->discarded
#define CV_histogram      hist_json(s->load_hist, LOAD_EDGES + 1, load_edges)
#define CV_zones          zones_json(s)
#define CV_slow_cycles    slow
#define CV_overruns_unlisted unlisted

static json_t *source_json(struct cb_source *s, audio_fs_fn fs, void *arg, uint64_t start_ns)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	refresh_thread(s);
	const char *tname = s->thread[0] ? s->thread : "?", *policy = s->policy[0] ? s->policy : "?";
	int prio = s->prio;
	/* Racy reads of a running source: take each number once. */
	uint64_t count = s->count, sum = s->sum, min = s->min, max = s->max;
	uint64_t periods = s->periods;
	if (!count)
		min = max = 0;
	uint64_t unlisted = 0;
	json_t *slow = slow_json(s, fs, arg, start_ns, &unlisted);
#define SOURCE_PUT(key, type, unit, presence, what) put_##type(o, #key, CV_##key);
	PROFILE_CALLBACK(SOURCE_PUT)
#undef SOURCE_PUT
	return o;
}

/* Each violation field's value (PROFILE_VIOLATION), from audio_violations_json's slot v, the
 * count and bytes it summed and the stack f; NULL leaves an OPTIONAL field out. */
#define VV_kind      kind_names[v->kind]
#define VV_call      (v->call ? v->call : "?")
#define VV_severity  (v->kind == VK_TRYLOCK ? "warning" : "violation")
#define VV_count     count
#define VV_bytes     bytes
#define VV_time_ns   (timed ? clock_span_ns(ticks) : PROFILE_ABSENT_UINT)
#define VV_time_max_ns (timed ? clock_span_ns(ticks_max) : PROFILE_ABSENT_UINT)
#define VV_library   (v->lib && v->lib <= AP_API_COUNT ? lib_names[v->lib - 1] : NULL)
#define VV_callback  (v->src ? v->src->id : -1)
#define VV_fs        f

json_t *audio_callbacks_json(audio_fs_fn fs, void *arg, uint64_t start_ns)
{
	json_t *cbs = json_array();
	if (!cbs)
		return NULL;
	/* The registry is newest first; write oldest first. */
	int n = __atomic_load_n(&nsources, __ATOMIC_ACQUIRE);
	/* callbacks[i].id == i always (violations refer to it): a source that is being
	 * registered right now, or that could not be written, leaves a stub. */
	for (int id = 0; id < n; id++) {
		json_t *o = NULL;
		for (struct cb_source *s = __atomic_load_n(&sources, __ATOMIC_ACQUIRE); s; s = s->next)
			if (s->id == id) {
				o = source_json(s, fs, arg, start_ns);
				break;
			}
		if (!o && (o = json_object()) != NULL) {
			json_object_set_new_nocheck(o, "id", json_integer(id));
			json_object_set_new_nocheck(o, "api", json_string("?"));
			json_object_set_new_nocheck(o, "name", json_string(""));
			set_u(o, "count", 0);
		}
		if (o)
			json_array_append_new(cbs, o);
	}
	return cbs;
}

json_t *audio_violations_json(audio_fs_fn fs, void *arg)
{
	json_t *vs = json_array();
	if (!vs)
		return NULL;
	/* Ready slots first, then each key once (two threads may have claimed two slots
	 * for one key at the same moment: their counts are merged here). */
	static unsigned ready[VSLOTS];
	static struct mem_pages pages;   /* only pages in memory hold slots */
	unsigned nready = 0;
	mem_pages_init(&pages, vtab, VSLOTS * sizeof(*vtab));
	for (unsigned i = 0; vtab && i < VSLOTS; i++)
		if (mem_pages_in(&pages, &vtab[i].state) &&
		    __atomic_load_n(&vtab[i].state, __ATOMIC_ACQUIRE) == 2)
			ready[nready++] = i;
	for (unsigned a = 0; a < nready; a++) {
		struct vslot *v = &vtab[ready[a]];
		uint64_t count = 0, bytes = 0, ticks = 0, ticks_max = 0;
		int dup = 0, timed = 0;
		for (unsigned b = 0; b < nready; b++) {
			struct vslot *w = &vtab[ready[b]];
			if (w->stack != v->stack || w->call != v->call || w->src != v->src ||
			    w->kind != v->kind || w->lib != v->lib)
				continue;
			if (b < a) {
				dup = 1;
				break;
			}
			count += __atomic_load_n(&w->count, __ATOMIC_RELAXED);
			bytes += __atomic_load_n(&w->bytes, __ATOMIC_RELAXED);
			ticks += __atomic_load_n(&w->ticks, __ATOMIC_RELAXED);
			uint64_t m = __atomic_load_n(&w->ticks_max, __ATOMIC_RELAXED);
			ticks_max = m > ticks_max ? m : ticks_max;
			timed |= __atomic_load_n(&w->timed, __ATOMIC_RELAXED);
		}
		if (dup || !count)
			continue;   /* count 0: taken back (a discarded cycle's) */
		json_t *o = json_object(), *f = fs(v->stack, arg);
		if (!o || !f) {
			json_decref(o);
			json_decref(f);
			continue;
		}
#define VIOLATION_PUT(key, type, unit, presence, what) put_##type(o, #key, VV_##key);
		PROFILE_VIOLATION(VIOLATION_PUT)
#undef VIOLATION_PUT
		json_array_append_new(vs, o);
	}
	return vs;
}

uint64_t audio_violations_lost(void)
{
	return __atomic_load_n(&vlost, __ATOMIC_RELAXED);
}

static json_t *cycle_violations_json(const struct rt_cyclog *log, audio_fs_fn fs, void *arg)
{
	json_t *a = json_array();
	for (uint32_t i = 0; a && i < log->n && i < RT_CYC_MAX; i++) {
		const struct vslot *v = log->e[i].slot;
		if (!v)
			continue;
		json_t *o = json_object(), *f = fs(v->stack, arg);
		if (!o || !f) {
			json_decref(o);
			json_decref(f);
			continue;
		}
		json_object_set_new_nocheck(o, "kind", json_string(kind_names[v->kind]));
		json_object_set_new_nocheck(o, "call", json_string(v->call ? v->call : "?"));
		set_u(o, "count", log->e[i].count);
		if (__atomic_load_n(&v->timed, __ATOMIC_RELAXED))
			set_u(o, "time_ns", clock_span_ns(log->e[i].ticks));
		if (v->lib && v->lib <= AP_API_COUNT)
			json_object_set_new_nocheck(o, "library", json_string(lib_names[v->lib - 1]));
		json_object_set_new_nocheck(o, "fs", f);
		json_array_append_new(a, o);
	}
	return a;
}

/* ------------------------------------------------------------ init */

/* In a forked child: the child's profile starts its audio data afresh, like its heap
 * totals. Sources stay (by name and format) with their counts at zero. Single-threaded. */
void audio_reset_after_fork(void)
{
	for (struct cb_source *s = sources; s; s = s->next) {
		size_t keep = offsetof(struct cb_source, count);
		memset((char *)s + keep, 0, sizeof(*s) - keep);
		s->min = UINT64_MAX;
		for (int i = 0; i < ZONES; i++)
			s->zones[i].min = UINT64_MAX;
		if (s->slow)
			memset(s->slow, 0, slow_max * sizeof(*s->slow));
		if (s->over)
			memset(s->over, 0, OVER_MAX * sizeof(*s->over));
		if (s->load)
			memset(s->load, 0, TIMELINE_SAMPLES * sizeof(*s->load));
	}
	load_n = 0;
	forkmem_zero(vtab, VSLOTS * sizeof(*vtab));
	ap_rt.tid = (int)syscall(SYS_gettid);   /* the child's own */
	/* The forking thread's provisional cycle refers to counts that are gone. */
	ap_rt.pend_on = 0;
	ap_rt.pend.n = 0;
	ap_rt.held.n = 0;
	ap_rt.held_src = NULL;
	if (site_cb)
		madvise(site_cb, ((size_t)SITES_MAX + 1) * sizeof(*site_cb), MADV_DONTNEED);
	vlost = 0;
}

void audio_thread_start(void)
{
	if (!ap_rt.tid)
		ap_rt.tid = (int)syscall(SYS_gettid);
}

void audio_init(void)
{
	slow_max = (unsigned)OPT_NUM(OPT_SLOW_CYCLES);
	src_size = ((sizeof(struct cb_source) + 63) & ~(size_t)63) +
		   (slow_max ? (((size_t)slow_max * sizeof(struct slow_rec) + 63) & ~(size_t)63) +
			       (((size_t)OVER_MAX * sizeof(struct slow_rec) + 63) & ~(size_t)63) : 0) +
		   (((size_t)TIMELINE_SAMPLES * sizeof(struct load_row) + 4095) & ~(size_t)4095);
	src_size = (src_size + 4095) & ~(size_t)4095;
	src_slab = map(SLAB_SOURCES * src_size);
	/* Both start afresh in a fork child (audio_reset_after_fork): nothing to copy. */
	vtab = forkmem_map_wiped(VSLOTS * sizeof(*vtab));
	site_cb = forkmem_map_wiped(((size_t)SITES_MAX + 1) * sizeof(*site_cb));
	const char *p = OPT_STR(OPT_RT_THREADS);
	if (p && *p) {
		rt_threads_pattern = p;
		audio_rt_gen = 1;   /* every thread checks its name on its next call */
	}
	audio_on_violation = (int)OPT_NUM(OPT_ON_VIOLATION);
}

size_t audio_footprint(void)
{
	size_t n = mem_resident(vtab, VSLOTS * sizeof(*vtab)) +
		   mem_resident(site_cb, ((size_t)SITES_MAX + 1) * sizeof(*site_cb));
	for (struct cb_source *s = __atomic_load_n(&sources, __ATOMIC_ACQUIRE); s; s = s->next) {
		n += mem_resident(s, sizeof(*s));
		if (s->slow)
			n += mem_resident(s->slow, slow_max * sizeof(*s->slow));
		if (s->over)
			n += mem_resident(s->over, OVER_MAX * sizeof(*s->over));
		if (s->load)
			n += mem_resident(s->load, TIMELINE_SAMPLES * sizeof(*s->load));
	}
	return n;
}
