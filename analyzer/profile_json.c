/* profile_json.c - the meaning half of the profile reader: takes values that jansson
 * decoded (profile_read.c's scanner hands them over one at a time) and stores them in
 * struct profile, checking each field's type and range and naming the field in any
 * error ("pps[12].fs[3]: ..."). The audio extension (callbacks, zones, violations, slow
 * cycles) too. */
#include "profile_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of violation audio.c writes (kind_names[]): nothing else is a profile. */
const char *const profile_violation_kinds[] = {
	"alloc", "free", "lock", "trylock", "sleep", "io", "poll", "mmap", "thread", "process",
	NULL,
};

/* ------------------------------------------------------------------ typed fields */

const char *rd_type_desc(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "a whole number";
	case JSON_REAL: return "a fractional number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* A whole number in [0, max]. `what` names the field, e.g. "pps[3].tb". */
static int want_int(struct rd *r, const json_t *v, const char *what, int64_t max, int64_t *out)
{
	if (!json_is_integer(v))
		return rd_fail(r, "%s: expected a whole number, found %s", what, rd_type_desc(v));
	json_int_t n = json_integer_value(v);
	if (n < 0)
		return rd_fail(r, "%s: negative number %" PRId64, what, (int64_t)n);
	if (n > max)
		return rd_fail(r, "%s: number %" PRId64 " is absurdly large (limit %" PRId64 ")",
			    what, (int64_t)n, max);
	*out = n;
	return 0;
}

static int want_pct(struct rd *r, const json_t *v, const char *what, double *out)
{
	if (!json_is_number(v))
		return rd_fail(r, "%s: expected a number, found %s", what, rd_type_desc(v));
	double d = json_number_value(v);
	if (d < 0)
		return rd_fail(r, "%s: negative number %g", what, d);
	if (d > 1e9)
		return rd_fail(r, "%s: number %g is absurdly large", what, d);
	*out = d;
	return 0;
}

static int want_str(struct rd *r, const json_t *v, const char *what, const char **out)
{
	if (!json_is_string(v))
		return rd_fail(r, "%s: expected a string, found %s", what, rd_type_desc(v));
	*out = rd_str(r, json_string_value(v), json_string_length(v));
	return *out ? 0 : rd_fail(r, "out of memory");
}

static int want_bool(struct rd *r, const json_t *v, const char *what, int *out)
{
	if (!json_is_boolean(v))
		return rd_fail(r, "%s: expected true or false, found %s", what, rd_type_desc(v));
	*out = json_is_true(v);
	return 0;
}

/* Fields of an object described by a table: integer, percentage or string, at an offset. */
enum ftype { F_INT, F_TL, F_PCT, F_STR };
struct field {
	const char *key;
	enum ftype type;
	size_t off;
	int required;
};

static int read_fields(struct rd *r, const json_t *obj, const char *ctx,
		       const struct field *f, size_t n, void *dst)
{
	char what[128];
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(obj, f[i].key);
		if (!v) {
			if (f[i].required)
				return rd_fail(r, "%s: missing \"%s\"", ctx, f[i].key);
			continue;
		}
		char *d = (char *)dst + f[i].off;
		/* The common case without formatting a name; errors take the slow path. */
		if (f[i].type == F_INT && json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= PROFILE_MAX_NUM) {
			*(int64_t *)d = json_integer_value(v);
			continue;
		}
		snprintf(what, sizeof(what), "%s.%s", ctx, f[i].key);
		int rc = 0;
		switch (f[i].type) {
		case F_INT: rc = want_int(r, v, what, PROFILE_MAX_NUM, (int64_t *)d); break;
		case F_TL: rc = want_int(r, v, what, INT64_MAX, (int64_t *)d); break;
		case F_PCT: rc = want_pct(r, v, what, (double *)d); break;
		case F_STR: rc = want_str(r, v, what, (const char **)d); break;
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* A stack: non-empty array of indices >= 1 (the upper bound is checked once ftbl is known). */
static int read_fs(struct rd *r, const json_t *v, const char *ctx, uint32_t *off, uint32_t *len)
{
	char what[128];
	snprintf(what, sizeof(what), "%s.fs", ctx);
	if (!v)
		return rd_fail(r, "%s: missing \"fs\"", ctx);
	if (!json_is_array(v))
		return rd_fail(r, "%s: expected an array of frame indices, found %s", what, rd_type_desc(v));
	size_t n = json_array_size(v);
	if (n == 0)
		return rd_fail(r, "%s: empty stack", what);
	if (n > MAX_FRAMES)
		return rd_fail(r, "%s: %zu frames is absurdly many (limit %u)", what, n, MAX_FRAMES);
	struct profile *p = r->p;
	if (p->nfs + n > UINT32_MAX)
		return rd_fail(r, "%s: more than %u frame references in the file", what, UINT32_MAX);
	if (rd_grow(&p->fs, &r->cap_fs, p->nfs + n, sizeof(*p->fs)) != 0)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		int64_t x = json_is_integer(e) ? json_integer_value(e) : -1;
		if (x < 1 || x > UINT32_MAX) {
			snprintf(what, sizeof(what), "%s.fs[%zu]", ctx, i);
			if (want_int(r, e, what, UINT32_MAX, &x) != 0)
				return -1;
			if (x == 0)
				return rd_fail(r, "%s: frame index 0 is the root, not a frame", what);
		}
		p->fs[p->nfs + i] = (uint32_t)x;
	}
	*off = (uint32_t)p->nfs;
	*len = (uint32_t)n;
	p->nfs += n;
	return 0;
}

/* ------------------------------------------------------------------ program points */

#define PPF(k, f, t) { k, t, offsetof(struct pp, f), 0 }
static const struct field pp_fields[] = {
	{ "tb", F_INT, offsetof(struct pp, tb), 1 },
	{ "tbk", F_INT, offsetof(struct pp, tbk), 1 },
	PPF("tl", tl, F_TL), PPF("mb", mb, F_INT), PPF("mbk", mbk, F_INT),
	PPF("gb", gb, F_INT), PPF("gbk", gbk, F_INT), PPF("eb", eb, F_INT),
	PPF("ebk", ebk, F_INT), PPF("slk", slk, F_INT), PPF("cbk", cbk, F_INT),
	PPF("cbb", cbb, F_INT),
};

int rd_json_pp(struct rd *r, size_t idx, const json_t *o)
{
	char ctx[48];
	snprintf(ctx, sizeof(ctx), "pps[%zu]", idx);
	if (!json_is_object(o))
		return rd_fail(r, "%s: expected an object, found %s", ctx, rd_type_desc(o));
	struct profile *p = r->p;
	if (rd_grow(&p->pps, &r->cap_pps, p->npps + 1, sizeof(*p->pps)) != 0)
		return rd_fail(r, "out of memory");
	struct pp *pp = &p->pps[p->npps];
	pp->tl = pp->mb = pp->mbk = pp->gb = pp->gbk = pp->eb = pp->ebk = -1;
	pp->slk = pp->cbk = pp->cbb = -1;
	if (read_fields(r, o, ctx, pp_fields, sizeof(pp_fields) / sizeof(pp_fields[0]), pp))
		return -1;
	if (read_fs(r, json_object_get(o, "fs"), ctx, &pp->fs_off, &pp->fs_len))
		return -1;
	p->has_slk |= pp->slk >= 0;
	p->has_cb |= pp->cbk >= 0;
	p->npps++;
	return 0;
}

/* ------------------------------------------------------------------ the audioprof object */

#define CBI(k) { #k, F_INT, offsetof(struct callback, k), 0 }
#define CBS(k) { #k, F_STR, offsetof(struct callback, k), 0 }
static const struct field cb_fields[] = {
	CBI(id), CBS(api), CBS(name), CBS(thread), CBS(policy), CBI(tid), CBI(priority),
	CBI(rate), CBI(frames), CBI(deadline_ns), CBI(count),
	CBI(min_ns), CBI(mean_ns), CBI(p50_ns), CBI(p90_ns), CBI(p99_ns), CBI(p999_ns),
	CBI(max_ns),
	{ "load_mean_pct", F_PCT, offsetof(struct callback, load_mean_pct), 0 },
	{ "load_max_pct", F_PCT, offsetof(struct callback, load_max_pct), 0 },
	CBI(overruns), CBI(near80), CBI(near95), CBI(period_mean_ns), CBI(jitter_max_ns),
	CBI(jitter_p99_ns), CBI(xruns), CBI(allocs), CBI(frees), CBI(alloc_bytes), CBI(rt_unsafe),
	CBI(lib_calls), CBI(discarded),
};

#define ZNI(k) { #k, F_INT, offsetof(struct zone, k), 0 }
static const struct field zone_fields[] = {
	{ "name", F_STR, offsetof(struct zone, name), 0 },
	ZNI(count), ZNI(mean_ns), ZNI(p99_ns), ZNI(max_ns),
};

static int read_zones(struct rd *r, const json_t *a, const char *ctx, struct callback *cb)
{
	char what[80];
	snprintf(what, sizeof(what), "%s.zones", ctx);
	if (!json_is_array(a))
		return rd_fail(r, "%s: expected an array, found %s", what, rd_type_desc(a));
	size_t n = json_array_size(a);
	cb->zones = calloc(n ? n : 1, sizeof(*cb->zones));
	if (!cb->zones)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct zone *z = &cb->zones[i];
		snprintf(what, sizeof(what), "%s.zones[%zu]", ctx, i);
		if (!json_is_object(o))
			return rd_fail(r, "%s: expected an object, found %s", what, rd_type_desc(o));
		z->name = "";
		z->count = z->mean_ns = z->p99_ns = z->max_ns = -1;
		if (read_fields(r, o, what, zone_fields, sizeof(zone_fields) / sizeof(zone_fields[0]), z))
			return -1;
		cb->nzones++;
	}
	return 0;
}

#define TOT(k) { #k, F_INT, offsetof(struct totals, k), 1 }
static const struct field totals_fields[] = {
	TOT(curr_b), TOT(curr_k), TOT(max_b), TOT(max_k), TOT(total_b), TOT(total_k), TOT(frees),
};

#define APF(k) { #k, F_INT, offsetof(struct profile, k), 0 }
static const struct field ap_fields[] = {
	APF(signal), APF(ppid), APF(start_ns), APF(end_ns), APF(depth), APF(own_bytes),
	APF(peak_rss), APF(threads), APF(violations_lost), APF(signal_lost),
	{ "reason", F_STR, offsetof(struct profile, reason), 0 },
};

/* A callback's load histogram, as audio.c's hist_json() writes it: "edges_pct", the
 * lower edge of each bucket in percent of the deadline (0 first, then rising), and
 * "counts", one whole number per bucket: two arrays of the same length. Not stored (the
 * viewer draws it); checked so that no command accepts what the viewer cannot draw. */
static int check_histogram(struct rd *r, const json_t *h, const char *ctx)
{
	char what[96];
	snprintf(what, sizeof(what), "%s.histogram", ctx);
	if (!json_is_object(h))
		return rd_fail(r, "%s: expected an object, found %s", what, rd_type_desc(h));
	const json_t *e = json_object_get(h, "edges_pct"), *c = json_object_get(h, "counts");
	if (!e || !c)
		return rd_fail(r, "%s: missing \"%s\"", what, e ? "counts" : "edges_pct");
	if (!json_is_array(e))
		return rd_fail(r, "%s.edges_pct: expected an array, found %s", what, rd_type_desc(e));
	if (!json_is_array(c))
		return rd_fail(r, "%s.counts: expected an array, found %s", what, rd_type_desc(c));
	size_t n = json_array_size(e);
	if (n == 0)
		return rd_fail(r, "%s.edges_pct: empty (a histogram has at least one bucket)", what);
	if (json_array_size(c) != n)
		return rd_fail(r, "%s.counts: %zu counts for %zu buckets (edges_pct): one count "
			    "per bucket", what, json_array_size(c), n);
	int64_t prev = -1, x;
	for (size_t i = 0; i < n; i++) {
		char w[128];
		snprintf(w, sizeof(w), "%s.edges_pct[%zu]", what, i);
		if (want_int(r, json_array_get(e, i), w, PROFILE_MAX_NUM, &x))
			return -1;
		if (i == 0 && x != 0)
			return rd_fail(r, "%s: the first bucket starts at %" PRId64 "%%, not 0", w, x);
		if (x <= prev)
			return rd_fail(r, "%s: %" PRId64 " after %" PRId64 ": the edges must rise", w,
				    x, prev);
		prev = x;
		snprintf(w, sizeof(w), "%s.counts[%zu]", what, i);
		if (want_int(r, json_array_get(c, i), w, PROFILE_MAX_NUM, &x))
			return -1;
	}
	return 0;
}

/* ---- slow cycles and violation times: every key of theirs is named here */

#define K_SLOW_CYCLES       "slow_cycles"        /* callback: array of kept cycles */
#define K_OVERRUNS_UNLISTED "overruns_unlisted"  /* callback: overruns not kept */
#define K_TIME_NS           "time_ns"            /* violation, cycle violation */
#define K_TIME_MAX_NS       "time_max_ns"        /* violation */

#define SCI(k) { #k, F_INT, offsetof(struct slow_cycle, k), 1 }
static const struct field slow_fields[] = {
	SCI(cycle), SCI(start_ns), SCI(dur_ns), SCI(deadline_ns),
	{ "load_pct", F_PCT, offsetof(struct slow_cycle, load_pct), 1 },
	{ "violations_more", F_INT, offsetof(struct slow_cycle, violations_more), 0 },
};

static const struct field cycv_fields[] = {
	{ "call", F_STR, offsetof(struct cycle_violation, call), 1 },
	{ "library", F_STR, offsetof(struct cycle_violation, library), 0 },
	{ "count", F_INT, offsetof(struct cycle_violation, count), 1 },
	{ K_TIME_NS, F_INT, offsetof(struct cycle_violation, time_ns), 0 },
};

static int known_kind(const char *kind)
{
	for (const char *const *k = profile_violation_kinds; *k; k++)
		if (strcmp(kind, *k) == 0)
			return 1;
	return 0;
}

static int read_cycle_violations(struct rd *r, const json_t *a, const char *ctx,
				 struct slow_cycle *c)
{
	char what[160];
	snprintf(what, sizeof(what), "%s.violations", ctx);
	if (!json_is_array(a))
		return rd_fail(r, "%s: expected an array, found %s", what, rd_type_desc(a));
	size_t n = json_array_size(a);
	c->v = calloc(n ? n : 1, sizeof(*c->v));
	if (!c->v)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct cycle_violation *v = &c->v[i];
		snprintf(what, sizeof(what), "%s.violations[%zu]", ctx, i);
		if (!json_is_object(o))
			return rd_fail(r, "%s: expected an object, found %s", what, rd_type_desc(o));
		v->library = "";
		v->time_ns = -1;
		const json_t *k = json_object_get(o, "kind");
		if (!k)
			return rd_fail(r, "%s: missing \"kind\"", what);
		char w[192];
		snprintf(w, sizeof(w), "%s.kind", what);
		if (want_str(r, k, w, &v->kind))
			return -1;
		if (!known_kind(v->kind))
			return rd_fail(r, "%s: unknown kind \"%s\"", w, v->kind);
		if (read_fields(r, o, what, cycv_fields, sizeof(cycv_fields) / sizeof(cycv_fields[0]), v))
			return -1;
		if (read_fs(r, json_object_get(o, "fs"), what, &v->fs_off, &v->fs_len))
			return -1;
		c->nv++;
	}
	return 0;
}

