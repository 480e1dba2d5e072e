/* cpu.c - the CPU samples of real-time code, summarised: for each callback, the share
 * of its samples in which each function was the leaf (self) and anywhere on the stack
 * (total, counted once per sample however often it recurses). Function names as
 * `audioprof flame` prints them, without address or location. */
#include "cpu.h"
#include "fmt.h"
#include "intern.h"
#include "rules.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The function name of frame string s, or "[module]", or "???"; a new string. */
static char *func_name(const char *s)
{
	struct frame f;
	frame_parse(s, &f);
	char buf[512];
	if (f.func_len && !(f.func_len == 3 && strncmp(f.func, "???", 3) == 0)) {
		snprintf(buf, sizeof(buf), "%.*s", (int)f.func_len, f.func);
	} else if (f.module) {
		const char *b = f.module;
		for (size_t i = 0; i < f.module_len; i++)
			if (f.module[i] == '/')
				b = f.module + i + 1;
		snprintf(buf, sizeof(buf), "[%.*s]", (int)(f.module + f.module_len - b), b);
	} else {
		snprintf(buf, sizeof(buf), "%s", f.text && *f.text ? f.text : "???");
	}
	return strdup(buf);
}

static int cmp_func(const void *x, const void *y)
{
	const struct cpu_func *a = x, *b = y;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	return strcmp(a->name, b->name);
}

struct cpu_func *cpu_hot(const struct profile *p, int64_t cb, size_t *n, int64_t *samples)
{
	*n = 0;
	*samples = 0;
	struct intern t = { 0 };
	char **names = calloc(p->nftbl ? p->nftbl : 1, sizeof(*names));
	uint32_t *canon = calloc(p->nftbl ? p->nftbl : 1, sizeof(*canon));
	struct cpu_func *out = NULL;
	int64_t *self = NULL, *total = NULL, *seen = NULL;
	if (!names || !canon)
		goto fail;
	for (size_t i = 0; i < p->nftbl; i++) {
		int64_t id;
		if (!(names[i] = func_name(p->ftbl[i])) || (id = intern_get(&t, names[i])) < 0)
			goto fail;
		canon[i] = (uint32_t)id;
	}
	size_t nf = t.n;
	self = calloc(nf + 1, sizeof(*self));
	total = calloc(nf + 1, sizeof(*total));
	seen = calloc(nf + 1, sizeof(*seen));   /* the stack index + 1 that counted it last */
	if (!self || !total || !seen)
		goto fail;
	for (size_t i = 0; i < p->cpu.nstacks; i++) {
		const struct cpu_stack *s = &p->cpu.stacks[i];
		if (s->callback != cb || s->count <= 0 || s->fs_len == 0)
			continue;
		*samples += s->count;
		self[canon[p->fs[s->fs_off]]] += s->count;
		for (uint32_t k = 0; k < s->fs_len; k++) {
			uint32_t id = canon[p->fs[s->fs_off + k]];
			if (seen[id] != (int64_t)i + 1) {
				seen[id] = (int64_t)i + 1;
				total[id] += s->count;
			}
		}
	}
	size_t m = 0;
	for (size_t i = 0; i < nf; i++)
		m += total[i] > 0;
	out = calloc(m ? m : 1, sizeof(*out));
	if (!out)
		goto fail;
	for (size_t i = 0; i < nf; i++) {
		if (total[i] <= 0)
			continue;
		out[*n].self = self[i];
		out[*n].total = total[i];
		if (!(out[*n].name = strdup(intern_str(&t, (uint32_t)i)))) {
			cpu_hot_free(out, *n);
			out = NULL;
			*n = 0;
			goto fail;
		}
		(*n)++;
	}
	qsort(out, *n, sizeof(*out), cmp_func);
fail:
	for (size_t i = 0; names && i < p->nftbl; i++)
		free(names[i]);
	free(names);
	free(canon);
	free(self);
	free(total);
	free(seen);
	intern_free(&t);
	return out;
}

void cpu_hot_free(struct cpu_func *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free((char *)f[i].name);
	free(f);
}

static double pct(int64_t a, int64_t b)
{
	return b > 0 ? 100.0 * (double)a / (double)b : 0;
}

/* One callback's hottest functions: every function that was a leaf, and every caller
 * in fewer than all its samples (one in all of them, like main, says nothing). */
