/* baseline_run.c - the runs of `audioprof run --save-baseline NAME` and `--baseline
 * NAME`: the program run o->repeat times into a new directory beside the set it is to
 * become (baseline.h), that directory put in place whole once every run exited 0, and,
 * for --baseline, the new runs compared with the saved ones by diff.c's engine. */
#include "run.h"
#include "analyze.h"
#include "baseline.h"
#include "cli.h"
#include "outfind.h"
#include "outpath.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* `path` as an AUDIOPROF_OUT pattern that expands to itself: '%' doubled. */
static int literal_pattern(const char *path, char *out, size_t len)
{
	size_t n = 0;
	for (const char *s = path; *s; s++) {
		if (n + 3 > len)
			return -1;
		if (*s == '%')
			out[n++] = '%';
		out[n++] = *s;
	}
	out[n] = '\0';
	return 0;
}

/* The profile of the last image of the program's process that outfind finds: after an
 * execve (a wrapper script that execs, a #! line through env), the program it became.
 * Earlier images' profiles and forked children's stay beside it. */
struct last_found {
	char path[PATH_MAX];
	unsigned k;
	int any;
};

static void keep_last(const char *path, unsigned k, void *arg)
{
	struct last_found *f = arg;
	if (!f->any || k > f->k) {
		snprintf(f->path, sizeof(f->path), "%s", path);
		f->k = k;
		f->any = 1;
	}
}

/* Runs the program o->repeat times into the new directory `tmp`, as tmp/run-K.json.
 * Returns -1 when every run exited 0 and wrote a profile, else audioprof's exit status
 * after a message, and in *die_sig the signal that killed the program or that we were
 * stopped by (0: none): the caller removes `tmp`, then dies of it. */
static int run_into(const struct runner *r, const struct run_opts *o, const char *tmp,
		    const char *what, int *die_sig)
{
	*die_sig = 0;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		cli_error("cannot get the current directory: %s", strerror(errno));
		return EXIT_INPUT;
	}
	for (long k = 1; k <= o->repeat; k++) {
		/* The directory part literal, the %p kept: forked children write their own. */
		char lit[PATH_MAX * 2 + 64], pattern[PATH_MAX * 4 + 256];
		if (literal_pattern(tmp, lit, PATH_MAX * 2) != 0) {
			cli_error("%s: path too long", tmp);
			return EXIT_INPUT;
		}
		snprintf(lit + strlen(lit), 64, "/run-%ld.%%p.json", k);
		if (outpath_absolute(lit, cwd, pattern, sizeof(pattern)) != 0) {
			cli_error("%s: path too long", tmp);
			return EXIT_INPUT;
		}
		pid_t pid;
		time_t started;
		int status, stop_sig;
		if (run_once(r, pattern, &pid, &started, &status, &stop_sig) != 0)
			return EXIT_INPUT;
		if (run_failed(status)) {
			char how[128];
			cli_error("run %ld of %ld: %s %s; %s", k, o->repeat, r->argv[0],
				  run_ended(status, how, sizeof(how)), what);
			if (WIFSIGNALED(status)) {
				*die_sig = WTERMSIG(status);
				return 128 + *die_sig;
			}
			return run_exit_status(status);
		}
		if (stop_sig) {
			cli_error("run %ld of %ld: stopped by signal %d (%s); %s", k, o->repeat,
				  stop_sig, strsignal(stop_sig), what);
			*die_sig = stop_sig;
			return 128 + stop_sig;
		}
		struct last_found f = { .any = 0 };
		outfind_profiles(lit, pid, r->name, started, keep_last, &f);
		char final[PATH_MAX + 128];
		snprintf(final, sizeof(final), "%s/run-%ld.json", tmp, k);
		if (!f.any) {
			char expected[PATH_MAX * 2 + 64];
			if (outpath_expand(lit, pid, r->name, expected, sizeof(expected)) != 0)
				snprintf(expected, sizeof(expected), "%s", lit);
			cli_error("run %ld of %ld: no profile was written (expected %s); %s", k,
				  o->repeat, expected, what);
			return EXIT_INPUT;
		}
		if (rename(f.path, final) != 0) {
			cli_error("%s: %s", final, strerror(errno));
			return EXIT_INPUT;
		}
	}
	return -1;
}

