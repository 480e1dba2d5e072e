/* check.c - `audioprof check FILE` and the checks of `audioprof run --check`: limits on
 * callback allocations, real-time-unsafe calls, overruns, load, peak and leaked bytes,
 * the longest time spent inside one unsafe call;
 * exit 1 with one line per failure, and a JUnit XML file for CI (written atomically). */
#include "analyze.h"
#include "atomicfile.h"
#include "cli.h"
#include "fmt.h"
#include "options.h"
#include "profile_read.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ the checks */

enum limit_kind { LK_COUNT, LK_SIZE, LK_PCT, LK_TIME };

/* PCT limits and values are kept in thousandths of a percent. */
#define PCT_SCALE 1000

static const struct {
	const char *name;        /* option without dashes */
	const char *what;        /* what is measured, for messages */
	enum limit_kind kind;
	int default_on;          /* checked even when not given */
	int64_t default_limit;
} checks[CHK_COUNT] = {
	[CHK_CALLBACK_ALLOCS] = { "max-callback-allocs", "allocations inside audio callbacks",
				  LK_COUNT, 1, 0 },
	[CHK_RT_UNSAFE] = { "max-rt-unsafe", "other real-time-unsafe calls inside callbacks",
			    LK_COUNT, 0, 0 },
	[CHK_OVERRUNS] = { "max-overruns", "callbacks that overran their deadline", LK_COUNT, 0, 0 },
	[CHK_LOAD] = { "max-load", "highest callback load (duration / deadline)", LK_PCT, 0, 0 },
	[CHK_PEAK] = { "max-peak", "bytes live at the heap peak", LK_SIZE, 0, 0 },
	[CHK_LEAKED] = { "max-leaked", "bytes not freed at the end", LK_SIZE, 0, 0 },
	[CHK_VIOLATION_TIME] = { "max-violation-time",
				 "longest time inside one real-time-unsafe call", LK_TIME, 0, 0 },
};

void check_opts_init(struct check_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < CHK_COUNT; i++) {
		o->on[i] = (unsigned char)checks[i].default_on;
		o->limit[i] = checks[i].default_limit;
	}
}

static int parse_pct(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (end == s || errno || !isfinite(d) || d < 0 || d > 1e9)
		return -1;
	if (*end == '%')
		end++;
	if (*end)
		return -1;
	*out = (int64_t)llround(d * PCT_SCALE);
	return 0;
}

int check_opts_set(struct check_opts *o, const char *name, const char *value)
{
	if (strcmp(name, "count-library-calls") == 0) {
		o->count_library = 1;
		return 1;
	}
	int sr = suppress_opt(&o->sup, name, value);
	if (sr != 0)
		return sr;
	if (strcmp(name, "junit") == 0) {
		if (!*value) {
			cli_error("--junit: empty file name");
			return -1;
		}
		o->junit = value;
		return 1;
	}
	for (int i = 0; i < CHK_COUNT; i++) {
		if (strcmp(name, checks[i].name) != 0)
			continue;
		int64_t v;
		int rc;
		const char *expect;
		switch (checks[i].kind) {
		case LK_SIZE:
			rc = options_parse_size(value, &v);
			expect = "a size like 0, 512K, 64M, 1G";
			break;
		case LK_PCT:
			rc = parse_pct(value, &v);
			expect = "a percentage like 80 or 72.5";
			break;
		case LK_TIME:
			rc = options_parse_time(value, &v);
			if (rc == 0 && v < 0)
				rc = -1;
			expect = "a duration like 500us, 2ms or 1s";
			break;
		default:
			rc = options_parse_int(value, &v);
			if (rc == 0 && v < 0)
				rc = -1;
			expect = "a whole number, 0 or more";
			break;
		}
		if (rc != 0) {
			cli_error("--%s: '%s' is not valid: expected %s", name, value, expect);
			return -1;
		}
		o->limit[i] = v;
		o->on[i] = 1;
		o->given[i] = 1;
		return 1;
	}
	return 0;
}

/* The measured value of check `id`, or -1 with *why set when the profile lacks it. */
/* Library-internal calls (violations with a "library") of the alloc kind (alloc) or
 * of the other unsafe kinds (!alloc): what --count-library-calls adds. */
static int64_t library_calls(const struct profile *p, int alloc)
{
	int64_t sum = 0;
	for (size_t i = 0; i < p->nviolations; i++) {
		const struct violation *v = &p->violations[i];
		if (!*v->library || v->warning)
			continue;
		int is_alloc = strcmp(v->kind, "alloc") == 0;
		if (alloc ? is_alloc : !is_alloc && strcmp(v->kind, "free") != 0)
			sum += v->count;
	}
	return sum;
}

