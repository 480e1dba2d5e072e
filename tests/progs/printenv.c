/* printenv.c - print the environment as the program sees it, one variable a line, in
 * environ's order; with arguments, then execv() them (t_environ.sh: the profiler must
 * leave the environment of the program, and of what it exec's, as it found it).
 * Usage: printenv [PROGRAM [ARGS...]]; exits 99 if the exec fails. */
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	for (char **e = environ; *e; e++)
		printf("%s\n", *e);
	if (argc < 2)
		return 0;
	printf("--\n");
	fflush(stdout);
	execv(argv[1], &argv[1]);
	perror("execv");
	return 99;
}
