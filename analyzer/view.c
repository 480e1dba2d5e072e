/* view.c - `audioprof view FILE [-o OUT.html] [--open]`: writes one self-contained HTML
 * file, the viewer of viewer/ (built in: view.h) with the profile embedded, that any
 * browser opens without a server or a network; handy as a CI artifact. The profile is
 * checked first (profile_read.h), then embedded as JSON text in a non-executing
 * <script type="application/json"> element, written so that no byte of it can end the
 * element or be taken for markup. The file is written atomically. */
#include "atomicfile.h"
#include "cli.h"
#include "profile_read.h"
#include "suppress.h"
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------ output */

/* Writes the JSON text p[0..n) for the inside of a <script> element: every '<' becomes
 * \u003c, so that neither "</script" nor "<!--" can appear (both would change where
 * the element ends), and U+2028/U+2029 become \u2028/\u2029. In a valid JSON text these
 * bytes only occur inside strings, where the escapes mean the same characters, so
 * JSON.parse gives back exactly the profile. Returns 0, or -1 on a write error. */
static int write_escaped_json(FILE *f, const char *p, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc = NULL;
		size_t skip = 1;
		if (p[i] == '<') {
			esc = "\\u003c";
		} else if ((unsigned char)p[i] == 0xE2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
			   ((unsigned char)p[i + 2] == 0xA8 || (unsigned char)p[i + 2] == 0xA9)) {
			esc = (unsigned char)p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
			skip = 3;
		}
		if (!esc)
			continue;
		if (fwrite(p + from, 1, i - from, f) != i - from || fputs(esc, f) == EOF)
			return -1;
		i += skip - 1;
		from = i + 1;
	}
	return fwrite(p + from, 1, n - from, f) == n - from ? 0 : -1;
}

/* Writes s as the value of an HTML attribute in double quotes. */
static int write_attr(FILE *f, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : *s == '<' ? "&lt;" :
				*s == '>' ? "&gt;" : NULL;
		if (e ? fputs(e, f) == EOF : fputc(*s, f) == EOF)
			return -1;
	}
	return 0;
}

/* What the suppressions took out (suppress.h), as JSON for the data element's
 * data-suppressed attribute, which the viewer reads (open.js): set by cmd_view. */
static char *suppressed_json;

/* The page: head, the data element's name (and suppressed) attributes, the profile, tail. */
static int write_page(FILE *f, const char *name, const char *json, size_t len)
{
	if (fwrite(viewer_head, 1, viewer_head_len, f) != viewer_head_len ||
	    fputs(" data-name=\"", f) == EOF || write_attr(f, name) < 0 || fputs("\"", f) == EOF ||
	    (suppressed_json && (fputs(" data-suppressed=\"", f) == EOF ||
				 write_attr(f, suppressed_json) < 0 || fputs("\"", f) == EOF)) ||
	    fputs(">", f) == EOF ||
	    write_escaped_json(f, json, len) < 0 ||
	    fwrite(viewer_tail, 1, viewer_tail_len, f) != viewer_tail_len)
		return -1;
	return fflush(f) == 0 ? 0 : -1;
}

/* Writes the page to `path` through the one atomic writer (common/atomicfile.h): a
 * regular file is replaced whole, flushed to disk first (mode 0666 less the umask,
 * like any new file); a device or FIFO (/dev/stdout) is written into. Returns 0, or
 * -1 after printing why. */