/* A callback's kept cycles, in the order written (by cycle number, each once). */
static int read_slow_cycles(struct rd *r, const json_t *a, const char *ctx, struct callback *cb)
{
	char what[96];
	snprintf(what, sizeof(what), "%s.%s", ctx, K_SLOW_CYCLES);
	if (!json_is_array(a))
		return rd_fail(r, "%s: expected an array, found %s", what, rd_type_desc(a));
	size_t n = json_array_size(a);
	cb->slow = calloc(n ? n : 1, sizeof(*cb->slow));
	if (!cb->slow)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct slow_cycle *c = &cb->slow[i];
		snprintf(what, sizeof(what), "%s.%s[%zu]", ctx, K_SLOW_CYCLES, i);
		if (!json_is_object(o))
			return rd_fail(r, "%s: expected an object, found %s", what, rd_type_desc(o));
		cb->nslow++;   /* counted first, so that profile_free() frees its violations */
		if (read_fields(r, o, what, slow_fields, sizeof(slow_fields) / sizeof(slow_fields[0]), c))
			return -1;
		const json_t *x;
		char w[128];
		if ((x = json_object_get(o, "slowest"))) {
			snprintf(w, sizeof(w), "%s.slowest", what);
			if (want_bool(r, x, w, &c->slowest))
				return -1;
		}
		if ((x = json_object_get(o, "overrun"))) {
			snprintf(w, sizeof(w), "%s.overrun", what);
			if (want_bool(r, x, w, &c->overrun))
				return -1;
		}
		if (c->cycle < 1)
			return rd_fail(r, "%s.cycle: 0, but cycles are numbered from 1", what);
		if (i > 0 && c->cycle <= cb->slow[i - 1].cycle)
			return rd_fail(r, "%s.cycle: %" PRId64 " after %" PRId64 ": kept cycles are "
				    "written once each, oldest first", what, c->cycle,
				    cb->slow[i - 1].cycle);
		if (cb->count >= 0 && c->cycle > cb->count)
			return rd_fail(r, "%s.cycle: %" PRId64 ", but the callback completed %" PRId64
				    " cycles", what, c->cycle, cb->count);
		if ((x = json_object_get(o, "violations")) && read_cycle_violations(r, x, what, c))
			return -1;
	}
	return 0;
}

