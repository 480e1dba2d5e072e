/* audio.c - callback sources and their timing, and the per-thread real-time state.
 *
 * Timing per source: a log-linear histogram of durations (16 steps per power of two,
 * so percentiles within 6 %), exact count/min/max/sum, load against the deadline
 * (frames / rate) with overruns and near misses, period jitter, per-zone timings.
 * Slow cycles: per source, the AUDIOPROF_SLOW_CYCLES slowest cycles and the first
 * OVER_MAX overruns, each with the violations made in it (struct rt_cyclog), written
 * by the audio thread under a sequence count that the profile writer checks.
 * Load over time: per source, one row per heap timeline sample (count, mean and max
 * load of the cycles since the previous one), closed by the writer thread.
 * The other parts of the audio engine: audioprof.c (the public marker API),
 * audio_violations.c, audio_threads.c, audio_json.c (audio_int.h). */
#include "audio_int.h"
#include "cpuprof.h"
#include "clock.h"
#include "forkmem.h"
#include "timeline.h"
#include "options.h"
#include "mem.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct rt_tls ap_rt TLS_IE;
unsigned audio_rt_gen;
int audio_on_violation;

/* ------------------------------------------------------------ histograms */

const unsigned audio_load_edges[LOAD_EDGES] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 95,
						100, 150, 200, 400 };

/* The q-quantile (0..1) of a histogram holding `count` values, clamped to [min, max]. */
uint64_t audio_hquantile(const struct hist *h, uint64_t count, double q, uint64_t min,
			 uint64_t max)
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
	return audio_hquantile(&h, n, q, n ? min : 0, max);
}
#endif

/* ------------------------------------------------------------ sources */

struct cb_source *audio_sources;
int audio_nsources;
unsigned audio_slow_max;                             /* AUDIOPROF_SLOW_CYCLES */
unsigned audio_load_n;                               /* rows of every source's load[] in use */

