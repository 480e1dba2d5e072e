/* run.c - `audioprof run [options] [--] PROGRAM [ARGS]`: runs PROGRAM with
 * libaudioprof.so prepended to LD_PRELOAD and the options turned into AUDIOPROF_*
 * variables, passes stdin/stdout/stderr, signals (relay.c), the exit status and death
 * by a signal through unchanged, and says on stderr where the profile went. Refuses,
 * before running it, a program for which LD_PRELOAD cannot work (static, set-user-ID,
 * ...). With --repeat N it runs the program N times; --save-baseline and --baseline
 * hand the runs to baseline_run.c. */
#include "run.h"
#include "cli.h"
#include "analyze.h"
#include "baseline.h"
#include "options.h"
#include "outfind.h"
#include "outpath.h"
#include "relay.h"
#include "target.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIB_NAME "libaudioprof.so"
#define MAX_REPEAT 1000          /* --repeat N at most */

/* ------------------------------------------------------------------ usage */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: audioprof run [OPTIONS] [--] PROGRAM [ARGS...]\n"
		"       audioprof run --save-baseline NAME [--repeat N] [OPTIONS] [--] PROGRAM...\n"
		"       audioprof run --baseline NAME [--repeat N] [OPTIONS] [--] PROGRAM...\n"
		"\n"
		"Run PROGRAM with the profiler preloaded and write its profile. Standard\n"
		"input, output and error, the exit status and death by a signal pass through;\n"
		"each signal reaches PROGRAM once, whether sent to audioprof or to its group.\n"
		"The '--' is needed only when PROGRAM starts with '-'.\n"
		"\n"
		"Options (each sets the AUDIOPROF_* variable in brackets):\n"
		"  -o, --output PATTERN  profile file [OUT]; %%p pid, %%n program name, %%%% a %%\n"
		"                        (default %s, in the current directory)\n"
		"      --depth N         stack frames per allocation, %lld..%lld [DEPTH] (default %s)\n"
		"      --cpu MODE        CPU samples of real-time code (rt), of every thread\n"
		"                        (all), or none (off) [CPU] (default %s)\n"
		"      --cpu-rate HZ     CPU samples per second of a thread's CPU time\n"
		"                        [CPU_RATE] (default %s)\n"
		"      --interval TIME   snapshot period, e.g. 5s, 250ms; 0 = none [INTERVAL]\n"
		"                        (default %s)\n"
		"      --short-lived TIME  blocks freed sooner are short-lived [SHORT_LIVED]\n"
		"                        (default %s)\n"
		"      --no-follow-exec  do not profile programs started with exec [FOLLOW_EXEC]\n"
		"      --no-follow-fork  forked children write no profile [FOLLOW_FORK]\n"
		"      --no-stack-cache  unwind every allocation's stack in full [STACK_CACHE]\n"
		"      --no-signals      do not write the profile when a signal kills the program\n"
		"                        [SIGNALS]\n"
		"  -q, --quiet           do not say where the profile went\n"
		"      --check           then check the profile as 'audioprof check' does\n"
		"                        (results on stderr); these imply --check:\n"
		"      --max-callback-allocs N, --max-rt-unsafe N, --max-overruns N,\n"
		"      --max-load PCT, --max-peak SIZE, --max-leaked SIZE,\n"
		"      --max-violation-time DURATION, --junit FILE, --count-library-calls\n"
		"      --suppressions FILE, --no-default-suppressions\n"
		"      --help-env        list the AUDIOPROF_* environment variables\n"
		"  -h, --help            show this help\n"
		"\n"
		"Several runs and baselines (runs stop at the first that fails):\n"
		"      --repeat N        run PROGRAM N times, 1..%d (default 1); without a\n"
		"                        baseline, N profiles by the -o pattern (which needs %%p)\n"
		"      --save-baseline NAME  keep the runs' profiles as baseline NAME, replacing\n"
		"                        the old one whole, and only when every run exited 0\n"
		"      --baseline NAME   compare the runs with baseline NAME as 'audioprof diff\n"
		"                        BASE... -- NEW...' does (report on standard output);\n"
		"                        the new runs are kept as NAME/last\n"
		"  Baselines are in $AUDIOPROF_BASELINE_DIR, else " BASELINE_DEFAULT_DIR "/ in the\n"
		"  current directory. With --baseline, the options of 'audioprof diff' apply:\n"
		"      --significance-level A, --noise-threshold P, --fail-p99-pct P,\n"
		"      --fail-callback-allocs N, --fail-overruns N, --fail-bytes-pct P,\n"
		"      --fail-blocks-pct P, --fail-peak-pct P, --fail-leaked SIZE, --top N,\n"
		"      --frames N, --color WHEN, --suppressions FILE, --no-default-suppressions\n"
		"\n"
		"Exit status: PROGRAM's own; if a signal killed it, audioprof dies of the same\n"
		"signal. With --check, when PROGRAM exits 0: 1 if a check failed, 3 if there is\n"
		"no readable profile. With --baseline: 3 if there is no such baseline (nothing\n"
		"runs); when every run exits 0, 0 no regression, 1 regression, 3 an unreadable\n"
		"profile. 2 usage error, 3 PROGRAM cannot be profiled (static, set-user-ID) or\n"
		"the profiler library is missing, 126 PROGRAM not executable, 127 not found.\n"
		"Environment: AUDIOPROF_LIB overrides where " LIB_NAME " is looked for.\n",
		options_table[OPT_OUT].def,
		(long long)options_table[OPT_DEPTH].min, (long long)options_table[OPT_DEPTH].max,
		options_table[OPT_DEPTH].def, options_table[OPT_CPU].def,
		options_table[OPT_CPU_RATE].def, options_table[OPT_INTERVAL].def,
		options_table[OPT_SHORT_LIVED].def, MAX_REPEAT);
}

