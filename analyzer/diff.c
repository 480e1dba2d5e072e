/* diff.c - `audioprof diff BASE NEW` (or `BASE... -- NEW...`): what got worse and what
 * got better between profiles of the same program. Sites are matched by their frames
 * without addresses (ASLR moves those between runs), callbacks by (api, name);
 * thresholds turn a change into a regression and exit status 1, for CI.
 *
 * Timing is noisy, heap counts are not. When every run of both sides has a callback's
 * duration histogram ("dur_hist"), its p50 and p99 are compared statistically
 * (stats.h: the runs of a side pooled, a bootstrap interval for the relative change
 * and its p-value): a regression only when the change is significant and larger than
 * the noise threshold; its zones, matched by name, the same way. Without histograms, the fixed --fail-p99-pct comparison of
 * before. Heap totals and sites are exact comparisons of the first file of each side. */
#include "analyze.h"
#include "cli.h"
#include "fmt.h"
#include "intern.h"
#include "options.h"
#include "profile_read.h"
#include "rules.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TOP    10
#define DEFAULT_FRAMES 4

/* ------------------------------------------------------------------ thresholds */

enum fail_id {
	F_P99_PCT,               /* a callback's p99 grew by more than P % */
	F_CALLBACK_ALLOCS,       /* callback allocations grew by more than N */
	F_OVERRUNS,              /* overruns grew by more than N */
	F_BYTES_PCT,             /* total bytes allocated grew by more than P % */
	F_BLOCKS_PCT,            /* total blocks allocated grew by more than P % */
	F_PEAK_PCT,              /* peak heap grew by more than P % */
	F_LEAKED,                /* bytes leaked grew by more than SIZE */
	F_COUNT
};

static const struct {
	const char *name;        /* option without dashes */
	int pct;                 /* a percentage (else a count or size) */
	int size;                /* a size (K/M/G) */
	int on;                  /* default on */
	double def;
} fails[F_COUNT] = {
	[F_P99_PCT] = { "fail-p99-pct", 1, 0, 1, 5 },
	[F_CALLBACK_ALLOCS] = { "fail-callback-allocs", 0, 0, 1, 0 },
	[F_OVERRUNS] = { "fail-overruns", 0, 0, 0, 0 },
	[F_BYTES_PCT] = { "fail-bytes-pct", 1, 0, 0, 0 },
	[F_BLOCKS_PCT] = { "fail-blocks-pct", 1, 0, 0, 0 },
	[F_PEAK_PCT] = { "fail-peak-pct", 1, 0, 0, 0 },
	[F_LEAKED] = { "fail-leaked", 0, 1, 0, 0 },
};

#define DEFAULT_ALPHA 0.05
#define DEFAULT_NOISE 5.0

void diff_opts_init(struct diff_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < F_COUNT; i++) {
		o->on[i] = fails[i].on;
		o->limit[i] = fails[i].def;
	}
	o->top = DEFAULT_TOP;
	o->frames = DEFAULT_FRAMES;
	o->alpha = DEFAULT_ALPHA;
	o->noise = DEFAULT_NOISE;
	o->color = "auto";
}

/* ------------------------------------------------------------------ site keys */

/* Sites match when their frames, without addresses, are equal: the frame strings are
 * interned across both profiles (intern.h) and keys compared as id arrays. */

/* One side's sites, summed per key. */
struct site {
	const uint32_t *key;     /* interned frame ids (points into side.keys) */
	uint32_t klen;
	size_t pp;               /* a program point with this key (for its stack) */
	int64_t tb, tbk, gb, eb, cbk;
};

struct side {
	const struct profile *p;
	uint32_t *canon;         /* ftbl index -> interned id */
	uint32_t *keys;          /* every pp's key, back to back */
	struct site *sites;
	size_t nsites;
};

static int cmp_key(const uint32_t *a, uint32_t al, const uint32_t *b, uint32_t bl)
{
	uint32_t n = al < bl ? al : bl;
	for (uint32_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

static int cmp_site(const void *x, const void *y)
{
	const struct site *a = x, *b = y;
	return cmp_key(a->key, a->klen, b->key, b->klen);
}

static int64_t pos(int64_t v)
{
	return v > 0 ? v : 0;
}

static int side_build(struct side *s, const struct profile *p, struct intern *t)
{
	s->p = p;
	s->canon = malloc((p->nftbl ? p->nftbl : 1) * sizeof(*s->canon));
	s->keys = malloc((p->nfs ? p->nfs : 1) * sizeof(*s->keys));
	s->sites = malloc((p->npps ? p->npps : 1) * sizeof(*s->sites));
	if (!s->canon || !s->keys || !s->sites)
		return -1;
	for (size_t i = 0; i < p->nftbl; i++) {
		struct frame f;
		frame_parse(p->ftbl[i], &f);
		int64_t id = intern_get(t, f.text);
		if (id < 0)
			return -1;
		s->canon[i] = (uint32_t)id;
	}
	for (size_t i = 0; i < p->nfs; i++)
		s->keys[i] = s->canon[p->fs[i]];
	size_t n = 0;
	for (size_t i = 0; i < p->npps; i++) {
		const struct pp *pp = &p->pps[i];
		s->sites[n++] = (struct site){ s->keys + pp->fs_off, pp->fs_len, i, pos(pp->tb),
					       pos(pp->tbk), pos(pp->gb), pos(pp->eb), pos(pp->cbk) };
	}
	qsort(s->sites, n, sizeof(*s->sites), cmp_site);
	/* Sum sites whose keys became equal without addresses. */
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && cmp_site(&s->sites[w - 1], &s->sites[i]) == 0) {
			struct site *a = &s->sites[w - 1];
			a->tb += s->sites[i].tb;
			a->tbk += s->sites[i].tbk;
			a->gb += s->sites[i].gb;
			a->eb += s->sites[i].eb;
			a->cbk += s->sites[i].cbk;
		} else {
			s->sites[w++] = s->sites[i];
		}
	}
	s->nsites = w;
	return 0;
}