void *audio_map(size_t size)
{
	return forkmem_map(size);
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
		m = audio_map(src_size);
	if (!m)
		return NULL;
	struct cb_source *s = (struct cb_source *)m;
	size_t at = (sizeof(*s) + 63) & ~(size_t)63;
	if (audio_slow_max) {
		s->slow = (struct slow_rec *)(m + at);
		at += ((size_t)audio_slow_max * sizeof(*s->slow) + 63) & ~(size_t)63;
		s->over = (struct slow_rec *)(m + at);
		at += ((size_t)OVER_MAX * sizeof(*s->over) + 63) & ~(size_t)63;
	}
	s->load = (struct load_row *)(m + at);
	s->api = api;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	s->min = UINT64_MAX;
	s->id = __atomic_fetch_add(&audio_nsources, 1, __ATOMIC_RELAXED);
	s->next = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&audio_sources, &s->next, s, 1, __ATOMIC_ACQ_REL,
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
	if (s->nslow < audio_slow_max) {
		slow_put(&s->slow[s->nslow], s, d, t0, log);
		__atomic_store_n(&s->nslow, s->nslow + 1, __ATOMIC_RELEASE);
		if (s->nslow < audio_slow_max)
			return;
	} else if (d > s->slow_floor) {
		unsigned lo = 0;
		for (unsigned i = 1; i < audio_slow_max; i++)
			if (s->slow[i].dur < s->slow[lo].dur)
				lo = i;
		slow_put(&s->slow[lo], s, d, t0, log);
	} else {
		return;
	}
	uint64_t floor = UINT64_MAX;
	for (unsigned i = 0; i < audio_slow_max; i++)
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
		while (i < LOAD_EDGES && ppm >= audio_load_edges[i] * 10000u)
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

static void held_commit(struct rt_tls *t)
{
	audio_pend_abort(&t->held);
	if (t->held_src)
		source_time(t->held_src, t->held_ns, t->held_frames, t->held_rate, t->held_t0,
			    &t->held_cyc);
	t->held_src = NULL;
	t->held.n = 0;
}

struct rt_frame *audio_frame_pop(struct rt_tls *t, struct cb_source *s, int *was_pend)
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
	struct rt_frame *f = audio_frame_pop(t, s, &was_pend);
	if (was_pend) {
		audio_pend_abort(&t->pend);
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
	struct rt_frame *f = audio_frame_pop(t, s, &was_pend);
	if (!was_pend || !f) {   /* not a provisional frame: ends as usual */
		if (was_pend) {
			audio_pend_abort(&t->pend);
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

struct cb_source *audio_current_source(void)
{
	struct rt_tls *t = &ap_rt;
	int n = t->nframes < RT_MAX_NEST ? t->nframes : RT_MAX_NEST;
	if (n > 0)
		return t->stack[n - 1].src;
	return t->thread_src;
}

int audio_current_source_id(void)
{
	struct cb_source *s = audio_current_source();
	return s ? s->id : -1;
}

/* ------------------------------------------------------------ load over time */

void audio_load_sample(unsigned i)
{
	if (i >= TIMELINE_SAMPLES)
		return;
	for (struct cb_source *s = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE); s; s = s->next) {
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
	audio_load_n = i + 1;
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
	for (struct cb_source *s = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE); s; s = s->next) {
		struct load_row *r = s->load;
		if (!r || !kept || 2 * kept > TIMELINE_SAMPLES)
			continue;
		for (unsigned i = 1; i < kept; i++) {
			struct load_row m = r[2 * i - 1];
			row_merge(&m, &r[2 * i]);
			r[i] = m;
		}
		for (unsigned j = 2 * kept - 1; j < TIMELINE_SAMPLES && j < audio_load_n; j++)
			row_merge(&r[kept - 1], &r[j]);
		memset(&r[kept], 0, (TIMELINE_SAMPLES - kept) * sizeof(*r));
	}
	audio_load_n = kept;
}

/* ------------------------------------------------------------ init */

/* In a forked child: the child's profile starts its audio data afresh, like its heap
 * totals. Sources stay (by name and format) with their counts at zero. Single-threaded. */
void audio_reset_after_fork(void)
{
	for (struct cb_source *s = audio_sources; s; s = s->next) {
		size_t keep = offsetof(struct cb_source, count);
		memset((char *)s + keep, 0, sizeof(*s) - keep);
		s->min = UINT64_MAX;
		for (int i = 0; i < ZONES; i++)
			s->zones[i].min = UINT64_MAX;
		if (s->slow)
			memset(s->slow, 0, audio_slow_max * sizeof(*s->slow));
		if (s->over)
			memset(s->over, 0, OVER_MAX * sizeof(*s->over));
		if (s->load)
			memset(s->load, 0, TIMELINE_SAMPLES * sizeof(*s->load));
	}
	audio_load_n = 0;
	ap_rt.tid = (int)syscall(SYS_gettid);   /* the child's own */
	/* The forking thread's provisional cycle refers to counts that are gone. */
	ap_rt.pend_on = 0;
	ap_rt.pend.n = 0;
	ap_rt.held.n = 0;
	ap_rt.held_src = NULL;
	audio_violations_reset();
}

void audio_thread_start(void)
{
	if (!ap_rt.tid)
		ap_rt.tid = (int)syscall(SYS_gettid);
}

void audio_init(void)
{
	audio_slow_max = (unsigned)OPT_NUM(OPT_SLOW_CYCLES);
	src_size = ((sizeof(struct cb_source) + 63) & ~(size_t)63) +
		   (audio_slow_max ? (((size_t)audio_slow_max * sizeof(struct slow_rec) + 63) & ~(size_t)63) +
			       (((size_t)OVER_MAX * sizeof(struct slow_rec) + 63) & ~(size_t)63) : 0) +
		   (((size_t)TIMELINE_SAMPLES * sizeof(struct load_row) + 4095) & ~(size_t)4095);
	src_size = (src_size + 4095) & ~(size_t)4095;
	src_slab = audio_map(SLAB_SOURCES * src_size);
	audio_violations_init();
	audio_threads_init();
	audio_on_violation = (int)OPT_NUM(OPT_ON_VIOLATION);
}

size_t audio_footprint(void)
{
	size_t n = audio_violations_footprint();
	for (struct cb_source *s = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE); s; s = s->next) {
		n += mem_resident(s, sizeof(*s));
		if (s->slow)
			n += mem_resident(s->slow, audio_slow_max * sizeof(*s->slow));
		if (s->over)
			n += mem_resident(s->over, OVER_MAX * sizeof(*s->over));
		if (s->load)
			n += mem_resident(s->load, TIMELINE_SAMPLES * sizeof(*s->load));
	}
	return n;
}
