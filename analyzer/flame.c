/* flame.c - `audioprof flame FILE [--metric M]`: the profile as folded stacks, one line
 * "outermost;caller;...;leaf VALUE" per distinct stack, which flamegraph.pl, inferno
 * and speedscope read. Function names only; equal stacks are summed. With --cpu, the
 * CPU samples of real-time code instead (audioprof.cpu), each stack under a root frame
 * naming its callback, or of one callback (--callback). */
#include "analyze.h"
#include "cli.h"
#include "fmt.h"
#include "intern.h"
#include "metrics.h"
#include "profile_read.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The display name of frame string s: the function without address, offset or
 * location; "[libfoo.so]" for an unnamed function in a module. ';' would split the
 * frame and a line break the record, so they become ':' and ' '. Returns a new string. */
static char *frame_display_name(const char *s)
{
	struct frame f;
	frame_parse(s, &f);
	char tmp[512];
	const char *name = f.func;
	size_t n = f.func_len;
	if (n == 0 || (n == 3 && strncmp(name, "???", 3) == 0)) {
		if (f.module) {
			const char *b = f.module;
			for (size_t i = 0; i < f.module_len; i++)
				if (f.module[i] == '/')
					b = f.module + i + 1;
			snprintf(tmp, sizeof(tmp), "[%.*s]", (int)(f.module + f.module_len - b), b);
		} else {
			snprintf(tmp, sizeof(tmp), "???");
		}
		name = tmp;
		n = strlen(tmp);
	}
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		out[i] = c == ';' ? ':' : (c == '\n' || c == '\r') ? ' ' : c;
	}
	out[n] = '\0';
	return out;
}

/* One stack: function-name ids, outermost first. */
struct stack {
	const uint32_t *key;
	uint32_t len;
	int64_t value;
};