/* A violation's times: present together or not at all, the longest within the total. */
static int read_violation_time(struct rd *r, const json_t *o, const char *ctx, struct violation *v)
{
	char what[96];
	const json_t *t = json_object_get(o, K_TIME_NS), *m = json_object_get(o, K_TIME_MAX_NS);
	v->time_ns = v->time_max_ns = -1;
	if (!t && !m)
		return 0;
	if (!t || !m)
		return rd_fail(r, "%s: \"%s\" without \"%s\"", ctx, t ? K_TIME_NS : K_TIME_MAX_NS,
			    t ? K_TIME_MAX_NS : K_TIME_NS);
	snprintf(what, sizeof(what), "%s.%s", ctx, K_TIME_NS);
	if (want_int(r, t, what, PROFILE_MAX_NUM, &v->time_ns))
		return -1;
	snprintf(what, sizeof(what), "%s.%s", ctx, K_TIME_MAX_NS);
	if (want_int(r, m, what, PROFILE_MAX_NUM, &v->time_max_ns))
		return -1;
	if (v->time_max_ns > v->time_ns)
		return rd_fail(r, "%s: the longest call (%" PRId64 " ns) is longer than all of them "
			    "(%" PRId64 " ns)", what, v->time_max_ns, v->time_ns);
	return 0;
}