static const struct cli_sub sub = { "run", "[OPTIONS] [--] PROGRAM [ARGS...]", usage };

/* ------------------------------------------------------------------ the library */

/* Finds libaudioprof.so: $AUDIOPROF_LIB, else beside the executable in the build tree
 * (<bindir>/../preload/), else where `make install` puts it (<bindir>/../lib/audioprof/).
 * Writes its absolute path to `out`; 0 on success, else prints why and returns -1. */
static int find_library(char out[PATH_MAX])
{
	const char *env = getenv("AUDIOPROF_LIB");
	if (env && *env) {
		if (access(env, R_OK) != 0 || !realpath(env, out)) {
			cli_error("AUDIOPROF_LIB=%s: %s", env, strerror(errno));
			return -1;
		}
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		cli_error("cannot find " LIB_NAME ": /proc/self/exe: %s; set AUDIOPROF_LIB",
			  strerror(errno));
		return -1;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	static const char *const rel[] = { "../preload/" LIB_NAME, "../lib/audioprof/" LIB_NAME };
	char cand[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(cand, sizeof(cand), "%s/%s", self, rel[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, out))
			return 0;
	}
	cli_error("cannot find " LIB_NAME ": looked in %s/../preload/ and %s/../lib/audioprof/; "
		  "build it (make) or set AUDIOPROF_LIB", self, self);
	return -1;
}

/* LD_PRELOAD = lib, then whatever was there. Entries are separated by ':' or ' ' and
 * cannot contain either, so such a path is refused. */
static int prepend_preload(const char *lib)
{
	if (strpbrk(lib, ": \t")) {
		cli_error("%s: the path contains ':' or a space, which LD_PRELOAD cannot express; "
			  "move it or set AUDIOPROF_LIB", lib);
		return -1;
	}
	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *val = malloc(len);
	if (!val) {
		cli_error("out of memory");
		return -1;
	}
	if (old && *old)
		snprintf(val, len, "%s:%s", lib, old);
	else
		snprintf(val, len, "%s", lib);
	int rc = setenv("LD_PRELOAD", val, 1);
	free(val);
	return rc;
}

/* ------------------------------------------------------------------ options */

enum {
	O_DEPTH = 256, O_CPU, O_CPU_RATE, O_INTERVAL, O_SHORT_LIVED, O_NO_FOLLOW_EXEC, O_NO_FOLLOW_FORK,
	O_NO_STACK_CACHE, O_NO_SIGNALS, O_HELP_ENV, O_CHECK, O_CHECK_OPT, O_SUPP, O_REPEAT,
	O_SAVE_BASELINE, O_BASELINE, O_DIFF_OPT,
};

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "depth", required_argument, NULL, O_DEPTH },
	{ "cpu", required_argument, NULL, O_CPU },
	{ "cpu-rate", required_argument, NULL, O_CPU_RATE },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "short-lived", required_argument, NULL, O_SHORT_LIVED },
	{ "no-follow-exec", no_argument, NULL, O_NO_FOLLOW_EXEC },
	{ "no-follow-fork", no_argument, NULL, O_NO_FOLLOW_FORK },
	{ "no-stack-cache", no_argument, NULL, O_NO_STACK_CACHE },
	{ "no-signals", no_argument, NULL, O_NO_SIGNALS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help-env", no_argument, NULL, O_HELP_ENV },
	{ "help", no_argument, NULL, 'h' },
	/* --check and the limits of `audioprof check` (check.c, check_opts_set). */
	{ "check", no_argument, NULL, O_CHECK },
	{ "max-callback-allocs", required_argument, NULL, O_CHECK_OPT },
	{ "max-rt-unsafe", required_argument, NULL, O_CHECK_OPT },
	{ "max-overruns", required_argument, NULL, O_CHECK_OPT },
	{ "max-load", required_argument, NULL, O_CHECK_OPT },
	{ "max-violation-time", required_argument, NULL, O_CHECK_OPT },
	{ "max-peak", required_argument, NULL, O_CHECK_OPT },
	{ "max-leaked", required_argument, NULL, O_CHECK_OPT },
	{ "junit", required_argument, NULL, O_CHECK_OPT },
	{ "count-library-calls", no_argument, NULL, O_CHECK_OPT },
	/* For the checks, and for the comparison of --baseline. */
	SUPPRESS_LONG_OPTS(O_SUPP),
	/* Several runs, baselines (baseline.h) and the comparison's options (diff.c). */
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ "save-baseline", required_argument, NULL, O_SAVE_BASELINE },
	{ "baseline", required_argument, NULL, O_BASELINE },
	DIFF_LONG_OPTS(O_DIFF_OPT),
	{ NULL, 0, NULL, 0 },
};


