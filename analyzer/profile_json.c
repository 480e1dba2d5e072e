/* profile_json.c - the meaning half of the profile reader: takes values that jansson
 * decoded (profile_read.c's scanner hands them over one at a time) and stores them in
 * struct profile, checking each field's type and range and naming the field in any
 * error ("pps[12].fs[3]: ..."). The audio extension (callbacks, zones, violations, slow
 * cycles) too. The fields of each object, their types and which are required come from
 * the schema (common/profile_schema.h). */
#include "profile_int.h"
#include "durhist.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of violation audio_violations.c names (audio_kind_names[]): nothing else is
 * a profile. */
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

/* A table entry for each field of a schema list (common/profile_schema.h) that a
 * reader keeps in struct S (profile_read.h's PROFILE_MEMBER): required when the schema
 * says the field is in every such object. */
#define RD_REQUIRED_ALWAYS 1
#define RD_REQUIRED_BKLT 0      /* validate() checks these once "bklt" is known */
#define RD_REQUIRED_AUDIOPROF 0
#define RD_REQUIRED_NEWER 0
#define RD_REQUIRED_OPTIONAL 0
#define RD_FIELD(S, key, type, presence) RD_FIELD_##type(S, key, RD_REQUIRED_##presence)
#define RD_FIELD_UINT(S, k, req) { #k, F_INT, offsetof(S, k), req },
#define RD_FIELD_UINT64(S, k, req) { #k, F_TL, offsetof(S, k), req },
#define RD_FIELD_NUM(S, k, req) { #k, F_PCT, offsetof(S, k), req },
#define RD_FIELD_STR(S, k, req) { #k, F_STR, offsetof(S, k), req },
/* Read by code of their own: */
#define RD_FIELD_SINT(S, k, req)
#define RD_FIELD_BOOL(S, k, req)
#define RD_FIELD_VERSION(S, k, req)
#define RD_FIELD_FRAMES(S, k, req)
#define RD_FIELD_INTS(S, k, req)
#define RD_FIELD_STRS(S, k, req)
#define RD_FIELD_OBJECT(S, k, req)
#define RD_FIELD_OBJECTS(S, k, req)

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Every field of a table "absent": numbers -1, strings "". */
static void init_fields(const struct field *f, size_t n, void *dst)
{
	for (size_t i = 0; i < n; i++) {
		char *d = (char *)dst + f[i].off;
		switch (f[i].type) {
		case F_INT: case F_TL: *(int64_t *)d = -1; break;
		case F_PCT: *(double *)d = -1; break;
		case F_STR: *(const char **)d = ""; break;
		}
	}
}

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

#define PP_FIELD(key, src, type, unit, presence, what) RD_FIELD(struct pp, key, type, presence)
static const struct field pp_fields[] = { PROFILE_PP(PP_FIELD) };

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
	init_fields(pp_fields, NFIELDS(pp_fields), pp);
	if (read_fields(r, o, ctx, pp_fields, NFIELDS(pp_fields), pp))
		return -1;
	if (read_fs(r, json_object_get(o, "fs"), ctx, &pp->fs_off, &pp->fs_len))
		return -1;
	p->has_slk |= pp->slk >= 0;
	p->has_cb |= pp->cbk >= 0;
	p->npps++;
	return 0;
}

/* ------------------------------------------------------------------ the audioprof object */

#define CB_FIELD(key, type, unit, presence, what) RD_FIELD(struct callback, key, type, presence)
static const struct field cb_fields[] = { PROFILE_CALLBACK(CB_FIELD) };

#define ZONE_FIELD(key, type, unit, presence, what) RD_FIELD(struct zone, key, type, presence)
static const struct field zone_fields[] = { PROFILE_ZONE(ZONE_FIELD) };

/* "dur_hist" of a callback source or zone, as audio_json.c's durhist_json() writes it: pairs
 * of bucket index (common/durhist.h) and count, the buckets rising, into *out: counts
 * per bucket, DURHIST_BUCKETS of them. The counts are not checked against "count": a
 * snapshot of a running program may be a cycle apart. */