static int read_callbacks(struct rd *r, const json_t *a)
{
	struct profile *p = r->p;
	if (!json_is_array(a))
		return rd_fail(r, "audioprof.callbacks: expected an array, found %s", rd_type_desc(a));
	size_t n = json_array_size(a);
	p->callbacks = calloc(n ? n : 1, sizeof(*p->callbacks));
	if (!p->callbacks)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct callback *cb = &p->callbacks[i];
		char ctx[48];
		snprintf(ctx, sizeof(ctx), "audioprof.callbacks[%zu]", i);
		if (!json_is_object(o))
			return rd_fail(r, "%s: expected an object, found %s", ctx, rd_type_desc(o));
		for (size_t f = 0; f < sizeof(cb_fields) / sizeof(cb_fields[0]); f++)
			if (cb_fields[f].type == F_INT)
				*(int64_t *)((char *)cb + cb_fields[f].off) = -1;
		cb->api = cb->name = cb->thread = cb->policy = "";
		cb->load_mean_pct = cb->load_max_pct = -1;
		cb->overruns_unlisted = -1;
		p->ncallbacks++;   /* counted first, so that profile_free() frees its zones */
		if (read_fields(r, o, ctx, cb_fields, sizeof(cb_fields) / sizeof(cb_fields[0]), cb))
			return -1;
		const json_t *z = json_object_get(o, "zones");
		if (z && read_zones(r, z, ctx, cb))
			return -1;
		if (cb->id >= 0 && cb->id != (int64_t)i)
			return rd_fail(r, "%s.id: %" PRId64 ", but a callback's id is its index in "
				    "the array (%zu): violations refer to callbacks by it", ctx,
				    cb->id, i);
		const json_t *h = json_object_get(o, "histogram");
		if (h && check_histogram(r, h, ctx))
			return -1;
		if ((h = json_object_get(o, K_SLOW_CYCLES)) && read_slow_cycles(r, h, ctx, cb))
			return -1;
		if ((h = json_object_get(o, K_OVERRUNS_UNLISTED))) {
			char what[96];
			snprintf(what, sizeof(what), "%s.%s", ctx, K_OVERRUNS_UNLISTED);
			if (want_int(r, h, what, PROFILE_MAX_NUM, &cb->overruns_unlisted))
				return -1;
		}
	}
	p->has_audio = 1;
	return 0;
}

