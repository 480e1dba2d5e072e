/* report.c - `audioprof report FILE`: what a person wants from a profile in a minute.
 * The program and run, heap totals, peak and leaks, the top sites by a metric with their
 * stacks, the audio callbacks and every real-time violation, then advice from the rule
 * table (rules.c). Text for a terminal, or --json for machines. */
#include "analyze.h"
#include "cli.h"
#include "cpu.h"
#include "fmt.h"
#include "metrics.h"
#include "profile_read.h"
#include "rules.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TOP    10
#define DEFAULT_FRAMES 6

struct report_opts {
	size_t top;              /* sites to show; 0 = all */
	enum metric sort;
	int frames;              /* frames per stack */
	int json;
	int width;
};

/* ------------------------------------------------------------------ usage */

static void usage(FILE *f)
{
	char m[128];
	fprintf(f,
		"Usage: audioprof report [OPTIONS] FILE\n"
		"\n"
		"Summarise a profile: program, duration, heap totals, peak, leaks, allocation\n"
		"rate, the top allocation sites with their stacks, audio callbacks with their\n"
		"timing, every real-time violation, and advice. FILE '-' is standard input.\n"
		"\n"
		"Options:\n"
		"  -n, --top N          sites to show (default %d; 0 = all)\n"
		"  -s, --sort METRIC    %s\n"
		"                       (default bytes)\n"
		"  -f, --frames N       frames per stack (default %d)\n"
		"      --json           machine-readable JSON instead of text\n"
		"      --color WHEN     auto (default: on a terminal, unless NO_COLOR is set),\n"
		"                       always or never\n"
		"      --list-rules     list the advice rules and exit\n"
		"      --suppressions FILE  leaks and violations not to count (audioprof(1),\n"
		"                       SUPPRESSIONS); may be repeated\n"
		"      --no-default-suppressions  report the C and C++ runtimes' own leaks too\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit status: 0 ok, 2 usage error, 3 unreadable or invalid FILE or suppressions\n"
		"file.\n",
		DEFAULT_TOP, metric_list((1u << M_LIFETIME) - 1, m, sizeof(m)), DEFAULT_FRAMES);
}

static const struct cli_sub sub = { "report", "[OPTIONS] FILE", usage };

/* ------------------------------------------------------------------ stacks */

/* Copies s cut to `cols` bytes (never inside a UTF-8 sequence), "..." marking a cut. */
static void cut(const char *s, int cols, char *out, size_t outlen)
{
	size_t n = strlen(s);
	if (cols < 4)
		cols = 4;
	if (n <= (size_t)cols) {
		snprintf(out, outlen, "%.*s", (int)(outlen - 1), s);
		return;
	}
	size_t k = (size_t)cols - 3;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	snprintf(out, outlen, "%.*s...", (int)k, s);
}

void report_print_stack(FILE *f, const struct profile *p, uint32_t off, uint32_t len,
			int indent, int max, int width)
{
	uint32_t i = 0;
	struct frame fr;
	if (len > 0) {
		frame_parse(p->ftbl[p->fs[off]], &fr);
		if (frame_is_allocator(&fr) && len > 1)
			i = 1;
	}
	/* Frames worth showing: up to and including main(). */
	uint32_t end = len;
	for (uint32_t k = i; k < len; k++) {
		frame_parse(p->ftbl[p->fs[off + k]], &fr);
		if (frame_is_main(&fr)) {
			end = k + 1;
			break;
		}
		if (frame_is_thread_start(&fr) && k > i) {
			end = k;
			break;
		}
	}
	char buf[1024];
	int shown = 0;
	for (uint32_t k = i; k < end; k++) {
		if (max > 0 && shown == max) {
			fprintf(f, "%*s%s... %u more frame%s%s\n", indent, "", fmt_c(C_DIM), end - k,
				end - k == 1 ? "" : "s", fmt_c(C_RESET));
			return;
		}
		frame_parse(p->ftbl[p->fs[off + k]], &fr);
		cut(fr.text, width - indent - 3, buf, sizeof(buf));
		fprintf(f, "%*s%s %s\n", indent, "", shown == 0 ? "at" : "by", buf);
		shown++;
	}
}

/* The allocation function of a stack (its allocator frame 0), or "". */
static void alloc_func(const struct profile *p, const struct pp *pp, char *buf, size_t len)
{
	struct frame fr;
	frame_parse(p->ftbl[p->fs[pp->fs_off]], &fr);
	if (frame_is_allocator(&fr) && pp->fs_len > 1)
		snprintf(buf, len, "%.*s", (int)fr.func_len, fr.func);
	else
		buf[0] = '\0';
}

/* ------------------------------------------------------------------ sorting */

static const struct profile *sort_p;
static enum metric sort_m;

static int cmp_site(const void *a, const void *b)
{
	const struct pp *x = &sort_p->pps[*(const size_t *)a], *y = &sort_p->pps[*(const size_t *)b];
	int64_t vx = metric_value(x, sort_m), vy = metric_value(y, sort_m);
	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->tb != y->tb)
		return x->tb > y->tb ? -1 : 1;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	return ia < ib ? -1 : ia > ib;
}

/* Indices of the sites with a non-zero metric, best first; *n of them (all, sorted). */
static size_t *sorted_sites(const struct profile *p, enum metric m, size_t *n)
{
	size_t *idx = malloc((p->npps ? p->npps : 1) * sizeof(*idx));
	if (!idx)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < p->npps; i++)
		if (metric_value(&p->pps[i], m) > 0)
			idx[k++] = i;
	sort_p = p;
	sort_m = m;
	qsort(idx, k, sizeof(*idx), cmp_site);
	*n = k;
	return idx;
}

/* ------------------------------------------------------------------ text: summary */

static const char *label(const char *s)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%s%-10s%s", fmt_c(C_BOLD), s, fmt_c(C_RESET));
	return buf;
}