static int64_t measure(const struct profile *p, int id, const char **why, int count_library)
{
	int64_t sum = 0;
	*why = NULL;
	switch (id) {
	case CHK_CALLBACK_ALLOCS:
		if (p->has_audio) {
			for (size_t i = 0; i < p->ncallbacks; i++)
				sum += p->callbacks[i].allocs > 0 ? p->callbacks[i].allocs : 0;
			return sum + (count_library ? library_calls(p, 1) : 0);
		}
		if (p->has_cb) {
			for (size_t i = 0; i < p->npps; i++)
				sum += p->pps[i].cbk > 0 ? p->pps[i].cbk : 0;
			return sum;
		}
		*why = "it has no audio data";
		return -1;
	case CHK_RT_UNSAFE: {
		if (!p->has_audio) {
			*why = "it has no audio data";
			return -1;
		}
		int all = 1;
		for (size_t i = 0; i < p->ncallbacks; i++) {
			all &= p->callbacks[i].rt_unsafe >= 0;
			sum += p->callbacks[i].rt_unsafe > 0 ? p->callbacks[i].rt_unsafe : 0;
		}
		if (all)
			return sum + (count_library ? library_calls(p, 0) : 0);
		/* Counted from the violations when a callback lacks the field. */
		sum = 0;
		for (size_t i = 0; i < p->nviolations; i++) {
			const struct violation *v = &p->violations[i];
			if (!v->warning && strcmp(v->kind, "alloc") != 0 &&
			    strcmp(v->kind, "free") != 0 && (count_library || !*v->library))
				sum += v->count;
		}
		return sum;
	}
	case CHK_OVERRUNS:
		if (!p->has_audio) {
			*why = "it has no audio data";
			return -1;
		}
		for (size_t i = 0; i < p->ncallbacks; i++)
			sum += p->callbacks[i].overruns > 0 ? p->callbacks[i].overruns : 0;
		return sum;
	case CHK_LOAD: {
		if (!p->has_audio) {
			*why = "it has no audio data";
			return -1;
		}
		double mx = 0;
		for (size_t i = 0; i < p->ncallbacks; i++)
			if (p->callbacks[i].load_max_pct > mx)
				mx = p->callbacks[i].load_max_pct;
		return (int64_t)llround(mx * PCT_SCALE);
	}
	case CHK_PEAK:
		if (!p->bklt) {
			*why = "it has no block lifetimes";
			return -1;
		}
		return p->totals.max_b;
	case CHK_LEAKED:
		if (!p->bklt) {
			*why = "it has no block lifetimes";
			return -1;
		}
		return p->totals.curr_b;
	case CHK_VIOLATION_TIME: {
		if (!p->has_audio) {
			*why = "it has no audio data";
			return -1;
		}
		/* Warnings (try-locks) never wait; allocations are not timed. */
		int untimed = 0;
		for (size_t i = 0; i < p->nviolations; i++) {
			const struct violation *v = &p->violations[i];
			if (v->warning || (*v->library && !count_library))
				continue;
			if (v->time_max_ns > sum)
				sum = v->time_max_ns;
			untimed |= v->time_ns < 0 && strcmp(v->kind, "alloc") != 0 &&
				   strcmp(v->kind, "free") != 0;
		}
		if (untimed && sum == 0) {
			*why = "its violations carry no times (an older profile)";
			return -1;
		}
		return sum;
	}
	}
	return -1;
}

static const char *show(int id, int64_t v, char *buf, size_t len)
{
	char a[FMT_NUM], b[FMT_NUM];
	switch (checks[id].kind) {
	case LK_SIZE:
		if (v < 1024)
			snprintf(buf, len, "%s", fmt_bytes(v, a));
		else
			snprintf(buf, len, "%s (%s bytes)", fmt_bytes(v, a), fmt_count(v, b));
		break;
	case LK_PCT:
		snprintf(buf, len, "%.6g%%", (double)v / PCT_SCALE);
		break;
	case LK_TIME:
		snprintf(buf, len, "%s", fmt_ns(v, a));
		break;
	default:
		snprintf(buf, len, "%s", fmt_count(v, a));
		break;
	}
	return buf;
}

/* ------------------------------------------------------------------ JUnit */

struct result {
	int state;               /* 0 pass, 1 fail, 2 skipped */
	char text[256];
};

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (c >= 0x20 || c == '\t' || c == '\n')
				fputc(c, f);
			break;
		}
	}
}

