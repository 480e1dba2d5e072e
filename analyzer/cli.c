/* cli.c - helpers shared by the subcommands: error messages, the end of every option
 * loop (--help, missing values, unknown options, the FILE operand), the AUDIOPROF_* table
 * (printed from common/options.c's options_table, never duplicated here) and parsing
 * of option values with the preload's own parsers and bounds. */
#include "cli.h"
#include "fmt.h"
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ messages */

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("audioprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------ command lines */

void cli_getopt_start(void)
{
	optind = 1;
	opterr = 0;
}

int cli_usage_error(const struct cli_sub *s)
{
	fprintf(stderr, "Usage: audioprof %s %s\nTry 'audioprof %s --help'.\n", s->name,
		s->synopsis, s->name);
	return EXIT_USAGE;
}

int cli_opt_default(const struct cli_sub *s, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	if (c == 'h') {
		s->usage(stdout);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_INPUT;
	}
	if (c == ':') {
		cli_error("%s: option '%s' needs a value", s->name, arg);
	} else if (optopt > 0 && optopt < 128 && strncmp(arg, "--", 2) != 0) {
		/* A short option: getopt leaves optind on the word until its last letter,
		 * so the word before may be another one. */
		cli_error("%s: unknown option '-%c'", s->name, optopt);
	} else {
		cli_error("%s: unknown option '%s'", s->name, arg);
	}
	return cli_usage_error(s);
}

const char *cli_one_file(const struct cli_sub *s, int argc, char **argv)
{
	if (argc - optind == 1)
		return argv[optind];
	cli_error(argc == optind ? "%s: no FILE given" : "%s: more than one FILE given", s->name);
	cli_usage_error(s);
	return NULL;
}

int cli_parse_count(const struct cli_sub *s, const char *flag, const char *arg, long max,
		    long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (!*arg || *end || errno || v < 0 || v > max) {
		cli_error("%s: %s: '%s' is not a number from 0 to %ld", s->name, flag, arg, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_color(const struct cli_sub *s, const char *when)
{
	if (fmt_color_init(when) == 0)
		return 0;
	cli_error("%s: --color: '%s' is not auto, always or never", s->name, when);
	return cli_usage_error(s);
}

/* ------------------------------------------------------------------ values */

static const char *type_name(enum opt_type t)
{
	switch (t) {
	case OPT_BOOL: return "bool";
	case OPT_INT: return "integer";
	case OPT_SIZE: return "size";
	case OPT_TIME: return "time";
	case OPT_STRING: return "string";
	case OPT_CHOICE: return "choice";
	}
	return "?";
}

/* A value in the largest unit that divides it exactly: 86400s, 250ms, 4K. */
static void format_value(enum opt_type t, int64_t v, char *buf, size_t len)
{
	static const struct { const char *name; int64_t mul; } times[] = {
		{ "s", 1000000000LL }, { "ms", 1000000LL }, { "us", 1000LL }, { "ns", 1 } };
	static const struct { const char *name; int64_t mul; } sizes[] = {
		{ "G", 1LL << 30 }, { "M", 1LL << 20 }, { "K", 1LL << 10 }, { "", 1 } };
	if (t == OPT_TIME && v != 0) {
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
			if (v % times[i].mul == 0) {
				snprintf(buf, len, "%" PRId64 "%s", v / times[i].mul, times[i].name);
				return;
			}
	}
	if (t == OPT_SIZE && v != 0) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (v % sizes[i].mul == 0) {
				snprintf(buf, len, "%" PRId64 "%s", v / sizes[i].mul, sizes[i].name);
				return;
			}
	}
	snprintf(buf, len, "%" PRId64, v);
}

static void format_range(const struct opt_def *d, char *buf, size_t len)
{
	char lo[32], hi[32];
	switch (d->type) {
	case OPT_BOOL:
		snprintf(buf, len, "0/1, no/yes, off/on");
		return;
	case OPT_STRING:
		snprintf(buf, len, "-");
		return;
	case OPT_CHOICE:
		snprintf(buf, len, "%s", d->choices);
		return;
	default:
		format_value(d->type, d->min, lo, sizeof(lo));
		format_value(d->type, d->max, hi, sizeof(hi));
		snprintf(buf, len, "%s..%s", lo, hi);
		return;
	}
}

void cli_print_env_table(FILE *f)
{
	fputs("Environment variables read by libaudioprof.so (see libaudioprof(7)).\n"
	      "Times take ns, us, ms, s or m (bare numbers are seconds); sizes K, M, G.\n"
	      "A bad value gives one warning and the default is used.\n\n", f);
	fprintf(f, "%-23s %-8s %-18s %s\n", "VARIABLE", "TYPE", "DEFAULT", "RANGE");
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_def *d = &options_table[i];
		char range[80];
		format_range(d, range, sizeof(range));
		fprintf(f, "%-23s %-8s %-18s %s\n", d->name, type_name(d->type), d->def, range);
		fprintf(f, "    %s\n", d->help);
	}
}

int cli_parse_opt_value(int opt_id, const char *flag, const char *arg, int64_t *out)
{
	const struct opt_def *d = &options_table[opt_id];
	int rc = -1;
	const char *expect = "";
	switch (d->type) {
	case OPT_BOOL: rc = options_parse_bool(arg, out); expect = "1/0, yes/no, on/off"; break;
	case OPT_INT: rc = options_parse_int(arg, out); expect = "a whole number"; break;
	case OPT_SIZE: rc = options_parse_size(arg, out); expect = "a size like 64, 4K, 16M"; break;
	case OPT_TIME: rc = options_parse_time(arg, out); expect = "a time like 5s, 250ms, 100us"; break;
	case OPT_STRING: return 0;
	case OPT_CHOICE: rc = options_parse_choice(d->choices, arg, out); expect = d->choices; break;
	}
	if (rc != 0) {
		cli_error("%s: '%s' is not valid: expected %s", flag, arg, expect);
		return -1;
	}
	if (*out < d->min || *out > d->max) {
		char range[80];
		format_range(d, range, sizeof(range));
		cli_error("%s: '%s' is out of range (%s)", flag, arg, range);
		return -1;
	}
	return 0;
}