/* Validates a value with the preload's parser and bounds, and records it. */
static int set_checked(struct run_opts *o, int id, const char *flag, const char *arg)
{
	int64_t v;
	if (cli_parse_opt_value(id, flag, arg, &v) != 0)
		return -1;
	o->set[id] = arg;
	return 0;
}

/* ------------------------------------------------------------------ signals */

/* Dies of `sig` the way the child did, without leaving a core file of our own.
 * Returns only if the signal did not kill us. */
void run_die_of_signal(int sig)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
}

/* ------------------------------------------------------------------ reporting */

struct report_ctx {
	int quiet;
	const struct check_opts *chk;  /* --check: check each profile found; else NULL */
	int check_rc;                  /* worst check result: EXIT_INPUT > EXIT_FINDINGS > OK */
};

static void report_found(const char *path, unsigned k, void *arg)
{
	struct report_ctx *r = arg;
	if (!r->quiet) {
		if (k == 0)
			fprintf(stderr, "audioprof: profile written to %s\n", path);
		else
			fprintf(stderr, "audioprof: profile written to %s (exec'd program %u)\n",
				path, k);
	}
	if (r->chk) {
		int rc = check_file(path, r->chk);
		if (rc == EXIT_INPUT || (rc == EXIT_FINDINGS && r->check_rc == EXIT_OK))
			r->check_rc = rc;
	}
}

/* Says where the profiles went and, with --check, checks them. Returns the checks'
 * exit status (EXIT_INPUT when there is no profile to check). */
