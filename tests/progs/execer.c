/* execer.c - allocate, then execv() the rest of the command line (t_exec.sh).
 *   pre_exec: 4 x 50 kept -> tb 200 tbk 4 eb 200 ebk 4 (live at exec)
 * Usage: execer PROGRAM [ARGS...]; exits 99 if the exec fails. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep[4];

NOINLINE void *pre_exec(void) { return malloc(50); }

int main(int argc, char **argv)
{
	int i;

	for (i = 0; i < 4; i++)
		keep[i] = pre_exec();
	if (argc < 2)
		return 2;
	execv(argv[1], &argv[1]);
	perror("execv");
	return 99;
}
