/* fork.c - parent and child allocate at distinct sites after fork (checked by t_fork.sh).
 *   before fork: pre_keep 1 x 1000 (live in both), pre_free 1 x 400 (the child frees it)
 *   child:  child_site  3 x 111, frees 1  -> tb 333 tbk 3, eb 222 ebk 2; exit(0)
 *   parent: parent_site 5 x 222, keeps all -> tb 1110 tbk 5, eb 1110 ebk 5; waits
 * Prints "parent PID child PID" on stdout (parent, after the child has exited). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "progs.h"

static void *volatile pre_k, *volatile pre_f, *volatile kid[3], *volatile par[5];

NOINLINE void *pre_keep(void) { return malloc(1000); }
NOINLINE void *pre_free(void) { return malloc(400); }
NOINLINE void *child_site(void) { return malloc(111); }
NOINLINE void *parent_site(void) { return malloc(222); }
NOINLINE void release(void *p) { free(p); }

int main(void)
{
	int i, st;
	pid_t pid;

	pre_k = pre_keep();
	pre_f = pre_free();
	pid = fork();
	PROG_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		release(pre_f);
		for (i = 0; i < 3; i++)
			kid[i] = child_site();
		release(kid[0]);
		exit(0);
	}
	for (i = 0; i < 5; i++)
		par[i] = parent_site();
	PROG_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
	printf("parent %d child %d\n", (int)getpid(), (int)pid);
	return 0;
}