/* "102.5 KiB (104,982 bytes)" or "1,000 B". */
static const char *bytes_exact(int64_t v, char *buf, size_t len)
{
	char h[FMT_NUM], c[FMT_NUM];
	if (v < 1024)
		snprintf(buf, len, "%s", fmt_bytes(v, h));
	else
		snprintf(buf, len, "%s (%s bytes)", fmt_bytes(v, h), fmt_count(v, c));
	return buf;
}

/* "1 block", "5,101 blocks" */
static const char *blocks(int64_t n, char buf[FMT_NUM])
{
	char c[FMT_NUM];
	snprintf(buf, FMT_NUM, "%s block%s", fmt_count(n, c), n == 1 ? "" : "s");
	return buf;
}

/* A rate: "2,944,280" or, below 100, "0.05". */
static const char *rate(double v, char buf[FMT_NUM])
{
	if (v < 100)
		snprintf(buf, FMT_NUM, "%.2f", v);
	else
		fmt_count((int64_t)v, buf);
	return buf;
}

static int is_ns(const struct profile *p)
{
	return strcmp(p->tu, "ns") == 0;
}

/* ------------------------------------------------------------------ suppressions */

/* What the suppressions (suppress.h) took out of the counts, one line each: leaks, then
 * violations; nothing when none matched. */
static void text_suppressed(FILE *f, const struct profile *p)
{
	const struct suppressed *x = p->suppressed;
	if (!x || (!x->leak_sites && !x->alloc_stacks && !x->viol_stacks))
		return;
	char why[1600], line[2000], a[FMT_NUM], b[FMT_NUM], c[FMT_NUM];
	suppress_labels(x, why, sizeof(why));
	size_t n = 0;
	const char *sep = "";
	if (x->leak_sites) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, "leaks of %s in %s block%s at %s site%s",
				      bytes_exact(x->leak_b, a, sizeof(a)), fmt_count(x->leak_k, b),
				      x->leak_k == 1 ? "" : "s", fmt_count(x->leak_sites, c),
				      x->leak_sites == 1 ? "" : "s");
		sep = "; ";
	}
	if (x->alloc_stacks && n < sizeof(line)) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s allocation call%s in callbacks",
				      sep, fmt_count(x->alloc_calls, a), x->alloc_calls == 1 ? "" : "s");
		sep = "; ";
	}
	if (x->viol_stacks && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s other real-time-unsafe call%s",
				      sep, fmt_count(x->viol_calls, a), x->viol_calls == 1 ? "" : "s");
	if (n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " (%s)", why);
	fprintf(f, "%s ", label("Suppressed"));
	fmt_wrap(f, line, 11, 11, fmt_width());
}

static void text_summary(FILE *f, const struct profile *p)
{
	char a[96], b[96], c[FMT_NUM], d[FMT_NUM];
	const struct totals *t = &p->totals;
	fprintf(f, "%s %s", label("Program"), *p->cmd ? p->cmd : "(unknown)");
	if (p->pid >= 0)
		fprintf(f, " (pid %" PRId64 ")", p->pid);
	fputc('\n', f);

	fprintf(f, "%s ", label("Profile"));
	if (p->has_audioprof) {
		const char *why = *p->reason ? p->reason : "an unknown point";
		if (strcmp(p->reason, "signal") == 0 && p->signal > 0)
			fprintf(f, "written at signal %" PRId64, p->signal);
		else
			fprintf(f, "written at %s", why);
	} else {
		fprintf(f, "valgrind DHAT, mode %s", *p->mode ? p->mode : "?");
	}
	if (p->te >= 0)
		fprintf(f, ", %s after the start", fmt_time(p, p->te, c));
	fputc('\n', f);

	fprintf(f, "%s %s in %s", label(*p->verb ? p->verb : "Allocated"),
		bytes_exact(t->total_b, a, sizeof(a)), blocks(t->total_k, c));
	if (p->bklt)
		fprintf(f, ", %s freed", fmt_count(t->frees, d));
	fputc('\n', f);

	if (p->te > 0 && t->total_k > 0) {
		if (is_ns(p))
			fprintf(f, "%s %s/s, %s blocks/s\n", label("Rate"),
				fmt_bytes((int64_t)((double)t->total_b * 1e9 / (double)p->te), c),
				rate((double)t->total_k * 1e9 / (double)p->te, d));
		else
			fprintf(f, "%s %s and %s blocks per million %s\n", label("Rate"),
				fmt_bytes((int64_t)((double)t->total_b * 1e6 / (double)p->te), c),
				rate((double)t->total_k * 1e6 / (double)p->te, d),
				*p->tu ? p->tu : "units");
	}
	if (p->bklt) {
		fprintf(f, "%s %s in %s", label("Peak"), bytes_exact(t->max_b, a, sizeof(a)),
			blocks(t->max_k, c));
		if (p->tg >= 0 && t->max_b > 0) {
			fprintf(f, ", at %s", fmt_time(p, p->tg, d));
			if (p->te > 0)
				fprintf(f, " (%.0f%% into the run)", 100.0 * (double)p->tg / (double)p->te);
		}
		fputc('\n', f);
		int at_exit = !p->has_audioprof || strcmp(p->reason, "exit") == 0;
		fprintf(f, "%s %s in %s %s\n", label(at_exit ? "Leaked" : "Live"),
			bytes_exact(t->curr_b, b, sizeof(b)), blocks(t->curr_k, c),
			at_exit ? "at exit" : "when the profile was written");
	}
	text_suppressed(f, p);
	if (p->peak_rss >= 0 || p->own_bytes >= 0 || p->threads >= 0) {
		fprintf(f, "%s", label("Process"));
		const char *sep = " ";
		if (p->peak_rss >= 0) {
			fprintf(f, "%speak RSS %s", sep, fmt_bytes(p->peak_rss, c));
			sep = ", ";
		}
		if (p->own_bytes >= 0) {
			fprintf(f, "%sprofiler's own memory %s", sep, fmt_bytes(p->own_bytes, c));
			sep = ", ";
		}
		if (p->threads >= 0)
			fprintf(f, "%s%" PRId64 " thread%s allocated", sep, p->threads,
				p->threads == 1 ? "" : "s");
		fputc('\n', f);
	}
	if (p->signal_lost > 0)
		fprintf(f, "%s%s %s allocation%s made in signal handlers could not be recorded (the "
			"profiler was starting up): the totals miss them%s\n", fmt_c(C_YELLOW),
			label("Warning"), fmt_count(p->signal_lost, c), p->signal_lost == 1 ? "" : "s",
			fmt_c(C_RESET));
}

