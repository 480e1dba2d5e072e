/* fork_setenv.c - one thread calls setenv in a loop while the main thread forks
 * FORKS children that _exit(0) at once. glibc's setenv allocates while it holds its
 * environment lock, and fork does not reset that lock in the child: a child that calls
 * setenv (as the profiler's fork handler once did) can wait forever on a lock whose
 * holder does not exist in it. Prints "fork_setenv: N children" and exits 0. */
#include "progs.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>

#define FORKS 100

static void *spin(void *arg)
{
	for (;;)
		setenv("FORK_SETENV_X", "a value long enough to take a while to copy", 1);
	return arg;
}

int main(void)
{
	pthread_t t;
	PROG_CHECK(pthread_create(&t, NULL, spin, NULL) == 0, "pthread_create");
	int n = 0;
	for (int i = 0; i < FORKS; i++) {
		pid_t p = fork();
		PROG_CHECK(p >= 0, "fork");
		if (p == 0)
			_exit(0);
		int st;
		PROG_CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			   "child did not exit 0");
		n++;
	}
	printf("fork_setenv: %d children\n", n);
	fflush(stdout);
	_exit(0);   /* the spinning thread never ends */
}
