/* suppress.h - suppressions: rules that take findings which are not the program's own
 * (the C and C++ runtimes' lifetime allocations, a library's known leak) out of the
 * leak, allocation and violation counts of report, check, diff and view. A built-in
 * list for the runtimes, plus files in the format of audioprof(1), SUPPRESSIONS. */
#ifndef AUDIOPROF_SUPPRESS_H
#define AUDIOPROF_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

struct profile;

enum sup_kind {
	SUP_LEAK,                /* "leak": blocks live at exit */
	SUP_ALLOC,               /* "alloc": allocations and frees inside callbacks */
	SUP_VIOLATION,           /* "violation": other real-time-unsafe calls in callbacks */
	SUP_KINDS
};

#define SUP_MAX_STACK 8      /* call-stack-contains conditions per rule */

/* One rule: every condition given must hold. */
struct sup_rule {
	enum sup_kind kind;
	char *label;             /* built-in: its name; from a file: "FILE:LINE" (owned) */
	int builtin;
	char *func;              /* glob on the function the finding names, or NULL */
	char *object;            /* glob on that frame's module ("(in /lib/x.so)"), or NULL */
	char *stack[SUP_MAX_STACK]; /* globs: some frame's function matches each */
	int nstack;
	int outermost;           /* the named frame is the last one recorded */
};

struct suppressions {
	struct sup_rule *v;
	size_t n, cap;
};

/* What the command line and the environment say; see suppress_opt(). */
struct suppress_opts {
	const char *files[16];   /* --suppressions FILE, in order */
	int nfiles;
	int no_defaults;         /* --no-default-suppressions */
};

/* What suppress_apply() took out, kept on the profile (profile.suppressed). */
struct suppressed {
	int64_t leak_b, leak_k;  /* bytes, blocks no longer counted as leaked */
	int64_t leak_sites;
	int64_t alloc_calls, alloc_stacks;     /* alloc/free violations removed */
	int64_t viol_calls, viol_stacks;       /* other violations removed */
	char labels[16][80];      /* the rules that matched, in first-match order, unique */
	unsigned char label_builtin[16];   /* labels[i] is a built-in's name (else FILE:LINE) */
	int nlabels, more_labels;
	int builtin_hits, file_hits;   /* findings suppressed by built-in / file rules */
	unsigned char *pp_sup;   /* per pp: 1 when its leak was suppressed (same allocation) */
	unsigned char *v_sup;    /* per violation of the file: 1 when suppressed (ditto) */
	size_t npp, nv;
};

/* Applies option `name` ("suppressions", "no-default-suppressions"); returns 1 if
 * applied, 0 if it is not a suppression option, -1 after a usage error. */
/* Those two options in a getopt_long table, getopt_long returning `val` for them. */
#define SUPPRESS_LONG_OPTS(val)                                           \
	{ "suppressions", required_argument, NULL, (val) },               \
	{ "no-default-suppressions", no_argument, NULL, (val) }
int suppress_opt(struct suppress_opts *o, const char *name, const char *value);

/* Builds the rule set: the built-ins (unless no_defaults), then each file of
 * AUDIOPROF_SUPPRESSIONS (':'-separated), then the files given. Returns 0, or -1 after
 * printing "audioprof: FILE:LINE: problem" (the caller exits EXIT_INPUT). */
int suppress_load(const struct suppress_opts *o, struct suppressions *s);

/* Parses the text of one suppressions file (`name` for messages and labels). Returns
 * 0, or -1 with "NAME:LINE: problem" in err. */
int suppress_parse(struct suppressions *s, const char *text, size_t len, const char *name,
		   char *err, size_t errlen);

void suppress_add_builtins(struct suppressions *s);
void suppress_free(struct suppressions *s);

/* The first rule of `kind` that matches the stack fs[off .. off+len), or -1. */
int suppress_match(const struct suppressions *s, enum sup_kind kind, const struct profile *p,
		   uint32_t off, uint32_t len);

/* Takes what the rules match out of the profile's counts: a leaked site's eb/ebk
 * become 0 (and the totals drop by as much), a suppressed violation is removed and
 * its calls no longer count in its callback's allocs/frees/rt_unsafe. Leaks only in a
 * profile written at exit. Records what it took in p->suppressed, one allocation that
 * profile_free() frees. 0, or -1 (out of memory). */
int suppress_apply(struct profile *p, const struct suppressions *s);

/* The rules that matched, for messages: "built-in: glibc atexit list, glibc dynamic
 * TLS; my.supp:3" into buf. */
void suppress_labels(const struct suppressed *x, char *buf, size_t len);

#endif