/* ------------------------------------------------------------------ text: sites */

enum { COL_RANK, COL_BYTES, COL_BLOCKS, COL_PEAK, COL_END, COL_SHORT, COL_CB, COL_LIFE,
       COL_CALL, NCOL };

static void text_sites(FILE *f, const struct profile *p, const struct report_opts *o)
{
	size_t n;
	size_t *idx = sorted_sites(p, o->sort, &n);
	if (!idx)
		return;
	size_t show = o->top && o->top < n ? o->top : n;
	int at_exit = !p->has_audioprof || strcmp(p->reason, "exit") == 0;
	const char *title[NCOL] = { "#", "BYTES", "BLOCKS", "AT PEAK", at_exit ? "LEAKED" : "AT END",
				    "SHORT-LIVED", "IN CALLBACKS", "AVG LIFE", "CALL" };
	int on[NCOL] = { 1, 1, 1, p->bklt, p->bklt, p->has_slk, p->has_cb, p->bklt, 1 };

	/* DHAT's other modes count something else than allocations ("Copied"). */
	char what[64];
	snprintf(what, sizeof(what), "%s", metric_defs[o->sort].title);
	if (*p->verb && strcmp(p->verb, "Allocated") != 0 &&
	    (o->sort == M_BYTES || o->sort == M_BLOCKS)) {
		snprintf(what, sizeof(what), "%s %s", o->sort == M_BYTES ? "bytes" : "blocks", p->verb);
		for (char *q = what; *q; q++)
			*q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	}
	fprintf(f, "\n%sTop %zu of %zu sites by %s%s\n", fmt_c(C_BOLD), show, n, what,
		fmt_c(C_RESET));
	if (show == 0) {
		fprintf(f, "  (no site has any)\n");
		free(idx);
		return;
	}
	/* Cells first, to size the columns. */
	char(*cell)[NCOL][FMT_NUM] = calloc(show, sizeof(*cell));
	if (!cell) {
		free(idx);
		return;
	}
	int w[NCOL];
	for (int c = 0; c < NCOL; c++)
		w[c] = (int)strlen(title[c]);
	for (size_t r = 0; r < show; r++) {
		const struct pp *pp = &p->pps[idx[r]];
		snprintf(cell[r][COL_RANK], FMT_NUM, "%zu", r + 1);
		fmt_bytes(pp->tb, cell[r][COL_BYTES]);
		fmt_count(pp->tbk, cell[r][COL_BLOCKS]);
		fmt_bytes(pp->gb, cell[r][COL_PEAK]);
		fmt_bytes(pp->eb, cell[r][COL_END]);
		fmt_count(pp->slk, cell[r][COL_SHORT]);
		fmt_count(pp->cbk, cell[r][COL_CB]);
		fmt_time(p, pp->tbk > 0 ? pp->tl / pp->tbk : 0, cell[r][COL_LIFE]);
		alloc_func(p, pp, cell[r][COL_CALL], FMT_NUM);
		for (int c = 0; c < NCOL; c++)
			if ((int)strlen(cell[r][c]) > w[c])
				w[c] = (int)strlen(cell[r][c]);
	}
	fputs("  ", f);
	for (int c = 0; c < NCOL; c++)
		if (on[c]) {
			int hl = (c == COL_BYTES && o->sort == M_BYTES) ||
				 (c == COL_BLOCKS && o->sort == M_BLOCKS) ||
				 (c == COL_PEAK && o->sort == M_PEAK) ||
				 (c == COL_END && o->sort == M_LEAKED) ||
				 (c == COL_SHORT && o->sort == M_SHORT) ||
				 (c == COL_CB && o->sort == M_CB_ALLOCS) ||
				 (c == COL_LIFE && o->sort == M_LIFETIME);
			const char *mark = hl ? fmt_c(C_BOLD) : fmt_c(C_DIM);
			if (c == COL_CALL)
				fprintf(f, "  %s%s%s", mark, title[c], fmt_c(C_RESET));
			else
				fprintf(f, "%s%s%*s%s", c ? "  " : "", mark, w[c], title[c], fmt_c(C_RESET));
		}
	fputc('\n', f);
	for (size_t r = 0; r < show; r++) {
		const struct pp *pp = &p->pps[idx[r]];
		fputs("  ", f);
		for (int c = 0; c < NCOL; c++)
			if (on[c]) {
				if (c == COL_CALL)
					fprintf(f, "  %s", cell[r][c]);
				else
					fprintf(f, "%s%*s", c ? "  " : "", w[c], cell[r][c]);
			}
		fputc('\n', f);
		report_print_stack(f, p, pp->fs_off, pp->fs_len, 4 + w[COL_RANK], o->frames, o->width);
	}
	free(cell);
	free(idx);
}

/* ------------------------------------------------------------------ text: audio */

static void text_violation_list(FILE *f, const struct profile *p, const struct report_opts *o,
				int lib, size_t n, int64_t calls);

/* "N% of the deadline" in the precision a reader needs: 9375%, 301%, 12.5%. */
static const char *deadline_pct(double pct, char buf[FMT_NUM])
{
	snprintf(buf, FMT_NUM, pct >= 100 ? "%.0f%%" : "%.1f%%", pct);
	return buf;
}

/* The indices 0..n-1 in the order that first(a, b, ctx) asks for (nonzero: a goes
 * before b), stable; a malloc'd array of at least one element, or NULL. A few dozen
 * entries at most, so an insertion sort. */
