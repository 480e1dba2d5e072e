/* audio_json.c - the audio part of the profile: each callback source with its timing,
 * zones and kept slow cycles ("callbacks"), the violations ("violations"), and each
 * source's load over time (the heap timeline's "load"). Every object is written from
 * its field list in common/profile_schema.h. Runs on the writer thread (or at exit),
 * reading what audio threads write without stopping them. */
#include "audio_int.h"
#include "mem.h"
#include "jsonput.h"
#include "clock.h"
#include "timeline.h"
#include "profile_schema.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the profile */

static int set_u(json_t *o, const char *k, uint64_t v)
{
	return json_object_set_new_nocheck(o, k, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
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
	for (unsigned i = 0; i < nslow && i < audio_slow_max && i < 1000; i++) {
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
	if (n > audio_load_n)
		n = audio_load_n;
	int nsrc = __atomic_load_n(&audio_nsources, __ATOMIC_ACQUIRE);
	for (int id = 0; id < nsrc; id++) {
		struct cb_source *s = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE);
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
#define ZV_p99_ns    audio_hquantile(&z->h, zc, 0.99, zc ? z->min : 0, z->max)
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
#define CV_api            audio_api_names[s->api]
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
#define CV_p50_ns         audio_hquantile(&s->dur, count, 0.50, min, max)
#define CV_p90_ns         audio_hquantile(&s->dur, count, 0.90, min, max)
#define CV_p99_ns         audio_hquantile(&s->dur, count, 0.99, min, max)
#define CV_p999_ns        audio_hquantile(&s->dur, count, 0.999, min, max)
#define CV_max_ns         max
#define CV_dur_hist       durhist_json(&s->dur)
#define CV_load_mean_pct  (count && s->deadline ? (double)s->load_ppm_sum / count / 10000.0 : 0)
#define CV_load_max_pct   (s->deadline ? (double)s->load_ppm_max / 10000.0 : 0)
#define CV_overruns       s->overruns
#define CV_near80         s->near80
#define CV_near95         s->near95
#define CV_period_mean_ns (periods ? s->period_sum / periods : 0)
#define CV_jitter_max_ns  s->jitter_max
#define CV_jitter_p99_ns  audio_hquantile(&s->jitter, periods, 0.99, 0, s->jitter_max)
#define CV_xruns          __atomic_load_n(&s->xruns, __ATOMIC_RELAXED)
#define CV_allocs         s->allocs
#define CV_frees          s->frees
#define CV_alloc_bytes    s->alloc_bytes
#define CV_rt_unsafe      s->unsafe
#define CV_lib_calls      s->lib_calls
#define CV_discarded      s->discarded
#define CV_histogram      hist_json(s->load_hist, LOAD_EDGES + 1, audio_load_edges)
#define CV_zones          zones_json(s)
#define CV_slow_cycles    slow
#define CV_overruns_unlisted unlisted

static json_t *source_json(struct cb_source *s, audio_fs_fn fs, void *arg, uint64_t start_ns)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	audio_refresh_thread(s);
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
#define VV_kind      audio_kind_names[v->kind]
#define VV_call      (v->call ? v->call : "?")
#define VV_severity  (v->kind == VK_TRYLOCK ? "warning" : "violation")
#define VV_count     count
#define VV_bytes     bytes
#define VV_time_ns   (timed ? clock_span_ns(ticks) : PROFILE_ABSENT_UINT)
#define VV_time_max_ns (timed ? clock_span_ns(ticks_max) : PROFILE_ABSENT_UINT)
#define VV_library   (v->lib && v->lib <= AP_API_COUNT ? audio_lib_names[v->lib - 1] : NULL)
#define VV_callback  (v->src ? v->src->id : -1)
#define VV_fs        f

json_t *audio_callbacks_json(audio_fs_fn fs, void *arg, uint64_t start_ns)
{
	json_t *cbs = json_array();
	if (!cbs)
		return NULL;
	/* The registry is newest first; write oldest first. */
	int n = __atomic_load_n(&audio_nsources, __ATOMIC_ACQUIRE);
	/* callbacks[i].id == i always (violations refer to it): a source that is being
	 * registered right now, or that could not be written, leaves a stub. */
	for (int id = 0; id < n; id++) {
		json_t *o = NULL;
		for (struct cb_source *s = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE); s; s = s->next)
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
	mem_pages_init(&pages, audio_vtab, VSLOTS * sizeof(*audio_vtab));
	for (unsigned i = 0; audio_vtab && i < VSLOTS; i++) {
		if (!mem_pages_in(&pages, &audio_vtab[i].state)) {
			/* the rest of that page too (a fork child's table has none in memory) */
			uintptr_t end = mem_pages_end(&pages, &audio_vtab[i].state);
			while (i + 1 < VSLOTS && (uintptr_t)&audio_vtab[i + 1].state < end)
				i++;
			continue;
		}
		if (__atomic_load_n(&audio_vtab[i].state, __ATOMIC_ACQUIRE) == 2)
			ready[nready++] = i;
	}
	for (unsigned a = 0; a < nready; a++) {
		struct vslot *v = &audio_vtab[ready[a]];
		uint64_t count = 0, bytes = 0, ticks = 0, ticks_max = 0;
		int dup = 0, timed = 0;
		for (unsigned b = 0; b < nready; b++) {
			struct vslot *w = &audio_vtab[ready[b]];
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
		json_object_set_new_nocheck(o, "kind", json_string(audio_kind_names[v->kind]));
		json_object_set_new_nocheck(o, "call", json_string(v->call ? v->call : "?"));
		set_u(o, "count", log->e[i].count);
		if (__atomic_load_n(&v->timed, __ATOMIC_RELAXED))
			set_u(o, "time_ns", clock_span_ns(log->e[i].ticks));
		if (v->lib && v->lib <= AP_API_COUNT)
			json_object_set_new_nocheck(o, "library", json_string(audio_lib_names[v->lib - 1]));
		json_object_set_new_nocheck(o, "fs", f);
		json_array_append_new(a, o);
	}
	return a;
}