static int read_violations(struct rd *r, const json_t *a)
{
	struct profile *p = r->p;
	if (!json_is_array(a))
		return rd_fail(r, "audioprof.violations: expected an array, found %s", rd_type_desc(a));
	size_t n = json_array_size(a);
	p->violations = calloc(n ? n : 1, sizeof(*p->violations));
	if (!p->violations)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(a, i);
		struct violation *v = &p->violations[i];
		char ctx[48], what[80];
		snprintf(ctx, sizeof(ctx), "audioprof.violations[%zu]", i);
		if (!json_is_object(o))
			return rd_fail(r, "%s: expected an object, found %s", ctx, rd_type_desc(o));
		const json_t *x = json_object_get(o, "kind");
		snprintf(what, sizeof(what), "%s.kind", ctx);
		if (!x)
			return rd_fail(r, "%s: missing \"kind\"", ctx);
		if (want_str(r, x, what, &v->kind))
			return -1;
		int known = 0;
		for (const char *const *k = profile_violation_kinds; *k; k++)
			known |= strcmp(v->kind, *k) == 0;
		if (!known)
			return rd_fail(r, "%s: unknown kind \"%s\" (audioprof writes only alloc, free, "
				    "lock, trylock, sleep, io, poll, mmap, thread, process)", what,
				    v->kind);
		v->call = "";
		if ((x = json_object_get(o, "call"))) {
			snprintf(what, sizeof(what), "%s.call", ctx);
			if (want_str(r, x, what, &v->call))
				return -1;
		}
		if ((x = json_object_get(o, "severity"))) {
			const char *sev;
			snprintf(what, sizeof(what), "%s.severity", ctx);
			if (want_str(r, x, what, &sev))
				return -1;
			if (strcmp(sev, "warning") == 0)
				v->warning = 1;
			else if (strcmp(sev, "violation") != 0)
				return rd_fail(r, "%s: \"%s\" is neither \"violation\" nor \"warning\"",
					    what, sev);
			/* audio.c: a try-lock is a warning, everything else a violation. */
			if (v->warning != (strcmp(v->kind, "trylock") == 0))
				return rd_fail(r, "%s: \"%s\" for kind \"%s\" (only a trylock is a "
					    "warning)", what, sev, v->kind);
		}
		v->library = "";
		if ((x = json_object_get(o, "library"))) {
			snprintf(what, sizeof(what), "%s.library", ctx);
			if (want_str(r, x, what, &v->library))
				return -1;
		}
		v->count = 1;
		v->callback = -1;
		if ((x = json_object_get(o, "count"))) {
			snprintf(what, sizeof(what), "%s.count", ctx);
			if (want_int(r, x, what, PROFILE_MAX_NUM, &v->count))
				return -1;
		}
		if ((x = json_object_get(o, "bytes"))) {
			snprintf(what, sizeof(what), "%s.bytes", ctx);
			if (want_int(r, x, what, PROFILE_MAX_NUM, &v->bytes))
				return -1;
		}
		/* -1: no callback source (a real-time thread named by AUDIOPROF_RT_THREADS). */
		if ((x = json_object_get(o, "callback")) &&
		    !(json_is_integer(x) && json_integer_value(x) == -1)) {
			snprintf(what, sizeof(what), "%s.callback", ctx);
			if (want_int(r, x, what, PROFILE_MAX_NUM, &v->callback))
				return -1;
		}
		if (read_violation_time(r, o, ctx, v))
			return -1;
		if (read_fs(r, json_object_get(o, "fs"), ctx, &v->fs_off, &v->fs_len))
			return -1;
		p->nviolations++;
	}
	return 0;
}