static size_t *order(size_t n, int (*first)(size_t a, size_t b, const void *ctx), const void *ctx)
{
	size_t *ord = calloc(n ? n : 1, sizeof(*ord));
	for (size_t i = 0; ord && i < n; i++) {
		size_t k = i;
		while (k > 0 && first(i, ord[k - 1], ctx)) {
			ord[k] = ord[k - 1];
			k--;
		}
		ord[k] = i;
	}
	return ord;
}

/* A cycle's violations: longer time inside first, then more calls. */
static int cv_first(size_t a, size_t b, const void *ctx)
{
	const struct cycle_violation *v = ctx, *x = &v[a], *y = &v[b];
	return x->time_ns > y->time_ns || (x->time_ns == y->time_ns && x->count > y->count);
}

/* Kept cycles: the slower first. */
static int slow_first(size_t a, size_t b, const void *ctx)
{
	const struct slow_cycle *c = ctx;
	return c[a].dur_ns > c[b].dur_ns;
}

/* Violations: longer time inside first (untimed ones, -1, last). */
static int time_first(size_t a, size_t b, const void *ctx)
{
	const struct violation *v = ctx;
	return v[a].time_ns > v[b].time_ns;
}

/* One kept cycle's story: "cycle 1001 at 12.3 s took 1.00 s (9375% of the deadline):
 * usleep at main.c:40, 1 call, 1.00 s". Its violations longest first (untimed ones,
 * allocations, after them by count). Returns a malloc'd string, or NULL. */