static void side_free(struct side *s)
{
	free(s->canon);
	free(s->keys);
	free(s->sites);
}

/* ------------------------------------------------------------------ printing */

struct change {
	const struct site *base, *new;   /* either may be NULL */
	int64_t d_tb, d_tbk, d_gb, d_eb, d_cbk;
};

static int cmp_change_worse(const void *x, const void *y)
{
	const struct change *a = x, *b = y;
	if (a->d_tb != b->d_tb)
		return a->d_tb > b->d_tb ? -1 : 1;
	if (a->d_tbk != b->d_tbk)
		return a->d_tbk > b->d_tbk ? -1 : 1;
	return 0;
}

static const char *signed_bytes(int64_t v, char *buf)
{
	char b[FMT_NUM];
	snprintf(buf, FMT_NUM, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "",
		 fmt_bytes(v < 0 ? -v : v, b));
	return buf;
}

static const char *signed_count(int64_t v, char *buf)
{
	char b[FMT_NUM];
	snprintf(buf, FMT_NUM, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", fmt_count(v < 0 ? -v : v, b));
	return buf;
}

/* Percentage change; "new" when the base is 0. */
static const char *change_pct(int64_t base, int64_t now, char *buf)
{
	if (base == now)
		snprintf(buf, FMT_NUM, "0%%");
	else if (base <= 0)
		snprintf(buf, FMT_NUM, "new");
	else
		snprintf(buf, FMT_NUM, "%+.1f%%", 100.0 * ((double)now - (double)base) / (double)base);
	return buf;
}

static void total_row(FILE *f, const char *what, int64_t a, int64_t b, int bytes)
{
	char x[FMT_NUM], y[FMT_NUM], d[FMT_NUM], pc[FMT_NUM];
	const char *col = b > a ? fmt_c(C_RED) : b < a ? fmt_c(C_GREEN) : "";
	fprintf(f, "  %-22s %14s %14s  %s%14s %9s%s\n", what,
		bytes ? fmt_bytes(a, x) : fmt_count(a, x), bytes ? fmt_bytes(b, y) : fmt_count(b, y),
		col, bytes ? signed_bytes(b - a, d) : signed_count(b - a, d), change_pct(a, b, pc),
		*col ? fmt_c(C_RESET) : "");
}

static void print_change(FILE *f, const struct side *sb, const struct side *sn,
			 const struct change *c, const struct diff_opts *o)
{
	char a[FMT_NUM], b[FMT_NUM], e[FMT_NUM];
	const char *tag = !c->base ? " (new site)" : !c->new ? " (gone)" : "";
	fprintf(f, "  %12s %14s block%s", signed_bytes(c->d_tb, a), signed_count(c->d_tbk, b),
		c->d_tbk == 1 || c->d_tbk == -1 ? "" : "s");
	if (c->d_gb)
		fprintf(f, ", at peak %s", signed_bytes(c->d_gb, e));
	if (c->d_eb)
		fprintf(f, ", leaked %s", signed_bytes(c->d_eb, e));
	if (c->d_cbk)
		fprintf(f, ", in callbacks %s", signed_count(c->d_cbk, e));
	fprintf(f, "%s\n", tag);
	const struct side *s = c->new ? sn : sb;
	const struct site *st = c->new ? c->new : c->base;
	const struct pp *pp = &s->p->pps[st->pp];
	report_print_stack(f, s->p, pp->fs_off, pp->fs_len, 6, o->frames, o->width);
}

/* ------------------------------------------------------------------ callbacks */

/* Callbacks match by (api, name), the k-th of a name in BASE with the k-th in NEW. Each
 * side's callbacks are grouped by (api, name) in a hash table, so matching costs linear
 * time (a scan per callback made 100,000 callbacks take minutes). */
struct cbidx {
	const struct profile *p;
	uint32_t *slot;          /* open addressing, load <= 1/2: group + 1, 0 empty */
	size_t cap;              /* slots, a power of two */
	uint32_t *grp, *occ;     /* per callback: its group, and k (its rank in the group) */
	size_t *members;         /* callbacks by group: group g's k-th is members[off[g] + k] */
	size_t *off, *cnt;       /* per group: where its members start, how many */
	size_t ngroups;
};

static uint64_t cb_hash(const char *api, const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *s = api; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;   /* a byte no string holds: ("ab","c") != ("a","bc") */
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot of (api, name) in x: its group's, or the empty one where it belongs. */
static uint32_t *cb_slot(const struct cbidx *x, const char *api, const char *name)
{
	size_t mask = x->cap - 1;
	for (size_t i = (size_t)cb_hash(api, name) & mask;; i = (i + 1) & mask) {
		uint32_t g = x->slot[i];
		if (!g)
			return &x->slot[i];
		const struct callback *c = &x->p->callbacks[x->members[x->off[g - 1]]];
		if (strcmp(c->api, api) == 0 && strcmp(c->name, name) == 0)
			return &x->slot[i];
	}
}

static int cbidx_build(struct cbidx *x, const struct profile *p)
{
	size_t n = p->ncallbacks;
	x->p = p;
	x->cap = 16;
	while (x->cap < 2 * n)
		x->cap *= 2;
	x->slot = calloc(x->cap, sizeof(*x->slot));
	x->grp = malloc((n ? n : 1) * sizeof(*x->grp));
	x->occ = malloc((n ? n : 1) * sizeof(*x->occ));
	x->members = malloc((n ? n : 1) * sizeof(*x->members));
	x->off = calloc(n ? n : 1, sizeof(*x->off));
	x->cnt = calloc(n ? n : 1, sizeof(*x->cnt));
	if (!x->slot || !x->grp || !x->occ || !x->members || !x->off || !x->cnt)
		return -1;
	/* Groups in order of first appearance; a group's first member is known at once
	 * (members[off[g]] is what cb_slot compares with), the rest placed after counting. */
	for (size_t i = 0; i < n; i++) {
		const struct callback *c = &p->callbacks[i];
		uint32_t *s = cb_slot(x, c->api, c->name);
		if (!*s) {
			x->off[x->ngroups] = i;   /* provisional: the first member's index */
			x->members[i] = i;
			*s = (uint32_t)++x->ngroups;
		}
		x->grp[i] = *s - 1;
		x->occ[i] = (uint32_t)x->cnt[*s - 1]++;
	}
	size_t at = 0;
	for (size_t g = 0; g < x->ngroups; g++) {
		size_t c = x->cnt[g];
		x->off[g] = at;
		at += c;
	}
	for (size_t i = 0; i < n; i++)
		x->members[x->off[x->grp[i]] + x->occ[i]] = i;
	return 0;
}

static void cbidx_free(struct cbidx *x)
{
	free(x->slot);
	free(x->grp);
	free(x->occ);
	free(x->members);
	free(x->off);
	free(x->cnt);
}

/* The callback of x that matches callback i of `of` (same api and name, same rank), or -1. */
static long cb_match(const struct cbidx *x, const struct cbidx *of, size_t i)
{
	const struct callback *c = &of->p->callbacks[i];
	uint32_t g = *cb_slot(x, c->api, c->name);
	if (!g || of->occ[i] >= x->cnt[g - 1])
		return -1;
	return (long)x->members[x->off[g - 1] + of->occ[i]];
}

static int64_t cb_allocs(const struct profile *p)
{
	int64_t s = 0;
	if (p->has_audio) {
		for (size_t i = 0; i < p->ncallbacks; i++)
			s += pos(p->callbacks[i].allocs);
	} else {
		for (size_t i = 0; i < p->npps; i++)
			s += pos(p->pps[i].cbk);
	}
	return s;
}

static int64_t cb_overruns(const struct profile *p)
{
	int64_t s = 0;
	for (size_t i = 0; i < p->ncallbacks; i++)
		s += pos(p->callbacks[i].overruns);
	return s;
}

/* ------------------------------------------------------------------ the diff */

static int regression(int *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int regression(int *n, const char *fmt, ...)
{
	va_list ap;
	if (*n == 0)
		printf("\n%sRegressions%s\n", fmt_c(C_BOLD), fmt_c(C_RESET));
	printf("  %sREGRESSION%s ", fmt_c(C_RED), fmt_c(C_RESET));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return ++*n;
}

static double grow_pct(int64_t a, int64_t b)
{
	if (b <= a)
		return 0;
	if (a <= 0)
		return INFINITY;
	return 100.0 * ((double)b - (double)a) / (double)a;
}

/* ------------------------------------------------------------------ statistics */

/* The callback of q with c's api and name and rank `occ` among those, or NULL. */
static const struct callback *cb_find(const struct profile *q, const struct callback *c,
				      uint32_t occ)
{
	for (size_t i = 0; i < q->ncallbacks; i++) {
		const struct callback *x = &q->callbacks[i];
		if (strcmp(x->api, c->api) == 0 && strcmp(x->name, c->name) == 0 && occ-- == 0)
			return x;
	}
	return NULL;
}

/* The zone of callback c named `name`, or NULL. */
static const struct zone *zone_find(const struct callback *c, const char *name)
{
	for (size_t z = 0; z < c->nzones; z++)
		if (strcmp(c->zones[z].name, name) == 0)
			return &c->zones[z];
	return NULL;
}

/* One side's histograms of callback c (rank occ), or of its zone `zname` when not NULL,
 * in each of its k runs: 0, or -1 when a run lacks the callback, the zone or its
 * histogram, or a histogram is empty or does not fit. */
static int cb_hists(const struct profile *const *ps, size_t k, const struct callback *c,
		    uint32_t occ, const char *zname, struct stats_hist *h)
{
	for (size_t r = 0; r < k; r++) {
		const struct callback *x = cb_find(ps[r], c, occ);
		const struct zone *z = x && zname ? zone_find(x, zname) : NULL;
		if (!x || (zname && !z))
			return -1;
		const uint64_t *hist = z ? z->dur_hist : x->dur_hist;
		int64_t lo = z ? z->min_ns : x->min_ns, hi = z ? z->max_ns : x->max_ns;
		if (!hist || stats_hist_set(&h[r], hist, DURHIST_BUCKETS, (uint64_t)pos(lo),
					    (uint64_t)pos(hi)) != 0 || h[r].count == 0)
			return -1;
	}
	return 0;
}

enum verdict { V_NONE, V_NOISE, V_BETTER, V_WORSE, V_FEW, V_FAMILY };

static const char *const verdict_text[] = {
	[V_NONE] = "no change", [V_NOISE] = "within the noise threshold",
	[V_BETTER] = "improvement", [V_WORSE] = "regression",
	[V_FEW] = "too few cycles in the tail to tell",
	[V_FAMILY] = "not significant among the zones' comparisons (Holm)",
};

static enum verdict verdict_of(const struct stats_change *c, const struct diff_opts *o)
{
	if (c->tail < 5)
		return V_FEW;
	if (!(c->p < o->alpha))
		return V_NONE;
	if (c->change * 100.0 > o->noise)
		return V_WORSE;
	if (c->change * 100.0 < -o->noise)
		return V_BETTER;
	return V_NOISE;
}

/* "+3.1% [-1.2%, +7.8%], p = 0.21" */
static const char *change_text(const struct stats_change *c, char *buf, size_t len)
{
	char p[32];
	if (c->p <= 0)
		snprintf(p, sizeof(p), "p < %.2g", 2.0 / STATS_RESAMPLES);
	else
		snprintf(p, sizeof(p), "p = %.2g", c->p);
	snprintf(buf, len, "%+.1f%% [%+.1f%%, %+.1f%%], %s", 100.0 * c->change, 100.0 * c->lo,
		 100.0 * c->hi, p);
	return buf;
}

/* A matched callback's (or one of its zones') p50 and p99 (index 0, 1), when every
 * run has its histogram. */
struct cb_stat {
	int ok;                  /* compared statistically */
	struct stats_change q[2];
	enum verdict v[2];
};
static const double stat_q[2] = { 0.50, 0.99 };
static const char *const stat_name[2] = { "p50", "p99" };

/* Compares callback cb of the base runs with cn of the new ones, or their zones named
 * `zname` when not NULL. 0 (out->ok says whether it could), -1 out of memory. */
static int cb_stat(const struct profile *const *pbs, size_t nb, const struct profile *const *pns,
		   size_t nn, const struct callback *cb, uint32_t occb, const struct callback *cn,
		   uint32_t occn, const char *zname, const struct diff_opts *o, struct cb_stat *out)
{
	memset(out, 0, sizeof(*out));
	struct stats_hist *h = malloc((nb + nn) * sizeof(*h));
	const struct stats_hist **hp = malloc((nb + nn) * sizeof(*hp));
	int rc = -1;
	if (!h || !hp)
		goto out;
	rc = 0;
	if (cb_hists(pbs, nb, cb, occb, zname, h) != 0 ||
	    cb_hists(pns, nn, cn, occn, zname, h + nb) != 0)
		goto out;
	for (size_t r = 0; r < nb + nn; r++)
		hp[r] = &h[r];
	for (int k = 0; k < 2; k++) {
		if (stats_quantile_change_runs(hp, nb, hp + nb, nn, stat_q[k], 1.0 - o->alpha, 0,
					       &out->q[k]) != 0)
			goto out;
		out->v[k] = verdict_of(&out->q[k], o);
	}
	out->ok = 1;
out:
	free(h);
	free(hp);
	return rc;
}

/* Holm's step-down over the zones' comparisons (each zone's p50 and p99, of every
 * callback): a callback's own p50 and p99 are the comparisons a diff is for, each at
 * the significance level, but with a dozen zones, a dozen more tests each at that level
 * would call noise a change far more often than it says. Sorted by p-value, the j-th
 * smallest (from 0) holds only when it and all before it are below alpha / (m - j); the
 * others lose their verdict. Comparisons with too few cycles in the tail are not
 * counted. Returns m. (Over the callbacks' own too, few runs a side could not find a
 * slowdown of half the time any more: Welch's t with 2 to 4 degrees of freedom gives
 * no p-value small enough.) */
struct holm_ref {
	double p;
	size_t order;            /* ties keep the order of the report */
	enum verdict *v;
};

static int cmp_holm(const void *x, const void *y)
{
	const struct holm_ref *a = x, *b = y;
	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static size_t holm(struct cb_stat **zst, const struct profile *pn,
		   const struct diff_opts *o)
{
	size_t m = 0, cap = 0;
	for (size_t i = 0; i < pn->ncallbacks; i++)
		cap += 2 * (zst[i] ? pn->callbacks[i].nzones : 0);
	struct holm_ref *r = malloc((cap ? cap : 1) * sizeof(*r));
	if (!r)
		return 0;
	for (size_t i = 0; i < pn->ncallbacks; i++) {
		size_t nz = zst[i] ? pn->callbacks[i].nzones : 0;
		for (size_t z = 0; z < nz; z++) {
			struct cb_stat *c = &zst[i][z];
			for (int k = 0; c->ok && k < 2; k++)
				if (c->v[k] != V_FEW) {
					r[m] = (struct holm_ref){ c->q[k].p, m, &c->v[k] };
					m++;
				}
		}
	}
	qsort(r, m, sizeof(*r), cmp_holm);
	size_t j = 0;
	while (j < m && r[j].p < o->alpha / (double)(m - j))
		j++;
	for (; j < m; j++)
		if (*r[j].v == V_WORSE || *r[j].v == V_BETTER || *r[j].v == V_NOISE)
			*r[j].v = V_FAMILY;
	free(r);
	return m;
}

static int run_diff(const struct profile *const *pbs, size_t nb, const struct profile *const *pns,
		    size_t nn, const struct diff_opts *o)
{
	const struct profile *pb = pbs[0], *pn = pns[0];
	struct cb_stat *st = NULL;
	struct cb_stat **zst = NULL;     /* per new callback, per zone of it */
	FILE *f = stdout;
	struct intern t = { 0 };
	struct side sb = { 0 }, sn = { 0 };
	struct cbidx xb = { 0 }, xn = { 0 };
	struct change *ch = NULL;
	int rc = -1;
	if (side_build(&sb, pb, &t) != 0 || side_build(&sn, pn, &t) != 0 ||
	    cbidx_build(&xb, pb) != 0 || cbidx_build(&xn, pn) != 0)
		goto out;

	for (size_t r = 0; r < nb; r++)
		fprintf(f, "%sBase%s %s: %s\n", fmt_c(C_BOLD), fmt_c(C_RESET), pbs[r]->path,
			pbs[r]->cmd);
	for (size_t r = 0; r < nn; r++)
		fprintf(f, "%sNew%s  %s: %s\n", fmt_c(C_BOLD), fmt_c(C_RESET), pns[r]->path,
			pns[r]->cmd);
	if (nb > 1 || nn > 1)
		fprintf(f, "Totals and sites: the first file of each side; callback timing: all "
			"runs pooled\n");
	if (strcmp(pb->tu, pn->tu) != 0)
		fprintf(f, "Note: the time units differ (%s and %s)\n", pb->tu, pn->tu);

	fprintf(f, "\n%s  %-22s %14s %14s  %14s%s\n", fmt_c(C_BOLD), "TOTALS", "BASE", "NEW",
		"CHANGE", fmt_c(C_RESET));
	const struct totals *a = &pb->totals, *b = &pn->totals;
	total_row(f, "bytes allocated", a->total_b, b->total_b, 1);
	total_row(f, "blocks allocated", a->total_k, b->total_k, 0);
	int life = pb->bklt && pn->bklt;
	if (life) {
		total_row(f, "peak", a->max_b, b->max_b, 1);
		total_row(f, "leaked at the end", a->curr_b, b->curr_b, 1);
		int64_t sa = pb->suppressed ? pb->suppressed->leak_b : 0;
		int64_t sb = pn->suppressed ? pn->suppressed->leak_b : 0;
		if (sa || sb)
			total_row(f, "leaks suppressed", sa, sb, 1);
	}
	int audio = pb->has_audio || pn->has_audio || pb->has_cb || pn->has_cb;
	if (audio)
		total_row(f, "callback allocations", cb_allocs(pb), cb_allocs(pn), 0);
	if (pb->has_audio && pn->has_audio)
		total_row(f, "callback overruns", cb_overruns(pb), cb_overruns(pn), 0);

	/* Callbacks matched by (api, name), the k-th with k-th. */
	int regs = 0, nstat = 0;
	st = calloc(pn->ncallbacks ? pn->ncallbacks : 1, sizeof(*st));
	zst = calloc(pn->ncallbacks ? pn->ncallbacks : 1, sizeof(*zst));
	if (!st || !zst)
		goto out;
	for (size_t i = 0; i < pn->ncallbacks; i++) {
		long j = cb_match(&xb, &xn, i);
		const struct callback *cn = &pn->callbacks[i];
		if (j < 0)
			continue;
		if (cb_stat(pbs, nb, pns, nn, &pb->callbacks[j], xb.occ[j], cn, xn.occ[i], NULL,
			    o, &st[i]) != 0)
			goto out;
		nstat += st[i].ok;
		/* Its zones, by name, the same way. */
		if (!st[i].ok || !cn->nzones)
			continue;
		if (!(zst[i] = calloc(cn->nzones, sizeof(*zst[i]))))
			goto out;
		for (size_t z = 0; z < cn->nzones; z++)
			if (cb_stat(pbs, nb, pns, nn, &pb->callbacks[j], xb.occ[j], cn, xn.occ[i],
				    cn->zones[z].name, o, &zst[i][z]) != 0)
				goto out;
	}
	size_t nzt = holm(zst, pn, o);
	if (pb->ncallbacks || pn->ncallbacks) {
		char x[FMT_NUM], y[FMT_NUM], pc[FMT_NUM], lab[160];
		fprintf(f, "\n%s  %-22s %14s %14s  %14s%s\n", fmt_c(C_BOLD), "CALLBACKS (p99)", "BASE",
			"NEW", "CHANGE", fmt_c(C_RESET));
		for (size_t i = 0; i < pn->ncallbacks; i++) {
			const struct callback *cn = &pn->callbacks[i];
			long j = cb_match(&xb, &xn, i);
			rules_callback_label(pn, (long long)i, lab, sizeof(lab));
			if (j < 0) {
				fprintf(f, "  %-22.22s %14s %14s  (new callback)\n", lab, "-",
					fmt_ns(cn->p99_ns, y));
				continue;
			}
			const struct callback *cb = &pb->callbacks[j];
			if (cb->p99_ns < 0 || cn->p99_ns < 0) {
				fprintf(f, "  %-22.22s %14s %14s  (no p99)\n", lab, fmt_ns(cb->p99_ns, x),
					fmt_ns(cn->p99_ns, y));
				continue;
			}
			if (st[i].ok) {
				/* The pooled runs' p99, and each quantile's verdict. */
				const struct stats_change *q = &st[i].q[1];
				snprintf(pc, sizeof(pc), "%+.1f%%", 100.0 * q->change);
				fprintf(f, "  %-22.22s %14s %14s  %14s\n", lab,
					fmt_ns((int64_t)llround(q->base), x),
					fmt_ns((int64_t)llround(q->new), y), pc);
				for (int k = 0; k < 2; k++) {
					char t[128];
					enum verdict v = st[i].v[k];
					const char *col = v == V_WORSE ? fmt_c(C_RED) :
							  v == V_BETTER ? fmt_c(C_GREEN) : "";
					fprintf(f, "    %s %s: %s%s%s\n", stat_name[k],
						change_text(&st[i].q[k], t, sizeof(t)), col,
						verdict_text[v], *col ? fmt_c(C_RESET) : "");
				}
				for (size_t z = 0; zst[i] && z < cn->nzones; z++) {
					if (!zst[i][z].ok)
						continue;
					for (int k = 0; k < 2; k++) {
						char t[128];
						enum verdict v = zst[i][z].v[k];
						const char *col = v == V_WORSE ? fmt_c(C_RED) :
								  v == V_BETTER ? fmt_c(C_GREEN) : "";
						fprintf(f, "    zone \"%s\" %s %s: %s%s%s\n",
							cn->zones[z].name, stat_name[k],
							change_text(&zst[i][z].q[k], t, sizeof(t)), col,
							verdict_text[v], *col ? fmt_c(C_RESET) : "");
					}
				}
				continue;
			}
			const char *col = cn->p99_ns > cb->p99_ns ? fmt_c(C_RED) :
					  cn->p99_ns < cb->p99_ns ? fmt_c(C_GREEN) : "";
			fprintf(f, "  %-22.22s %14s %14s  %s%14s%s\n", lab, fmt_ns(cb->p99_ns, x),
				fmt_ns(cn->p99_ns, y), col, change_pct(cb->p99_ns, cn->p99_ns, pc),
				*col ? fmt_c(C_RESET) : "");
		}
		for (size_t j = 0; j < pb->ncallbacks; j++) {
			const struct callback *cb = &pb->callbacks[j];
			if (cb_match(&xn, &xb, j) >= 0)
				continue;
			rules_callback_label(pb, (long long)j, lab, sizeof(lab));
			fprintf(f, "  %-22.22s %14s %14s  (gone)\n", lab, fmt_ns(cb->p99_ns, x), "-");
		}
		if (nstat)
			fprintf(f, "  (p50, p99: change of the %s, %g %% interval and p-value from "
				"the duration histograms; a regression when p < %g and the change "
				"is over +%g%%)\n", nb > 1 || nn > 1 ? "pooled runs" : "runs",
				100.0 * (1.0 - o->alpha), o->alpha, o->noise);
		if (nzt > 1)
			fprintf(f, "  (the zones' %zu comparisons held to the significance level "
				"together: Holm's method)\n", nzt);
		if (nstat && (nb == 1 || nn == 1))
			fprintf(f, "  (one run on a side: the interval holds the spread within a "
				"run, not between runs, which is often\n   larger than %g%%; pool 3 "
				"or more runs a side for a verdict a CI can trust)\n", o->noise);
		if (!o->on[F_P99_PCT] && (pb->ncallbacks || pn->ncallbacks))
			fprintf(f, "  (--fail-p99-pct off: callback timing is shown, never a "
				"regression)\n");
	}

	/* Sites: merge-join of the two sorted key lists. */
	ch = malloc((sb.nsites + sn.nsites + 1) * sizeof(*ch));
	if (!ch)
		goto out;
	size_t nch = 0, i = 0, j = 0;
	while (i < sb.nsites || j < sn.nsites) {
		int c = i == sb.nsites ? 1 : j == sn.nsites ? -1 :
			cmp_key(sb.sites[i].key, sb.sites[i].klen, sn.sites[j].key, sn.sites[j].klen);
		const struct site *x = c <= 0 ? &sb.sites[i++] : NULL;
		const struct site *y = c >= 0 ? &sn.sites[j++] : NULL;
		struct change k = { x, y, 0, 0, 0, 0, 0 };
		k.d_tb = (y ? y->tb : 0) - (x ? x->tb : 0);
		k.d_tbk = (y ? y->tbk : 0) - (x ? x->tbk : 0);
		k.d_gb = (y ? y->gb : 0) - (x ? x->gb : 0);
		k.d_eb = (y ? y->eb : 0) - (x ? x->eb : 0);
		k.d_cbk = (y ? y->cbk : 0) - (x ? x->cbk : 0);
		if (k.d_tb || k.d_tbk || k.d_gb || k.d_eb || k.d_cbk)
			ch[nch++] = k;
	}
	qsort(ch, nch, sizeof(*ch), cmp_change_worse);
	size_t worse = 0, better = 0;
	for (size_t k = 0; k < nch; k++) {
		if (ch[k].d_tb > 0 || (ch[k].d_tb == 0 && ch[k].d_tbk > 0))
			worse++;
		else if (ch[k].d_tb < 0 || ch[k].d_tbk < 0)
			better++;
	}
	fprintf(f, "\n%sSites that got worse (%zu, by bytes allocated)%s\n", fmt_c(C_BOLD), worse,
		fmt_c(C_RESET));
	if (worse == 0)
		fprintf(f, "  (none)\n");
	for (size_t k = 0; k < worse && (o->top == 0 || k < o->top); k++)
		print_change(f, &sb, &sn, &ch[k], o);
	fprintf(f, "\n%sSites that got better (%zu)%s\n", fmt_c(C_BOLD), better, fmt_c(C_RESET));
	if (better == 0)
		fprintf(f, "  (none)\n");
	for (size_t k = 0; k < better && (o->top == 0 || k < o->top); k++)
		print_change(f, &sb, &sn, &ch[nch - 1 - k], o);

	/* Thresholds. */
	char x[FMT_NUM], y[FMT_NUM];
	double g;
	for (size_t n = 0; n < pn->ncallbacks; n++) {
		for (int k = 0; o->on[F_P99_PCT] && st[n].ok && k < 2; k++) {
			if (st[n].v[k] != V_WORSE)
				continue;
			char lab[160], t[128];
			const struct stats_change *q = &st[n].q[k];
			rules_callback_label(pn, (long long)n, lab, sizeof(lab));
			regression(&regs, "%s of %s: %s -> %s, %s (significance level %g, noise "
				   "threshold %g%%)", stat_name[k], lab,
				   fmt_ns((int64_t)llround(q->base), x), fmt_ns((int64_t)llround(q->new), y),
				   change_text(q, t, sizeof(t)), o->alpha, o->noise);
		}
		const struct callback *cn = &pn->callbacks[n];
		for (size_t z = 0; o->on[F_P99_PCT] && zst[n] && z < cn->nzones; z++) {
			for (int k = 0; zst[n][z].ok && k < 2; k++) {
				if (zst[n][z].v[k] != V_WORSE)
					continue;
				char lab[160], t[128];
				const struct stats_change *q = &zst[n][z].q[k];
				rules_callback_label(pn, (long long)n, lab, sizeof(lab));
				regression(&regs, "%s of zone \"%s\" of %s: %s -> %s, %s "
					   "(significance level %g, noise threshold %g%%)", stat_name[k],
					   cn->zones[z].name, lab, fmt_ns((int64_t)llround(q->base), x),
					   fmt_ns((int64_t)llround(q->new), y),
					   change_text(q, t, sizeof(t)), o->alpha, o->noise);
			}
		}
	}
	if (o->on[F_P99_PCT]) {
		for (size_t n = 0; n < pn->ncallbacks; n++) {
			const struct callback *cn = &pn->callbacks[n];
			long m = cb_match(&xb, &xn, n);
			if (m < 0 || pb->callbacks[m].p99_ns < 0 || cn->p99_ns < 0 || st[n].ok)
				continue;
			g = grow_pct(pb->callbacks[m].p99_ns, cn->p99_ns);
			if (g > o->limit[F_P99_PCT]) {
				char lab[160];
				rules_callback_label(pn, (long long)n, lab, sizeof(lab));
				regression(&regs, "p99 of %s: %s -> %s, %+.1f%% (limit %g%%)", lab,
					   fmt_ns(pb->callbacks[m].p99_ns, x), fmt_ns(cn->p99_ns, y), g,
					   o->limit[F_P99_PCT]);
			}
		}
	}
	if (o->on[F_CALLBACK_ALLOCS] && audio) {
		int64_t da = cb_allocs(pn) - cb_allocs(pb);
		if ((double)da > o->limit[F_CALLBACK_ALLOCS])
			regression(&regs, "callback allocations: %s more (limit %g)",
				   fmt_count(da, x), o->limit[F_CALLBACK_ALLOCS]);
	}
	if (o->on[F_OVERRUNS] && pb->has_audio && pn->has_audio) {
		int64_t d = cb_overruns(pn) - cb_overruns(pb);
		if ((double)d > o->limit[F_OVERRUNS])
			regression(&regs, "overruns: %s more (limit %g)", fmt_count(d, x),
				   o->limit[F_OVERRUNS]);
	}
	static const struct { int id; const char *what; int bytes; } pcts[] = {
		{ F_BYTES_PCT, "bytes allocated", 1 }, { F_BLOCKS_PCT, "blocks allocated", 0 },
		{ F_PEAK_PCT, "peak", 1 },
	};
	for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		int id = pcts[k].id;
		if (!o->on[id] || (id == F_PEAK_PCT && !life))
			continue;
		int64_t va = id == F_BYTES_PCT ? a->total_b : id == F_BLOCKS_PCT ? a->total_k : a->max_b;
		int64_t vb = id == F_BYTES_PCT ? b->total_b : id == F_BLOCKS_PCT ? b->total_k : b->max_b;
		g = grow_pct(va, vb);
		if (g > o->limit[id])
			regression(&regs, "%s: %s -> %s, %+.1f%% (limit %g%%)", pcts[k].what,
				   pcts[k].bytes ? fmt_bytes(va, x) : fmt_count(va, x),
				   pcts[k].bytes ? fmt_bytes(vb, y) : fmt_count(vb, y), g, o->limit[id]);
	}
	if (o->on[F_LEAKED] && life && (double)(b->curr_b - a->curr_b) > o->limit[F_LEAKED]) {
		char l[FMT_NUM];
		regression(&regs, "leaked: %s -> %s (limit +%s)", fmt_bytes(a->curr_b, x),
			   fmt_bytes(b->curr_b, y), fmt_bytes((int64_t)o->limit[F_LEAKED], l));
	}
	fprintf(f, "\n%s\n", regs ? "Result: regression" : "Result: no regression");
	rc = regs ? 1 : 0;
out:
	for (size_t i = 0; zst && i < pn->ncallbacks; i++)
		free(zst[i]);
	free(zst);
	free(st);
	free(ch);
	side_free(&sb);
	side_free(&sn);
	cbidx_free(&xb);
	cbidx_free(&xn);
	intern_free(&t);
	return rc;
}

/* ------------------------------------------------------------------ options */

_Static_assert(F_COUNT <= DIFF_FAIL_MAX, "DIFF_FAIL_MAX too small for the thresholds");

static int set_fail(struct diff_opts *o, const char *who, int id, const char *arg)
{
	if (strcmp(arg, "off") == 0) {
		o->on[id] = 0;
		return 0;
	}
	double v;
	if (fails[id].size) {
		int64_t s;
		if (options_parse_size(arg, &s) != 0)
			goto bad;
		v = (double)s;
	} else {
		char *end;
		errno = 0;
		v = strtod(arg, &end);
		if (end == arg || errno || !isfinite(v) || v < 0)
			goto bad;
		if (fails[id].pct && *end == '%')
			end++;
		if (*end)
			goto bad;
	}
	o->on[id] = 1;
	o->limit[id] = v;
	return 0;
bad:
	cli_error("%s: --%s: '%s' is not valid: expected %s or off", who, fails[id].name, arg,
		  fails[id].size ? "a size like 0, 64K, 1M" : fails[id].pct ? "a percentage" :
		  "a number");
	return -1;
}

int diff_opts_set(struct diff_opts *o, const char *who, const char *name, const char *value)
{
	int sr = suppress_opt(&o->sup, name, value);
	if (sr != 0)
		return sr;
	for (int i = 0; i < F_COUNT; i++)
		if (strcmp(name, fails[i].name) == 0)
			return set_fail(o, who, i, value) == 0 ? 1 : -1;
	if (strcmp(name, "top") == 0 || strcmp(name, "frames") == 0) {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (!*value || *end || errno || v < 0 || v > 1000000000L) {
			cli_error("%s: --%s: '%s' is not a number from 0 to %ld", who, name, value,
				  1000000000L);
			return -1;
		}
		if (name[0] == 't')
			o->top = (size_t)v;
		else
			o->frames = (int)(v > 1000 ? 1000 : v);
		return 1;
	}
	if (strcmp(name, "color") == 0 || strcmp(name, "colour") == 0) {
		if (fmt_color_init(value) != 0) {
			cli_error("%s: --color: '%s' is not auto, always or never", who, value);
			return -1;
		}
		o->color = value;
		return 1;
	}
	int alpha = strcmp(name, "significance-level") == 0;
	if (!alpha && strcmp(name, "noise-threshold") != 0)
		return 0;
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (!alpha && end != value && *end == '%')
		end++;
	if (end == value || *end || errno || !isfinite(v) || (alpha ? !(v > 0 && v < 1) : v < 0)) {
		cli_error("%s: --%s: '%s' is not valid: expected %s", who, name, value,
			  alpha ? "a number between 0 and 1, like 0.05" : "a percentage, like 5");
		return -1;
	}
	if (alpha)
		o->alpha = v;
	else
		o->noise = v;
	return 1;
}

/* ------------------------------------------------------------------ the files */

int diff_files(const char *const *base, size_t nb, const char *const *new, size_t nn,
	       const struct diff_opts *opts)
{
	struct diff_opts o = *opts;
	if (fmt_color_init(o.color) != 0)
		return EXIT_USAGE;      /* checked by diff_opts_set already */
	o.width = fmt_width();
	char err[1024];
	struct suppressions sup;
	if (suppress_load(&o.sup, &sup) != 0) {
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	struct profile **ps = calloc(nb + nn, sizeof(*ps));
	if (!ps) {
		suppress_free(&sup);
		cli_error("diff: out of memory");
		return EXIT_INPUT;
	}
	for (size_t k = 0; k < nb + nn; k++) {
		const char *path = k < nb ? base[k] : new[k - nb];
		ps[k] = profile_load(path, err, sizeof(err));
		if (!ps[k] || suppress_apply(ps[k], &sup) != 0) {
			cli_error("%s", ps[k] ? "diff: out of memory" : err);
			for (size_t m = 0; m <= k; m++)
				profile_free(ps[m]);
			free(ps);
			suppress_free(&sup);
			return EXIT_INPUT;
		}
	}
	suppress_free(&sup);
	for (size_t k = 0; o.base_shown && k < nb; k++)
		ps[k]->path = o.base_shown[k];
	int rc = run_diff((const struct profile *const *)ps, nb,
			  (const struct profile *const *)ps + nb, nn, &o);
	for (size_t k = 0; k < nb + nn; k++)
		profile_free(ps[k]);
	free(ps);
	if (rc < 0) {
		cli_error("diff: out of memory");
		return EXIT_INPUT;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("diff: cannot write the output: %s", strerror(errno));
		return EXIT_INPUT;
	}
	return rc ? EXIT_FINDINGS : EXIT_OK;
}

/* ------------------------------------------------------------------ command */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: audioprof diff [OPTIONS] BASE NEW\n"
		"       audioprof diff [OPTIONS] BASE... -- NEW...\n"
		"\n"
		"Compare profiles of the same program: totals, callbacks (matched by API\n"
		"and name) and allocation sites (matched by their frames without addresses)\n"
		"that got worse or better. Exits 1 when a change passes a threshold.\n"
		"With several runs a side, callback timing pools them; totals and sites\n"
		"compare the first file of each side.\n"
		"\n"
		"Callback timing, when every profile has the duration histograms: p50 and p99\n"
		"of each callback and each of its zones change with a confidence interval and\n"
		"p-value; a regression when significant and larger than the noise threshold:\n"
		"  --significance-level A     p-value below which a change is real (default %g)\n"
		"  --noise-threshold P        changes up to P %% are noise (default %g)\n"
		"\n"
		"Thresholds (a regression when NEW exceeds BASE by more than the value;\n"
		"'off' disables one):\n"
		"  --fail-p99-pct P           a callback's p99 duration, in %%, when there are\n"
		"                             no histograms to compare (default 5); 'off'\n"
		"                             turns every callback timing regression off\n"
		"  --fail-callback-allocs N   allocations inside callbacks (default 0)\n"
		"  --fail-overruns N          callback overruns (default off)\n"
		"  --fail-bytes-pct P         total bytes allocated, in %% (default off)\n"
		"  --fail-blocks-pct P        total blocks allocated, in %% (default off)\n"
		"  --fail-peak-pct P          peak heap bytes, in %% (default off)\n"
		"  --fail-leaked SIZE         bytes leaked at the end (default off)\n"
		"Output:\n"
		"  -n, --top N                sites to show each way (default %d; 0 = all)\n"
		"  -f, --frames N             frames per stack (default %d)\n"
		"      --color WHEN           auto, always or never\n"
		"Suppressions (audioprof(1), SUPPRESSIONS), for both profiles:\n"
		"      --suppressions FILE    leaks and violations not to count; may be repeated\n"
		"      --no-default-suppressions  count the C and C++ runtimes' own leaks too\n"
		"  -h, --help                 show this help\n"
		"\n"
		"Exit status: 0 no regression, 1 regression, 2 usage error, 3 unreadable or\n"
		"invalid BASE or NEW or suppressions file.\n", DEFAULT_ALPHA, DEFAULT_NOISE, DEFAULT_TOP,
		DEFAULT_FRAMES);
}

static const struct cli_sub sub = { "diff", "[OPTIONS] BASE NEW | BASE... -- NEW...", usage };

int cmd_diff(int argc, char **argv)
{
	enum { O_DIFF = 256 };
	static const struct option opts[] = {
		DIFF_LONG_OPTS(O_DIFF),
		SUPPRESS_LONG_OPTS(O_DIFF),
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct diff_opts o;
	diff_opts_init(&o);
	/* BASE... -- NEW...: options come before the "--", which getopt must not see. */
	int sep = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	int nargs = sep ? sep : argc;
	int c, li;
	cli_getopt_start();
	while ((c = getopt_long(nargs, argv, ":n:f:h", opts, &li)) != -1) {
		switch (c) {
		case O_DIFF:
			if (diff_opts_set(&o, "diff", opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			break;
		case 'n':
		case 'f':
			if (diff_opts_set(&o, "diff", c == 'n' ? "top" : "frames", optarg) < 0)
				return cli_usage_error(&sub);
			break;
		default:
			return cli_opt_default(&sub, c, argv);
		}
	}
	/* The files: BASE NEW, or BASE... -- NEW... ("-- BASE NEW" is the first form). */
	char **bfiles = argv + optind, **nfiles;
	int nb = nargs - optind, nn;
	if (!sep || (nb == 0 && argc - sep - 1 == 2)) {
		if (sep) {
			bfiles = argv + sep + 1;
			nb = 2;
		}
		if (nb != 2) {
			cli_error("diff: expected two files, BASE and NEW (or BASE... -- NEW...)");
			return cli_usage_error(&sub);
		}
		nfiles = bfiles + 1;
		nb = nn = 1;
	} else {
		nfiles = argv + sep + 1;
		nn = argc - sep - 1;
		if (nb < 1 || nn < 1) {
			cli_error("diff: expected at least one file on each side of --");
			return cli_usage_error(&sub);
		}
	}
	return diff_files((const char *const *)bfiles, (size_t)nb, (const char *const *)nfiles,
			  (size_t)nn, &o);
}
