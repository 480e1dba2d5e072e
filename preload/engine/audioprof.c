/* audioprof.c - the public marker API of audioprof.h, as libaudioprof.so defines it:
 * marked real-time regions (each a callback source of its own), zones inside a
 * callback, the calling thread's counts, and whether the profiler is active. */
#include "audio_int.h"
#define AUDIOPROF_DEFINING_API   /* the definitions, not the run-time look-up */
#include "audioprof.h"

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
				runtime_guard++;
				struct cb_source *s = audio_source_new(AP_API_REGION, name ? name : "region");
				runtime_guard--;
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
	struct cb_source *s = audio_current_source();
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
	return runtime_state == RUNTIME_READY;
}