static char *cycle_story(const struct profile *p, const struct slow_cycle *c)
{
	char a[FMT_NUM], b[FMT_NUM], d[FMT_NUM];
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	if (!m)
		return NULL;
	fprintf(m, "cycle %" PRId64 " at %s took %s", c->cycle, fmt_ns(c->start_ns, a),
		fmt_ns(c->dur_ns, b));
	if (c->deadline_ns > 0)
		fprintf(m, " (%s of the deadline)", deadline_pct(c->load_pct, d));
	if (c->cpu_samples > 0)
		fprintf(m, ", %s CPU sample%s", fmt_count(c->cpu_samples, a),
			c->cpu_samples == 1 ? "" : "s");
	size_t *ord = order(c->nv, cv_first, c->v);
	size_t n = ord ? c->nv : 0;
	if (n == 0 && c->violations_more <= 0)
		fputs(": no real-time-unsafe call", m);
	for (size_t i = 0; i < n; i++) {
		const struct cycle_violation *x = &c->v[ord[i]];
		char func[128], where[256];
		size_t k = frame_pick_user(p, x->fs_off, x->fs_len);
		frame_names(p->ftbl[p->fs[x->fs_off + k]], func, sizeof(func), where, sizeof(where));
		fprintf(m, "%s%s at %s, %s call%s", i ? "; " : ": ", *x->call ? x->call : x->kind,
			where, fmt_count(x->count, a), x->count == 1 ? "" : "s");
		if (x->time_ns >= 0)
			fprintf(m, ", %s", fmt_ns(x->time_ns, b));
		if (*x->library)
			fprintf(m, " (inside %s)", x->library);
	}
	if (c->violations_more > 0)
		fprintf(m, "%s%s more call%s", n ? "; and " : ": ", fmt_count(c->violations_more, a),
			c->violations_more == 1 ? "" : "s");
	free(ord);
	if (fclose(m) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

#define STORIES_SHOWN 10   /* kept cycles told per source, slowest first */

/* The kept cycles of cb, slowest first, one story each. */
static void text_slow_cycles(FILE *f, const struct profile *p, const struct callback *cb,
			     int width)
{
	char a[FMT_NUM], b[FMT_NUM];
	if (cb->nslow == 0)
		return;
	size_t *ord = order(cb->nslow, slow_first, cb->slow);
	if (!ord)
		return;
	int64_t overs = 0;
	for (size_t i = 0; i < cb->nslow; i++)
		overs += cb->slow[i].overrun;
	fprintf(f, "      slow cycles: %zu kept, %s overrun%s among them", cb->nslow,
		fmt_count(overs, a), overs == 1 ? "" : "s");
	if (cb->overruns_unlisted > 0)
		fprintf(f, " (%s more not kept)", fmt_count(cb->overruns_unlisted, b));
	fputc('\n', f);
	size_t shown = cb->nslow < STORIES_SHOWN ? cb->nslow : STORIES_SHOWN;
	for (size_t i = 0; i < shown; i++) {
		char *story = cycle_story(p, &cb->slow[ord[i]]);
		if (!story)
			continue;
		fputs("        ", f);
		fmt_wrap(f, story, 8, 10, width);
		free(story);
	}
	if (cb->nslow > shown)
		fprintf(f, "        ... %zu more (audioprof view shows them all)\n", cb->nslow - shown);
	free(ord);
}

static void text_audio(FILE *f, const struct profile *p, const struct report_opts *o)
{
	char a[FMT_NUM], b[FMT_NUM], c[FMT_NUM], d[FMT_NUM], e[FMT_NUM], g[FMT_NUM];
	fprintf(f, "\n%sAudio callbacks (%zu)%s\n", fmt_c(C_BOLD), p->ncallbacks, fmt_c(C_RESET));
	if (p->ncallbacks == 0) {
		fprintf(f, "  (none ran)\n");
	} else {
		char lab[160];
		int lw = 6;
		for (size_t i = 0; i < p->ncallbacks; i++) {
			rules_callback_label(p, (long long)i, lab, sizeof(lab));
			if ((int)strlen(lab) > lw)
				lw = (int)strlen(lab) > 40 ? 40 : (int)strlen(lab);
		}
		enum { A_SRC, A_COUNT, A_DEADLINE, A_P99, A_MAX, A_LOAD, A_OVER, A_XRUNS, A_ALLOCS, NA };
		static const char *const head[NA] = { "SOURCE", "COUNT", "DEADLINE", "P99", "MAX",
						      "LOAD MAX", "OVERRUNS", "XRUNS", "ALLOCS" };
		char(*cell)[NA][FMT_NUM] = calloc(p->ncallbacks, sizeof(*cell));
		if (!cell)
			return;
		int w[NA];
		for (int k = 0; k < NA; k++)
			w[k] = (int)strlen(head[k]);
		for (size_t i = 0; i < p->ncallbacks; i++) {
			const struct callback *cb = &p->callbacks[i];
			rules_callback_label(p, (long long)i, lab, sizeof(lab));
			snprintf(cell[i][A_SRC], FMT_NUM, "%.*s", lw, lab);
			if (cb->count >= 0)
				fmt_count(cb->count, cell[i][A_COUNT]);
			else
				snprintf(cell[i][A_COUNT], FMT_NUM, "-");
			/* A marked region has no deadline (0): no load, period or jitter either. */
			int dl = cb->deadline_ns > 0;
			fmt_ns(dl ? cb->deadline_ns : -1, cell[i][A_DEADLINE]);
			fmt_ns(cb->p99_ns, cell[i][A_P99]);
			fmt_ns(cb->max_ns, cell[i][A_MAX]);
			fmt_pct(dl ? cb->load_max_pct : -1, cell[i][A_LOAD]);
			const int64_t nums[] = { cb->overruns, cb->xruns, cb->allocs };
			for (int k = 0; k < 3; k++) {
				if (nums[k] >= 0)
					fmt_count(nums[k], cell[i][A_OVER + k]);
				else
					snprintf(cell[i][A_OVER + k], FMT_NUM, "-");
			}
			for (int k = 0; k < NA; k++)
				if ((int)strlen(cell[i][k]) > w[k])
					w[k] = (int)strlen(cell[i][k]);
		}
		fprintf(f, "  %s%-*s", fmt_c(C_DIM), w[0], head[0]);
		for (int k = 1; k < NA; k++)
			fprintf(f, "  %*s", w[k], head[k]);
		fprintf(f, "%s\n", fmt_c(C_RESET));
		for (size_t i = 0; i < p->ncallbacks; i++) {
			const struct callback *cb = &p->callbacks[i];
			fprintf(f, "  %-*s", w[0], cell[i][0]);
			for (int k = 1; k < NA; k++) {
				int bad = (k == A_OVER && cb->overruns > 0) || (k == A_XRUNS && cb->xruns > 0) ||
					  (k == A_ALLOCS && cb->allocs > 0);
				fprintf(f, "  %s%*s%s", bad ? fmt_c(C_RED) : "", w[k], cell[i][k],
					bad ? fmt_c(C_RESET) : "");
			}
			fputc('\n', f);
			/* The details, one line each. */
			fprintf(f, "      thread %s%s%s", *cb->thread ? "\"" : "",
				*cb->thread ? cb->thread : "?", *cb->thread ? "\"" : "");
			if (cb->tid >= 0)
				fprintf(f, " (tid %" PRId64 ")", cb->tid);
			if (*cb->policy)
				fprintf(f, ", %s", cb->policy);
			if (cb->priority >= 0)
				fprintf(f, " priority %" PRId64, cb->priority);
			if (cb->rate > 0)
				fprintf(f, "; %" PRId64 " Hz", cb->rate);
			if (cb->frames > 0)
				fprintf(f, ", %" PRId64 " frames", cb->frames);
			fputc('\n', f);
			fprintf(f, "      min %s, mean %s, p50 %s, p90 %s, p99.9 %s\n", fmt_ns(cb->min_ns, a),
				fmt_ns(cb->mean_ns, b), fmt_ns(cb->p50_ns, c), fmt_ns(cb->p90_ns, d),
				fmt_ns(cb->p999_ns, e));
			fprintf(f, "      load mean %s; over 80%% %s, over 95%% %s; period %s, jitter p99 %s, "
				"max %s\n", fmt_pct(cb->deadline_ns > 0 ? cb->load_mean_pct : -1, a),
				cb->near80 >= 0 ? fmt_count(cb->near80, b) : "-",
				cb->near95 >= 0 ? fmt_count(cb->near95, c) : "-",
				fmt_ns(cb->period_mean_ns > 0 ? cb->period_mean_ns : -1, d),
				fmt_ns(cb->period_mean_ns > 0 ? cb->jitter_p99_ns : -1, e),
				fmt_ns(cb->period_mean_ns > 0 ? cb->jitter_max_ns : -1, g));
			fprintf(f, "      %s allocations (%s), %s frees, %s other real-time-unsafe calls\n",
				cb->allocs >= 0 ? fmt_count(cb->allocs, a) : "-",
				cb->alloc_bytes >= 0 ? fmt_bytes(cb->alloc_bytes, b) : "-",
				cb->frees >= 0 ? fmt_count(cb->frees, c) : "-",
				cb->rt_unsafe >= 0 ? fmt_count(cb->rt_unsafe, d) : "-");
			for (size_t z = 0; z < cb->nzones; z++) {
				const struct zone *zn = &cb->zones[z];
				fprintf(f, "      zone \"%s\": %s calls, mean %s, p99 %s, max %s\n", zn->name,
					zn->count >= 0 ? fmt_count(zn->count, a) : "-",
					fmt_ns(zn->mean_ns, b), fmt_ns(zn->p99_ns, c), fmt_ns(zn->max_ns, d));
			}
			text_slow_cycles(f, p, cb, o->width);
		}
		free(cell);
	}
	/* The program's violations, then (apart, not counted) the calls made inside an
	 * audio library's own API. */
	int64_t calls = 0, lcalls = 0;
	size_t nown = 0, nlib = 0;
	for (size_t i = 0; i < p->nviolations; i++) {
		if (*p->violations[i].library) {
			nlib++;
			lcalls += p->violations[i].count;
		} else {
			nown++;
			calls += p->violations[i].count;
		}
	}
	for (int lib = 0; lib < 2; lib++)
		text_violation_list(f, p, o, lib, lib ? nlib : nown, lib ? lcalls : calls);
	if (p->violations_lost > 0)
		fprintf(f, "  %s%s more violation stacks were not recorded: the profiler's table was "
			"full%s\n", fmt_c(C_YELLOW), fmt_count(p->violations_lost, a), fmt_c(C_RESET));
}

/* One list of violations: the program's (lib 0) or those made inside an audio
 * library's API (lib 1; printed only when there are some). */
static void text_violation_list(FILE *f, const struct profile *p, const struct report_opts *o,
				int lib, size_t n, int64_t calls)
{
	char a[FMT_NUM], b[FMT_NUM], c[FMT_NUM];
	if (lib && !n)
		return;
	if (lib)
		fprintf(f, "\n%sInside audio libraries (%zu stack%s, %s call%s; the library's, not "
			"counted by check)%s\n", fmt_c(C_BOLD), n, n == 1 ? "" : "s",
			fmt_count(calls, a), calls == 1 ? "" : "s", fmt_c(C_RESET));
	else
		fprintf(f, "\n%sReal-time violations (%zu stack%s, %s call%s)%s\n", fmt_c(C_BOLD),
			n, n == 1 ? "" : "s", fmt_count(calls, a), calls == 1 ? "" : "s",
			fmt_c(C_RESET));
	if (n == 0)
		fprintf(f, "  (none)\n");
	/* Longest time inside first; untimed ones (allocations, older profiles) after,
	 * in the file's order. */
	size_t *ord = order(p->nviolations, time_first, p->violations);
	if (!ord)
		return;
	size_t k = 0;
	for (size_t oi = 0; oi < p->nviolations; oi++) {
		const struct violation *v = &p->violations[ord[oi]];
		if ((*v->library != 0) != lib)
			continue;
		k++;
		char lab[160];
		rules_callback_label(p, v->callback, lab, sizeof(lab));
		fprintf(f, "  %2zu. %s%-9s%s %s%s%s x%s", k,
			lib ? fmt_c(C_CYAN) : v->warning ? fmt_c(C_YELLOW) : fmt_c(C_RED),
			lib ? v->library : v->warning ? "warning" : "violation", fmt_c(C_RESET),
			v->kind, *v->call ? ": " : "", v->call, fmt_count(v->count, a));
		if (v->bytes > 0)
			fprintf(f, " (%s)", fmt_bytes(v->bytes, b));
		if (v->time_ns >= 0)
			fprintf(f, ", %s inside, longest %s", fmt_ns(v->time_ns, b),
				fmt_ns(v->time_max_ns, c));
		fprintf(f, " in %s\n", lab);
		report_print_stack(f, p, v->fs_off, v->fs_len, 6, o->frames, o->width);
	}
	free(ord);
}

/* ------------------------------------------------------------------ text: advice */

static void text_advice(FILE *f, const struct findings *fs, int width)
{
	fprintf(f, "\n%sAdvice%s\n", fmt_c(C_BOLD), fmt_c(C_RESET));
	if (fs->n == 0) {
		fprintf(f, "  (nothing to say)\n");
		return;
	}
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->v[i];
		enum severity s = x->rule->severity;
		const char *col = s == SEV_ERROR ? fmt_c(C_RED) : s == SEV_WARNING ? fmt_c(C_YELLOW)
						 : fmt_c(C_CYAN);
		fprintf(f, "  %s%-7s%s ", col, severity_name(s), fmt_c(C_RESET));
		char *line = NULL;
		if (asprintf(&line, "[%s] %s", x->rule->name, x->text) < 0)
			continue;
		fmt_wrap(f, line, 10, 10, width);
		free(line);
	}
}

/* ------------------------------------------------------------------ JSON */

static json_t *jint(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *jframes(const struct profile *p, uint32_t off, uint32_t len)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < len; i++)
		json_array_append_new(a, json_string(p->ftbl[p->fs[off + i]]));
	return a;
}