static int report_profiles(const char *pattern, pid_t pid, const char *name, time_t since,
			   int quiet, const struct check_opts *chk)
{
	struct report_ctx r = { quiet, chk, EXIT_OK };
	if (outfind_profiles(pattern, pid, name, since, report_found, &r) > 0)
		return r.check_rc;
	char expected[4096];
	if (outpath_expand(pattern, pid, name, expected, sizeof(expected)) != 0)
		snprintf(expected, sizeof(expected), "%s", pattern);
	/* A device or FIFO (/dev/stdout, /dev/null) was written into: nothing to read
	 * back here. */
	struct stat st;
	if (stat(expected, &st) == 0 &&
	    (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))) {
		if (chk) {
			cli_error("--check: the profile went to %s, not a regular file: "
				  "nothing to check", expected);
			return EXIT_INPUT;
		}
		if (!quiet)
			fprintf(stderr, "audioprof: profile written into %s\n", expected);
		return EXIT_OK;
	}
	cli_error("no profile was written (expected %s)", expected);
	return EXIT_INPUT;
}

/* ------------------------------------------------------------------ one run */

/* Runs the program once with its profile going to `pattern` (absolute), relaying
 * signals (relay.c). Returns 0 with the wait status, pid, start time and the first
 * stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) that reached us meanwhile (0: none),
 * or -1 after a message (then the caller exits EXIT_INPUT). */
int run_once(const struct runner *r, const char *pattern, pid_t *pid, time_t *started,
	     int *status, int *stop_sig)
{
	if (setenv(options_table[OPT_OUT].name, pattern, 1) != 0) {
		cli_error("setenv %s: %s", options_table[OPT_OUT].name, strerror(errno));
		return -1;
	}
	/* Signals: the program stays in our process group and gets what is sent to the
	 * group directly; we forward only what was sent to us alone (relay.c). Every signal
	 * is blocked from before fork until the program ended, so none is lost or acts on
	 * us meanwhile; then the caller's mask is back, for the report. */
	struct relay relay;
	relay_start(&relay);

	*started = time(NULL);
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		int e = errno;
		relay_abort(&relay);
		cli_error("fork: %s", strerror(e));
		return -1;
	}
	if (*pid == 0) {
		relay_child(&relay);
		/* execvp with a '/' in the name: no PATH search, but the /bin/sh fallback for
		 * files without a #! line, as a shell would. argv[0] stays as the user typed it. */
		execvp(r->path, r->argv);
		int e = errno;
		fprintf(stderr, "audioprof: cannot execute %s: %s\n", r->path, strerror(e));
		_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	int wait_errno = relay_wait(&relay, *pid, status);
	*stop_sig = relay.stop_sig;
	if (wait_errno) {
		cli_error("waitpid: %s", strerror(wait_errno));
		return -1;
	}
	return 0;
}

int run_failed(int status)
{
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* audioprof's exit status for a program that ended with wait status `status`: the
 * program's own, or death by its signal. */
int run_exit_status(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		run_die_of_signal(sig);
		return 128 + sig;              /* the signal did not kill us (it should have) */
	}
	if (!WIFEXITED(status))
		return EXIT_INPUT;
	return WEXITSTATUS(status);
}

/* We were asked to stop (SIGINT, SIGTERM, ...) while run k of n ran, and the program
 * ended normally: say so and die of that signal, as without us. */
static int stopped_by(int sig, long k, long n, const char *what)
{
	cli_error("run %ld of %ld: stopped by signal %d (%s); %s", k, n, sig, strsignal(sig), what);
	run_die_of_signal(sig);
	return 128 + sig;
}

/* "exited with status 3" / "was killed by signal 15 (Terminated)" */
const char *run_ended(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return buf;
}

/* The worse of two exit statuses of checks or comparisons: EXIT_INPUT, then
 * EXIT_FINDINGS, then EXIT_OK. */
int run_worse(int a, int b)
{
	if (a == EXIT_INPUT || b == EXIT_INPUT)
		return EXIT_INPUT;
	return a == EXIT_FINDINGS || b == EXIT_FINDINGS ? EXIT_FINDINGS : EXIT_OK;
}