/* Writes the JUnit file through the one atomic writer (common/atomicfile.h): a
 * regular file is replaced whole (mode 0666 less the umask, like any new file); a
 * device or FIFO is written into. `error` is set when the profile could not be read.
 * Returns 0 or -1 (after a message). */
static int write_junit(const char *path, const char *profile, const struct check_opts *o,
		       const struct result *res, const char *error)
{
	struct atomicfile af;
	if (atomicfile_open(&af, path, 0666, ATOMICFILE_SYNC) != 0) {
		cli_error("--junit: cannot write %s: %s", path, atomicfile_strerror(errno));
		return -1;
	}
	int fd = dup(af.fd);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		cli_error("--junit: cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		atomicfile_abort(&af);
		return -1;
	}
	int tests = 0, failures = 0, skipped = 0, errors = error ? 1 : 0;
	for (int i = 0; i < CHK_COUNT && !error; i++) {
		if (!o->on[i])
			continue;
		tests++;
		failures += res[i].state == 1;
		skipped += res[i].state == 2;
	}
	if (error)
		tests = 1;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"audioprof check\" tests=\"%d\" failures=\"%d\" errors=\"%d\" "
		"skipped=\"%d\">\n", tests, failures, errors, skipped);
	fputs("  <testsuite name=\"", f);
	xml_escaped(f, profile);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\">\n", tests,
		failures, errors, skipped);
	if (error) {
		fputs("    <testcase classname=\"audioprof.check\" name=\"read-profile\">\n"
		      "      <error type=\"input\" message=\"", f);
		xml_escaped(f, error);
		fputs("\"/>\n    </testcase>\n", f);
	}
	for (int i = 0; i < CHK_COUNT && !error; i++) {
		if (!o->on[i])
			continue;
		fprintf(f, "    <testcase classname=\"audioprof.check\" name=\"%s\"", checks[i].name);
		if (res[i].state == 0) {
			fputs("/>\n", f);
			continue;
		}
		fprintf(f, ">\n      <%s %smessage=\"", res[i].state == 1 ? "failure" : "skipped",
			res[i].state == 1 ? "type=\"limit\" " : "");
		xml_escaped(f, res[i].text);
		fputs("\"/>\n    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	int bad = fflush(f) != 0 || ferror(f);
	int e = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		atomicfile_abort(&af);
	} else if (atomicfile_commit(&af) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		cli_error("--junit: cannot write %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ checking */

/* " (N suppressed)" for the checks suppressions change, else "". */
static const char *suppressed_note(const struct profile *p, int id, char *buf, size_t len)
{
	const struct suppressed *x = p->suppressed;
	char a[96];
	int64_t v = !x ? 0 : id == CHK_LEAKED ? x->leak_b : id == CHK_CALLBACK_ALLOCS ?
		    x->alloc_calls : id == CHK_RT_UNSAFE ? x->viol_calls : 0;
	if (v <= 0)
		return "";
	snprintf(buf, len, " (%s suppressed)", show(id, v, a, sizeof(a)));
	return buf;
}

int check_file(const char *path, const struct check_opts *o)
{
	struct result res[CHK_COUNT];
	memset(res, 0, sizeof(res));
	char err[1024];
	struct suppressions sup;
	if (suppress_load(&o->sup, &sup) != 0) {
		suppress_free(&sup);
		if (o->junit)
			write_junit(o->junit, path, o, res, "the suppressions could not be read");
		return EXIT_INPUT;
	}
	struct profile *p = profile_load(path, err, sizeof(err));
	if (!p || suppress_apply(p, &sup) != 0) {
		if (p)
			snprintf(err, sizeof(err), "%s: out of memory", path);
		profile_free(p);
		suppress_free(&sup);
		cli_error("%s", err);
		if (o->junit)
			write_junit(o->junit, path, o, res, err);
		return EXIT_INPUT;
	}
	suppress_free(&sup);
	FILE *out = o->out ? o->out : stdout;
	int failed = 0;
	for (int i = 0; i < CHK_COUNT; i++) {
		if (!o->on[i])
			continue;
		const char *why;
		int64_t v = measure(p, i, &why, o->count_library);
		char a[96], b[96], sn[128];
		if (v < 0) {
			res[i].state = 2;
			snprintf(res[i].text, sizeof(res[i].text), "not checked: %s", why);
			if (o->given[i])
				cli_error("check: %s: --%s not checked: %s", path, checks[i].name, why);
			continue;
		}
		if (v > o->limit[i]) {
			res[i].state = 1;
			failed++;
			snprintf(res[i].text, sizeof(res[i].text), "%s: %s, limit %s%s", checks[i].what,
				 show(i, v, a, sizeof(a)), show(i, o->limit[i], b, sizeof(b)),
				 suppressed_note(p, i, sn, sizeof(sn)));
			fprintf(out, "%s: FAIL %s: %s\n", path, checks[i].name, res[i].text);
		} else {
			snprintf(res[i].text, sizeof(res[i].text), "%s: %s, limit %s%s", checks[i].what,
				 show(i, v, a, sizeof(a)), show(i, o->limit[i], b, sizeof(b)),
				 suppressed_note(p, i, sn, sizeof(sn)));
			if (o->verbose)
				fprintf(out, "%s: ok   %s: %s\n", path, checks[i].name, res[i].text);
		}
	}
	if (o->verbose)
		for (int i = 0; i < CHK_COUNT; i++)
			if (o->on[i] && res[i].state == 2)
				fprintf(out, "%s: skip %s: %s\n", path, checks[i].name, res[i].text);
	profile_free(p);
	int rc = failed ? EXIT_FINDINGS : EXIT_OK;
	if (fflush(out) != 0) {
		cli_error("check: cannot write the output: %s", strerror(errno));
		rc = EXIT_INPUT;
	}
	if (o->junit && write_junit(o->junit, path, o, res, NULL) != 0)
		rc = EXIT_INPUT;
	return rc;
}

/* ------------------------------------------------------------------ command */

static void usage(FILE *f)
{
	fputs("Usage: audioprof check [OPTIONS] FILE\n"
	      "\n"
	      "Check a profile against limits, for CI. Prints one line per failed check and\n"
	      "exits 1 if any failed, 0 if all hold.\n"
	      "\n"
	      "Options:\n"
	      "  --max-callback-allocs N  allocations inside audio callbacks (default 0)\n"
	      "  --max-rt-unsafe N        other real-time-unsafe calls inside callbacks\n"
	      "                           (locks, sleeps, I/O, ...)\n"
	      "  --max-overruns N         callbacks that took longer than their deadline\n"
	      "  --max-load PCT           highest callback load, in % of the deadline\n"
	      "  --max-peak SIZE          bytes live at the heap peak (SIZE: 512K, 64M, 1G)\n"
	      "  --max-leaked SIZE        bytes not freed at the end\n"
	      "  --max-violation-time DURATION\n"
	      "                           longest time inside one real-time-unsafe call\n"
	      "                           (a lock's wait, a sleep; DURATION: 500us, 2ms, 1s)\n"
	      "  --count-library-calls    count the unsafe calls made inside an audio\n"
	      "                           library's own API (libasound's locks in\n"
	      "                           snd_pcm_avail, say) against the limits too\n"
	      "  --junit FILE             also write the results as JUnit XML to FILE\n"
	      "  --suppressions FILE      leaks and violations not to count (audioprof(1),\n"
	      "                           SUPPRESSIONS); may be repeated\n"
	      "  --no-default-suppressions  count the C and C++ runtimes' own leaks too\n"
	      "  -v, --verbose            print the checks that pass too\n"
	      "  -h, --help               show this help\n"
	      "\n"
	      "Only the limits given are checked, plus --max-callback-allocs 0. A limit on\n"
	      "audio data is skipped (with a note) when the profile has none.\n"
	      "Exit status: 0 all checks hold, 1 a check failed, 2 usage error, 3 unreadable\n"
	      "or invalid FILE or suppressions file, or the JUnit file could not be written.\n", f);
}

static const struct cli_sub sub = { "check", "[OPTIONS] FILE", usage };

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-callback-allocs", required_argument, NULL, 0 },
		{ "max-rt-unsafe", required_argument, NULL, 0 },
		{ "max-overruns", required_argument, NULL, 0 },
		{ "max-load", required_argument, NULL, 0 },
		{ "max-peak", required_argument, NULL, 0 },
		{ "max-leaked", required_argument, NULL, 0 },
		{ "max-violation-time", required_argument, NULL, 0 },
		{ "junit", required_argument, NULL, 0 },
		{ "count-library-calls", no_argument, NULL, 0 },
		SUPPRESS_LONG_OPTS(0),
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check_opts o;
	check_opts_init(&o);
	int c, li;
	cli_getopt_start();
	while ((c = getopt_long(argc, argv, ":vh", opts, &li)) != -1) {
		switch (c) {
		case 0:
			if (check_opts_set(&o, opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			break;
		case 'v': o.verbose = 1; break;
		default:
			return cli_opt_default(&sub, c, argv);
		}
	}
	const char *file = cli_one_file(&sub, argc, argv);
	return file ? check_file(file, &o) : EXIT_USAGE;
}