static void jset(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v ? v : json_null());
}

/* The fields of the reader's structs callback and zone (PROFILE_CALLBACK, PROFILE_ZONE
 * in common/profile_schema.h) as `report --json` writes them: an absent number as null,
 * or not at all for a field added after the format first shipped or written only
 * when it applies (presence NEWER, OPTIONAL). */
struct jfield {
	const char *key;
	char kind;               /* 's' string, 'i' whole number, 'n' number */
	char newer;              /* left out when absent */
	size_t off;              /* in the reader's struct */
};
#define JF_NEWER_ALWAYS 0
#define JF_NEWER_BKLT 0
#define JF_NEWER_AUDIOPROF 0
#define JF_NEWER_NEWER 1
#define JF_NEWER_OPTIONAL 1
#define JF(S, key, type, presence) JF_##type(S, key, JF_NEWER_##presence)
#define JF_UINT(S, k, newer) { #k, 'i', newer, offsetof(S, k) },
#define JF_STR(S, k, newer) { #k, 's', newer, offsetof(S, k) },
#define JF_NUM(S, k, newer) { #k, 'n', newer, offsetof(S, k) },
#define JF_OBJECT(S, k, newer)
#define JF_INTS(S, k, newer)     /* dur_hist: not in the report */
#define JF_OBJECTS(S, k, newer)
#define CB_JF(key, type, unit, presence, what) JF(struct callback, key, type, presence)
#define ZONE_JF(key, type, unit, presence, what) JF(struct zone, key, type, presence)
static const struct jfield cb_jfields[] = { PROFILE_CALLBACK(CB_JF) };
static const struct jfield zone_jfields[] = { PROFILE_ZONE(ZONE_JF) };
#define NJF(t) (sizeof(t) / sizeof((t)[0]))

/* Sets in o the fields of obj (a struct described by f[0..n)) of one kind (0: all),
 * in the schema's order, except the one named `skip`. */
static void jfields(json_t *o, const struct jfield *f, size_t n, const void *obj, char kind,
		    const char *skip)
{
	for (size_t i = 0; i < n; i++) {
		const char *d = (const char *)obj + f[i].off;
		if ((kind && f[i].kind != kind) || (skip && strcmp(f[i].key, skip) == 0))
			continue;
		if (f[i].kind == 's') {
			jset(o, f[i].key, json_string(*(const char *const *)d));
		} else if (f[i].kind == 'n') {
			double v = *(const double *)d;
			jset(o, f[i].key, v < 0 ? NULL : json_real(v));
		} else {
			int64_t v = *(const int64_t *)d;
			if (v >= 0 || !f[i].newer)
				jset(o, f[i].key, jint(v));
		}
	}
}