/* Does the pattern expand %p (a '%' before 'p' that is not itself escaped)? */
static int pattern_has_pid(const char *pattern)
{
	for (const char *s = pattern; *s; s++)
		if (*s == '%' && s[1]) {
			if (s[1] == 'p')
				return 1;
			s++;
		}
	return 0;
}

/* ------------------------------------------------------------------ plain runs */

/* The program `repeat` times with its profiles under `pattern` (as given) and
 * `abs_pattern` (what the program gets). Stops at the first run that fails. */
static int run_plain(const struct runner *r, const struct run_opts *o, const char *pattern,
		     const char *abs_pattern)
{
	int check_rc = EXIT_OK;
	for (long k = 1; k <= o->repeat; k++) {
		pid_t pid;
		time_t started;
		int status, stop_sig;
		if (run_once(r, abs_pattern, &pid, &started, &status, &stop_sig) != 0)
			return EXIT_INPUT;
		int rc = report_profiles(pattern, pid, r->name, started, o->quiet,
					 o->check ? &o->chk : NULL);
		check_rc = run_worse(check_rc, rc);
		if (run_failed(status)) {
			if (o->repeat > 1) {
				char how[128];
				cli_error("run %ld of %ld: %s %s; no more runs", k, o->repeat,
					  r->argv[0], run_ended(status, how, sizeof(how)));
			}
			return run_exit_status(status);
		}
		if (stop_sig && k < o->repeat)
			return stopped_by(stop_sig, k, o->repeat, "no more runs");
	}
	/* --check: the program's failure first (above), else the checks' verdict. */
	return o->check ? check_rc : EXIT_OK;
}

