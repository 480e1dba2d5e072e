/* leaf.c - a small program for exec chains and output-path tests.
 *   leaf_site: 1 x 7 kept -> tb 7 tbk 1 eb 7 ebk 1
 * Prints "leaf PID" and exits with argv[1] (default 0). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep;

NOINLINE void *leaf_site(void) { return malloc(7); }

int main(int argc, char **argv)
{
	keep = leaf_site();
	printf("leaf %d\n", (int)getpid());
	return argc > 1 ? atoi(argv[1]) : 0;
}