static int cmp_stack(const void *x, const void *y)
{
	const struct stack *a = x, *b = y;
	uint32_t n = a->len < b->len ? a->len : b->len;
	for (uint32_t i = 0; i < n; i++)
		if (a->key[i] != b->key[i])
			return a->key[i] < b->key[i] ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* What to fold: the heap by a metric, or the CPU samples (of one callback, or all of
 * them each under a root frame naming it). */
struct fold_sel {
	enum metric m;
	int cpu;
	int64_t callback;   /* --callback: index into p->callbacks; -2 for all */
};

/* "[api name]" for callback id (or "[no callback]"), interned; its text is kept in
 * roots[id + 1] (p->ncallbacks + 1 entries, freed by the caller). -1 out of memory. */
static int64_t source_root(struct intern *t, const struct profile *p, int64_t id, char **roots)
{
	size_t k = id >= 0 && (size_t)id < p->ncallbacks ? (size_t)id + 1 : 0;
	if (!roots[k]) {
		char buf[160];
		if (k)
			snprintf(buf, sizeof(buf), "[%s %s]", p->callbacks[k - 1].api,
				 p->callbacks[k - 1].name);
		else
			snprintf(buf, sizeof(buf), "[no callback]");
		for (char *c = buf; *c; c++)
			if (*c == ';' || *c == '\n' || *c == '\r')
				*c = ' ';
		if (!(roots[k] = strdup(buf)))
			return -1;
	}
	return intern_get(t, roots[k]);
}

/* Writes the folded stacks of p chosen by sel to f: stacks with equal names are summed.
 * Function names are interned, so stacks compare as integer arrays. Returns 0, or -1
 * out of memory. */
static int fold(FILE *f, const struct profile *p, const struct fold_sel *sel)
{
	enum metric m = sel->m;
	int rc = -1;
	struct intern t = { 0 };
	char **names = calloc(p->nftbl ? p->nftbl : 1, sizeof(*names));
	uint32_t *canon = malloc((p->nftbl ? p->nftbl : 1) * sizeof(*canon));
	size_t nst = sel->cpu ? p->cpu.nstacks : p->npps;
	uint32_t *keys = malloc((p->nfs + nst + 1) * sizeof(*keys));
	struct stack *st = malloc((nst ? nst : 1) * sizeof(*st));
	char **roots = calloc(p->ncallbacks + 1, sizeof(*roots));
	if (!names || !canon || !keys || !st || !roots)
		goto out;
	for (size_t i = 0; i < p->nftbl; i++) {
		if (!(names[i] = frame_display_name(p->ftbl[i])))
			goto out;
		int64_t id = intern_get(&t, names[i]);
		if (id < 0)
			goto out;
		canon[i] = (uint32_t)id;
	}
	size_t n = 0, nk = 0;
	for (size_t i = 0; sel->cpu && i < p->cpu.nstacks; i++) {
		const struct cpu_stack *c = &p->cpu.stacks[i];
		if (c->count <= 0 || (sel->callback != -2 && c->callback != sel->callback))
			continue;
		st[n] = (struct stack){ keys + nk, c->fs_len, c->count };
		if (sel->callback == -2) {
			int64_t root = source_root(&t, p, c->callback, roots);
			if (root < 0)
				goto out;
			keys[nk++] = (uint32_t)root;
			st[n].len++;
		}
		for (uint32_t k = c->fs_len; k-- > 0;)
			keys[nk++] = canon[p->fs[c->fs_off + k]];
		n++;
	}
	for (size_t i = 0; !sel->cpu && i < p->npps; i++) {
		const struct pp *pp = &p->pps[i];
		int64_t v = metric_value(pp, m);
		if (v <= 0)
			continue;
		st[n] = (struct stack){ keys + nk, pp->fs_len, v };
		for (uint32_t k = pp->fs_len; k-- > 0;)
			keys[nk++] = canon[p->fs[pp->fs_off + k]];
		n++;
	}
	qsort(st, n, sizeof(*st), cmp_stack);
	for (size_t i = 0; i < n;) {
		int64_t sum = 0;
		size_t j = i;
		for (; j < n && cmp_stack(&st[j], &st[i]) == 0; j++)
			if (__builtin_add_overflow(sum, st[j].value, &sum))
				sum = INT64_MAX;
		for (uint32_t k = 0; k < st[i].len; k++) {
			if (k)
				fputc(';', f);
			fputs(intern_str(&t, st[i].key[k]), f);
		}
		fprintf(f, " %" PRId64 "\n", sum);
		i = j;
	}
	rc = 0;
out:
	for (size_t i = 0; names && i < p->nftbl; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; roots && i <= p->ncallbacks; i++)
		free(roots[i]);
	free(roots);
	free(canon);
	free(keys);
	free(st);
	intern_free(&t);
	return rc;
}

static void usage(FILE *f)
{
	char m[160];
	fprintf(f,
		"Usage: audioprof flame [--metric METRIC] FILE\n"
		"       audioprof flame --cpu [--callback ID|NAME] FILE\n"
		"\n"
		"Print the profile as folded stacks for flame graphs: one line per stack,\n"
		"\"main;caller;...;malloc VALUE\", outermost frame first. Feed it to\n"
		"flamegraph.pl, inferno-flamegraph or speedscope.\n"
		"\n"
		"Options:\n"
		"  -m, --metric METRIC  what each stack weighs (default bytes), one of\n"
		"      %s\n"
		"  -c, --cpu            the CPU samples of real-time code instead: each stack\n"
		"                       weighs its sample count, under a root frame naming its\n"
		"                       callback (\"[region dsp_demo]\")\n"
		"  -C, --callback ID|NAME  with --cpu: only this callback's samples, no root\n"
		"                       frame (ID: its number in the profile; NAME: its name)\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit status: 0 ok, 2 usage error, 3 unreadable or invalid FILE.\n",
		metric_list((1u << M_COUNT) - 1, m, sizeof(m)));
}

static const struct cli_sub sub = { "flame", "[--metric METRIC | --cpu [--callback ID|NAME]] FILE",
				     usage };

/* The callback `want` names in p (its index, or its name); -1 if none. */
static int64_t find_callback(const struct profile *p, const char *want)
{
	char *end;
	long long id = strtoll(want, &end, 10);
	if (*want && !*end && id >= 0 && (size_t)id < p->ncallbacks)
		return id;
	for (size_t i = 0; i < p->ncallbacks; i++)
		if (strcmp(p->callbacks[i].name, want) == 0)
			return (int64_t)i;
	return -1;
}

int cmd_flame(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "cpu", no_argument, NULL, 'c' },
		{ "callback", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum metric m = M_BYTES;
	int c, cpu = 0, metric_given = 0;
	const char *want_cb = NULL;
	cli_getopt_start();
	while ((c = getopt_long(argc, argv, ":m:cC:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cpu = 1;
			break;
		case 'C':
			want_cb = optarg;
			break;
		case 'm': {
			int x = metric_parse(optarg);
			if (x < 0) {
				char l[160];
				cli_error("flame: --metric: '%s' is not one of %s", optarg,
					  metric_list((1u << M_COUNT) - 1, l, sizeof(l)));
				return cli_usage_error(&sub);
			}
			m = (enum metric)x;
			metric_given = 1;
			break;
		}
		default:
			return cli_opt_default(&sub, c, argv);
		}
	}
	if (cpu && metric_given) {
		cli_error("flame: --cpu and --metric exclude each other (CPU stacks weigh samples)");
		return cli_usage_error(&sub);
	}
	if (want_cb && !cpu) {
		cli_error("flame: --callback needs --cpu");
		return cli_usage_error(&sub);
	}
	const char *file = cli_one_file(&sub, argc, argv);
	if (!file)
		return EXIT_USAGE;
	char err[1024];
	struct profile *p = profile_load(file, err, sizeof(err));
	if (!p) {
		cli_error("%s", err);
		return EXIT_INPUT;
	}
	struct fold_sel sel = { m, cpu, -2 };
	if (cpu && !p->has_cpu) {
		cli_error("flame: --cpu: %s: the profile has no CPU samples (AUDIOPROF_CPU was off, "
			  "or an older audioprof wrote it)", file);
		profile_free(p);
		return EXIT_INPUT;
	}
	if (cpu && want_cb && (sel.callback = find_callback(p, want_cb)) < 0) {
		cli_error("flame: --callback %s: %s has no such callback (%zu callback%s)", want_cb,
			  file, p->ncallbacks, p->ncallbacks == 1 ? "" : "s");
		profile_free(p);
		return EXIT_USAGE;
	}
	const char *why = cpu ? NULL : metric_missing(p, m);
	if (why) {
		cli_error("flame: --metric %s: %s: %s", metric_defs[m].name, file, why);
		profile_free(p);
		return EXIT_USAGE;
	}
	int rc = fold(stdout, p, &sel);
	profile_free(p);
	if (rc != 0) {
		cli_error("flame: out of memory");
		return EXIT_INPUT;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("flame: cannot write the output: %s", strerror(errno));
		return EXIT_INPUT;
	}
	return EXIT_OK;
}