/* ------------------------------------------------------------------ run */

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	memset(&o, 0, sizeof(o));
	check_opts_init(&o.chk);
	o.chk.out = stderr;            /* standard output is the program's own */
	diff_opts_init(&o.diff);
	o.repeat = 1;
	const char *output = NULL;

	cli_getopt_start();
	int c, li = 0;
	/* '+': stop at PROGRAM, so its own options are left alone. */
	while ((c = getopt_long(argc, argv, "+:o:qh", long_opts, &li)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg) {
				cli_error("run: --output: empty pattern");
				return cli_usage_error(&sub);
			}
			output = optarg;
			break;
		case O_DEPTH:
			if (set_checked(&o, OPT_DEPTH, "--depth", optarg) != 0)
				return cli_usage_error(&sub);
			break;
		case O_CPU:
			if (set_checked(&o, OPT_CPU, "--cpu", optarg) != 0)
				return cli_usage_error(&sub);
			break;
		case O_CPU_RATE:
			if (set_checked(&o, OPT_CPU_RATE, "--cpu-rate", optarg) != 0)
				return cli_usage_error(&sub);
			break;
		case O_INTERVAL:
			if (set_checked(&o, OPT_INTERVAL, "--interval", optarg) != 0)
				return cli_usage_error(&sub);
			break;
		case O_SHORT_LIVED:
			if (set_checked(&o, OPT_SHORT_LIVED, "--short-lived", optarg) != 0)
				return cli_usage_error(&sub);
			break;
		case O_NO_FOLLOW_EXEC: o.set[OPT_FOLLOW_EXEC] = "0"; break;
		case O_NO_FOLLOW_FORK: o.set[OPT_FOLLOW_FORK] = "0"; break;
		case O_NO_STACK_CACHE: o.set[OPT_STACK_CACHE] = "0"; break;
		case O_NO_SIGNALS: o.set[OPT_SIGNALS] = "0"; break;
		case 'q': o.quiet = 1; break;
		case O_CHECK: o.check = 1; break;
		case O_CHECK_OPT:
			if (check_opts_set(&o.chk, long_opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			o.check = 1;
			break;
		case O_SUPP:
			if (check_opts_set(&o.chk, long_opts[li].name, optarg) < 0 ||
			    diff_opts_set(&o.diff, "run", long_opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			o.supp = 1;
			break;
		case O_REPEAT: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > MAX_REPEAT) {
				cli_error("run: --repeat: '%s' is not a number from 1 to %d", optarg,
					  MAX_REPEAT);
				return cli_usage_error(&sub);
			}
			o.repeat = v;
			break;
		}
		case O_SAVE_BASELINE:
		case O_BASELINE:
			if (baseline_check_name(c == O_BASELINE ? "--baseline" : "--save-baseline",
						optarg) != 0)
				return cli_usage_error(&sub);
			*(c == O_BASELINE ? &o.base : &o.save) = optarg;
			break;
		case O_DIFF_OPT:
			if (diff_opts_set(&o.diff, "run", long_opts[li].name, optarg) < 0)
				return cli_usage_error(&sub);
			if (!o.diff_opt)
				o.diff_opt = long_opts[li].name;
			break;
		case O_HELP_ENV:
			cli_print_env_table(stdout);
			return fflush(stdout) == 0 ? EXIT_OK : EXIT_INPUT;
		default:
			return cli_opt_default(&sub, c, argv);
		}
	}
	if (o.save && o.base) {
		cli_error("run: --save-baseline and --baseline cannot be used together");
		return cli_usage_error(&sub);
	}
	if (o.diff_opt && !o.base) {
		cli_error("run: --%s compares with a baseline: it needs --baseline NAME", o.diff_opt);
		return cli_usage_error(&sub);
	}
	if (output && (o.save || o.base)) {
		cli_error("run: --output cannot be used with --%s: the profiles go to the "
			  "baseline directory", o.save ? "save-baseline" : "baseline");
		return cli_usage_error(&sub);
	}
	/* The suppressions options alone imply --check, except where they are for the
	 * comparison. */
	if (o.supp && !o.base)
		o.check = 1;
	if (optind >= argc) {
		cli_error("run: no PROGRAM given");
		return cli_usage_error(&sub);
	}
	char **prog_argv = argv + optind;
	const char *prog = prog_argv[0];

	/* Everything that can fail is checked before anything runs. */
	char lib[PATH_MAX];
	if (find_library(lib) != 0)
		return EXIT_INPUT;

	char path[PATH_MAX];
	int rc = target_resolve(prog, path, sizeof(path));
	if (rc != 0)
		return rc;
	char why[8192];
	if (target_check(path, why, sizeof(why)) != 0) {
		cli_error("cannot profile %s: %s", prog, why);
		return EXIT_INPUT;
	}

	/* The pattern: -o, else $AUDIOPROF_OUT, else the preload's default. The child gets
	 * it absolute, so a program that changes directory still writes here. */
	const char *pattern = output;
	if (!pattern) {
		const char *env = getenv(options_table[OPT_OUT].name);
		pattern = env && *env ? env : options_table[OPT_OUT].def;
	}
	if (o.repeat > 1 && !o.save && !o.base && !pattern_has_pid(pattern)) {
		cli_error("run: --repeat %ld: the profile pattern '%s' has no %%p, so each run "
			  "would replace the one before; give -o with %%p", o.repeat, pattern);
		return cli_usage_error(&sub);
	}
	char cwd[PATH_MAX], abs_pattern[PATH_MAX * 2];
	if (!getcwd(cwd, sizeof(cwd))) {
		cli_error("cannot get the current directory: %s", strerror(errno));
		return EXIT_INPUT;
	}
	if (outpath_absolute(pattern, cwd, abs_pattern, sizeof(abs_pattern)) != 0) {
		cli_error("--output: pattern too long");
		return EXIT_USAGE;
	}
	char name[256];
	target_program_name(path, prog, name, sizeof(name));

	for (int i = 0; i < OPT_COUNT; i++)
		if (i != OPT_OUT && o.set[i] && setenv(options_table[i].name, o.set[i], 1) != 0) {
			cli_error("setenv %s: %s", options_table[i].name, strerror(errno));
			return EXIT_INPUT;
		}
	if (prepend_preload(lib) != 0)
		return EXIT_INPUT;
	/* Internal to the preload (which exec'd image of a pid this is); never inherited. */
	unsetenv(options_table[OPT_EXEC_CHAIN].name);

	struct runner r = { path, prog_argv, name };
	if (o.save || o.base)
		return baseline_run(&r, &o);
	return run_plain(&r, &o, pattern, abs_pattern);
}
