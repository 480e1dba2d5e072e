/* cli.h - what the `audioprof` subcommands share: exit codes, the subcommand table,
 * error reporting, the common end of every option loop and small option helpers. One file per subcommand (run.c, help_env.c,
 * later report.c, check.c, diff.c, flame.c) implements one `cmd_<name>` declared here. */
#ifndef AUDIOPROF_CLI_H
#define AUDIOPROF_CLI_H

#include <stdint.h>
#include <stdio.h>

#ifndef AUDIOPROF_VERSION
#define AUDIOPROF_VERSION "unknown"
#endif

/* Exit status of `audioprof`; repeated in man/audioprof.1 (EXIT STATUS). */
enum cli_exit {
	EXIT_OK = 0,             /* success */
	EXIT_FINDINGS = 1,       /* `check` found problems */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_INPUT = 3,          /* bad input or I/O error; program cannot be profiled */
	EXIT_CANNOT_EXEC = 126,  /* `run`: PROGRAM found but could not be executed */
	EXIT_NOT_FOUND = 127,    /* `run`: PROGRAM not found (as a shell would say) */
};
/* `run` otherwise exits with the program's own status, or dies of the program's signal. */

/* One subcommand: `audioprof NAME ...` calls fn(argc, argv) with argv[0] == NAME. */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;     /* one line for the global usage */
};

extern const struct cli_command cli_commands[];   /* NULL-terminated, in main.c */

/* Subcommands. Each parses its own options and returns an exit status. */
int cmd_run(int argc, char **argv);
int cmd_help_env(int argc, char **argv);

/* ------------------------------------------------------------------ helpers (cli.c) */

/* "audioprof: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ command lines (cli.c) */

/* What the messages of a subcommand's command line need to know of it. */
struct cli_sub {
	const char *name;          /* "check" */
	const char *synopsis;      /* what follows "audioprof check" in the usage line */
	void (*usage)(FILE *f);    /* the --help text */
};

/* Readies getopt_long for a subcommand's argv (argv[0] is its name). The loop's
 * optstring starts with ':', and the loop ends in cli_opt_default. */
void cli_getopt_start(void);

/* "Usage: audioprof NAME SYNOPSIS" and "Try 'audioprof NAME --help'." on stderr.
 * Returns EXIT_USAGE. */
int cli_usage_error(const struct cli_sub *s);

/* The cases every subcommand's getopt_long loop ends with, for its `default:`:
 * 'h' prints the help on stdout (EXIT_OK, or EXIT_INPUT when stdout fails); ':' (an
 * option without its value) and any other value (an unknown option) name the option
 * and give the usage (EXIT_USAGE). Returns the exit status. */
int cli_opt_default(const struct cli_sub *s, int c, char **argv);

/* After the options: the one FILE operand, or NULL after "no FILE given" or "more
 * than one FILE given" and the usage. */
const char *cli_one_file(const struct cli_sub *s, int argc, char **argv);

/* A count option's value: digits only, 0 to `max`. Returns 0, or -1 after
 * "NAME: FLAG: 'ARG' is not a number from 0 to MAX". */
int cli_parse_count(const struct cli_sub *s, const char *flag, const char *arg, long max,
		    long *out);

/* --color WHEN (fmt_color_init): 0, or a message and the usage (EXIT_USAGE). */
int cli_color(const struct cli_sub *s, const char *when);
/* --color and --colour in a getopt_long table, getopt_long returning `val` for them. */
#define CLI_COLOR_LONG_OPTS(val)                                          \
	{ "color", required_argument, NULL, (val) },                      \
	{ "colour", required_argument, NULL, (val) }

/* ------------------------------------------------------------------ options table (cli.c) */

/* Prints the AUDIOPROF_* table (from common/options.c) to `f`. */
void cli_print_env_table(FILE *f);

/* Parses `arg` as the value of option `opt_id` (an enum opt_id from common/options.h)
 * with the preload's own parser and bounds. Returns 0, or prints
 * "audioprof: --FLAG: ..." naming `flag` and returns -1. */
int cli_parse_opt_value(int opt_id, const char *flag, const char *arg, int64_t *out);

#endif