static json_t *json_report(const struct profile *p, const struct report_opts *o,
			   const struct findings *fs)
{
	json_t *r = json_object();
	const struct totals *t = &p->totals;
	jset(r, "file", json_string(p->path));
	jset(r, "format", json_string(p->has_audioprof ? "audioprof" : "dhat"));
	jset(r, "audioprof_version", p->has_audioprof ? json_integer(p->ap_version) : NULL);
	jset(r, "program", json_string(p->cmd));
	jset(r, "pid", jint(p->pid));
	jset(r, "mode", json_string(p->mode));
	jset(r, "tu", json_string(p->tu));
	jset(r, "reason", p->has_audioprof ? json_string(p->reason) : NULL);
	jset(r, "duration", jint(p->te));
	json_t *tot = json_object();
	jset(tot, "bytes", json_integer(t->total_b));
	jset(tot, "blocks", json_integer(t->total_k));
	jset(tot, "frees", p->bklt ? json_integer(t->frees) : NULL);
	jset(r, "allocated", tot);
	if (p->te > 0) {
		double per = is_ns(p) ? 1e9 / (double)p->te : 1e6 / (double)p->te;
		json_t *rate = json_object();
		jset(rate, "per", json_string(is_ns(p) ? "s" : "Mtu"));
		jset(rate, "bytes", json_real((double)t->total_b * per));
		jset(rate, "blocks", json_real((double)t->total_k * per));
		jset(r, "rate", rate);
	}
	if (p->bklt) {
		json_t *pk = json_object();
		jset(pk, "bytes", json_integer(t->max_b));
		jset(pk, "blocks", json_integer(t->max_k));
		jset(pk, "time", jint(p->tg));
		jset(r, "peak", pk);
		json_t *lk = json_object();
		jset(lk, "bytes", json_integer(t->curr_b));
		jset(lk, "blocks", json_integer(t->curr_k));
		jset(lk, "at_exit", json_boolean(!p->has_audioprof || strcmp(p->reason, "exit") == 0));
		jset(r, "leaked", lk);
	}
	if (p->suppressed) {
		const struct suppressed *x = p->suppressed;
		json_t *sp = json_object(), *rl = json_array();
		jset(sp, "leaked_bytes", json_integer(x->leak_b));
		jset(sp, "leaked_blocks", json_integer(x->leak_k));
		jset(sp, "leak_sites", json_integer(x->leak_sites));
		jset(sp, "alloc_calls", json_integer(x->alloc_calls));
		jset(sp, "alloc_stacks", json_integer(x->alloc_stacks));
		jset(sp, "violation_calls", json_integer(x->viol_calls));
		jset(sp, "violation_stacks", json_integer(x->viol_stacks));
		for (int i = 0; i < x->nlabels; i++) {
			json_t *e = json_object();
			jset(e, "rule", json_string(x->labels[i]));
			jset(e, "builtin", json_boolean(x->label_builtin[i]));
			json_array_append_new(rl, e);
		}
		jset(sp, "rules", rl);
		jset(r, "suppressed", sp);
	}
	if (p->has_audioprof) {
		json_t *pr = json_object();
		jset(pr, "peak_rss", jint(p->peak_rss));
		jset(pr, "own_bytes", jint(p->own_bytes));
		jset(pr, "threads", jint(p->threads));
		if (p->signal_lost >= 0)   /* files from before the field: left out */
			jset(pr, "signal_lost", jint(p->signal_lost));
		jset(r, "process", pr);
	}
	jset(r, "sort", json_string(metric_defs[o->sort].name));
	size_t n;
	size_t *idx = sorted_sites(p, o->sort, &n);
	json_t *sites = json_array();
	size_t show = o->top && o->top < n ? o->top : n;
	for (size_t i = 0; idx && i < show; i++) {
		const struct pp *pp = &p->pps[idx[i]];
		json_t *s = json_object();
		char call[FMT_NUM];
		alloc_func(p, pp, call, sizeof(call));
		jset(s, "rank", json_integer((json_int_t)i + 1));
		jset(s, "value", json_integer(metric_value(pp, o->sort)));
		/* Every number of the program point that the file has. */
#define SITE_KEY(key, src, type, unit, presence, what) \
	PROFILE_IF_NUMERIC_##type(if (pp->key >= 0) jset(s, #key, json_integer(pp->key));)
		PROFILE_PP(SITE_KEY)
#undef SITE_KEY
		jset(s, "call", json_string(call));
		jset(s, "frames", jframes(p, pp->fs_off, pp->fs_len));
		json_array_append_new(sites, s);
	}
	free(idx);
	jset(r, "sites_total", json_integer((json_int_t)n));
	jset(r, "sites", sites);
	if (p->has_audio) {
		json_t *cbs = json_array();
		for (size_t i = 0; i < p->ncallbacks; i++) {
			const struct callback *cb = &p->callbacks[i];
			json_t *c = json_object();
			/* Its id, its names, its numbers, its loads. */
			jset(c, "id", jint(cb->id));
			jfields(c, cb_jfields, NJF(cb_jfields), cb, 's', NULL);
			jfields(c, cb_jfields, NJF(cb_jfields), cb, 'i', "id");
			jfields(c, cb_jfields, NJF(cb_jfields), cb, 'n', NULL);
			json_t *zs = json_array();
			for (size_t z = 0; z < cb->nzones; z++) {
				json_t *zo = json_object();
				jfields(zo, zone_jfields, NJF(zone_jfields), &cb->zones[z], 0, NULL);
				json_array_append_new(zs, zo);
			}
			jset(c, "zones", zs);
			if (cb->nslow > 0) {   /* newer: only when the profile has them */
				json_t *sc = json_array();
				for (size_t k = 0; k < cb->nslow; k++) {
					const struct slow_cycle *y = &cb->slow[k];
					json_t *yo = json_object();
					jset(yo, "cycle", jint(y->cycle));
					jset(yo, "start_ns", jint(y->start_ns));
					jset(yo, "dur_ns", jint(y->dur_ns));
					jset(yo, "deadline_ns", jint(y->deadline_ns));
					jset(yo, "load_pct", json_real(y->load_pct));
					jset(yo, "slowest", json_boolean(y->slowest));
					jset(yo, "overrun", json_boolean(y->overrun));
					char *story = cycle_story(p, y);
					jset(yo, "story", story ? json_string(story) : NULL);
					free(story);
					json_array_append_new(sc, yo);
				}
				jset(c, "slow_cycles", sc);
			}
			json_array_append_new(cbs, c);
		}
		jset(r, "callbacks", cbs);
		json_t *vs = json_array();
		for (size_t i = 0; i < p->nviolations; i++) {
			const struct violation *v = &p->violations[i];
			json_t *x = json_object();
			jset(x, "kind", json_string(v->kind));
			jset(x, "call", json_string(v->call));
			jset(x, "severity", json_string(v->warning ? "warning" : "violation"));
			jset(x, "count", json_integer(v->count));
			jset(x, "bytes", json_integer(v->bytes));
			if (v->time_ns >= 0) {
				jset(x, "time_ns", json_integer(v->time_ns));
				jset(x, "time_max_ns", json_integer(v->time_max_ns));
			}
			if (*v->library)
				jset(x, "library", json_string(v->library));
			jset(x, "callback", jint(v->callback));
			jset(x, "frames", jframes(p, v->fs_off, v->fs_len));
			json_array_append_new(vs, x);
		}
		jset(r, "violations", vs);
		jset(r, "violations_lost", jint(p->violations_lost));
	}
	json_t *cpu = cpu_report_json(p, 12);
	if (cpu)
		jset(r, "cpu", cpu);
	json_t *adv = json_array();
	for (size_t i = 0; i < fs->n; i++) {
		json_t *x = json_object();
		jset(x, "rule", json_string(fs->v[i].rule->name));
		jset(x, "severity", json_string(severity_name(fs->v[i].rule->severity)));
		jset(x, "text", json_string(fs->v[i].text));
		json_array_append_new(adv, x);
	}
	jset(r, "advice", adv);
	return r;
}

