/* suppress.c - suppressions (suppress.h): the built-in list for the C and C++ runtimes'
 * lifetime allocations, the parser of suppressions files, the matcher, and the pass
 * that takes matched leaks and violations out of a profile's counts before report,
 * check, diff or view look at it. The analyzer runs off line: fnmatch(3) is fine here.
 *
 * A suppressions file (audioprof(1), SUPPRESSIONS), one rule per line:
 *
 *     # the atexit list glibc keeps until exit
 *     leak: __new_exitfn
 *     leak: \?\?\? object-matches:*\/libgomp.so*
 *     violation: call-stack-contains:snd_pcm_avail
 *     alloc: my_pool_grow call-stack-contains:engine_start
 *
 * KIND: then blank-separated conditions, all of which must hold; a bare GLOB is
 * function-name-matches:GLOB. A blank inside a glob is written "\ ". */
#include "suppress.h"
#include "cli.h"
#include "fmt.h"
#include "profile_read.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[SUP_KINDS] = { "leak", "alloc", "violation" };

/* ------------------------------------------------------------------ the rule set */

static struct sup_rule *add_rule(struct suppressions *s)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct sup_rule *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		s->v = nv;
		s->cap = nc;
	}
	struct sup_rule *r = &s->v[s->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

static void rule_free(struct sup_rule *r)
{
	free(r->label);
	free(r->func);
	free(r->object);
	for (int i = 0; i < r->nstack; i++)
		free(r->stack[i]);
}

void suppress_free(struct suppressions *s)
{
	for (size_t i = 0; i < s->n; i++)
		rule_free(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ built-ins */

/* The runtimes' own allocations that live until exit by design, measured on dsp_demo,
 * sox, perl, bash, csound, fluidsynth, mpv, aplay, paplay, pw-play and
 * tests/progs/cxxnew (glibc 2.36, libstdc++ 12). Each names the function the leak
 * warning names, or a frame the stack holds. Order matters only for the label. */
static const struct {
	const char *label;
	const char *func, *object, *stack;
	int outermost;
} builtins[] = {
	/* libstdc++'s emergency exception-handling pool (eh_alloc.cc), allocated by its
	 * static initializer: named with debug symbols, else an unnamed libstdc++ frame
	 * that no program frame calls. */
	{ "libstdc++ emergency pool", NULL, NULL, "(anonymous namespace)::pool::pool*", 0 },
	{ "libstdc++ emergency pool", "\\?\\?\\?", "*/libstdc++.so*", NULL, 0 },
	/* A C++ library's static initializer that ran before libaudioprof's constructor
	 * (libjack's, for one): its stack is cut at operator new. */
	{ "C++ static initializers", "operator new*", NULL, NULL, 1 },
	/* The same run from ld.so with no program frame in between (csound's dlopen of
	 * libstdc++: its emergency pool, named at call_init). */
	{ "C++ static initializers", "call_init", NULL, "_dl_init", 0 },
	{ "glibc atexit list", "__new_exitfn", NULL, NULL, 0 },
	{ "glibc dynamic TLS", NULL, NULL, "_dl_allocate_tls", 0 },
	{ "glibc dynamic TLS", NULL, NULL, "tls_get_addr_tail", 0 },
	{ "glibc dynamic TLS", NULL, NULL, "_dl_resize_dtv", 0 },
	{ "glibc dynamic TLS", NULL, NULL, "_dl_update_slotinfo", 0 },
	{ "glibc stdio buffers", "_IO_file_doallocate", NULL, NULL, 0 },
	{ "glibc locale data", NULL, NULL, "_nl_find_locale", 0 },
	{ "glibc locale data", "setlocale", NULL, NULL, 0 },
	{ "glibc locale data", "new_composite_name", NULL, NULL, 0 },
	{ "glibc gettext catalogs", NULL, NULL, "_nl_find_domain", 0 },
	{ "glibc gettext catalogs", NULL, NULL, "set_binding_values", 0 },
	{ "glibc gettext catalogs", "textdomain", NULL, NULL, 0 },
	{ "glibc gettext catalogs", "__textdomain", NULL, NULL, 0 },
	/* The dynamic loader's link maps, scopes and lookup tables of loaded libraries
	 * (csound, pw-play: their dlopen'ed modules). Constructors run under _dl_init,
	 * not under these. */
	{ "ld.so loaded-library data", "_dl_*", NULL, NULL, 0 },
	{ "ld.so loaded-library data", "_dlfo_*", NULL, NULL, 0 },
	{ "ld.so loaded-library data", "do_lookup_unique", NULL, NULL, 0 },
	{ "ld.so loaded-library data", NULL, NULL, "_dl_map_object", 0 },
	{ "ld.so loaded-library data", NULL, NULL, "dl_open_worker_begin", 0 },
	{ "libgomp runtime", "\\?\\?\\?", "*/libgomp.so*", NULL, 0 },
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void suppress_add_builtins(struct suppressions *s)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		struct sup_rule *r = add_rule(s);
		if (!r)
			return;
		r->kind = SUP_LEAK;
		r->builtin = 1;
		r->label = strdup(builtins[i].label);
		r->func = dup_or_null(builtins[i].func);
		r->object = dup_or_null(builtins[i].object);
		if (builtins[i].stack)
			r->stack[r->nstack++] = strdup(builtins[i].stack);
		r->outermost = builtins[i].outermost;
	}
}

/* ------------------------------------------------------------------ parsing */

/* The next blank-separated token of *pp ("\ " keeps a blank in it, and stays in the
 * token for fnmatch to read as a quoted blank); NULL at the end of the line. */
static char *next_token(char **pp)
{
	char *p = *pp;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return NULL;
	char *t = p;
	while (*p && *p != ' ' && *p != '\t') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	if (*p)
		*p++ = '\0';
	*pp = p;
	return t;
}

static int line_error(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int line_error(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s:%zu: ", name, line);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* One non-blank, non-comment line (modified in place) into a rule. */
static int parse_line(struct suppressions *s, char *l, const char *name, size_t line,
		      char *err, size_t errlen)
{
	char *colon = strchr(l, ':');
	char *k = l;
	while (*k == ' ' || *k == '\t')
		k++;
	if (!colon)
		return line_error(err, errlen, name, line,
				  "expected KIND: CONDITIONS (KIND is leak, alloc or violation)");
	char *ke = colon;
	while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
		ke--;
	*ke = '\0';
	int kind = -1;
	for (int i = 0; i < SUP_KINDS; i++)
		if (strcmp(k, kind_names[i]) == 0)
			kind = i;
	if (kind < 0)
		return line_error(err, errlen, name, line,
				  "unknown kind '%s' (expected leak, alloc or violation)", k);
	struct sup_rule r;
	memset(&r, 0, sizeof(r));
	r.kind = (enum sup_kind)kind;
	char *p = colon + 1, *t;
	int conds = 0;
	while ((t = next_token(&p))) {
		const char *glob = NULL;
		char **slot = NULL;
		if (strcmp(t, "outermost") == 0) {
			r.outermost = 1;
			conds++;
			continue;
		}
		if (strncmp(t, "function-name-matches:", 22) == 0) {
			glob = t + 22;
			slot = &r.func;
		} else if (strncmp(t, "object-matches:", 15) == 0) {
			glob = t + 15;
			slot = &r.object;
		} else if (strncmp(t, "call-stack-contains:", 20) == 0) {
			if (r.nstack == SUP_MAX_STACK) {
				rule_free(&r);
				return line_error(err, errlen, name, line,
						  "more than %d call-stack-contains: conditions",
						  SUP_MAX_STACK);
			}
			glob = t + 20;
			slot = &r.stack[r.nstack];
		} else if (strchr(t, ':') && !strchr(t, '(') && t[0] != '*' &&
			   strncmp(t, "operator", 8) != 0 && !strstr(t, "::")) {
			/* "foo:bar" that is no C++ name: a misspelt condition. */
			char *c = strchr(t, ':');
			*c = '\0';
			rule_free(&r);
			return line_error(err, errlen, name, line,
					  "unknown condition '%s:' (expected function-name-matches:, "
					  "call-stack-contains:, object-matches: or outermost)", t);
		} else {
			glob = t;
			slot = &r.func;
		}
		if (!*glob) {
			rule_free(&r);
			return line_error(err, errlen, name, line, "empty pattern after '%s'", t);
		}
		if (*slot) {
			rule_free(&r);
			return line_error(err, errlen, name, line,
					  "more than one function name or object pattern");
		}
		if (!(*slot = strdup(glob))) {
			rule_free(&r);
			return line_error(err, errlen, name, line, "out of memory");
		}
		if (slot == &r.stack[r.nstack])
			r.nstack++;
		conds++;
	}
	if (!conds)
		return line_error(err, errlen, name, line, "'%s:' needs at least one condition",
				  kind_names[kind]);
	char lab[4096];
	snprintf(lab, sizeof(lab), "%s:%zu", name, line);
	struct sup_rule *dst = add_rule(s);
	if (!dst || !(r.label = strdup(lab))) {
		rule_free(&r);
		return line_error(err, errlen, name, line, "out of memory");
	}
	*dst = r;
	return 0;
}

int suppress_parse(struct suppressions *s, const char *text, size_t len, const char *name,
		   char *err, size_t errlen)
{
	size_t line = 0;
	for (size_t i = 0; i < len;) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		line++;
		char *l = malloc(e - i + 1);
		if (!l)
			return line_error(err, errlen, name, line, "out of memory");
		memcpy(l, text + i, e - i);
		l[e - i] = '\0';
		size_t n = e - i;
		if (n && l[n - 1] == '\r')
			l[--n] = '\0';
		int rc = 0;
		if (memchr(l, '\0', n))
			rc = line_error(err, errlen, name, line, "a NUL byte in the line");
		char *p = l;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!rc && *p && *p != '#')
			rc = parse_line(s, p, name, line, err, errlen);
		free(l);
		if (rc)
			return -1;
		i = e + 1;
	}
	return 0;
}

static int load_file(struct suppressions *s, const char *path)
{
	char err[4200];
	FILE *f = fopen(path, "r");
	if (!f) {
		cli_error("suppressions: %s: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += got;
		if (n == cap) {
			char *nb = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int bad = !buf || ferror(f);
	int e = errno;
	fclose(f);
	if (bad) {
		cli_error("suppressions: %s: %s", path, buf ? strerror(e) : "too large or out of memory");
		free(buf);
		return -1;
	}
	int rc = suppress_parse(s, buf, n, path, err, sizeof(err));
	free(buf);
	if (rc)
		cli_error("suppressions: %s", err);
	return rc;
}

int suppress_opt(struct suppress_opts *o, const char *name, const char *value)
{
	if (strcmp(name, "no-default-suppressions") == 0) {
		o->no_defaults = 1;
		return 1;
	}
	if (strcmp(name, "suppressions") != 0)
		return 0;
	if (o->nfiles == (int)(sizeof(o->files) / sizeof(o->files[0]))) {
		cli_error("--suppressions: at most %d files",
			  (int)(sizeof(o->files) / sizeof(o->files[0])));
		return -1;
	}
	if (!value || !*value) {
		cli_error("--suppressions: needs a file name");
		return -1;
	}
	o->files[o->nfiles++] = value;
	return 1;
}

int suppress_load(const struct suppress_opts *o, struct suppressions *s)
{
	memset(s, 0, sizeof(*s));
	if (!o->no_defaults)
		suppress_add_builtins(s);
	const char *env = getenv("AUDIOPROF_SUPPRESSIONS");
	if (env && *env) {
		char *copy = strdup(env), *save = NULL;
		if (!copy) {
			cli_error("suppressions: out of memory");
			return -1;
		}
		for (char *f = strtok_r(copy, ":", &save); f; f = strtok_r(NULL, ":", &save))
			if (load_file(s, f) != 0) {
				free(copy);
				return -1;
			}
		free(copy);
	}
	for (int i = 0; i < o->nfiles; i++)
		if (load_file(s, o->files[i]) != 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ matching */

/* The function name of frame string s, NUL-terminated in buf. */
static const char *func_of(const char *s, struct frame *f, char *buf, size_t len)
{
	frame_parse(s, f);
	size_t n = f->func_len < len - 1 ? f->func_len : len - 1;
	memcpy(buf, f->func, n);
	buf[n] = '\0';
	return buf;
}

/* Answers of call-stack-contains globs per frame-table entry, so that a profile with
 * many leaking sites parses and matches each distinct frame once per glob:
 * memo[rule * SUP_MAX_STACK + i][frame] is 0 (not asked yet), 1 (matches), 2 (not). */
struct memo {
	unsigned char **v;
	size_t n;
	size_t nftbl;
};

static int stack_glob_at(const struct sup_rule *r, int i, size_t ridx, struct memo *m,
			 const struct profile *p, uint32_t frame)
{
	unsigned char *col = NULL;
	if (m && m->v && frame < m->nftbl) {
		size_t k = ridx * SUP_MAX_STACK + (size_t)i;
		if (!m->v[k])
			m->v[k] = calloc(m->nftbl, 1);
		col = m->v[k];
		if (col && col[frame])
			return col[frame] == 1;
	}
	char name[1024];
	struct frame f;
	int hit = fnmatch(r->stack[i], func_of(p->ftbl[frame], &f, name, sizeof(name)), 0) == 0;
	if (col)
		col[frame] = hit ? 1 : 2;
	return hit;
}

/* The named frame of a stack, parsed once for all rules. */
struct site {
	size_t k;                /* its index in the stack */
	char func[1024];
	char module[1024];       /* "" when the frame names no shared object */
};

static int rule_matches(const struct sup_rule *r, size_t ridx, struct memo *m,
			const struct profile *p, uint32_t off, uint32_t len, const struct site *st)
{
	if (r->func || r->object || r->outermost) {
		if (len == 0)
			return 0;
		if (r->func && fnmatch(r->func, st->func, 0) != 0)
			return 0;
		if (r->object && (!st->module[0] || fnmatch(r->object, st->module, 0) != 0))
			return 0;
		if (r->outermost && st->k + 1 != len)
			return 0;
	}
	for (int i = 0; i < r->nstack; i++) {
		uint32_t k;
		for (k = 0; k < len; k++)
			if (stack_glob_at(r, i, ridx, m, p, p->fs[off + k]))
				break;
		if (k == len)
			return 0;
	}
	return 1;
}

static int match(const struct suppressions *s, enum sup_kind kind, struct memo *m,
		 const struct profile *p, uint32_t off, uint32_t len)
{
	if (!s || !s->n)
		return -1;
	struct site st;
	st.k = len ? frame_pick_named(p, off, len) : 0;
	st.func[0] = st.module[0] = '\0';
	if (len) {
		struct frame f;
		func_of(p->ftbl[p->fs[off + st.k]], &f, st.func, sizeof(st.func));
		if (f.module && f.module_len < sizeof(st.module)) {
			memcpy(st.module, f.module, f.module_len);
			st.module[f.module_len] = '\0';
		}
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == kind && rule_matches(&s->v[i], i, m, p, off, len, &st))
			return (int)i;
	return -1;
}

int suppress_match(const struct suppressions *s, enum sup_kind kind, const struct profile *p,
		   uint32_t off, uint32_t len)
{
	return match(s, kind, NULL, p, off, len);
}

/* ------------------------------------------------------------------ applying */

static void note(struct suppressed *x, const struct sup_rule *r)
{
	if (r->builtin)
		x->builtin_hits++;
	else
		x->file_hits++;
	for (int i = 0; i < x->nlabels; i++)
		if (strcmp(x->labels[i], r->label) == 0)
			return;
	if (x->nlabels == (int)(sizeof(x->labels) / sizeof(x->labels[0]))) {
		x->more_labels = 1;
		return;
	}
	x->label_builtin[x->nlabels] = (unsigned char)r->builtin;
	snprintf(x->labels[x->nlabels++], sizeof(x->labels[0]), "%s", r->label);
}

int suppress_apply(struct profile *p, const struct suppressions *s)
{
	free(p->suppressed);
	size_t n = sizeof(struct suppressed) + p->npps + p->nviolations;
	struct suppressed *x = calloc(1, n);
	if (!(p->suppressed = x))
		return -1;
	x->pp_sup = (unsigned char *)(x + 1);
	x->v_sup = x->pp_sup + p->npps;
	x->npp = p->npps;
	x->nv = p->nviolations;
	if (!s || !s->n)
		return 0;
	struct memo m = { calloc(s->n * SUP_MAX_STACK, sizeof(unsigned char *)), s->n * SUP_MAX_STACK,
			  p->nftbl };
	int at_exit = p->bklt && (!p->has_audioprof || strcmp(p->reason, "exit") == 0);
	for (size_t i = 0; at_exit && i < p->npps; i++) {
		struct pp *pp = &p->pps[i];
		if (pp->eb <= 0 && pp->ebk <= 0)
			continue;
		int r = match(s, SUP_LEAK, &m, p, pp->fs_off, pp->fs_len);
		if (r < 0)
			continue;
		note(x, &s->v[r]);
		x->pp_sup[i] = 1;
		x->leak_sites++;
		x->leak_b += pp->eb > 0 ? pp->eb : 0;
		x->leak_k += pp->ebk > 0 ? pp->ebk : 0;
		p->totals.curr_b -= pp->eb > 0 ? pp->eb : 0;
		p->totals.curr_k -= pp->ebk > 0 ? pp->ebk : 0;
		pp->eb = 0;
		pp->ebk = 0;
	}
	size_t kept = 0;
	for (size_t i = 0; i < p->nviolations; i++) {
		struct violation *v = &p->violations[i];
		int is_alloc = strcmp(v->kind, "alloc") == 0 || strcmp(v->kind, "free") == 0;
		int r = match(s, is_alloc ? SUP_ALLOC : SUP_VIOLATION, &m, p, v->fs_off, v->fs_len);
		if (r < 0) {
			p->violations[kept++] = *v;
			continue;
		}
		note(x, &s->v[r]);
		x->v_sup[i] = 1;
		if (is_alloc) {
			x->alloc_calls += v->count;
			x->alloc_stacks++;
		} else {
			x->viol_calls += v->count;
			x->viol_stacks++;
		}
		/* A call made inside an audio library's own API was never in the callback's
		 * counts (lib_calls holds it): nothing to take off there. */
		int lib = v->library && *v->library;
		if (!lib && v->callback >= 0 && (size_t)v->callback < p->ncallbacks) {
			struct callback *cb = &p->callbacks[v->callback];
			int64_t *field = !is_alloc ? (v->warning ? NULL : &cb->rt_unsafe) :
					 strcmp(v->kind, "alloc") == 0 ? &cb->allocs : &cb->frees;
			if (field && *field > 0)
				*field = *field > v->count ? *field - v->count : 0;
			if (strcmp(v->kind, "alloc") == 0 && cb->alloc_bytes > 0 && v->bytes > 0)
				cb->alloc_bytes = cb->alloc_bytes > v->bytes ? cb->alloc_bytes - v->bytes : 0;
		}
	}
	p->nviolations = kept;
	for (size_t i = 0; m.v && i < m.n; i++)
		free(m.v[i]);
	free(m.v);
	return 0;
}

void suppress_labels(const struct suppressed *x, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int pass = 1; pass >= 0; pass--) {
		int first = 1;
		for (int i = 0; i < x->nlabels && n < len; i++) {
			if (x->label_builtin[i] != pass)
				continue;
			int w = snprintf(buf + n, len - n, "%s%s%s", first && n ? "; " : first ? "" : ", ",
					 first && pass ? "built-in: " : "", x->labels[i]);
			if (w < 0)
				return;
			n += (size_t)w;
			first = 0;
		}
	}
	if (x->more_labels && n < len)
		snprintf(buf + n, len - n, ", ...");
}