/* --save-baseline NAME (o->save) or --baseline NAME (o->base). */
int baseline_run(const struct runner *r, const struct run_opts *o)
{
	const char *root = baseline_root();
	const char *name = o->save ? o->save : o->base;
	/* shown: `final` as the user knows it (set is a /proc/self/fd name) */
	char dir[PATH_MAX], set[64], prefix[256], final[PATH_MAX + 64], shown[PATH_MAX + 64], tmp[PATH_MAX + 64];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, name) >= sizeof(dir) - 64) {
		cli_error("%s/%s: path too long", root, name);
		return EXIT_INPUT;
	}
	char **bpaths = NULL;
	long nb = 0;
	int is = baseline_is_set(dir);
	if (o->base) {
		if (is == 0) {
			cli_error("no baseline '%s' in %s; save one first with 'audioprof run "
				  "--save-baseline %s -- PROGRAM [ARGS...]'", name, root, name);
			return EXIT_INPUT;
		}
		if (is < 0) {
			cli_error("%s is not a baseline saved by audioprof (no %s file in it)", dir,
				  BASELINE_MARKER);
			return EXIT_INPUT;
		}
		/* From here on the saved runs are read through `set`, which stays this
		 * directory even if a save under the same name replaces it meanwhile (the
		 * new runs still go to DIR/last: the program's processes write them). */
		if (baseline_open_set(dir, set, sizeof(set)) < 0) {
			cli_error("cannot read baseline '%s' (%s): %s", name, dir, strerror(errno));
			return EXIT_INPUT;
		}
		snprintf(prefix, sizeof(prefix), "%s." BASELINE_LAST, name);
		baseline_sweep(root, prefix);
		baseline_sweep(dir, BASELINE_LAST);   /* where older versions wrote it */
		nb = baseline_list(set, &bpaths);
		if (nb <= 0) {
			cli_error("baseline '%s' (%s) has no runs (%s)", name, dir,
				  nb < 0 ? strerror(errno) : "no run-1.json");
			return EXIT_INPUT;
		}
		snprintf(final, sizeof(final), "%s/" BASELINE_LAST, dir);
		snprintf(shown, sizeof(shown), "%s/" BASELINE_LAST, dir);
		if (baseline_is_set(final) < 0) {
			cli_error("%s is not a set of runs written by audioprof; not replaced", shown);
			baseline_free_list(bpaths, nb);
			return EXIT_INPUT;
		}
	} else {
		if (is < 0) {
			cli_error("%s exists and is not a baseline saved by audioprof (no %s file "
				  "in it); not replaced", dir, BASELINE_MARKER);
			return EXIT_INPUT;
		}
		if (baseline_mkdirs(root) != 0) {
			cli_error("cannot create %s: %s", root, strerror(errno));
			return EXIT_INPUT;
		}
		baseline_sweep(root, name);
		snprintf(prefix, sizeof(prefix), "%s", name);
		snprintf(final, sizeof(final), "%s", dir);
		snprintf(shown, sizeof(shown), "%s", dir);
	}
	/* The new runs are written beside the set (never inside it: a save under the same
	 * name may replace the set while they run) and moved into place at the end. */
	if (baseline_tmpdir(root, prefix, tmp, sizeof(tmp)) != 0 || baseline_hold(tmp) != 0) {
		cli_error("cannot create a directory in %s: %s", root, strerror(errno));
		baseline_free_list(bpaths, nb);
		return EXIT_INPUT;
	}

	int die_sig;
	int rc = run_into(r, o, tmp, o->save ? "the baseline is not saved" :
			  "no comparison is made", &die_sig);
	if (rc < 0 && baseline_mark(tmp, o->save ? "baseline" : "last", name,
				    (unsigned)o->repeat, r->argv) != 0) {
		cli_error("%s: %s", tmp, strerror(errno));
		rc = EXIT_INPUT;
	}
	if (rc < 0 && baseline_install(tmp, final) != 0) {
		cli_error("cannot put the new runs in place as %s: %s", shown, strerror(errno));
		rc = EXIT_INPUT;
	}
	if (rc >= 0) {
		baseline_remove(tmp);
		baseline_free_list(bpaths, nb);
		if (die_sig)
			run_die_of_signal(die_sig);
		return rc;
	}
	char **npaths;
	long nn = baseline_list(final, &npaths);
	if (nn <= 0) {
		cli_error("%s: the runs just written are gone", shown);
		baseline_free_list(bpaths, nb);
		return EXIT_INPUT;
	}
	/* --check: each run's profile, where it stays. */
	int check_rc = EXIT_OK;
	for (long k = 0; o->check && k < nn; k++)
		check_rc = run_worse(check_rc, check_file(npaths[k], &o->chk));
	if (o->save) {
		if (!o->quiet)
			fprintf(stderr, "audioprof: baseline '%s' saved: %ld run%s in %s/\n", name,
				nn, nn == 1 ? "" : "s", shown);
		rc = check_rc;
	} else {
		if (!o->quiet)
			fprintf(stderr, "audioprof: %ld run%s in %s/, compared with baseline '%s' "
				"(%ld run%s)\n", nn, nn == 1 ? "" : "s", shown, name, nb,
				nb == 1 ? "" : "s");
		/* The saved runs were read through `set`: shown by their names in `dir`. */
		char **shown_b = calloc((size_t)nb, sizeof(*shown_b));
		for (long k = 0; shown_b && k < nb; k++)
			if (asprintf(&shown_b[k], "%s/%s", dir, strrchr(bpaths[k], '/') + 1) < 0)
				shown_b[k] = NULL;
		struct diff_opts d = o->diff;
		int all = shown_b != NULL;
		for (long k = 0; all && k < nb; k++)
			all = shown_b[k] != NULL;
		d.base_shown = all ? (const char *const *)shown_b : NULL;
		rc = diff_files((const char *const *)bpaths, (size_t)nb,
				(const char *const *)npaths, (size_t)nn, &d);
		if (shown_b)
			baseline_free_list(shown_b, nb);
		if (o->check)
			rc = run_worse(rc, check_rc);
	}
	baseline_free_list(bpaths, nb);
	baseline_free_list(npaths, nn);
	return rc;
}

