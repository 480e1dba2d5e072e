/* audio_violations.c - real-time violations: an open-addressing table keyed by (kind,
 * call, stack site, source), claimed with a CAS; a slot being filled by another thread
 * is skipped, so two entries for one key can exist and are merged when written. Each
 * slot also sums the time spent inside its calls and keeps the longest (rtcheck.c
 * times them). Also the provisional cycles' logs (taken back when a cycle turns out to
 * do no period's work), the per-site counts of allocations made in callbacks, and the
 * first report of each violation on stderr. */
#include "audio_int.h"
#include "log.h"
#include "symbols.h"
#include "forkmem.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ------------------------------------------------------------ violations */

struct vslot *audio_vtab;
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
	struct cb_source *src = audio_current_source();
	struct rt_tls *t = &ap_rt;
	uint8_t lib = t->lib_depth > 0 ? (uint8_t)(t->lib_api + 1) : 0;
	charge(t, src, kind, stack, 1, (int64_t)bytes, lib);
	struct vslot *found = NULL;
	int fresh = 0;
	if (!audio_vtab)
		goto out;
	uint64_t h = ((uint64_t)stack * 0x9E3779B97F4A7C15ull) ^ ((uintptr_t)call >> 3) ^
		     ((uintptr_t)src >> 6) ^ kind ^ ((uint64_t)lib << 8);
	h *= 0xFF51AFD7ED558CCDull;
	for (unsigned i = 0; i < 64; i++) {
		struct vslot *v = &audio_vtab[(h + i) & (VSLOTS - 1)];
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

void audio_violation_took(enum ap_vkind kind, const char *call, site_id stack, uint64_t bytes,
			  uint64_t ticks)
{
	struct rt_timing tm;
	record(kind, call, stack, bytes, &tm);
	audio_violation_time(&tm, ticks);
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

void audio_pend_abort(const struct rt_pendlog *l)
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
	audio_frame_pop(t, s, &was_pend);
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

const char *const audio_kind_names[VK_COUNT] = {
	[VK_ALLOC] = "alloc", [VK_FREE] = "free", [VK_LOCK] = "lock", [VK_SLEEP] = "sleep",
	[VK_IO] = "io", [VK_POLL] = "poll", [VK_MMAP] = "mmap", [VK_THREAD] = "thread",
	[VK_PROCESS] = "process", [VK_TRYLOCK] = "trylock",
};

const char *const audio_api_names[AP_API_COUNT] = {
	[AP_API_JACK] = "jack", [AP_API_PORTAUDIO] = "portaudio", [AP_API_ALSA] = "alsa",
	[AP_API_PULSE] = "pulse", [AP_API_PIPEWIRE] = "pipewire", [AP_API_SDL] = "sdl",
	[AP_API_REGION] = "region", [AP_API_THREAD] = "thread",
};

const char *const audio_lib_names[AP_API_COUNT] = {
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
	runtime_guard++;
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
			audio_api_names[v->src->api], v->src->name, (int)(lb.n ? lb.n - 1 : 0), lb.buf);
	else
		log_msg("%s: %s() in real-time code\n%.*s", what, v->call,
			(int)(lb.n ? lb.n - 1 : 0), lb.buf);
out:
	runtime_guard--;
	if (audio_on_violation == ONV_ABORT && v->kind != VK_TRYLOCK)
		abort();
}

void audio_writer_tick(void)
{
	for (struct cb_source *s = __atomic_load_n(&audio_sources, __ATOMIC_ACQUIRE); s; s = s->next)
		audio_refresh_thread(s);
	if (audio_on_violation != ONV_WARN || !audio_vtab)
		return;
	struct mem_pages pages;   /* only pages in memory hold slots */
	mem_pages_init(&pages, audio_vtab, VSLOTS * sizeof(*audio_vtab));
	for (unsigned i = 0; i < VSLOTS; i++) {
		struct vslot *v = &audio_vtab[i];
		if (mem_pages_in(&pages, &v->state) &&
		    __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == 2 && !v->warned &&
		    !v->lib && __atomic_load_n(&v->count, __ATOMIC_RELAXED))
			report_one(v);
	}
}

uint64_t audio_violations_lost(void)
{
	return __atomic_load_n(&vlost, __ATOMIC_RELAXED);
}

void audio_violations_init(void)
{
	/* Both start afresh in a fork child (audio_violations_reset): nothing to copy. */
	audio_vtab = forkmem_map_wiped(VSLOTS * sizeof(*audio_vtab));
	site_cb = forkmem_map_wiped(((size_t)SITES_MAX + 1) * sizeof(*site_cb));
}

/* In a forked child (single-threaded): the parent's violations are not the child's. */
void audio_violations_reset(void)
{
	forkmem_zero(audio_vtab, VSLOTS * sizeof(*audio_vtab));
	if (site_cb)
		madvise(site_cb, ((size_t)SITES_MAX + 1) * sizeof(*site_cb), MADV_DONTNEED);
	vlost = 0;
}

size_t audio_violations_footprint(void)
{
	return mem_resident(audio_vtab, VSLOTS * sizeof(*audio_vtab)) +
	       mem_resident(site_cb, ((size_t)SITES_MAX + 1) * sizeof(*site_cb));
}
