/* run.h - what `audioprof run` (run.c) shares with the runs of its baselines
 * (baseline_run.c): the options of the command line, the program as each run starts
 * it, one run with its signals relayed, and how a run's end becomes audioprof's exit
 * status. */
#ifndef AUDIOPROF_RUN_H
#define AUDIOPROF_RUN_H

#include "analyze.h"
#include "options.h"

#include <sys/types.h>
#include <time.h>

/* What the command line asked for; NULL = leave the environment as it is. */
struct run_opts {
	const char *set[OPT_COUNT];   /* value to put in options_table[i].name */
	int quiet;
	int check;                    /* --check (or one of its limits) was given */
	int supp;                     /* a suppressions option was given */
	struct check_opts chk;        /* the limits */
	long repeat;                  /* --repeat N: runs of the program (default 1) */
	const char *save;             /* --save-baseline NAME, or NULL */
	const char *base;             /* --baseline NAME, or NULL */
	const char *diff_opt;         /* the first comparison option given, or NULL */
	struct diff_opts diff;        /* how --baseline compares */
};

/* The program, as every run starts it. */
struct runner {
	const char *path;              /* PROGRAM, resolved (target_resolve) */
	char **argv;                   /* its argv, argv[0] as the user typed it */
	const char *name;              /* its name for %n */
};

/* Runs the program once with its profile going to `pattern` (absolute, expanded by the
 * preload), relaying signals (relay.c). Returns 0 with the wait status, pid, start time
 * and the first stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) that reached us
 * meanwhile (0: none), or -1 after a message (then the caller exits EXIT_INPUT). */
int run_once(const struct runner *r, const char *pattern, pid_t *pid, time_t *started,
	     int *status, int *stop_sig);
/* Did the run end otherwise than by exiting 0? */
int run_failed(int status);
/* audioprof's exit status for a program that ended with wait status `status`: the
 * program's own, or (for a signal) audioprof dies of the same signal. */
int run_exit_status(int status);
/* Dies of `sig`, without leaving a core file of our own. Returns only if the signal
 * did not kill us. */
void run_die_of_signal(int sig);
/* "exited with status 3" / "was killed by signal 15 (Terminated)" */
const char *run_ended(int status, char *buf, size_t len);
/* The worse of two exit statuses of checks or comparisons: EXIT_INPUT, then
 * EXIT_FINDINGS, then EXIT_OK. */
int run_worse(int a, int b);

/* --save-baseline NAME (o->save) or --baseline NAME (o->base) in baseline_run.c: runs
 * the program o->repeat times and saves or compares the set. Returns the exit status
 * of audioprof, or dies of the program's or a stop signal. */
int baseline_run(const struct runner *r, const struct run_opts *o);

#endif