static void text_one(FILE *f, const struct profile *p, int64_t cb, int top)
{
	size_t n;
	int64_t samples;
	struct cpu_func *fn = cpu_hot(p, cb, &n, &samples);
	if (!fn || samples == 0) {
		cpu_hot_free(fn, n);
		return;
	}
	char lab[160], a[FMT_NUM];
	if (cb >= 0)
		rules_callback_label(p, (long long)cb, lab, sizeof(lab));
	else
		snprintf(lab, sizeof(lab), "outside any callback");
	int64_t own = 0;
	for (size_t i = 0; i < p->cpu.nsources; i++)
		if (p->cpu.sources[i].callback == cb)
			own = p->cpu.sources[i].in_profiler;
	fprintf(f, "  %s: %s samples", lab, fmt_count(samples, a));
	if (own > 0)
		fprintf(f, ", %.1f%% in the profiler's own code", pct(own, samples));
	fprintf(f, "\n     SELF   TOTAL  FUNCTION\n");
	int shown = 0;
	for (size_t i = 0; i < n && shown < top; i++) {
		if (fn[i].self == 0 && fn[i].total == samples)
			continue;
		fprintf(f, "   %5.1f%%  %5.1f%%  %s\n", pct(fn[i].self, samples),
			pct(fn[i].total, samples), fn[i].name);
		shown++;
	}
	cpu_hot_free(fn, n);
}

void cpu_report_text(FILE *f, const struct profile *p, int top)
{
	if (!p->has_cpu)
		return;
	const struct cpu_samples *c = &p->cpu;
	char a[FMT_NUM], b[FMT_NUM];
	fprintf(f, "\n%sCPU samples of %s%s  (%s samples; 1 per %.2g ms of a thread's "
		"CPU time", fmt_c(C_BOLD), strcmp(c->mode, "all") == 0 ? "every thread" :
		"real-time code", fmt_c(C_RESET), fmt_count(c->samples > 0 ? c->samples : 0, a),
		c->rate_hz > 0 ? 1000.0 / (double)c->rate_hz : 0.0);
	/* Expirations merged into one signal: the kernel's tick set the real interval. */
	int64_t signals = c->outside_rt > 0 ? c->outside_rt : 0;
	for (size_t i = 0; i < c->nsources; i++)
		signals += c->sources[i].samples;
	if (c->overruns > 0 && signals > 0 && c->rate_hz > 0)
		fprintf(f, ", in effect 1 per %.2g ms (the kernel's timer tick)",
			1000.0 / (double)c->rate_hz * (1.0 + (double)c->overruns / (double)signals));
	if (c->outside_rt > 0)
		fprintf(f, "; %s taken outside real-time code left out", fmt_count(c->outside_rt, b));
	fprintf(f, ")\n");
	if (c->samples <= 0) {
		fprintf(f, "  (none: no real-time code ran long enough to be sampled)\n");
		return;
	}
	for (size_t i = 0; i < p->ncallbacks; i++)
		text_one(f, p, (int64_t)i, top);
	text_one(f, p, -1, top);
	if (c->lost > 0)
		fprintf(f, "  %s%s samples were not recorded: the profiler's stack table was full%s\n",
			fmt_c(C_YELLOW), fmt_count(c->lost, a), fmt_c(C_RESET));
}

/* {samples, outside_rt, rate_hz, callbacks: [{callback, samples, in_profiler,
 *  functions: [{name, self, total}]}]}: the same as the text, for `report --json`. */
json_t *cpu_report_json(const struct profile *p, int top)
{
	if (!p->has_cpu)
		return NULL;
	json_t *o = json_object(), *cbs = json_array();
	json_object_set_new(o, "samples", json_integer(p->cpu.samples));
	json_object_set_new(o, "outside_rt", json_integer(p->cpu.outside_rt));
	json_object_set_new(o, "rate_hz", json_integer(p->cpu.rate_hz));
	for (int64_t cb = -1; cb < (int64_t)p->ncallbacks; cb++) {
		size_t n;
		int64_t samples;
		struct cpu_func *fn = cpu_hot(p, cb, &n, &samples);
		if (fn && samples > 0) {
			json_t *c = json_object(), *fa = json_array();
			int64_t own = 0;
			for (size_t i = 0; i < p->cpu.nsources; i++)
				if (p->cpu.sources[i].callback == cb)
					own = p->cpu.sources[i].in_profiler;
			json_object_set_new(c, "callback", json_integer(cb));
			json_object_set_new(c, "samples", json_integer(samples));
			json_object_set_new(c, "in_profiler", json_integer(own));
			int shown = 0;
			for (size_t i = 0; i < n && shown < top; i++) {
				if (fn[i].self == 0 && fn[i].total == samples)
					continue;
				json_t *f = json_object();
				json_object_set_new(f, "name", json_string(fn[i].name));
				json_object_set_new(f, "self", json_integer(fn[i].self));
				json_object_set_new(f, "total", json_integer(fn[i].total));
				json_array_append_new(fa, f);
				shown++;
			}
			json_object_set_new(c, "functions", fa);
			json_array_append_new(cbs, c);
		}
		cpu_hot_free(fn, n);
	}
	json_object_set_new(o, "callbacks", cbs);
	return o;
}
