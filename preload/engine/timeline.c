/* timeline.c - the heap timeline: a fixed buffer of samples taken by the writer
 * thread; halved (every other sample kept, period doubled) when full, so memory stays
 * fixed however long the process runs. Only the writer thread touches the buffer;
 * the profile writer reads it under the runtime's write lock from the same thread or
 * at exit, when a racing sample can at worst be left out. Each callback source's load
 * over time (audio.c) is closed into a row at the same moments, so it shares t_ns.
 * glibc's figures cost a walk of every free chunk under each arena's lock: they are
 * taken at most 1 % of the time (HEAP_SHARE). */
#include "timeline.h"
#include "audio.h"
#include "clock.h"
#include "sites.h"
#include "profile_schema.h"

#include <jansson.h>
#include <malloc.h>
#include <stddef.h>
#include <string.h>

#define SAMPLES TIMELINE_SAMPLES

struct sample {
	uint64_t t;          /* CLOCK_MONOTONIC ns */
	uint64_t live_b;     /* bytes the program has live (requested sizes) */
	uint64_t live_k;     /* blocks live */
	uint64_t heap_b;     /* glibc: arena + mmapped bytes obtained from the system */
	uint64_t used_b;     /* glibc: bytes in chunks in use (incl. headers) + mmapped */
};

static struct sample buf[SAMPLES];
static unsigned n;
static uint64_t period, next;   /* period 0: not sampling (off, or stopped) */
static uint64_t shown_period;    /* the period of the samples in buf */

/* mallinfo2 walks every free chunk of every arena, each under the arena's lock, which
 * the program's threads wait for when they allocate meanwhile: 0.6 ms in g++'s
 * cc1plus, but 5 ms with 96,000 free chunks and 150 ms (longer than the period)
 * with 860,000 in nine arenas, where a program allocating on its main thread got
 * through half as many allocations as with no timeline. So after a call that took
 * d, the next one comes no earlier than HEAP_SHARE * d later (the walk holds locks
 * at most 1 % of the time); samples meanwhile repeat the figures of the last call. */
#define HEAP_SHARE 100
static uint64_t last_heap_b, last_used_b;   /* the last call's figures */
static uint64_t heap_next;       /* no call before this time (0: at the next sample) */
static uint64_t heap_cost;       /* the last call's duration, ns */

void timeline_init(uint64_t period_ns, uint64_t now)
{
	period = shown_period = period_ns;
	n = 0;
	next = period ? now : 0;
	heap_next = 0;
}

void timeline_reset(uint64_t now)
{
	timeline_init(shown_period, now);
}

void timeline_stop(void)
{
	__atomic_store_n(&period, 0, __ATOMIC_RELAXED);
}

uint64_t timeline_tick(uint64_t now)
{
	if (!__atomic_load_n(&period, __ATOMIC_RELAXED))
		return 0;
	if (now < next)
		return next;
	if (n == SAMPLES) {
		for (unsigned i = 0; i < SAMPLES / 2; i++)
			buf[i] = buf[2 * i];
		n = SAMPLES / 2;
		audio_load_halve(n);
		period *= 2;
		shown_period = period;
	}
	uint64_t live_b, live_k;
	sites_live(&live_b, &live_k);
	if (now >= heap_next) {
		uint64_t t0 = clock_mono_ns();
		struct mallinfo2 mi = mallinfo2();
		uint64_t t1 = clock_mono_ns();
		last_heap_b = mi.arena + mi.hblkhd;
		last_used_b = mi.uordblks + mi.hblkhd;
		heap_cost = t1 > t0 ? t1 - t0 : 1;
		heap_next = now + heap_cost * HEAP_SHARE;
	}
	buf[n] = (struct sample){ now, live_b, live_k, last_heap_b, last_used_b };
	audio_load_sample(n);
	n++;
	next = now + period;
	return next;
}

static json_t *column(size_t off, uint64_t start, int is_time, unsigned k)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < k; i++) {
		uint64_t v = *(const uint64_t *)((const char *)&buf[i] + off);
		if (is_time)
			v = v > start ? v - start : 0;
		if (json_array_append_new(a, json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v))) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

unsigned timeline_count(void)
{
	return n;
}

uint64_t timeline_heap_cost(void)
{
	return heap_cost;
}

/* Each field's value (PROFILE_TIMELINE in common/profile_schema.h): the period, or a
 * column of the k samples held when the writing began (times from start_ns), or each
 * source's load rows for them. */
#define TV_period_ns json_integer((json_int_t)shown_period)
#define TV_t_ns      column(offsetof(struct sample, t), start_ns, 1, k)
#define TV_live_b    column(offsetof(struct sample, live_b), 0, 0, k)
#define TV_live_k    column(offsetof(struct sample, live_k), 0, 0, k)
#define TV_heap_b    column(offsetof(struct sample, heap_b), 0, 0, k)
#define TV_used_b    column(offsetof(struct sample, used_b), 0, 0, k)
#define TV_load      audio_load_json(k)

json_t *timeline_json(uint64_t start_ns)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	unsigned k = n;   /* every column the same length, also with a sample racing */
	int err = 0;
#define TIMELINE_PUT(key, type, unit, presence, what) \
	err |= json_object_set_new_nocheck(o, #key, TV_##key) < 0;
	PROFILE_TIMELINE(TIMELINE_PUT)
#undef TIMELINE_PUT
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}
