/* main.c - the `audioprof` command: global options (--help, --version) and dispatch
 * to one subcommand per file (run.c, help_env.c, ...). Exit codes are enum cli_exit
 * in cli.h; usage goes to stdout on --help and to stderr with status 2 on misuse. */
#include "cli.h"
#include "analyze.h"   /* report, check, diff, flame (the analyzer) */
#include "view.h"      /* view (the viewer) */

#include <stdio.h>
#include <string.h>

const struct cli_command cli_commands[] = {
	{ "run", cmd_run, "run a program with the profiler preloaded" },
	{ "help-env", cmd_help_env, "list the AUDIOPROF_* environment variables" },
	/* The analyzer (analyze.h). */
	{ "report", cmd_report, "summarise a profile: totals, top sites, audio, advice" },
	{ "check", cmd_check, "check a profile against limits (exit 1 on a failure)" },
	{ "diff", cmd_diff, "compare two profiles; exit 1 on a regression" },
	{ "flame", cmd_flame, "print folded stacks for flame graphs" },
	{ "view", cmd_view, "write a self-contained HTML viewer of a profile" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fputs("Usage: audioprof COMMAND [ARGS...]\n"
	      "       audioprof --help | --version\n"
	      "\n"
	      "Heap and timing profiler for audio processes on Linux: preloads\n"
	      "libaudioprof.so into an unmodified program and writes one JSON profile\n"
	      "(valgrind DHAT's format) of its allocation sites, audio callback timings and\n"
	      "real-time violations.\n"
	      "\n"
	      "Commands:\n", f);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "  %-10s %s\n", "help", "show the help of a command");
	fputs("\n"
	      "Run 'audioprof COMMAND --help' for the options of a command.\n"
	      "Example: audioprof run -- ./myprog --its-args\n", f);
}

static const struct cli_command *find_command(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("audioprof %s\n", AUDIOPROF_VERSION);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_INPUT;
	}
	if (strcmp(cmd, "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return EXIT_OK;
		}
		const struct cli_command *c = find_command(argv[2]);
		if (!c) {
			cli_error("unknown command '%s'", argv[2]);
			usage(stderr);
			return EXIT_USAGE;
		}
		char *sub_argv[] = { (char *)c->name, (char *)"--help", NULL };
		return c->fn(2, sub_argv);
	}
	if (cmd[0] == '-') {
		cli_error("unknown option '%s'", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	const struct cli_command *c = find_command(cmd);
	if (!c) {
		cli_error("unknown command '%s'", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
