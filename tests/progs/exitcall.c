/* exitcall.c - allocate, then leave by _exit(3), _Exit(3) or exit(3) (t_exit_paths.sh).
 *   x_site: 3 x 77 kept -> tb 231 tbk 3 eb 231 ebk 3
 * Before leaving it printf()s "unflushed" without a newline to a pipe/file: with _exit
 * and _Exit that text is lost natively, and must stay lost under the profiler.
 * Usage: exitcall _exit|_Exit|exit */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "progs.h"

static void *volatile x[3];

NOINLINE void *x_site(void) { return malloc(77); }

int main(int argc, char **argv)
{
	int i;
	const char *mode = argc > 1 ? argv[1] : "exit";

	for (i = 0; i < 3; i++)
		x[i] = x_site();
	printf("unflushed");
	if (strcmp(mode, "_exit") == 0)
		_exit(3);
	if (strcmp(mode, "_Exit") == 0)
		_Exit(3);
	exit(3);
}
