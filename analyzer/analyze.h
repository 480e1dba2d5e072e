/* analyze.h - the analyzer's subcommands (report.c, check.c, diff.c, flame.c), the
 * `audioprof run --check` and `--baseline` hooks, and what they share: the stack printer. Exit codes are
 * enum cli_exit of cli.h: 0 ok, 1 findings, 2 usage, 3 bad input or I/O. */
#ifndef AUDIOPROF_ANALYZE_H
#define AUDIOPROF_ANALYZE_H

#include <stdint.h>
#include <stdio.h>

#include "suppress.h"

struct profile;

int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_flame(int argc, char **argv);

/* ------------------------------------------------------------------ check (check.c) */

enum check_id {
	CHK_CALLBACK_ALLOCS,     /* --max-callback-allocs N (default 0) */
	CHK_RT_UNSAFE,           /* --max-rt-unsafe N */
	CHK_OVERRUNS,            /* --max-overruns N */
	CHK_LOAD,                /* --max-load PCT */
	CHK_PEAK,                /* --max-peak SIZE */
	CHK_LEAKED,              /* --max-leaked SIZE */
	CHK_VIOLATION_TIME,      /* --max-violation-time DURATION */
	CHK_COUNT
};

/* The limits of one check run; set by check_opts_set(). */
struct check_opts {
	int64_t limit[CHK_COUNT];
	unsigned char given[CHK_COUNT];   /* on the command line (else default or off) */
	unsigned char on[CHK_COUNT];      /* checked at all */
	const char *junit;                /* --junit FILE, or NULL */
	int verbose;                      /* print passing checks too */
	int count_library;                /* --count-library-calls: calls made inside an
					   * audio library's own API count too */
	FILE *out;                        /* where results go; NULL = stdout (`run`: stderr) */
	struct suppress_opts sup;         /* --suppressions, --no-default-suppressions */
};

void check_opts_init(struct check_opts *o);
/* Applies option `name` ("max-peak", "junit", "suppressions", ... without dashes) with `value`.
 * Returns 1 if applied, 0 if `name` is not a check option, -1 after printing a usage
 * error about a bad value. */
int check_opts_set(struct check_opts *o, const char *name, const char *value);
/* Checks the profile at `path`: prints one line per failed check on o->out, writes the
 * JUnit file if asked. Returns EXIT_OK, EXIT_FINDINGS or EXIT_INPUT. */
int check_file(const char *path, const struct check_opts *o);

/* ------------------------------------------------------------------ diff (diff.c) */

#define DIFF_FAIL_MAX 8          /* room for diff.c's thresholds (--fail-*) */

/* How `audioprof diff` compares; set by diff_opts_init() and diff_opts_set(). */
struct diff_opts {
	int on[DIFF_FAIL_MAX];       /* threshold i is checked at all */
	double limit[DIFF_FAIL_MAX]; /* its value (percent, count or bytes) */
	size_t top;                  /* sites shown each way; 0 = all */
	int frames;                  /* frames per stack */
	int width;                   /* columns a stack line may take */
	double alpha;                /* --significance-level */
	double noise;                /* --noise-threshold, in % */
	const char *color;           /* --color WHEN */
	struct suppress_opts sup;    /* --suppressions, --no-default-suppressions */
	const char *const *base_shown;  /* diff_files: names shown for the base files
				      * instead of their paths (NULL: the paths) */
};

void diff_opts_init(struct diff_opts *o);
/* Applies option `name` (one of DIFF_LONG_OPTS, without dashes) with `value`. Returns
 * 1 if applied, 0 if `name` is not a diff option, -1 after printing what is wrong with
 * the value (prefixed by `who`, "diff" or "run"). */
int diff_opts_set(struct diff_opts *o, const char *who, const char *name, const char *value);
/* The long options diff_opts_set() takes, getopt_long returning `val` for each: the
 * thresholds, the statistics and the output (but not -n/-f, which are diff's alone).
 * The suppressions (SUPPRESS_LONG_OPTS) are taken by diff_opts_set() too. */
#define DIFF_LONG_OPTS(val)                                               \
	{ "fail-p99-pct", required_argument, NULL, (val) },               \
	{ "fail-callback-allocs", required_argument, NULL, (val) },       \
	{ "fail-overruns", required_argument, NULL, (val) },              \
	{ "fail-bytes-pct", required_argument, NULL, (val) },             \
	{ "fail-blocks-pct", required_argument, NULL, (val) },            \
	{ "fail-peak-pct", required_argument, NULL, (val) },              \
	{ "fail-leaked", required_argument, NULL, (val) },                \
	{ "significance-level", required_argument, NULL, (val) },         \
	{ "noise-threshold", required_argument, NULL, (val) },            \
	{ "top", required_argument, NULL, (val) },                        \
	{ "frames", required_argument, NULL, (val) },                     \
	{ "color", required_argument, NULL, (val) },                      \
	{ "colour", required_argument, NULL, (val) }
/* Loads the profiles base[0..nb) and new[0..nn) and prints their comparison on standard
 * output, as `audioprof diff BASE... -- NEW...` does. Returns EXIT_OK (no regression),
 * EXIT_FINDINGS (a regression) or EXIT_INPUT (a file or suppressions file unreadable or
 * invalid, out of memory, standard output failed; said on stderr). */
int diff_files(const char *const *base, size_t nb, const char *const *new, size_t nn,
	       const struct diff_opts *o);

/* ------------------------------------------------------------------ stacks (report.c) */

/* Prints the stack fs[off..off+len) as "at"/"by" lines indented by `indent`, hiding an
 * allocator's own frame 0 and the frames below main() or a thread's start, at most `max` frames, each cut
 * to `width` columns. */
void report_print_stack(FILE *f, const struct profile *p, uint32_t off, uint32_t len,
			int indent, int max, int width);

#endif