static int read_dur_hist(struct rd *r, const json_t *a, const char *ctx, uint64_t **out)
{
	char what[128];
	snprintf(what, sizeof(what), "%s.dur_hist", ctx);
	if (!json_is_array(a))
		return rd_fail(r, "%s: expected an array, found %s", what, rd_type_desc(a));
	size_t n = json_array_size(a);
	if (n % 2)
		return rd_fail(r, "%s: %zu numbers: expected pairs of bucket and count", what, n);
	*out = calloc(DURHIST_BUCKETS, sizeof(**out));
	if (!*out)
		return rd_fail(r, "out of memory");
	int64_t prev = -1, b, c;
	for (size_t i = 0; i < n; i += 2) {
		char w[160];
		snprintf(w, sizeof(w), "%s[%zu]", what, i);
		if (want_int(r, json_array_get(a, i), w, PROFILE_MAX_NUM, &b))
			return -1;
		if (b >= DURHIST_BUCKETS)
			return rd_fail(r, "%s: bucket %" PRId64 " is out of range (0 to %d)", w, b,
				    DURHIST_BUCKETS - 1);
		if (b <= prev)
			return rd_fail(r, "%s: bucket %" PRId64 " after %" PRId64 ": the buckets "
				    "must rise", w, b, prev);
		prev = b;
		snprintf(w, sizeof(w), "%s[%zu]", what, i + 1);
		if (want_int(r, json_array_get(a, i + 1), w, PROFILE_MAX_NUM, &c))
			return -1;
		(*out)[b] = (uint64_t)c;
	}
	return 0;
}

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
		init_fields(zone_fields, NFIELDS(zone_fields), z);
		cb->nzones++;      /* counted first, so that profile_free() frees dur_hist */
		if (read_fields(r, o, what, zone_fields, NFIELDS(zone_fields), z))
			return -1;
		const json_t *h = json_object_get(o, "dur_hist");
		if (h && read_dur_hist(r, h, what, &z->dur_hist))
			return -1;
	}
	return 0;
}

#define TOT_FIELD(key, type, unit, presence, what) RD_FIELD(struct totals, key, type, presence)
static const struct field totals_fields[] = { PROFILE_TOTALS(TOT_FIELD) };

/* The audioprof object's fields kept in struct profile (version is read first, the
 * objects and arrays below). */
#define AP_FIELD(key, type, unit, presence, what) RD_FIELD(struct profile, key, type, presence)
static const struct field ap_fields[] = { PROFILE_AUDIOPROF(AP_FIELD) };

void rd_json_init(struct profile *p)
{
	init_fields(ap_fields, NFIELDS(ap_fields), p);
}

/* A callback's load histogram, as audio_json.c's hist_json() writes it: "edges_pct", the
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

/* ---- slow cycles and violation times: keys checked against the schema (PROFILE_KEY) */

PROFILE_KEYS(PROFILE_AUDIOPROF);
PROFILE_KEYS(PROFILE_CALLBACK);
PROFILE_KEYS(PROFILE_VIOLATION);
PROFILE_KEYS(PROFILE_SLOW_CYCLE);
PROFILE_KEYS(PROFILE_CYCLE_VIOLATION);
PROFILE_KEYS(PROFILE_CPU);
PROFILE_KEYS(PROFILE_CPU_CALLBACK);
PROFILE_KEYS(PROFILE_CPU_STACK);

#define K_SLOW_CYCLES       PROFILE_KEY(PROFILE_CALLBACK, slow_cycles)
#define K_TIME_NS           PROFILE_KEY(PROFILE_VIOLATION, time_ns)
#define K_TIME_MAX_NS       PROFILE_KEY(PROFILE_VIOLATION, time_max_ns)

#define SCK(k) PROFILE_KEY(PROFILE_SLOW_CYCLE, k)
#define SCI(k) { SCK(k), F_INT, offsetof(struct slow_cycle, k), 1 }
static const struct field slow_fields[] = {
	SCI(cycle), SCI(start_ns), SCI(dur_ns), SCI(deadline_ns),
	{ SCK(load_pct), F_PCT, offsetof(struct slow_cycle, load_pct), 1 },
	{ SCK(violations_more), F_INT, offsetof(struct slow_cycle, violations_more), 0 },
	{ SCK(cpu_samples), F_INT, offsetof(struct slow_cycle, cpu_samples), 0 },
};