/* ------------------------------------------------------------------ command */

static void list_rules(void)
{
	for (size_t i = 0; i < rules_count; i++)
		printf("%-18s %-8s %s\n", rules_table[i].name, severity_name(rules_table[i].severity),
		       rules_table[i].fixture);
}

int cmd_report(int argc, char **argv)
{
	enum { O_JSON = 256, O_COLOR, O_LIST_RULES, O_SUPP };
	static const struct option opts[] = {
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "frames", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, O_JSON },
		CLI_COLOR_LONG_OPTS(O_COLOR),
		{ "list-rules", no_argument, NULL, O_LIST_RULES },
		SUPPRESS_LONG_OPTS(O_SUPP),
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_opts o = { DEFAULT_TOP, M_BYTES, DEFAULT_FRAMES, 0, 0 };
	const char *color = "auto";
	struct suppress_opts so = { 0 };
	long v;
	int c, li;
	cli_getopt_start();
	while ((c = getopt_long(argc, argv, ":n:s:f:h", opts, &li)) != -1) {
		switch (c) {
		case O_SUPP:
			if (suppress_opt(&so, opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			break;
		case 'n':
			if (cli_parse_count(&sub, "--top", optarg, 1000000000L, &v))
				return cli_usage_error(&sub);
			o.top = (size_t)v;
			break;
		case 's': {
			int m = metric_parse(optarg);
			if (m < 0 || m == M_LIFETIME) {
				char l[128];
				cli_error("report: --sort: '%s' is not one of %s", optarg,
					  metric_list((1u << M_LIFETIME) - 1, l, sizeof(l)));
				return cli_usage_error(&sub);
			}
			o.sort = (enum metric)m;
			break;
		}
		case 'f':
			if (cli_parse_count(&sub, "--frames", optarg, 1000, &v))
				return cli_usage_error(&sub);
			o.frames = (int)v;
			break;
		case O_JSON: o.json = 1; break;
		case O_COLOR: color = optarg; break;
		case O_LIST_RULES:
			list_rules();
			return fflush(stdout) == 0 ? EXIT_OK : EXIT_INPUT;
		default:
			return cli_opt_default(&sub, c, argv);
		}
	}
	if (cli_color(&sub, color) != 0)
		return EXIT_USAGE;
	const char *file = cli_one_file(&sub, argc, argv);
	if (!file)
		return EXIT_USAGE;
	o.width = fmt_width();

	char err[1024];
	struct suppressions sup;
	if (suppress_load(&so, &sup) != 0) {
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	struct profile *p = profile_load(file, err, sizeof(err));
	if (!p || suppress_apply(p, &sup) != 0) {
		cli_error("%s", p ? "report: out of memory" : err);
		profile_free(p);
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	suppress_free(&sup);
	const char *why = metric_missing(p, o.sort);
	if (why) {
		cli_error("report: --sort %s: %s: %s", metric_defs[o.sort].name, file, why);
		profile_free(p);
		return EXIT_USAGE;
	}
	struct findings fs = { 0 };
	rules_run(p, &fs);
	if (o.json) {
		json_t *j = json_report(p, &o, &fs);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
		fputc('\n', stdout);
		json_decref(j);
	} else {
		text_summary(stdout, p);
		text_sites(stdout, p, &o);
		if (p->ncallbacks || p->nviolations)
			text_audio(stdout, p, &o);
		cpu_report_text(stdout, p, 12);
		text_advice(stdout, &fs, o.width);
	}
	findings_free(&fs);
	profile_free(p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("report: cannot write the output: %s", strerror(errno));
		return EXIT_INPUT;
	}
	return EXIT_OK;
}
