/* help_env.c - `audioprof help-env`: the AUDIOPROF_* variables, printed from the
 * preload's own options table (common/options.c is compiled into the analyzer). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_help_env(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("Usage: audioprof help-env\n\n"
		     "List the AUDIOPROF_* environment variables that libaudioprof.so reads,\n"
		     "with type, default and range. Same as 'audioprof run --help-env'.");
		return EXIT_OK;
	}
	if (argc > 1) {
		cli_error("help-env: unexpected argument '%s'", argv[1]);
		fputs("Usage: audioprof help-env\n", stderr);
		return EXIT_USAGE;
	}
	cli_print_env_table(stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INPUT;
}