static int write_atomic(const char *path, const char *name, const char *json, size_t len)
{
	struct atomicfile af;
	if (atomicfile_open(&af, path, 0666, ATOMICFILE_SYNC) != 0) {
		cli_error("view: %s: cannot write: %s", path, atomicfile_strerror(errno));
		return -1;
	}
	int fd = dup(af.fd);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	int err = !f || write_page(f, name, json, len) < 0;
	int e = errno;
	if (f ? fclose(f) != 0 : (fd >= 0 && close(fd) != 0))
		err = err ? err : (e = errno, 1);
	if (err)
		atomicfile_abort(&af);
	else if (atomicfile_commit(&af) != 0)
		err = 1, e = errno;
	if (err) {
		cli_error("view: %s: cannot write: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

/* {"leaked_bytes":N,"leaked_blocks":N,"rules":"...","pps":[i,...],"violations":[i,...]}
 * for a profile suppress_apply() has seen (indices into the file's arrays); NULL when
 * nothing was suppressed or memory ran out. */
static char *suppressed_to_json(const struct profile *p)
{
	const struct suppressed *x = p->suppressed;
	if (!x || (!x->leak_sites && !x->alloc_stacks && !x->viol_stacks))
		return NULL;
	char *buf = NULL, why[1600];
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (!f)
		return NULL;
	suppress_labels(x, why, sizeof(why));
	fprintf(f, "{\"leaked_bytes\":%lld,\"leaked_blocks\":%lld,\"rules\":\"",
		(long long)x->leak_b, (long long)x->leak_k);
	for (const char *c = why; *c; c++)
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*c);
		else
			fputc(*c, f);
	fputs("\",\"pps\":[", f);
	const char *sep = "";
	for (size_t i = 0; i < x->npp; i++)
		if (x->pp_sup[i]) {
			fprintf(f, "%s%zu", sep, i);
			sep = ",";
		}
	fputs("],\"violations\":[", f);
	sep = "";
	for (size_t i = 0; i < x->nv; i++)
		if (x->v_sup[i]) {
			fprintf(f, "%s%zu", sep, i);
			sep = ",";
		}
	fputs("]}", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The default output: FILE with ".json" replaced by ".html" (or ".html" appended). */
static char *default_output(const char *in)
{
	size_t n = strlen(in);
	if (n > 5 && strcmp(in + n - 5, ".json") == 0)
		n -= 5;
	char *out = malloc(n + sizeof(".html"));
	if (out) {
		memcpy(out, in, n);
		memcpy(out + n, ".html", sizeof(".html"));
	}
	return out;
}

/* Starts $BROWSER, else xdg-open, on path; does not wait for it. Returns 0 or -1. */
static int open_in_browser(const char *path)
{
	const char *b = getenv("BROWSER");
	const char *prog = b && *b ? b : "xdg-open";
	char *argv[] = { (char *)prog, (char *)path, NULL };
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		cli_error("view: cannot start %s: %s; open %s in a browser", prog, strerror(rc), path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ command */

static void usage(FILE *f)
{
	fputs("Usage: audioprof view [-o OUT.html] [--open] FILE\n"
	      "\n"
	      "Write a self-contained HTML viewer of the profile FILE: a summary, real-time\n"
	      "violations with their stacks, callback timing histograms, heap usage over\n"
	      "time, a flame graph and an allocation tree. The page needs no server and\n"
	      "makes no network request. FILE - reads standard input (then -o is needed).\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output OUT  write OUT (default FILE with .json replaced by .html;\n"
	      "                    - writes to standard output)\n"
	      "      --open        open the page with $BROWSER, or xdg-open\n"
	      "      --suppressions FILE  mark these leaks and violations as suppressed\n"
	      "                    (audioprof(1), SUPPRESSIONS); may be repeated\n"
	      "      --no-default-suppressions  show the runtimes' own leaks as leaks\n"
	      "  -h, --help        show this help\n"
	      "\n"
	      "Exit status: 0 ok, 2 usage error, 3 unreadable or invalid FILE or\n"
	      "suppressions file, or OUT cannot be written.\n", f);
}

static const struct cli_sub sub = { "view", "[-o OUT.html] [--open] FILE", usage };

int cmd_view(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "open", no_argument, NULL, 'O' },
		SUPPRESS_LONG_OPTS('S'),
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct suppress_opts so = { 0 };
	int open_it = 0, c, li;
	cli_getopt_start();
	while ((c = getopt_long(argc, argv, ":o:h", opts, &li)) != -1) {
		switch (c) {
		case 'S':
			if (suppress_opt(&so, opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			break;
		case 'o':
			out = optarg;
			break;
		case 'O':
			open_it = 1;
			break;
		default:
			return cli_opt_default(&sub, c, argv);
		}
	}
	const char *in = cli_one_file(&sub, argc, argv);
	if (!in)
		return EXIT_USAGE;
	int from_stdin = strcmp(in, "-") == 0;
	if (from_stdin && !out) {
		cli_error("view: reading standard input: give the output with -o");
		return cli_usage_error(&sub);
	}
	int to_stdout = out && strcmp(out, "-") == 0;
	if (to_stdout && open_it) {
		cli_error("view: --open needs a file, not -o -");
		return cli_usage_error(&sub);
	}

	/* Read through the analyzer's one bounded reader (profile_read.h): the same size
	 * limit and the same validation as every other command, before anything is
	 * embedded; the page would refuse an invalid profile anyway. */
	char err[1024];
	struct suppressions sup;
	if (suppress_load(&so, &sup) != 0) {
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	struct profile_input src;
	if (profile_input_open(in, 0, &src, err, sizeof(err)) != 0) {
		cli_error("%s", err);
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	const char *name = from_stdin ? "standard input" : in;
	const char *json = src.buf;
	size_t len = src.len;
	struct profile *p = profile_input_parse(&src, err, sizeof(err));
	if (!p) {
		cli_error("%s", err);
		profile_input_close(&src);
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	/* The page shows the file as it is; suppressed leaks and violations are marked. */
	if (suppress_apply(p, &sup) == 0)
		suppressed_json = suppressed_to_json(p);
	suppress_free(&sup);
	profile_free(p);

	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	int rc = EXIT_OK;
	char *def = NULL;
	if (to_stdout) {
		if (write_page(stdout, base, json, len) < 0) {
			cli_error("view: standard output: write error");
			rc = EXIT_INPUT;
		}
	} else {
		if (!out && !(out = def = default_output(in))) {
			cli_error("view: out of memory");
			rc = EXIT_INPUT;
		} else if (write_atomic(out, base, json, len) < 0) {
			rc = EXIT_INPUT;
		} else {
			fflush(stdout);
			fprintf(stderr, "audioprof: viewer written to %s\n", out);
			if (open_it)
				open_in_browser(out);
		}
	}
	free(def);
	free(suppressed_json);
	suppressed_json = NULL;
	profile_input_close(&src);
	return rc;
}