#define CVK(k) PROFILE_KEY(PROFILE_CYCLE_VIOLATION, k)
static const struct field cycv_fields[] = {
	{ CVK(call), F_STR, offsetof(struct cycle_violation, call), 1 },
	{ CVK(library), F_STR, offsetof(struct cycle_violation, library), 0 },
	{ CVK(count), F_INT, offsetof(struct cycle_violation, count), 1 },
	{ CVK(time_ns), F_INT, offsetof(struct cycle_violation, time_ns), 0 },
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
		const json_t *k = json_object_get(o, CVK(kind));
		if (!k)
			return rd_fail(r, "%s: missing \"%s\"", what, CVK(kind));
		char w[192];
		snprintf(w, sizeof(w), "%s.kind", what);
		if (want_str(r, k, w, &v->kind))
			return -1;
		if (!known_kind(v->kind))
			return rd_fail(r, "%s: unknown kind \"%s\"", w, v->kind);
		if (read_fields(r, o, what, cycv_fields, sizeof(cycv_fields) / sizeof(cycv_fields[0]), v))
			return -1;
		if (read_fs(r, json_object_get(o, CVK(fs)), what, &v->fs_off, &v->fs_len))
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
		c->cpu_samples = -1;
		if (read_fields(r, o, what, slow_fields, sizeof(slow_fields) / sizeof(slow_fields[0]), c))
			return -1;
		const json_t *x;
		char w[128];
		if ((x = json_object_get(o, SCK(slowest)))) {
			snprintf(w, sizeof(w), "%s.slowest", what);
			if (want_bool(r, x, w, &c->slowest))
				return -1;
		}
		if ((x = json_object_get(o, SCK(overrun)))) {
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
		if ((x = json_object_get(o, SCK(violations))) && read_cycle_violations(r, x, what, c))
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
		init_fields(cb_fields, NFIELDS(cb_fields), cb);
		p->ncallbacks++;   /* counted first, so that profile_free() frees its zones */
		if (read_fields(r, o, ctx, cb_fields, NFIELDS(cb_fields), cb))
			return -1;
		const json_t *z = json_object_get(o, "zones");
		if (z && read_zones(r, z, ctx, cb))
			return -1;
		if ((z = json_object_get(o, "dur_hist")) && read_dur_hist(r, z, ctx, &cb->dur_hist))
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
			/* audio_json.c: a try-lock is a warning, everything else a violation. */
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

/* "audioprof.cpu" (PROFILE_CPU* in common/profile_schema.h): every field the analyzer
 * uses from the CPU sampler, read and checked here only. */
static int read_cpu(struct rd *r, const json_t *o)
{
	struct cpu_samples *c = &r->p->cpu;
	char what[96];
	if (!json_is_object(o))
		return rd_fail(r, "audioprof.%s: expected an object, found %s", PROFILE_KEY(PROFILE_AUDIOPROF, cpu),
			    rd_type_desc(o));
	static const struct { const char *key; size_t off; } nums[] = {
		{ PROFILE_KEY(PROFILE_CPU, rate_hz), offsetof(struct cpu_samples, rate_hz) },
		{ PROFILE_KEY(PROFILE_CPU, signal), offsetof(struct cpu_samples, signal) },
		{ PROFILE_KEY(PROFILE_CPU, threads), offsetof(struct cpu_samples, threads) },
		{ PROFILE_KEY(PROFILE_CPU, samples), offsetof(struct cpu_samples, samples) },
		{ PROFILE_KEY(PROFILE_CPU, outside_rt), offsetof(struct cpu_samples, outside_rt) },
		{ PROFILE_KEY(PROFILE_CPU, lost), offsetof(struct cpu_samples, lost) },
		{ PROFILE_KEY(PROFILE_CPU, overruns), offsetof(struct cpu_samples, overruns) },
		{ PROFILE_KEY(PROFILE_CPU, truncated), offsetof(struct cpu_samples, truncated) },
		{ PROFILE_KEY(PROFILE_CPU, handler_ns), offsetof(struct cpu_samples, handler_ns) },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int64_t *dst = (int64_t *)((char *)c + nums[i].off);
		const json_t *v = json_object_get(o, nums[i].key);
		*dst = -1;
		snprintf(what, sizeof(what), "audioprof.cpu.%s", nums[i].key);
		if (v && want_int(r, v, what, PROFILE_MAX_NUM, dst))
			return -1;
	}
	c->mode = "rt";
	const json_t *v = json_object_get(o, PROFILE_KEY(PROFILE_CPU, mode));
	snprintf(what, sizeof(what), "audioprof.cpu.%s", PROFILE_KEY(PROFILE_CPU, mode));
	if (v && want_str(r, v, what, &c->mode))
		return -1;
	const json_t *a = json_object_get(o, PROFILE_KEY(PROFILE_CPU, callbacks));
	if (a) {
		if (!json_is_array(a))
			return rd_fail(r, "audioprof.cpu.%s: expected an array, found %s",
				    PROFILE_KEY(PROFILE_CPU, callbacks), rd_type_desc(a));
		size_t n = json_array_size(a);
		c->sources = calloc(n ? n : 1, sizeof(*c->sources));
		if (!c->sources)
			return rd_fail(r, "out of memory");
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(a, i);
			struct cpu_source *s = &c->sources[i];
			static const char *const keys[] = {
				PROFILE_KEY(PROFILE_CPU_CALLBACK, callback),
				PROFILE_KEY(PROFILE_CPU_CALLBACK, samples),
				PROFILE_KEY(PROFILE_CPU_CALLBACK, in_profiler) };
			int64_t *dst[] = { &s->callback, &s->samples, &s->in_profiler };
			if (!json_is_object(e))
				return rd_fail(r, "audioprof.cpu.%s[%zu]: expected an object, found %s",
					    PROFILE_KEY(PROFILE_CPU, callbacks), i, rd_type_desc(e));
			for (size_t k = 0; k < 3; k++) {
				const json_t *x = json_object_get(e, keys[k]);
				*dst[k] = k == 0 ? -1 : 0;
				snprintf(what, sizeof(what), "audioprof.cpu.%s[%zu].%s", PROFILE_KEY(PROFILE_CPU, callbacks), i,
					 keys[k]);
				if (x && !(k == 0 && json_is_integer(x) && json_integer_value(x) == -1) &&
				    want_int(r, x, what, PROFILE_MAX_NUM, dst[k]))
					return -1;
			}
			c->nsources++;
		}
	}
	a = json_object_get(o, PROFILE_KEY(PROFILE_CPU, stacks));
	if (a) {
		if (!json_is_array(a))
			return rd_fail(r, "audioprof.cpu.%s: expected an array, found %s",
				    PROFILE_KEY(PROFILE_CPU, stacks), rd_type_desc(a));
		size_t n = json_array_size(a);
		c->stacks = calloc(n ? n : 1, sizeof(*c->stacks));
		if (!c->stacks)
			return rd_fail(r, "out of memory");
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(a, i), *x;
			struct cpu_stack *s = &c->stacks[i];
			char ctx[64];
			snprintf(ctx, sizeof(ctx), "audioprof.cpu.%s[%zu]", PROFILE_KEY(PROFILE_CPU, stacks), i);
			if (!json_is_object(e))
				return rd_fail(r, "%s: expected an object, found %s", ctx, rd_type_desc(e));
			s->callback = -1;
			if ((x = json_object_get(e, PROFILE_KEY(PROFILE_CPU_STACK, callback))) &&
			    !(json_is_integer(x) && json_integer_value(x) == -1)) {
				snprintf(what, sizeof(what), "%s.%s", ctx, PROFILE_KEY(PROFILE_CPU_STACK, callback));
				if (want_int(r, x, what, PROFILE_MAX_NUM, &s->callback))
					return -1;
			}
			if (!(x = json_object_get(e, PROFILE_KEY(PROFILE_CPU_STACK, count))))
				return rd_fail(r, "%s: missing \"%s\"", ctx, PROFILE_KEY(PROFILE_CPU_STACK, count));
			snprintf(what, sizeof(what), "%s.%s", ctx, PROFILE_KEY(PROFILE_CPU_STACK, count));
			if (want_int(r, x, what, PROFILE_MAX_NUM, &s->count))
				return -1;
			if (read_fs(r, json_object_get(e, PROFILE_KEY(PROFILE_CPU_STACK, fs)), ctx, &s->fs_off, &s->fs_len))
				return -1;
			c->nstacks++;
		}
	}
	r->p->has_cpu = 1;
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
	if (read_fields(r, o, "audioprof", ap_fields, NFIELDS(ap_fields), p))
		return -1;
	if ((v = json_object_get(o, "totals"))) {
		if (!json_is_object(v))
			return rd_fail(r, "audioprof.totals: expected an object, found %s", rd_type_desc(v));
		if (read_fields(r, v, "audioprof.totals", totals_fields, NFIELDS(totals_fields),
				&p->totals))
			return -1;
		p->has_totals = 1;
	}
	if ((v = json_object_get(o, "callbacks")) && read_callbacks(r, v))
		return -1;
	if ((v = json_object_get(o, "violations")) && read_violations(r, v))
		return -1;
	if ((v = json_object_get(o, PROFILE_KEY(PROFILE_AUDIOPROF, cpu))) && read_cpu(r, v))
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ top level */

int rd_json_top(struct rd *r, enum top_key k, const json_t *v)
{
	struct profile *p = r->p;
	const char *name = rd_top_names[k];
	switch (k) {
	case K_dhatFileVersion: return want_int(r, v, name, PROFILE_MAX_NUM, &p->dhat_version);
	case K_mode: return want_str(r, v, name, &p->mode);
	case K_verb: return want_str(r, v, name, &p->verb);
	case K_bklt: return want_bool(r, v, name, &p->bklt);
	case K_bkacc: return want_bool(r, v, name, &p->bkacc);
	case K_tu: return want_str(r, v, name, &p->tu);
	case K_Mtu: return want_str(r, v, name, &p->mtu);
	case K_tuth: return want_int(r, v, name, PROFILE_MAX_NUM, &p->tuth);
	case K_cmd: return want_str(r, v, name, &p->cmd);
	case K_pid: return want_int(r, v, name, PROFILE_MAX_NUM, &p->pid);
	case K_te: return want_int(r, v, name, INT64_MAX, &p->te);
	case K_tg: return want_int(r, v, name, INT64_MAX, &p->tg);
	case K_audioprof: return read_audioprof(r, v);
	case K_pps: case K_ftbl: case K_COUNT: break;
	}
	return 0;
}