static int read_audioprof(struct rd *r, const json_t *o)
{
	struct profile *p = r->p;
	if (!json_is_object(o))
		return rd_fail(r, "\"audioprof\": expected an object, found %s", rd_type_desc(o));
	const json_t *v = json_object_get(o, "version");
	if (!v)
		return rd_fail(r, "audioprof: missing \"version\"");
	if (want_int(r, v, "audioprof.version", PROFILE_MAX_NUM, &p->ap_version))
		return -1;
	if (p->ap_version < 1)
		return rd_fail(r, "audioprof.version %" PRId64 " is not a valid version", p->ap_version);
	if (p->ap_version > PROFILE_AUDIOPROF_VERSION)
		return rd_fail(r, "audioprof.version %" PRId64 " is newer than this audioprof "
			    "understands (%d): use a newer audioprof", p->ap_version,
			    PROFILE_AUDIOPROF_VERSION);
	p->has_audioprof = 1;
	if (read_fields(r, o, "audioprof", ap_fields, sizeof(ap_fields) / sizeof(ap_fields[0]), p))
		return -1;
	if ((v = json_object_get(o, "totals"))) {
		if (!json_is_object(v))
			return rd_fail(r, "audioprof.totals: expected an object, found %s", rd_type_desc(v));
		if (read_fields(r, v, "audioprof.totals", totals_fields,
				sizeof(totals_fields) / sizeof(totals_fields[0]), &p->totals))
			return -1;
		p->has_totals = 1;
	}
	if ((v = json_object_get(o, "callbacks")) && read_callbacks(r, v))
		return -1;
	if ((v = json_object_get(o, "violations")) && read_violations(r, v))
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ top level */

int rd_json_top(struct rd *r, enum top_key k, const json_t *v)
{
	struct profile *p = r->p;
	const char *name = rd_top_names[k];
	switch (k) {
	case K_VERSION: return want_int(r, v, name, PROFILE_MAX_NUM, &p->dhat_version);
	case K_MODE: return want_str(r, v, name, &p->mode);
	case K_VERB: return want_str(r, v, name, &p->verb);
	case K_BKLT: return want_bool(r, v, name, &p->bklt);
	case K_BKACC: return want_bool(r, v, name, &p->bkacc);
	case K_TU: return want_str(r, v, name, &p->tu);
	case K_MTU: return want_str(r, v, name, &p->mtu);
	case K_TUTH: return want_int(r, v, name, PROFILE_MAX_NUM, &p->tuth);
	case K_CMD: return want_str(r, v, name, &p->cmd);
	case K_PID: return want_int(r, v, name, PROFILE_MAX_NUM, &p->pid);
	case K_TE: return want_int(r, v, name, INT64_MAX, &p->te);
	case K_TG: return want_int(r, v, name, INT64_MAX, &p->tg);
	case K_AUDIOPROF: return read_audioprof(r, v);
	case K_PPS: case K_FTBL: case K_COUNT: break;
	}
	return 0;
}

